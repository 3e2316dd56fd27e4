/* Fuzz target for the masker: the input holds a few values and a text
 *   byte 0: number of values - 1 (low 3 bits); byte 1: split point seed;
 *   then per value: one length byte (mod 24) and that many bytes;
 *   the rest is the text.
 * The first half of the values is registered, the text scrubbed once, then
 * the rest registered (so the registry's second automaton level is used).
 * Invariants (a broken one aborts): mask_scrub equals the naive reference
 * (every occurrence of every registered pattern, runs merged into "***");
 * a stream fed the text in two pieces cut at the seeded split point, and one
 * fed byte by byte (short texts), both flushed, equal the naive reference
 * of a stream (the one-shot scrub, plus an unfinished secret of 4 bytes or
 * more at the end masked: mask.h). */
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
 * to *acc (length *acc_len); *acc has room for 3 * total input + 16. */
static void feed(struct mask_stream *s, const char *data, size_t len, int flush, char *acc,
                 size_t *acc_len)
{
    char *o = NULL;
    size_t ol = 0;
    int rc = flush ? mask_stream_flush(s, &o, &ol) : mask_stream_feed(s, data, len, &o, &ol);
    require(rc == 0, "stream failed");
    require(o != NULL || ol == 0, "length without output");
    if (o) {
        memcpy(acc + *acc_len, o, ol);
        *acc_len += ol;
    }
    free(o);
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
            size_t l;
            free(mask_scrub((const char *)data, size, &l));
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
    size_t want_len, got_len;
    char *want = naive_scrub(&ns, text, n, &want_len);
    char *got = mask_scrub(text, n, &got_len);
    require(got != NULL, "scrub failed");
    require(got_len == want_len && memcmp(got, want, want_len) == 0, "engine != naive");
    require(got[got_len] == '\0', "scrub output not NUL-terminated");

    size_t swant_len;
    char *swant = naive_scrub_as(&ns, text, n, 1, &swant_len);
    char *acc = malloc(3 * n + 16);
    size_t acc_len = 0, cut = n ? split_seed % (n + 1) : 0;
    struct mask_stream *s = mask_stream_new();
    require(s && acc, "out of memory");
    feed(s, text, cut, 0, acc, &acc_len);
    feed(s, text + cut, n - cut, 0, acc, &acc_len);
    feed(s, NULL, 0, 1, acc, &acc_len);
    require(mask_stream_pending(s) == 0, "flush left bytes");
    require(acc_len == swant_len && memcmp(acc, swant, swant_len) == 0, "split stream != naive");
    if (n <= 512) {
        acc_len = 0;
        for (size_t i = 0; i < n; i++) {
            feed(s, text + i, 1, 0, acc, &acc_len);
        }
        feed(s, NULL, 0, 1, acc, &acc_len);
        require(acc_len == swant_len && memcmp(acc, swant, swant_len) == 0,
                "bytewise stream != naive");
    }
    mask_stream_free(s);
    free(acc);
    free(got);
    free(want);
    free(swant);
    naive_free(&ns);
    return 0;
}
