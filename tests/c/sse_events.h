/* Test helper shared by the SSE unit test and fuzz target: records the
 * events an sse_parser gives as "name\x1fdata\x1e" in a buf. */
#ifndef PIXIE_TEST_SSE_EVENTS_H
#define PIXIE_TEST_SSE_EVENTS_H

#include "buf.h"
#include "sse.h"

#include <string.h>

/* sse_event_fn that appends the event to the struct buf at ctx. */
static inline int sse_record(void *ctx, const char *name, const char *data, size_t len)
{
    struct buf *b = ctx;
    buf_append(b, name, strlen(name));
    buf_append_byte(b, '\x1f');
    buf_append(b, data, len);
    buf_append_byte(b, '\x1e');
    return b->err;
}

/* Parses text fed in pieces of `step` bytes (0: whole), each event passed
 * to fn with ctx out (fn NULL: sse_record); returns sse_feed's first
 * non-zero result or 0. */
static inline int sse_parse_with(const char *text, size_t len, size_t step, sse_event_fn fn,
                                 struct buf *out)
{
    struct sse_parser p;
    sse_init(&p);
    int rc = 0;
    size_t i = 0;
    do {
        size_t n = step == 0 || len - i < step ? len - i : step;
        rc = sse_feed(&p, text + i, n, fn ? fn : sse_record, out);
        i += n;
    } while (rc == 0 && i < len);
    sse_free(&p);
    return rc;
}

/* sse_parse_with recording every event with sse_record. */
static inline int sse_parse_in_steps(const char *text, size_t len, size_t step, struct buf *out)
{
    return sse_parse_with(text, len, step, NULL, out);
}

#endif
