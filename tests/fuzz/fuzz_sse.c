/* Fuzz target for the Server-Sent Events parser (src/core/sse.h).
 * Invariants, any broken one aborts:
 *   1. parsing arbitrary bytes never crashes;
 *   2. the events do not depend on how the bytes are cut into feeds: whole,
 *      byte by byte and in pieces of a size taken from the input give the
 *      same events;
 *   3. no event name or data holds a CR, no name an LF (they end lines). */
#include "../c/sse_events.h"
#include "buf.h"
#include "fuzz.h"
#include "sse.h"

#include <stdlib.h>
#include <string.h>

static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

/* Invariant 3 for one event, then records it. */
static int check_event(void *ctx, const char *name, const char *data, size_t len)
{
    require(strchr(name, '\r') == NULL && strchr(name, '\n') == NULL);
    require(memchr(data, '\r', len) == NULL && data[len] == '\0');
    return sse_record(ctx, name, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t step = (size_t)(data[0] % 17) + 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct buf whole = {0}, bytes = {0}, pieces = {0};
    int a = sse_parse_with(text, len, 0, check_event, &whole);
    int b = sse_parse_in_steps(text, len, 1, &bytes);
    int c = sse_parse_in_steps(text, len, step, &pieces);
    require(a == b && b == c);
    require(whole.len == bytes.len && whole.len == pieces.len);
    require(whole.len == 0 || (memcmp(whole.data, bytes.data, whole.len) == 0 &&
                               memcmp(whole.data, pieces.data, whole.len) == 0));
    buf_free(&whole);
    buf_free(&bytes);
    buf_free(&pieces);
    return 0;
}
