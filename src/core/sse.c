/* Server-Sent Events parser; see sse.h. */
#include "sse.h"

#include <errno.h>
#include <string.h>

static const char BOM[] = "\xEF\xBB\xBF";

void sse_init(struct sse_parser *p)
{
    memset(p, 0, sizeof *p);
}

void sse_free(struct sse_parser *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->name);
    p->has_data = 0;
}

/* Replaces b's content with len bytes of s (NUL-terminated). */
static int set_text(struct buf *b, const char *s, size_t len)
{
    buf_clear(b);
    if (buf_append(b, s, len) != 0 || buf_append_byte(b, '\0') != 0) {
        return -ENOMEM;
    }
    b->len--; /* the NUL stays, uncounted */
    return 0;
}

/* Dispatches the current event (when it has data) and resets it. */
static int dispatch(struct sse_parser *p, sse_event_fn fn, void *ctx)
{
    int rc = 0;
    if (p->has_data) {
        if (buf_append_byte(&p->data, '\0') != 0 ||
            (p->name.len == 0 && set_text(&p->name, "", 0) != 0)) {
            rc = -ENOMEM;
        } else {
            p->data.len--;
            rc = fn(ctx, p->name.data, p->data.data, p->data.len);
        }
    }
    buf_clear(&p->data);
    buf_clear(&p->name);
    p->has_data = 0;
    return rc;
}

/* Handles one complete line (without its end). */
static int take_line(struct sse_parser *p, const char *s, size_t len, sse_event_fn fn, void *ctx)
{
    if (len == 0) {
        return dispatch(p, fn, ctx);
    }
    if (s[0] == ':') {
        return 0; /* a comment (keep-alive) */
    }
    const char *colon = memchr(s, ':', len);
    size_t flen = colon ? (size_t)(colon - s) : len;
    const char *v = colon ? colon + 1 : s + len;
    size_t vlen = (size_t)(s + len - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (p->data.len + vlen + 1 > SSE_EVENT_CAP) {
            return -EFBIG;
        }
        if ((p->has_data && buf_append_byte(&p->data, '\n') != 0) ||
            buf_append(&p->data, v, vlen) != 0) {
            return -ENOMEM;
        }
        p->has_data = 1;
    } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
        return set_text(&p->name, v, vlen);
    }
    return 0;
}

int sse_feed(struct sse_parser *p, const char *bytes, size_t len, sse_event_fn fn, void *ctx)
{
    size_t i = 0;
    while (!p->started && i < len) { /* a BOM, possibly split across feeds */
        if (bytes[i] == BOM[p->bom_seen]) {
            i++;
            if (++p->bom_seen == 3) {
                p->started = 1;
            }
            continue;
        }
        p->started = 1;
        if (p->bom_seen > 0) { /* not a BOM after all: its bytes are text */
            if (buf_append(&p->line, BOM, p->bom_seen) != 0) {
                return -ENOMEM;
            }
        }
    }
    while (i < len) {
        char c = bytes[i];
        if (p->after_cr && c == '\n') {
            p->after_cr = 0;
            i++;
            continue;
        }
        p->after_cr = 0;
        /* the run of bytes up to the next line end */
        size_t j = i;
        while (j < len && bytes[j] != '\n' && bytes[j] != '\r') {
            j++;
        }
        if (p->line.len + (j - i) > SSE_EVENT_CAP) {
            return -EFBIG;
        }
        if (j == len) {
            return buf_append(&p->line, bytes + i, j - i) != 0 ? -ENOMEM : 0;
        }
        int rc;
        if (p->line.len == 0) {
            rc = take_line(p, bytes + i, j - i, fn, ctx);
        } else if (buf_append(&p->line, bytes + i, j - i) != 0) {
            rc = -ENOMEM;
        } else {
            rc = take_line(p, p->line.data, p->line.len, fn, ctx);
            buf_clear(&p->line);
        }
        if (rc != 0) {
            return rc;
        }
        p->after_cr = bytes[j] == '\r';
        i = j + 1;
    }
    return 0;
}
