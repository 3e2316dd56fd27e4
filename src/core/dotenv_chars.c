/* What a character is to python-dotenv 1.2.x, as Pixie needs it: UTF-8
 * validity as Python's utf-8 codec sees it, Python's \s on str
 * (str.isspace): ASCII \t\n\v\f\r, \x1c-\x1f, space and the Unicode spaces
 * U+0085 U+00A0 U+1680 U+2000-U+200A U+2028 U+2029 U+202F U+205F U+3000,
 * and the keys Pixie writes. Shared by the parser and the writer. */
#include "dotenv.h"
#include "dotenv_chars.h"

#include <stddef.h>

int dotenv_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return 0;
        }
        if (len - i <= need || u[i + 1] < lo || u[i + 1] > hi) {
            return 0;
        }
        for (size_t k = 2; k <= need; k++) {
            if (u[i + k] < 0x80 || u[i + k] > 0xbf) {
                return 0;
            }
        }
        i += need + 1;
    }
    return 1;
}

size_t dotenv_ws_len(const unsigned char *s, size_t i, size_t n)
{
    unsigned c = s[i];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) {
        return 1;
    }
    if (c == 0xc2 && i + 1 < n && (s[i + 1] == 0x85 || s[i + 1] == 0xa0)) {
        return 2;
    }
    if (i + 2 >= n) {
        return 0;
    }
    unsigned b = s[i + 1], d = s[i + 2];
    if ((c == 0xe1 && b == 0x9a && d == 0x80) || (c == 0xe3 && b == 0x80 && d == 0x80) ||
        (c == 0xe2 && b == 0x81 && d == 0x9f) ||
        (c == 0xe2 && b == 0x80 &&
         ((d >= 0x80 && d <= 0x8a) || d == 0xa8 || d == 0xa9 || d == 0xaf))) {
        return 3;
    }
    return 0;
}

int dotenv_key_valid(const char *key, size_t len)
{
    if (len == 0 ||
        !(key[0] == '_' || (key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z'))) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        char c = key[i];
        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9'))) {
            return 0;
        }
    }
    return 1;
}
