/* An incremental Server-Sent Events parser (the WHATWG event-stream format):
 * bytes go in as they arrive, in pieces of any size; each complete event
 * comes out as (event name, data). Lines end in LF, CR or CRLF (a CRLF split
 * across two feeds counts once); `data:` lines are joined with LF; one
 * leading space after the colon is dropped; comment lines (starting with
 * ':'), `id:`, `retry:` and unknown fields are ignored; a blank line
 * dispatches the event when it has data. A UTF-8 BOM at the very start is
 * skipped. An event not ended by a blank line when the stream ends is
 * dropped (as the standard says). No allocation is kept beyond one event. */
#ifndef PIXIE_SSE_H
#define PIXIE_SSE_H

#include "buf.h"

#include <stddef.h>

#define SSE_EVENT_CAP (16u * 1024u * 1024u) /* bytes of one event's data */

/* Called once per event. name: the `event:` value, "" when none (the
 * standard's "message"); data and name are NUL-terminated and valid only
 * during the call. A non-zero return stops the parser: sse_feed returns it. */
typedef int (*sse_event_fn)(void *ctx, const char *name, const char *data, size_t len);

struct sse_parser {
    struct buf line; /* the current, unfinished line */
    struct buf data; /* the current event's data */
    struct buf name; /* the current event's name */
    int has_data;    /* a data: line was seen for the current event */
    int after_cr;    /* the last byte fed was CR: an LF next is the same end */
    int started;     /* bytes were fed (the BOM check is done) */
    size_t bom_seen; /* bytes of a possible BOM matched so far */
};

/* Zeroes p. */
void sse_init(struct sse_parser *p);

/* Feeds len bytes. Returns 0, the callback's non-zero result (parsing
 * stopped there), -EFBIG when a line or an event's data passes
 * SSE_EVENT_CAP, or -ENOMEM. After a non-zero return only sse_free may
 * follow. */
int sse_feed(struct sse_parser *p, const char *bytes, size_t len, sse_event_fn fn, void *ctx);

/* Frees p's buffers (idempotent); an unfinished event is dropped. */
void sse_free(struct sse_parser *p);

#endif
