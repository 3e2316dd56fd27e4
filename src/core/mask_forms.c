/* Derived forms of a secret value: URL, JSON and base64 encodings, lines. */
#include "mask_forms.h"

#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Emits b's contents when long enough, then empties b. */
static int sb_emit(struct buf *b, mask_form_fn emit, void *ctx)
{
    int rc = 0;
    if (b->err) {
        rc = b->err;
    } else if (b->len >= MASK_MIN_DERIVED) {
        rc = emit(ctx, b->data, b->len);
    }
    buf_clear(b);
    return rc;
}

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* Python urllib.parse.quote: unreserved bytes stay, '/' stays when
 * keep_slash, ' ' becomes '+' when plus, everything else is %XX. */
static void url_quote(struct buf *b, const unsigned char *v, size_t n, int keep_slash, int plus)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = v[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~' || (keep_slash && c == '/')) {
            buf_append_byte(b, (char)c);
        } else if (plus && c == ' ') {
            buf_append_byte(b, '+');
        } else {
            char e[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

static void json_u(struct buf *b, unsigned cp)
{
    char e[6] = {'\\',
                 'u',
                 hex_lower[(cp >> 12) & 15],
                 hex_lower[(cp >> 8) & 15],
                 hex_lower[(cp >> 4) & 15],
                 hex_lower[cp & 15]};
    buf_append(b, e, 6);
}

/* Decodes one UTF-8 sequence at v[i..n) as Python's strict decoder would.
 * Returns its length and sets *cp, or 0 when invalid. */
static size_t utf8_next(const unsigned char *v, size_t i, size_t n, unsigned *cp)
{
    unsigned c = v[i];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (i + len > n) {
        return 0;
    }
    for (size_t k = 1; k < len; k++) {
        if ((v[i + k] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (v[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }
    *cp = c;
    return len;
}

/* The inner text of Python's json.dumps(v, ensure_ascii=ascii). Returns 0,
 * or -EILSEQ when ascii is set and v is not valid UTF-8. */
static int json_escape(struct buf *b, const unsigned char *v, size_t n, int ascii)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = v[i];
        const char *short_esc = NULL;
        switch (c) {
        case '"':
            short_esc = "\\\"";
            break;
        case '\\':
            short_esc = "\\\\";
            break;
        case '\n':
            short_esc = "\\n";
            break;
        case '\r':
            short_esc = "\\r";
            break;
        case '\t':
            short_esc = "\\t";
            break;
        case '\b':
            short_esc = "\\b";
            break;
        case '\f':
            short_esc = "\\f";
            break;
        default:
            break;
        }
        if (short_esc) {
            buf_append(b, short_esc, 2);
            i++;
        } else if (c < 0x20 || (ascii && c == 0x7F)) {
            json_u(b, c);
            i++;
        } else if (c < 0x80 || !ascii) {
            buf_append_byte(b, (char)c);
            i++;
        } else {
            unsigned cp;
            size_t len = utf8_next(v, i, n, &cp);
            if (len == 0) {
                return -EILSEQ;
            }
            if (cp >= 0x10000) {
                cp -= 0x10000;
                json_u(b, 0xD800 | (cp >> 10));
                json_u(b, 0xDC00 | (cp & 0x3FF));
            } else {
                json_u(b, cp);
            }
            i += len;
        }
    }
    return 0;
}

/* The characters of base64(pad zero bytes + v) that depend on v alone, in
 * the standard or URL-safe alphabet. */
static void base64_inner(struct buf *b, const unsigned char *v, size_t n, unsigned pad, int url)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *alpha = url ? safe : std;
    size_t bits_lo = 8 * (size_t)pad, bits_hi = 8 * ((size_t)pad + n);
    size_t first = (bits_lo + 5) / 6, end = bits_hi / 6; /* chars [first, end) */
    for (size_t k = first; k < end; k++) {
        unsigned val = 0;
        for (size_t bit = 6 * k; bit < 6 * k + 6; bit++) {
            size_t byte = bit / 8 - pad; /* bit >= bits_lo, so no underflow */
            val = (val << 1) | ((v[byte] >> (7 - bit % 8)) & 1);
        }
        buf_append_byte(b, alpha[val]);
    }
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Each line of a multi-line value (as is and trimmed), and the LF -> CRLF
 * form of the value. */
static int line_forms(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit, void *ctx)
{
    int rc = 0;
    int has_bare_lf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        if (i < n && v[i] != '\n' && v[i] != '\r') {
            continue;
        }
        if (i < n && v[i] == '\n' && (i == 0 || v[i - 1] != '\r')) {
            has_bare_lf = 1;
        }
        size_t s = start, e = i;
        buf_append(b, (const char *)v + s, e - s);
        rc = sb_emit(b, emit, ctx);
        while (s < e && is_blank(v[s])) {
            s++;
        }
        while (e > s && is_blank(v[e - 1])) {
            e--;
        }
        if (rc == 0 && (s != start || e != i)) {
            buf_append(b, (const char *)v + s, e - s);
            rc = sb_emit(b, emit, ctx);
        }
        start = i + 1;
    }
    if (rc == 0 && has_bare_lf) {
        for (size_t i = 0; i < n; i++) {
            if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r')) {
                buf_append_byte(b, '\r');
            }
            buf_append_byte(b, (char)v[i]);
        }
        rc = sb_emit(b, emit, ctx);
    }
    return rc;
}

int mask_forms(const char *value, size_t n, mask_form_fn emit, void *ctx)
{
    const unsigned char *v = (const unsigned char *)value;
    if (n < MASK_MIN_VALUE) {
        return 0;
    }
    int rc = emit(ctx, value, n);
    struct buf b = {0};
    static const int url_modes[3][2] = {{0, 0}, {1, 0}, {0, 1}}; /* keep_slash, plus */
    for (int k = 0; k < 3 && rc == 0; k++) {
        url_quote(&b, v, n, url_modes[k][0], url_modes[k][1]);
        rc = sb_emit(&b, emit, ctx);
    }
    for (int ascii = 0; ascii < 2 && rc == 0; ascii++) {
        if (json_escape(&b, v, n, ascii) < 0) {
            b.len = 0; /* not UTF-8: Python could not have held it as text */
            continue;
        }
        rc = sb_emit(&b, emit, ctx);
    }
    for (unsigned pad = 0; pad < 3 && rc == 0; pad++) {
        for (int url = 0; url < 2 && rc == 0; url++) {
            base64_inner(&b, v, n, pad, url);
            rc = sb_emit(&b, emit, ctx);
        }
    }
    if (rc == 0 && (memchr(v, '\n', n) || memchr(v, '\r', n))) {
        rc = line_forms(v, n, &b, emit, ctx);
    }
    buf_free(&b);
    return rc;
}
