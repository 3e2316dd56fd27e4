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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t step = (size_t)(data[0] % 17) + 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct buf whole = {0}, bytes = {0}, pieces = {0};
    int a = sse_parse_in_steps(text, len, 0, &whole);
    int b = sse_parse_in_steps(text, len, 1, &bytes);
    int c = sse_parse_in_steps(text, len, step, &pieces);
    require(a == b && b == c);
    require(whole.len == bytes.len && whole.len == pieces.len);
    require(whole.len == 0 || (memcmp(whole.data, bytes.data, whole.len) == 0 &&
                               memcmp(whole.data, pieces.data, whole.len) == 0));
    /* invariant 3: records are name \x1f data \x1e */
    int in_name = 1;
    for (size_t i = 0; i < whole.len; i++) {
        char ch = whole.data[i];
        require(ch != '\r');
        if (ch == '\x1f' && in_name) {
            in_name = 0;
        } else if (ch == '\x1e') {
            in_name = 1;
        } else if (in_name) {
            require(ch != '\n');
        }
    }
    buf_free(&whole);
    buf_free(&bytes);
    buf_free(&pieces);
    return 0;
}
