/* Fuzz target for the .env engine (src/core/dotenv.h). Invariants, any
 * broken one aborts:
 *   1. parsing arbitrary bytes never crashes; valid UTF-8 always parses;
 *      binding spans are ordered, disjoint and inside the text; line
 *      numbers are >= 1; interpolation never crashes;
 *   2. the input as a value (valid UTF-8, no NUL): quote -> parse gives it
 *      back exactly, or it is refused with -EDOM and ends with a backslash;
 *   3. text = input up to its first NUL, value = the rest: set then parse
 *      gives the value (or -EBADMSG / -EDOM / -EINVAL / -EILSEQ refusals
 *      consistent with the inputs); unset then parse has no such key. */
#include "buf.h"
#include "dotenv.h"
#include "fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_KEY "FUZZ_KEY"

/* Aborts unless cond holds. */
static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

/* Invariant 1. */
static void check_parse(const char *text, size_t len)
{
    dotenv_doc doc;
    int rc = dotenv_parse(text, len, &doc);
    if (!dotenv_utf8_valid(text, len)) {
        require(rc == -EILSEQ && doc.count == 0);
        return;
    }
    if (rc == -ENOMEM) {
        return;
    }
    require(rc == 0);
    size_t prev_end = 0;
    for (size_t i = 0; i < doc.count; i++) {
        const dotenv_binding *b = &doc.bindings[i];
        require(b->start >= prev_end && b->start < b->end && b->end <= len);
        require(b->line >= 1 && b->key && b->key_len > 0);
        prev_end = b->end;
    }
    for (size_t i = 0; i < doc.warning_count; i++) {
        require(doc.warning_lines[i] >= 1);
    }
    dotenv_pair env[] = {{"A", 1, "x", 1}, {"", 0, "e", 1}};
    require(dotenv_interpolate(&doc, env, 2, (int)(len & 1)) != -EINVAL);
    dotenv_doc_free(&doc);
}

/* 1 when text binds FUZZ_KEY last to value (value NULL: not bound). */
static int reads_back(const char *text, size_t len, const char *value, size_t value_len)
{
    dotenv_doc doc;
    if (dotenv_parse(text, len, &doc) != 0) {
        return 0;
    }
    const dotenv_binding *b = dotenv_lookup(&doc, FUZZ_KEY, strlen(FUZZ_KEY));
    int ok = value ? b && b->value && b->value_len == value_len &&
                         memcmp(b->value, value, value_len) == 0
                   : b == NULL;
    dotenv_doc_free(&doc);
    return ok;
}

/* Invariant 2: the quoted value is written as the line FUZZ_KEY=<quoted>
 * straight into one buffer, which a refusal leaves as it was. */
static void check_quote(const char *value, size_t len)
{
    struct buf line = {0};
    buf_append(&line, FUZZ_KEY "=", strlen(FUZZ_KEY "="));
    size_t head = line.len;
    int rc = dotenv_quote(value, len, &line, NULL);
    require(rc == 0 || line.len == head);
    if (memchr(value, '\0', len)) {
        require(rc == -EINVAL);
    } else if (!dotenv_utf8_valid(value, len)) {
        require(rc == -EILSEQ);
    } else if (rc == -EDOM) {
        require(len > 0 && value[len - 1] == '\\');
    } else if (rc != -ENOMEM) {
        require(rc == 0);
        if (buf_append(&line, "\n", 1) == 0) {
            require(reads_back(line.data, line.len, value, len));
        }
    }
    buf_free(&line);
}

/* Invariant 3. */
static void check_set(const char *data, size_t size)
{
    const char *nul = memchr(data, '\0', size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    const char *value = nul ? nul + 1 : "v";
    size_t vlen = nul ? size - tlen - 1 : 1;
    struct buf out = {0};
    int rc = dotenv_set(data, tlen, FUZZ_KEY, value, vlen, &out, NULL);
    if (rc == 0) {
        require(reads_back(out.data, out.len, value, vlen));
    } else {
        require(out.len == 0);
        require(rc == -EBADMSG || rc == -EDOM || rc == -EINVAL || rc == -EILSEQ || rc == -ENOMEM);
        require(rc != -EILSEQ || !dotenv_utf8_valid(data, tlen) || !dotenv_utf8_valid(value, vlen));
        require(rc != -EINVAL || memchr(value, '\0', vlen));
    }
    buf_clear(&out);
    int removed = 0;
    rc = dotenv_unset(data, tlen, FUZZ_KEY, &out, &removed);
    if (rc == 0) {
        require(reads_back(out.data, out.len, NULL, 0));
    }
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    check_parse(text, size);
    check_quote(text, size);
    check_set(text, size);
    return 0;
}
