/* The reader of the .env dialect: python-dotenv 1.2.x's parser.py, regex
 * by regex; the comments quote the regex each step stands for. Owns the
 * dotenv_doc it fills (dotenv_doc_free) and the lookup in it. */
#include "buf.h"
#include "dotenv.h"
#include "dotenv_chars.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Horizontal whitespace ([^\S\r\n]): whitespace other than a newline. */
static size_t hws_len(const unsigned char *s, size_t i, size_t n)
{
    return s[i] == '\n' ? 0 : dotenv_ws_len(s, i, n);
}

/* Position after the run of whitespace (multi-line when `lines`) at p. */
static size_t skip_ws(const unsigned char *s, size_t n, size_t p, int lines)
{
    while (p < n) {
        size_t w = lines ? dotenv_ws_len(s, p, n) : hws_len(s, p, n);
        if (!w) {
            break;
        }
        p += w;
    }
    return p;
}

/* Position of the next '\n' at or after p, or n. */
static size_t line_end(const unsigned char *s, size_t n, size_t p)
{
    const unsigned char *nl = p < n ? memchr(s + p, '\n', n - p) : NULL;
    return nl ? (size_t)(nl - s) : n;
}

enum { PARSE_OK = 0, PARSE_ERROR = 1, PARSE_NOMEM = 2 };

/* Copies the quoted body s[0..n) decoding the escapes python-dotenv decodes:
 * single quotes \\ and \' ; double quotes \\ \' \" \a \b \f \n \r \t \v.
 * Returns a malloc'd NUL-terminated string or NULL. */
static char *decode_quoted(const unsigned char *s, size_t n, int dq, size_t *out_len)
{
    char *out = malloc(n + 1);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = (char)s[i];
        if (c == '\\' && i + 1 < n) {
            char e = (char)s[i + 1];
            char d = 0;
            if (e == '\\' || e == '\'') {
                d = e;
            } else if (dq) {
                switch (e) {
                case '"':
                    d = '"';
                    break;
                case 'a':
                    d = '\a';
                    break;
                case 'b':
                    d = '\b';
                    break;
                case 'f':
                    d = '\f';
                    break;
                case 'n':
                    d = '\n';
                    break;
                case 'r':
                    d = '\r';
                    break;
                case 't':
                    d = '\t';
                    break;
                case 'v':
                    d = '\v';
                    break;
                default:
                    break;
                }
            }
            if (d) {
                out[o++] = d;
                i++;
                continue;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* Quoted value at s[*p] (the opening quote q), as the regex
 * q((?:\\q|[^q])*)q with Python's backtracking: the value ends at the first
 * q not escaped as \q; when there is none up to the end of the text, it
 * ends at the quote of the last \q pair. Advances *p past the closing
 * quote. Returns PARSE_OK / PARSE_ERROR (no closing quote) / PARSE_NOMEM. */
static int parse_quoted(const unsigned char *s, size_t n, size_t *p, char **value,
                        size_t *value_len)
{
    unsigned char q = s[*p];
    size_t i = *p + 1, last_pair = SIZE_MAX, close;
    for (;;) {
        if (i >= n) {
            if (last_pair == SIZE_MAX) {
                return PARSE_ERROR;
            }
            close = last_pair + 1;
            break;
        }
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == q) {
            last_pair = i;
            i += 2;
        } else if (s[i] == q) {
            close = i;
            break;
        } else {
            i++;
        }
    }
    *value = decode_quoted(s + *p + 1, close - *p - 1, q == '"', value_len);
    if (!*value) {
        return PARSE_NOMEM;
    }
    *p = close + 1;
    return PARSE_OK;
}

/* Unquoted value: ([^\r\n]*) then re.sub(r"\s+#.*", "") then rstrip(). */
static int parse_unquoted(const unsigned char *s, size_t n, size_t *p, char **value,
                          size_t *value_len)
{
    size_t a = *p, e = line_end(s, n, a), cut = e;
    for (size_t i = a; i < e;) {
        size_t w = dotenv_ws_len(s, i, n);
        if (!w) {
            i++;
            continue;
        }
        size_t j = skip_ws(s, e, i, 0);
        if (j < e && s[j] == '#') {
            cut = i;
            break;
        }
        i = j;
    }
    size_t end = a;
    for (size_t i = a; i < cut;) {
        size_t w = dotenv_ws_len(s, i, cut);
        if (w) {
            i += w;
        } else {
            end = ++i;
        }
    }
    char *v = malloc(end - a + 1);
    if (!v) {
        return PARSE_NOMEM;
    }
    memcpy(v, s + a, end - a);
    v[end - a] = '\0';
    *value = v;
    *value_len = end - a;
    *p = e;
    return PARSE_OK;
}

/* One parsed binding before it is stored. */
typedef struct {
    int has_key;
    size_t key_off;
    size_t key_len;
    char *value;
    size_t value_len;
} raw_binding;

/* python-dotenv parse_binding after the leading whitespace: optional
 * export, key, optional =value, optional comment, end of line. *p starts at
 * the binding's first character; on PARSE_ERROR it is left where
 * python-dotenv's reader stands when the failing regex is tried. */
static int parse_binding(const unsigned char *s, size_t n, size_t *p, raw_binding *b)
{
    size_t pos = *p;
    /* (?:export[^\S\r\n]+)? */
    if (n - pos >= 6 && memcmp(s + pos, "export", 6) == 0) {
        size_t q = skip_ws(s, n, pos + 6, 0);
        if (q > pos + 6) {
            pos = q;
        }
    }
    b->has_key = !(pos < n && s[pos] == '#');
    if (b->has_key && pos < n && s[pos] == '\'') {
        /* '([^']+)' */
        const unsigned char *close = pos + 1 < n ? memchr(s + pos + 1, '\'', n - pos - 1) : NULL;
        if (!close || close == s + pos + 1) {
            *p = pos;
            return PARSE_ERROR;
        }
        b->key_off = pos + 1;
        b->key_len = (size_t)(close - s) - pos - 1;
        pos = (size_t)(close - s) + 1;
    } else if (b->has_key) {
        /* ([^=\#\s]+) */
        size_t q = pos;
        while (q < n && s[q] != '=' && s[q] != '#' && !dotenv_ws_len(s, q, n)) {
            q++;
        }
        if (q == pos) {
            *p = pos;
            return PARSE_ERROR;
        }
        b->key_off = pos;
        b->key_len = q - pos;
        pos = q;
    }
    pos = skip_ws(s, n, pos, 0);
    if (pos < n && s[pos] == '=') {
        pos = skip_ws(s, n, pos + 1, 0);
        int rc;
        if (pos < n && (s[pos] == '\'' || s[pos] == '"')) {
            rc = parse_quoted(s, n, &pos, &b->value, &b->value_len);
        } else if (pos == n || s[pos] == '\n') {
            b->value = calloc(1, 1);
            b->value_len = 0;
            rc = b->value ? PARSE_OK : PARSE_NOMEM;
        } else {
            rc = parse_unquoted(s, n, &pos, &b->value, &b->value_len);
        }
        if (rc != PARSE_OK) {
            *p = pos;
            return rc;
        }
    }
    /* (?:[^\S\r\n]*#[^\r\n]*)? */
    size_t q = skip_ws(s, n, pos, 0);
    if (q < n && s[q] == '#') {
        pos = line_end(s, n, q);
    }
    /* [^\S\r\n]*(?:\r\n|\n|\r|$) */
    q = skip_ws(s, n, pos, 0);
    if (q < n && s[q] != '\n') {
        free(b->value);
        b->value = NULL;
        *p = pos;
        return PARSE_ERROR;
    }
    *p = q < n ? q + 1 : q;
    return PARSE_OK;
}

/* The text after CR/CRLF normalisation and BOM removal, with what is
 * needed to map its offsets back to the original bytes. */
typedef struct {
    unsigned char *s;
    size_t n;
    size_t *drops; /* normalised offsets of LFs that replaced a CRLF pair */
    size_t ndrops;
    size_t bom;
} normalised;

/* Builds *nt from text. Returns 0 or -ENOMEM. */
static int normalise(const char *text, size_t len, normalised *nt)
{
    memset(nt, 0, sizeof *nt);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        nt->bom = 3;
    }
    nt->s = malloc(len - nt->bom + 1);
    size_t crlf = 0;
    for (size_t i = nt->bom; i + 1 < len; i++) {
        crlf += text[i] == '\r' && text[i + 1] == '\n';
    }
    nt->drops = malloc((crlf ? crlf : 1) * sizeof(size_t));
    if (!nt->s || !nt->drops) {
        free(nt->s);
        free(nt->drops);
        return -ENOMEM;
    }
    size_t o = 0;
    for (size_t i = nt->bom; i < len; i++) {
        if (text[i] == '\r') {
            if (i + 1 < len && text[i + 1] == '\n') {
                nt->drops[nt->ndrops++] = o;
                i++;
            }
            nt->s[o++] = '\n';
        } else {
            nt->s[o++] = (unsigned char)text[i];
        }
    }
    nt->s[o] = '\0';
    nt->n = o;
    return 0;
}

/* Original byte offset of normalised offset x. */
static size_t raw_offset(const normalised *nt, size_t x)
{
    size_t lo = 0, hi = nt->ndrops; /* count drops < x */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (nt->drops[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return nt->bom + x + lo;
}

/* Line counter moving forward through the normalised text. */
typedef struct {
    size_t pos;
    int line;
} line_counter;

/* 1-based line number of offset x (x never decreases between calls). */
static int line_at(line_counter *lc, const unsigned char *s, size_t x)
{
    for (; lc->pos < x; lc->pos++) {
        lc->line += s[lc->pos] == '\n';
    }
    return lc->line;
}

/* Appends parsed binding rb (taking its value), found at normalised offset
 * first and ending at normalised offset end, to the dotenv_binding array
 * in *bindings. Returns 0 or -ENOMEM (rb's value then freed). */
static int store_binding(struct buf *bindings, const normalised *nt, raw_binding *rb, size_t first,
                         size_t end, int line)
{
    dotenv_binding b;
    memset(&b, 0, sizeof b);
    b.key = malloc(rb->key_len + 1);
    if (!b.key) {
        free(rb->value);
        return -ENOMEM;
    }
    memcpy(b.key, nt->s + rb->key_off, rb->key_len);
    b.key[rb->key_len] = '\0';
    b.key_len = rb->key_len;
    b.value = rb->value;
    b.value_len = rb->value_len;
    size_t ls = first;
    while (ls > 0 && nt->s[ls - 1] != '\n') {
        ls--;
    }
    b.start = raw_offset(nt, ls);
    b.end = raw_offset(nt, end);
    b.line = line;
    if (buf_append(bindings, &b, sizeof b) != 0) {
        free(b.key);
        free(b.value);
        return -ENOMEM;
    }
    return 0;
}

/* Parses the normalised text into doc; the binding and warning arrays grow
 * in bufs (malloc'd memory, so aligned for any type) and are moved into
 * doc even on failure, for dotenv_doc_free. Returns 0 or -ENOMEM. */
static int parse_all(const normalised *nt, dotenv_doc *doc)
{
    const unsigned char *s = nt->s;
    size_t n = nt->n, p = 0;
    struct buf bindings = {0}, warnings = {0};
    line_counter lc = {0, 1};
    int rc = 0;
    while (p < n && rc == 0) {
        size_t first = skip_ws(s, n, p, 1); /* \s* */
        if (first == n) {
            break;
        }
        int line = line_at(&lc, s, first);
        raw_binding rb;
        memset(&rb, 0, sizeof rb);
        p = first;
        int pr = parse_binding(s, n, &p, &rb);
        if (pr == PARSE_NOMEM) {
            rc = -ENOMEM;
        } else if (pr == PARSE_ERROR) {
            /* [^\r\n]*(?:\r|\n|\r\n)? */
            p = line_end(s, n, p);
            p += p < n;
            rc = buf_append(&warnings, &line, sizeof line) != 0 ? -ENOMEM : 0;
        } else if (rb.has_key) {
            rc = store_binding(&bindings, nt, &rb, first, p, line);
        }
    }
    doc->bindings = (dotenv_binding *)(void *)bindings.data;
    doc->count = bindings.len / sizeof(dotenv_binding);
    doc->warning_lines = (int *)(void *)warnings.data;
    doc->warning_count = warnings.len / sizeof(int);
    return rc;
}

int dotenv_parse(const char *text, size_t len, dotenv_doc *doc)
{
    memset(doc, 0, sizeof *doc);
    if (!dotenv_utf8_valid(text, len)) {
        return -EILSEQ;
    }
    normalised nt;
    if (normalise(text, len, &nt) != 0) {
        return -ENOMEM;
    }
    doc->bom_len = nt.bom;
    int rc = parse_all(&nt, doc);
    free(nt.s);
    free(nt.drops);
    if (rc != 0) {
        dotenv_doc_free(doc);
    }
    return rc;
}

void dotenv_doc_free(dotenv_doc *doc)
{
    for (size_t i = 0; i < doc->count; i++) {
        free(doc->bindings[i].key);
        free(doc->bindings[i].value);
    }
    free(doc->bindings);
    free(doc->warning_lines);
    memset(doc, 0, sizeof *doc);
}

const dotenv_binding *dotenv_lookup(const dotenv_doc *doc, const char *key, size_t key_len)
{
    for (size_t i = doc->count; i-- > 0;) {
        const dotenv_binding *b = &doc->bindings[i];
        if (b->key_len == key_len && memcmp(b->key, key, key_len) == 0) {
            return b;
        }
    }
    return NULL;
}
