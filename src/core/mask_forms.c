/* Derived forms of a secret value: URL, JSON (single and double) and base64
 * (inline and wrapped) encodings, lines. */
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

/* How a JSON encoder escapes a string (the text between the quotes). Every
 * one writes '"', '\\', \b \f \n \r \t as short escapes and the other
 * bytes below 0x20 as \u00XX (lower-case hex); they differ in the rest. */
struct json_style {
    unsigned char ascii; /* non-ASCII as \uXXXX (surrogate pairs); needs UTF-8 */
    unsigned char del;   /* 0x7F as \u007f */
    unsigned char slash; /* '/' as '\/' */
};

/* The encoders whose output a secret is likely to be found in. */
static const struct json_style JSON_STYLES[] = {
    {1, 1, 0}, /* Python json.dumps (ensure_ascii=True, the default) */
    {0, 0, 0}, /* Python json.dumps(ensure_ascii=False) */
    {0, 1, 0}, /* Pixie's own encoder, lua/pixie/json.lua */
    {0, 1, 1}, /* lua-cjson 2.1 */
};
#define N_JSON_STYLES (sizeof JSON_STYLES / sizeof JSON_STYLES[0])

/* Appends the JSON-escaped text of v[0, n) in the given style. Returns 0, or
 * -EILSEQ when the style is ASCII-only and v is not valid UTF-8 (such an
 * encoder could not have held v as text). */
static int json_escape(struct buf *b, const unsigned char *v, size_t n, const struct json_style *st)
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
        case '/':
            short_esc = st->slash ? "\\/" : NULL;
            break;
        default:
            break;
        }
        if (short_esc) {
            buf_append(b, short_esc, 2);
            i++;
        } else if (c < 0x20 || (st->del && c == 0x7F)) {
            json_u(b, c);
            i++;
        } else if (c < 0x80 || !st->ascii) {
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

static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The characters of base64(pad zero bytes + v) that depend on v alone, in
 * the standard or URL-safe alphabet. */
static void base64_inner(struct buf *b, const unsigned char *v, size_t n, unsigned pad, int url)
{
    const char *alpha = url ? B64_URL : B64_STD;
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

/* Appends base64(v) in the standard alphabet with '=' padding. */
static void base64_full(struct buf *b, const unsigned char *v, size_t n)
{
    const char *std = B64_STD;
    for (size_t i = 0; i < n; i += 3) {
        unsigned x = (unsigned)v[i] << 16;
        x |= i + 1 < n ? (unsigned)v[i + 1] << 8 : 0;
        x |= i + 2 < n ? v[i + 2] : 0;
        char q[4] = {std[x >> 18], std[(x >> 12) & 63], i + 1 < n ? std[(x >> 6) & 63] : '=',
                     i + 2 < n ? std[x & 63] : '='};
        buf_append(b, q, 4);
    }
}

/* ---- the forms: one generator per kind, listed in FORMS ------------------ */

typedef int (*form_gen)(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit,
                        void *ctx);

/* The value itself. */
static int gen_value(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit, void *ctx)
{
    (void)b;
    return emit(ctx, (const char *)v, n);
}

/* urllib.parse.quote(v, safe=''), quote(v) (keeps '/'), quote_plus(v). */
static int gen_url(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit, void *ctx)
{
    static const int modes[3][2] = {{0, 0}, {1, 0}, {0, 1}}; /* keep_slash, plus */
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++) {
        url_quote(b, v, n, modes[k][0], modes[k][1]);
        rc = sb_emit(b, emit, ctx);
    }
    return rc;
}

/* The JSON-escaped text in every style of JSON_STYLES. */
static int gen_json(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit, void *ctx)
{
    int rc = 0;
    for (size_t k = 0; k < N_JSON_STYLES && rc == 0; k++) {
        if (json_escape(b, v, n, &JSON_STYLES[k]) < 0) {
            buf_clear(b);
            continue;
        }
        rc = sb_emit(b, emit, ctx);
    }
    return rc;
}

/* Double JSON escaping (json.dumps of a text holding json.dumps(v)): each
 * style applied to each style's escaped text, when the first escaping
 * changed something. */
static int gen_json_double(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit,
                           void *ctx)
{
    struct buf once = {0};
    int rc = 0;
    for (size_t i = 0; i < N_JSON_STYLES && rc == 0; i++) {
        buf_clear(&once);
        if (json_escape(&once, v, n, &JSON_STYLES[i]) < 0 || once.err ||
            !memchr(once.data, '\\', once.len)) {
            rc = once.err;
            continue;
        }
        for (size_t j = 0; j < N_JSON_STYLES && rc == 0; j++) {
            if (json_escape(b, (const unsigned char *)once.data, once.len, &JSON_STYLES[j]) < 0) {
                buf_clear(b);
                continue;
            }
            rc = sb_emit(b, emit, ctx);
        }
    }
    buf_free(&once);
    return rc;
}

/* base64, standard and URL-safe, at the three byte alignments. */
static int gen_base64(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit, void *ctx)
{
    int rc = 0;
    for (unsigned pad = 0; pad < 3 && rc == 0; pad++) {
        for (int url = 0; url < 2 && rc == 0; url++) {
            base64_inner(b, v, n, pad, url);
            rc = sb_emit(b, emit, ctx);
        }
    }
    return rc;
}

/* base64(v) wrapped at 76 columns (base64.encodebytes, MIME) and at 64
 * (PEM), when it takes more than one line: each line, and the wrapped whole
 * (lines joined by LF, without the final one). */
static int gen_base64_wrapped(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit,
                              void *ctx)
{
    static const size_t widths[] = {76, 64};
    struct buf full = {0};
    base64_full(&full, v, n);
    int rc = full.err;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0] && rc == 0; w++) {
        size_t width = widths[w];
        if (full.len <= width) {
            continue;
        }
        for (size_t at = 0; at < full.len && rc == 0; at += width) {
            size_t len = full.len - at < width ? full.len - at : width;
            buf_append(b, full.data + at, len);
            rc = sb_emit(b, emit, ctx);
        }
        for (size_t at = 0; at < full.len && rc == 0; at += width) {
            size_t len = full.len - at < width ? full.len - at : width;
            if (at > 0) {
                buf_append_byte(b, '\n');
            }
            buf_append(b, full.data + at, len);
        }
        if (rc == 0) {
            rc = sb_emit(b, emit, ctx);
        }
    }
    buf_free(&full);
    return rc;
}

/* Lines of a value with line breaks (see line_forms). */
static int gen_lines(const unsigned char *v, size_t n, struct buf *b, mask_form_fn emit, void *ctx)
{
    if (!memchr(v, '\n', n) && !memchr(v, '\r', n)) {
        return 0;
    }
    return line_forms(v, n, b, emit, ctx);
}

/* The one list of the forms a value is registered in (docs/security.md,
 * "What is registered", follows it; tests/e2e/test_mask_forms.py checks
 * each against Python's own encoders). */
static const form_gen FORMS[] = {
    gen_value, gen_url, gen_json, gen_json_double, gen_base64, gen_base64_wrapped, gen_lines,
};

int mask_forms(const char *value, size_t n, mask_form_fn emit, void *ctx)
{
    if (n < MASK_MIN_VALUE) {
        return 0;
    }
    struct buf b = {0};
    int rc = 0;
    for (size_t k = 0; k < sizeof FORMS / sizeof FORMS[0] && rc == 0; k++) {
        rc = FORMS[k]((const unsigned char *)value, n, &b, emit, ctx);
        buf_clear(&b);
    }
    buf_free(&b);
    return rc;
}
