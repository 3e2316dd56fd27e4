/* Naive reference masker shared by tests/c/test_mask.c,
 * tests/fuzz/fuzz_mask.c and the baseline of bench/mask/bench_mask.c: marks
 * every occurrence of every pattern (a memmem loop per pattern), then
 * replaces each maximal run of marked bytes by "***". Patterns come from
 * mask_forms, exactly what mask_add registers (deduplicated). */
#ifndef PIXIE_MASK_NAIVE_H
#define PIXIE_MASK_NAIVE_H

#include "mask_forms.h"

#include <stdlib.h>
#include <string.h>

struct naive_set {
    char **p;
    size_t *len;
    size_t n, cap;
};

static inline int naive_collect(void *ctx, const char *form, size_t len)
{
    struct naive_set *ns = ctx;
    for (size_t i = 0; i < ns->n; i++) {
        if (ns->len[i] == len && memcmp(ns->p[i], form, len) == 0) {
            return 0;
        }
    }
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 16;
        ns->p = realloc(ns->p, ns->cap * sizeof *ns->p);
        ns->len = realloc(ns->len, ns->cap * sizeof *ns->len);
        if (!ns->p || !ns->len) {
            abort();
        }
    }
    ns->p[ns->n] = malloc(len ? len : 1);
    if (!ns->p[ns->n]) {
        abort();
    }
    memcpy(ns->p[ns->n], form, len);
    ns->len[ns->n++] = len;
    return 0;
}

/* Adds value and its derived forms to the set (as mask_add would). */
static inline void naive_add(struct naive_set *ns, const char *v, size_t len)
{
    mask_forms(v, len, naive_collect, ns);
}

static inline void naive_free(struct naive_set *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->p[i]);
    }
    free(ns->p);
    free(ns->len);
    memset(ns, 0, sizeof *ns);
}

/* Length of the longest tail of in[0, n) that is the start of some pattern
 * (a secret the text did not finish). */
static inline size_t naive_open_tail(const struct naive_set *ns, const char *in, size_t n)
{
    size_t best = 0;
    for (size_t k = 0; k < ns->n; k++) {
        for (size_t t = ns->len[k] < n ? ns->len[k] : n; t > best; t--) {
            if (memcmp(ns->p[k], in + n - t, t) == 0) {
                best = t;
                break;
            }
        }
    }
    return best;
}

/* malloc'd masked copy of in[0, n) (caller frees); its length in *out_len.
 * With `stream_end` set, the whole output of a mask_stream fed in[0, n) and
 * then flushed: an open tail (naive_open_tail) of 4 bytes or more is
 * covered too. */
static inline char *naive_scrub_as(const struct naive_set *ns, const char *in, size_t n,
                                   int stream_end, size_t *out_len)
{
    unsigned char *cov = calloc(n + 1, 1);
    char *out = malloc(3 * n + 1);
    if (!cov || !out) {
        abort();
    }
    for (size_t k = 0; k < ns->n; k++) {
        const char *pos = in, *end = in + n, *hit;
        while ((hit = memmem(pos, (size_t)(end - pos), ns->p[k], ns->len[k])) != NULL) {
            memset(cov + (hit - in), 1, ns->len[k]);
            pos = hit + 1;
        }
    }
    size_t tail = stream_end ? naive_open_tail(ns, in, n) : 0;
    if (tail >= 4) {
        memset(cov + n - tail, 1, tail);
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cov[i]) {
            out[w++] = in[i];
        } else if (i == 0 || !cov[i - 1]) {
            memcpy(out + w, "***", 3);
            w += 3;
        }
    }
    out[w] = '\0';
    free(cov);
    *out_len = w;
    return out;
}

/* naive_scrub_as for a one-shot scrub. */
static inline char *naive_scrub(const struct naive_set *ns, const char *in, size_t n,
                                size_t *out_len)
{
    return naive_scrub_as(ns, in, n, 0, out_len);
}

#endif
