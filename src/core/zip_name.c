/* Entry-name rules, folded keys and escaping for Pixie's .zip handling. */
#include "zip_name.h"

#include "dotenv.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes the UTF-8 sequence at s[i] (i < len), strictly (no overlongs,
 * surrogates or code points above U+10FFFF). Returns its length and sets
 * *cp, or returns 0 when s[i] does not start a valid sequence. */
static size_t utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (len - i <= need) {
        return 0;
    }
    if (!dotenv_utf8_valid((const char *)s + i, need + 1)) {
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    *cp = v;
    return need + 1;
}

/* 1 for the code points HFS+ ignores in names (git's is_hfs_dotgit list)
 * plus ZERO WIDTH SPACE. */
static int ignorable(uint32_t c)
{
    return (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
           (c >= 0x206a && c <= 0x206f) || c == 0xfeff;
}

/* Simple case folding for the scripts listed in zip_name.h. */
static uint32_t fold_cp(uint32_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return c + 32;
    }
    if (c < 0x80) {
        return c;
    }
    if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) ||
        (c >= 0x410 && c <= 0x42f) || (c >= 0xff21 && c <= 0xff3a)) {
        return c + 32;
    }
    if (c >= 0x400 && c <= 0x40f) {
        return c + 80;
    }
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) {
        return c | 1;
    }
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) {
        return (c & 1) ? c + 1 : c;
    }
    switch (c) {
    case 0x178:
        return 0xff;
    case 0x17f:
        return 's';
    case 0x212a:
        return 'k';
    case 0x212b:
        return 0xe5;
    default:
        return c;
    }
}

/* Appends code point c to out as UTF-8. */
static void put_cp(struct buf *out, uint32_t c)
{
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xc0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xe0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    buf_append(out, b, n);
}

/* Appends the folded form of the component s[0..len) to out: case folded,
 * ignorable code points dropped, trailing dots and spaces dropped. Bytes
 * that are not UTF-8 are copied as they are. */
static void fold_component(const char *s, size_t len, struct buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = out->len;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t n = utf8_next(u, len, i, &c);
        if (n == 0) {
            buf_append_byte(out, s[i]);
            i++;
            continue;
        }
        if (!ignorable(c)) {
            put_cp(out, fold_cp(c));
        }
        i += n;
    }
    while (out->err == 0 && out->len > start &&
           (out->data[out->len - 1] == '.' || out->data[out->len - 1] == ' ')) {
        out->data[--out->len] = '\0';
    }
}

/* The reserved component names: folded spelling, NTFS short-name alias. */
static const struct {
    const char *name, *alias;
    int prefix; /* name followed by '.' and anything also matches */
    enum zip_reason reason;
} reserved[] = {
    {".env", "env~1", 1, ZIP_REASON_DOTENV},
    {".git", "git~1", 0, ZIP_REASON_GIT},
    {".venv", "venv~1", 0, ZIP_REASON_VENV},
};

/* The reason the component s[0..len) is reserved, or ZIP_REASON_OK. */
static enum zip_reason reserved_component(const char *s, size_t len)
{
    char mem[ZIP_NAME_MAX_COMPONENT + 1];
    struct buf f = {0};
    fold_component(s, len, &f);
    if (f.err != 0) {
        buf_free(&f);
        return ZIP_REASON_OK;
    }
    size_t n = f.len < sizeof mem - 1 ? f.len : sizeof mem - 1;
    memcpy(mem, f.data ? f.data : "", n);
    mem[n] = '\0';
    buf_free(&f);
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        size_t rl = strlen(reserved[i].name);
        if (strcmp(mem, reserved[i].name) == 0 || strcmp(mem, reserved[i].alias) == 0 ||
            (reserved[i].prefix && n > rl && memcmp(mem, reserved[i].name, rl) == 0 &&
             mem[rl] == '.')) {
            return reserved[i].reason;
        }
    }
    return ZIP_REASON_OK;
}

/* The character-level rules of zip_name_check. */
static enum zip_reason check_bytes(const char *name, size_t len, int utf8)
{
    const unsigned char *u = (const unsigned char *)name;
    int ascii = 1;
    for (size_t i = 0; i < len; i++) {
        if (u[i] < 0x20 || u[i] == 0x7f) {
            return ZIP_REASON_NAME_CONTROL;
        }
        ascii &= u[i] < 0x80;
    }
    if (!ascii) {
        if (!utf8 || !dotenv_utf8_valid(name, len)) {
            return ZIP_REASON_NAME_ENCODING;
        }
        for (size_t i = 0; i + 1 < len; i++) {
            if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
                return ZIP_REASON_NAME_CONTROL;
            }
        }
    }
    if (memchr(name, '\\', len)) {
        return ZIP_REASON_NAME_BACKSLASH;
    }
    if (memchr(name, ':', len)) {
        return ZIP_REASON_NAME_COLON;
    }
    return ZIP_REASON_OK;
}

enum zip_reason zip_name_check(const char *name, size_t len, int utf8)
{
    enum zip_reason r = check_bytes(name, len, utf8);
    if (r != ZIP_REASON_OK) {
        return r;
    }
    if (len > ZIP_NAME_MAX_BYTES) {
        return ZIP_REASON_NAME_TOO_LONG;
    }
    if (len > 0 && name[0] == '/') {
        return ZIP_REASON_NAME_ABSOLUTE;
    }
    if (len > 0 && name[len - 1] == '/') {
        len--;
    }
    size_t depth = 0;
    for (size_t i = 0; i <= len;) {
        const char *slash = memchr(name + i, '/', len - i);
        size_t n = slash ? (size_t)(slash - (name + i)) : len - i;
        const char *c = name + i;
        if (n == 0 || (n == 1 && c[0] == '.')) {
            return ZIP_REASON_NAME_COMPONENT;
        }
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            return ZIP_REASON_NAME_TRAVERSAL;
        }
        if (n > ZIP_NAME_MAX_COMPONENT) {
            return ZIP_REASON_NAME_TOO_LONG;
        }
        if (++depth > ZIP_NAME_MAX_DEPTH) {
            return ZIP_REASON_NAME_TOO_DEEP;
        }
        r = reserved_component(c, n);
        if (r != ZIP_REASON_OK) {
            return r;
        }
        i += n + 1;
    }
    return ZIP_REASON_OK;
}

int zip_name_key(const char *name, size_t len, struct buf *out)
{
    if (len > 0 && name[len - 1] == '/') {
        len--;
    }
    for (size_t i = 0; i <= len;) {
        const char *slash = memchr(name + i, '/', len - i);
        size_t n = slash ? (size_t)(slash - (name + i)) : len - i;
        if (i > 0) {
            buf_append_byte(out, '/');
        }
        fold_component(name + i, n, out);
        i += n + 1;
    }
    /* An empty key still needs a valid data pointer. */
    return buf_append(out, NULL, 0);
}

/* 1 for code points shown escaped: C1 controls and invisible or
 * direction-changing format characters. */
static int shown_escaped(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x61c || (c >= 0x200b && c <= 0x200f) ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) || c == 0xfeff;
}

void zip_name_escape(const char *name, size_t len, char *out, size_t size)
{
    const unsigned char *u = (const unsigned char *)name;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char piece[16];
        size_t plen;
        uint32_t c;
        size_t n = utf8_next(u, len, i, &c);
        if (n == 0 || c < 0x20 || c == 0x7f) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", u[i]);
            n = 1;
        } else if (c == '\\') {
            plen = (size_t)snprintf(piece, sizeof piece, "\\\\");
        } else if (shown_escaped(c)) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\u{%04x}", (unsigned)c);
        } else {
            memcpy(piece, name + i, n);
            plen = n;
        }
        if (o + plen + 4 > size) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    out[o] = '\0';
}

const char *zip_name_phrase(enum zip_reason r)
{
    switch (r) {
    case ZIP_REASON_NAME_ENCODING:
        return "name is neither printable ASCII nor valid UTF-8 flagged as UTF-8";
    case ZIP_REASON_NAME_CONTROL:
        return "name holds a control character";
    case ZIP_REASON_NAME_BACKSLASH:
        return "name holds a backslash (a Windows path separator)";
    case ZIP_REASON_NAME_COLON:
        return "name holds a colon (a drive letter or an NTFS stream)";
    case ZIP_REASON_NAME_ABSOLUTE:
        return "absolute path";
    case ZIP_REASON_NAME_TRAVERSAL:
        return "'..' component (path traversal)";
    case ZIP_REASON_NAME_COMPONENT:
        return "empty or '.' path component";
    case ZIP_REASON_NAME_TOO_LONG:
        return "name longer than 1024 bytes or a component longer than 255";
    case ZIP_REASON_NAME_TOO_DEEP:
        return "more than 32 nested path components";
    case ZIP_REASON_DOTENV:
        return ".env file (secrets are never shared or imported)";
    case ZIP_REASON_GIT:
        return ".git folder or one of its aliases";
    case ZIP_REASON_VENV:
        return ".venv folder (recreated on the receiving side)";
    default:
        return "invalid name";
    }
}
