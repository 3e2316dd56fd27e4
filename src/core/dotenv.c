/* The .env dialect of python-dotenv 1.2.x: parser, interpolation, writer.
 * The parser mirrors python-dotenv's parser.py regex by regex; the comments
 * quote the regex each step stands for. "Whitespace" is Python's \s on str
 * (str.isspace): ASCII \t\n\v\f\r, \x1c-\x1f, space and the Unicode spaces
 * U+0085 U+00A0 U+1680 U+2000-U+200A U+2028 U+2029 U+202F U+205F U+3000. */
#include "dotenv.h"

#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- character classes ------------------------------------------------ */

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

/* Byte length of the whitespace character (Python \s) starting at s[i]
 * (i < n), or 0 when s[i] does not start one. */
static size_t ws_len(const unsigned char *s, size_t i, size_t n)
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

/* Horizontal whitespace ([^\S\r\n]): whitespace other than a newline. */
static size_t hws_len(const unsigned char *s, size_t i, size_t n)
{
    return s[i] == '\n' ? 0 : ws_len(s, i, n);
}

/* Position after the run of whitespace (multi-line when `lines`) at p. */
static size_t skip_ws(const unsigned char *s, size_t n, size_t p, int lines)
{
    while (p < n) {
        size_t w = lines ? ws_len(s, p, n) : hws_len(s, p, n);
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

/* ---- parser ------------------------------------------------------------ */

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
        size_t w = ws_len(s, i, n);
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
        size_t w = ws_len(s, i, cut);
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
        while (q < n && s[q] != '=' && s[q] != '#' && !ws_len(s, q, n)) {
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

/* Appends item to the array *arr of *count elements of size sz, growing
 * *cap. Returns 0 or -ENOMEM. */
static int push(void **arr, size_t *count, size_t *cap, const void *item, size_t sz)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *na = realloc(*arr, ncap * sz);
        if (!na) {
            return -ENOMEM;
        }
        *arr = na;
        *cap = ncap;
    }
    memcpy((char *)*arr + *count * sz, item, sz);
    (*count)++;
    return 0;
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

/* Stores parsed binding rb (taking its value) found at normalised offset
 * first, ending at normalised offset end. Returns 0 or -ENOMEM. */
static int store_binding(dotenv_doc *doc, size_t *cap, const normalised *nt, raw_binding *rb,
                         size_t first, size_t end, int line)
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
    if (push((void **)&doc->bindings, &doc->count, cap, &b, sizeof b) != 0) {
        free(b.key);
        free(b.value);
        return -ENOMEM;
    }
    return 0;
}

/* Parses the normalised text into doc. Returns 0 or -ENOMEM. */
static int parse_all(const normalised *nt, dotenv_doc *doc)
{
    const unsigned char *s = nt->s;
    size_t n = nt->n, p = 0, cap = 0, wcap = 0;
    line_counter lc = {0, 1};
    while (p < n) {
        size_t first = skip_ws(s, n, p, 1); /* \s* */
        if (first == n) {
            break;
        }
        int line = line_at(&lc, s, first);
        raw_binding rb;
        memset(&rb, 0, sizeof rb);
        p = first;
        int rc = parse_binding(s, n, &p, &rb);
        if (rc == PARSE_NOMEM) {
            return -ENOMEM;
        }
        if (rc == PARSE_ERROR) {
            /* [^\r\n]*(?:\r|\n|\r\n)? */
            p = line_end(s, n, p);
            p += p < n;
            if (push((void **)&doc->warning_lines, &doc->warning_count, &wcap, &line,
                     sizeof line) != 0) {
                return -ENOMEM;
            }
        } else if (rb.has_key) {
            if (store_binding(doc, &cap, nt, &rb, first, p, line) != 0) {
                return -ENOMEM;
            }
        }
    }
    return 0;
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

/* ---- interpolation ------------------------------------------------------ */

/* Hash table from key bytes to an index (last put wins). */
typedef struct {
    const char *key;
    size_t len;
    size_t idx;
} slot;

typedef struct {
    slot *slots;
    size_t mask;
} table;

/* Sizes t for up to n keys. Returns 0 or -ENOMEM. */
static int table_init(table *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2) {
        cap *= 2;
    }
    t->slots = calloc(cap, sizeof(slot));
    t->mask = cap - 1;
    return t->slots ? 0 : -ENOMEM;
}

/* FNV-1a over the key bytes. */
static size_t hash_key(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    }
    return (size_t)h;
}

/* The slot holding key, or the empty slot where it would go. */
static slot *table_find(const table *t, const char *k, size_t len)
{
    size_t i = hash_key(k, len) & t->mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (!s->key || (s->len == len && memcmp(s->key, k, len) == 0)) {
            return s;
        }
        i = (i + 1) & t->mask;
    }
}

/* Maps key -> idx (key must stay alive while t is used). */
static void table_put(table *t, const char *k, size_t len, size_t idx)
{
    slot *s = table_find(t, k, len);
    s->key = k;
    s->len = len;
    s->idx = idx;
}

/* One ${...} match of python-dotenv's _posix_variable regex. */
typedef struct {
    size_t end;
    const char *name;
    size_t name_len;
    const char *def; /* NULL when there is no :-default */
    size_t def_len;
} var_match;

/* Matches \$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\} at v[i].
 * Returns 1 and fills *m, or 0. */
static int match_variable(const char *v, size_t len, size_t i, var_match *m)
{
    if (i + 1 >= len || v[i] != '$' || v[i + 1] != '{') {
        return 0;
    }
    size_t j = i + 2;
    while (j < len && v[j] != '}' && v[j] != ':') {
        j++;
    }
    m->name = v + i + 2;
    m->name_len = j - i - 2;
    m->def = NULL;
    m->def_len = 0;
    if (j < len && v[j] == '}') {
        m->end = j + 1;
        return 1;
    }
    if (j + 1 >= len || v[j] != ':' || v[j + 1] != '-') {
        return 0;
    }
    size_t k = j + 2;
    while (k < len && v[k] != '}') {
        k++;
    }
    if (k >= len) {
        return 0;
    }
    m->def = v + j + 2;
    m->def_len = k - j - 2;
    m->end = k + 1;
    return 1;
}

/* Variable.resolve: the file's earlier binding or env (order by override),
 * else the default, else "". A name bound without value gives "". */
static void resolve_variable(const dotenv_doc *doc, const table *file, const table *envt,
                             const dotenv_pair *env, int override, const var_match *m,
                             struct buf *out)
{
    const slot *fs = table_find(file, m->name, m->name_len);
    const slot *es = table_find(envt, m->name, m->name_len);
    const dotenv_binding *fb = fs->key ? &doc->bindings[fs->idx] : NULL;
    const dotenv_pair *ep = es->key ? &env[es->idx] : NULL;
    if (fb && (override || !ep)) {
        buf_append(out, fb->value ? fb->value : "", fb->value ? fb->value_len : 0);
    } else if (ep) {
        buf_append(out, ep->value ? ep->value : "", ep->value ? ep->value_len : 0);
    } else {
        buf_append(out, m->def ? m->def : "", m->def_len);
    }
}

int dotenv_interpolate(dotenv_doc *doc, const dotenv_pair *env, size_t env_count, int override)
{
    table file, envt;
    if (table_init(&file, doc->count) != 0) {
        return -ENOMEM;
    }
    if (table_init(&envt, env_count) != 0) {
        free(file.slots);
        return -ENOMEM;
    }
    for (size_t i = 0; i < env_count; i++) {
        table_put(&envt, env[i].key, env[i].key_len, i);
    }
    int rc = 0;
    for (size_t i = 0; i < doc->count && rc == 0; i++) {
        dotenv_binding *b = &doc->bindings[i];
        if (b->value && memmem(b->value, b->value_len, "${", 2)) {
            struct buf out = {0};
            for (size_t k = 0; k < b->value_len;) {
                var_match m;
                if (match_variable(b->value, b->value_len, k, &m)) {
                    resolve_variable(doc, &file, &envt, env, override, &m, &out);
                    k = m.end;
                } else {
                    buf_append(&out, b->value + k, 1);
                    k++;
                }
            }
            char *nv;
            size_t nlen;
            rc = buf_take(&out, &nv, &nlen);
            if (rc == 0) {
                free(b->value);
                b->value = nv;
                b->value_len = nlen;
            }
        }
        table_put(&file, b->key, b->key_len, i);
    }
    free(file.slots);
    free(envt.slots);
    return rc;
}

/* ---- writer ------------------------------------------------------------- */

/* 1 when value (ending in a backslash) can be written unquoted and read
 * back unchanged: not empty, no CR or LF, no leading or trailing
 * whitespace, no whitespace followed by '#', no leading quote. */
static int unquoted_ok(const char *value, size_t len)
{
    const unsigned char *s = (const unsigned char *)value;
    if (len == 0 || s[0] == '\'' || s[0] == '"' || ws_len(s, 0, len) || memchr(s, '\n', len) ||
        memchr(s, '\r', len)) {
        return 0;
    }
    int last_ws = 0;
    for (size_t i = 0; i < len;) {
        size_t w = ws_len(s, i, len);
        if (!w && s[i] == '#' && last_ws) {
            return 0;
        }
        last_ws = w != 0;
        i += w ? w : 1;
    }
    return !last_ws;
}

int dotenv_check_value(const char *value, size_t len)
{
    if (memchr(value, '\0', len)) {
        return -EINVAL;
    }
    if (!dotenv_utf8_valid(value, len)) {
        return -EILSEQ;
    }
    if (len > 0 && value[len - 1] == '\\' && !unquoted_ok(value, len)) {
        return -EDOM;
    }
    return 0;
}

/* Appends value to b the way python-dotenv reads it back (value already
 * checked): double-quoted with \ " CR LF escaped, except that a value
 * ending in a backslash is written unquoted (a quoted one would end in
 * \\" which python-dotenv's quote regex reads as an escaped quote). */
static void add_quoted(struct buf *b, const char *value, size_t len)
{
    if (len > 0 && value[len - 1] == '\\') {
        buf_append(b, value, len);
        return;
    }
    buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (value[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\n':
            esc = "\\n";
            break;
        default:
            break;
        }
        if (esc) {
            buf_append(b, value + run, i - run);
            buf_append(b, esc, 2);
            run = i + 1;
        }
    }
    buf_append(b, value + run, len - run);
    buf_append(b, "\"", 1);
}

int dotenv_quote(const char *value, size_t len, char **out, size_t *out_len, int *interp_warning)
{
    int rc = dotenv_check_value(value, len);
    if (rc != 0) {
        return rc;
    }
    if (interp_warning) {
        *interp_warning = memmem(value, len, "${", 2) != NULL;
    }
    struct buf b = {0};
    add_quoted(&b, value, len);
    return buf_take(&b, out, out_len);
}

/* 1 when binding b has key k of length klen. */
static int has_key(const dotenv_binding *b, const char *k, size_t klen)
{
    return b->key_len == klen && memcmp(b->key, k, klen) == 0;
}

/* 1 when the bindings of `after` other than key are those of `before`
 * other than key, in order, with the same values, and key is bound
 * exactly once to value (value non-NULL) or not at all (value NULL). */
static int same_but_key(const dotenv_doc *before, const dotenv_doc *after, const char *key,
                        size_t klen, const char *value, size_t value_len)
{
    size_t i = 0, j = 0, seen = 0;
    for (;;) {
        while (i < before->count && has_key(&before->bindings[i], key, klen)) {
            i++;
        }
        while (j < after->count && has_key(&after->bindings[j], key, klen)) {
            const dotenv_binding *k = &after->bindings[j++];
            seen++;
            if (!value || !k->value || k->value_len != value_len ||
                memcmp(k->value, value, value_len) != 0) {
                return 0;
            }
        }
        if (i == before->count || j == after->count) {
            break;
        }
        const dotenv_binding *x = &before->bindings[i++], *y = &after->bindings[j++];
        if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
            !x->value != !y->value ||
            (x->value &&
             (x->value_len != y->value_len || memcmp(x->value, y->value, x->value_len) != 0))) {
            return 0;
        }
    }
    return i == before->count && j == after->count && seen == (value ? 1u : 0u);
}

/* Builds into b the text with every binding of key removed, except that
 * the last one is replaced by `line` when line is non-NULL; when there is
 * none and line is non-NULL, line is appended. */
static void splice(const char *text, size_t len, const dotenv_doc *doc, const char *key,
                   size_t klen, const char *line, size_t line_len, struct buf *b)
{
    size_t last = SIZE_MAX, pos = doc->bom_len;
    for (size_t i = 0; i < doc->count; i++) {
        if (has_key(&doc->bindings[i], key, klen)) {
            last = i;
        }
    }
    for (size_t i = 0; i < doc->count && last != SIZE_MAX; i++) {
        const dotenv_binding *d = &doc->bindings[i];
        if (has_key(d, key, klen)) {
            buf_append(b, text + pos, d->start - pos);
            if (i == last && line) {
                buf_append(b, line, line_len);
            }
            pos = d->end;
        }
    }
    buf_append(b, text + pos, len - pos);
    if (last == SIZE_MAX && line) {
        if (len > doc->bom_len && text[len - 1] != '\n' && text[len - 1] != '\r') {
            buf_append(b, "\n", 1);
        }
        buf_append(b, line, line_len);
    }
}

/* Rewrites text as splice() does, then parses the result to prove that
 * every other binding reads back unchanged and key reads back as value
 * (or is gone when value is NULL). *matches gets the number of bindings of
 * key in text. Returns 0, -EILSEQ, -EBADMSG (the new text would read
 * differently: an unterminated quote earlier in text swallows the new
 * line) or -ENOMEM. */
static int rewrite(const char *text, size_t len, const char *key, const char *line, size_t line_len,
                   const char *value, size_t value_len, char **out, size_t *out_len, int *matches)
{
    dotenv_doc before, after;
    int rc = dotenv_parse(text, len, &before);
    if (rc != 0) {
        return rc;
    }
    size_t klen = strlen(key);
    *matches = 0;
    for (size_t i = 0; i < before.count; i++) {
        *matches += has_key(&before.bindings[i], key, klen);
    }
    struct buf b = {0};
    splice(text, len, &before, key, klen, line, line_len, &b);
    rc = buf_take(&b, out, out_len);
    if (rc == 0) {
        rc = dotenv_parse(*out, *out_len, &after);
        if (rc == 0 && !same_but_key(&before, &after, key, klen, value, value_len)) {
            rc = -EBADMSG;
        }
        dotenv_doc_free(&after);
        if (rc != 0) {
            free(*out);
            *out = NULL;
        }
    }
    dotenv_doc_free(&before);
    return rc;
}

int dotenv_set(const char *text, size_t len, const char *key, const char *value, size_t value_len,
               char **out, size_t *out_len, int *interp_warning)
{
    size_t klen = strlen(key);
    if (!dotenv_key_valid(key, klen)) {
        return -EINVAL;
    }
    char *quoted;
    size_t qlen;
    int rc = dotenv_quote(value, value_len, &quoted, &qlen, interp_warning);
    if (rc != 0) {
        return rc;
    }
    struct buf line = {0};
    buf_append(&line, key, klen);
    buf_append(&line, "=", 1);
    buf_append(&line, quoted, qlen);
    buf_append(&line, "\n", 1);
    free(quoted);
    if (line.err) {
        free(line.data);
        return -ENOMEM;
    }
    int matches;
    rc = rewrite(text, len, key, line.data, line.len, value, value_len, out, out_len, &matches);
    free(line.data);
    return rc;
}

int dotenv_unset(const char *text, size_t len, const char *key, char **out, size_t *out_len,
                 int *removed)
{
    if (!dotenv_key_valid(key, strlen(key))) {
        return -EINVAL;
    }
    int matches = 0;
    int rc = rewrite(text, len, key, NULL, 0, NULL, 0, out, out_len, &matches);
    if (removed) {
        *removed = rc == 0 ? matches : 0;
    }
    return rc;
}
