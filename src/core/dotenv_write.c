/* The writer of the .env dialect: quoting a value so python-dotenv 1.2.x
 * reads it back exactly, and rewriting one key of a file keeping every
 * other byte, proved by parsing the result again. */
#include "buf.h"
#include "dotenv.h"
#include "dotenv_chars.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* 1 when value (ending in a backslash) can be written unquoted and read
 * back unchanged: not empty, no CR or LF, no leading or trailing
 * whitespace, no whitespace followed by '#', no leading quote. */
static int unquoted_ok(const char *value, size_t len)
{
    const unsigned char *s = (const unsigned char *)value;
    if (len == 0 || s[0] == '\'' || s[0] == '"' || dotenv_ws_len(s, 0, len) ||
        memchr(s, '\n', len) || memchr(s, '\r', len)) {
        return 0;
    }
    int last_ws = 0;
    for (size_t i = 0; i < len;) {
        size_t w = dotenv_ws_len(s, i, len);
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

/* Cuts out back to `len` bytes (len <= out->len) after a failure, keeping
 * its error; returns rc. */
static int fail_at(struct buf *out, size_t len, int rc)
{
    out->len = len;
    if (out->data) {
        out->data[len] = '\0';
    }
    return rc;
}

/* Appends KEY=<value quoted>\n to b (value already checked). */
static void add_line(struct buf *b, const char *key, size_t klen, const char *value, size_t len)
{
    buf_append(b, key, klen);
    buf_append(b, "=", 1);
    add_quoted(b, value, len);
    buf_append(b, "\n", 1);
}

/* dotenv_check_value, then *interp_warning (may be NULL) as dotenv_quote
 * sets it. Returns dotenv_check_value's result. */
static int check_for_writing(const char *value, size_t len, int *interp_warning)
{
    int rc = dotenv_check_value(value, len);
    if (rc == 0 && interp_warning) {
        *interp_warning = memmem(value, len, "${", 2) != NULL;
    }
    return rc;
}

int dotenv_quote(const char *value, size_t len, struct buf *out, int *interp_warning)
{
    int rc = check_for_writing(value, len, interp_warning);
    if (rc != 0) {
        return rc;
    }
    size_t start = out->len;
    add_quoted(out, value, len);
    return out->err ? fail_at(out, start, out->err) : 0;
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

/* Appends to b the text with every binding of key removed, except that
 * the last one is replaced by the line KEY=<value quoted>\n when value is
 * non-NULL; when there is none and value is non-NULL, the line is appended. */
static void splice(const char *text, size_t len, const dotenv_doc *doc, const char *key,
                   size_t klen, const char *value, size_t value_len, struct buf *b)
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
            if (i == last && value) {
                add_line(b, key, klen, value, value_len);
            }
            pos = d->end;
        }
    }
    buf_append(b, text + pos, len - pos);
    if (last == SIZE_MAX && value) {
        if (len > doc->bom_len && text[len - 1] != '\n' && text[len - 1] != '\r') {
            buf_append(b, "\n", 1);
        }
        add_line(b, key, klen, value, value_len);
    }
}

/* Appends to out the text rewritten as splice() does, then parses it to
 * prove that every other binding reads back unchanged and key reads back
 * as value (or is gone when value is NULL). *matches gets the number of
 * bindings of key in text. Returns 0, -EILSEQ, -EBADMSG (the new text would
 * read differently: an unterminated quote earlier in text swallows the new
 * line) or out's error; on failure out keeps its old length. */
static int rewrite(const char *text, size_t len, const char *key, const char *value,
                   size_t value_len, struct buf *out, int *matches)
{
    dotenv_doc before, after;
    *matches = 0;
    int rc = dotenv_parse(text, len, &before);
    if (rc != 0) {
        return rc;
    }
    size_t klen = strlen(key), start = out->len;
    for (size_t i = 0; i < before.count; i++) {
        *matches += has_key(&before.bindings[i], key, klen);
    }
    splice(text, len, &before, key, klen, value, value_len, out);
    rc = out->err;
    if (rc == 0) {
        rc = dotenv_parse(out->data + start, out->len - start, &after);
        if (rc == 0 && !same_but_key(&before, &after, key, klen, value, value_len)) {
            rc = -EBADMSG;
        }
        dotenv_doc_free(&after);
    }
    dotenv_doc_free(&before);
    return rc != 0 ? fail_at(out, start, rc) : 0;
}

int dotenv_set(const char *text, size_t len, const char *key, const char *value, size_t value_len,
               struct buf *out, int *interp_warning)
{
    if (!dotenv_key_valid(key, strlen(key))) {
        return -EINVAL;
    }
    int rc = check_for_writing(value, value_len, interp_warning);
    if (rc != 0) {
        return rc;
    }
    int matches;
    return rewrite(text, len, key, value, value_len, out, &matches);
}

int dotenv_unset(const char *text, size_t len, const char *key, struct buf *out, int *removed)
{
    if (!dotenv_key_valid(key, strlen(key))) {
        return -EINVAL;
    }
    int matches = 0;
    int rc = rewrite(text, len, key, NULL, 0, out, &matches);
    if (removed) {
        *removed = rc == 0 ? matches : 0;
    }
    return rc;
}
