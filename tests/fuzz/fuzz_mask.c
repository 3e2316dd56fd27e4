/* Fuzz target for the masker: the input holds a few values and a text
 *   byte 0: number of values - 1 (low 3 bits); byte 1: split point seed;
 *   then per value: one length byte (mod 24) and that many bytes;
 *   the rest is the text.
 * The first half of the values is registered, the text scrubbed once, then
 * the rest registered (so the registry's second automaton level is used).
 * Invariants (a broken one aborts): mask_scrub_to equals the naive reference
 * (every occurrence of every registered pattern, runs merged into "***");
 * a stream fed the text in two pieces cut at the seeded split point, and one
 * fed byte by byte (short texts), both flushed, equal the naive reference
 * of a stream (the one-shot scrub, plus an unfinished secret of 4 bytes or
 * more at the end masked: mask.h). */
#include "buf.h"
#include "fuzz.h"
#include "mask.h"
#include "../c/mask_naive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_mask: %s\n", what);
        abort();
    }
}

/* Appends the stream's output for data[0, len) (flushing when flush is set)
 * to acc. */
static void feed(struct mask_stream *s, const char *data, size_t len, int flush, struct buf *acc)
{
    int rc = flush ? mask_stream_flush_to(s, acc) : mask_stream_feed_to(s, data, len, acc);
    require(rc == 0, "stream failed");
}

/* 1 when b holds exactly p[0, n). */
static int same(const struct buf *b, const char *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t nvals = (size_t)(data[0] & 7) + 1, split_seed = data[1], pos = 2;
    struct naive_set ns = {0};
    mask_reset();
    for (size_t k = 0; k < nvals && pos < size; k++) {
        if (k == nvals / 2) {
            struct buf early = {0};
            mask_scrub_to(&early, (const char *)data, size);
            buf_free(&early);
        }
        size_t len = data[pos++] % 24;
        if (len > size - pos) {
            len = size - pos;
        }
        int rc = mask_add((const char *)data + pos, len);
        require(rc == (len >= 4 ? 1 : 0), "mask_add result");
        naive_add(&ns, (const char *)data + pos, len);
        pos += len;
    }
    const char *text = (const char *)data + pos;
    size_t n = size - pos;
    size_t want_len;
    char *want = naive_scrub(&ns, text, n, &want_len);
    struct buf got = {0};
    require(mask_scrub_to(&got, text, n) == 0, "scrub failed");
    require(same(&got, want, want_len), "engine != naive");
    require(got.data[got.len] == '\0', "scrub output not NUL-terminated");

    size_t swant_len;
    char *swant = naive_scrub_as(&ns, text, n, 1, &swant_len);
    struct buf acc = {0};
    size_t cut = n ? split_seed % (n + 1) : 0;
    struct mask_stream *s = mask_stream_new();
    require(s != NULL, "out of memory");
    feed(s, text, cut, 0, &acc);
    feed(s, text + cut, n - cut, 0, &acc);
    feed(s, NULL, 0, 1, &acc);
    require(mask_stream_pending(s) == 0, "flush left bytes");
    require(same(&acc, swant, swant_len), "split stream != naive");
    if (n <= 512) {
        buf_clear(&acc);
        for (size_t i = 0; i < n; i++) {
            feed(s, text + i, 1, 0, &acc);
        }
        feed(s, NULL, 0, 1, &acc);
        require(same(&acc, swant, swant_len), "bytewise stream != naive");
    }
    mask_stream_free(s);
    buf_free(&acc);
    buf_free(&got);
    free(want);
    free(swant);
    naive_free(&ns);
    return 0;
}
