/* Aho–Corasick automaton with a 4-byte hashed prefilter.
 *
 * Build: the patterns are sorted and deduplicated, then the trie is laid out
 * breadth first, so the children of a state have consecutive ids and their
 * edge labels sit side by side in `label` (found with memchr). Failure links
 * and the "longest pattern ending here" length are computed in id order.
 *
 * Scan: most text cannot begin a match. While the automaton is at the root,
 * the scanner hashes the 4 bytes at each position and tests a bit set holding
 * the hashes of every pattern's first 4 bytes (no pattern is shorter); only
 * at a hit does it step the automaton, and it drops back to the prefilter as
 * soon as the live partial match is shorter than 4 bytes and no longer starts
 * where it entered. Positions the prefilter skips cannot begin a pattern, so
 * the matches found are exactly those of the plain automaton. */
#include "mask_ac.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

struct ac_state {
    uint32_t fail;   /* failure link */
    uint32_t first;  /* id of the first child; children are consecutive */
    uint32_t depth;  /* length of the prefix this state stands for */
    uint32_t outlen; /* longest pattern that ends here (0: none) */
    uint32_t nchild;
};

struct mask_ac {
    uint32_t nstates;
    struct ac_state *st;
    uint8_t *label; /* label[u]: byte on the edge into state u */
    uint32_t root_next[256];
    uint64_t *bloom;
    unsigned bloom_shift;
};

struct pat {
    const unsigned char *p;
    size_t len;
};

/* qsort order: bytewise, a prefix before its extensions. */
static int pat_cmp(const void *x, const void *y)
{
    const struct pat *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);
    if (c != 0) {
        return c;
    }
    return (a->len > b->len) - (a->len < b->len);
}

static uint32_t hash4(const unsigned char *p, unsigned shift)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return (x * 0x9E3779B1u) >> shift;
}

/* Child of state v on byte c, or NONE. */
static inline uint32_t child_of(const struct mask_ac *a, uint32_t v, unsigned char c)
{
    const struct ac_state *s = &a->st[v];
    if (s->nchild == 1) {
        return a->label[s->first] == c ? s->first : NONE;
    }
    const uint8_t *l = a->label + s->first;
    const uint8_t *hit = memchr(l, c, s->nchild);
    return hit ? s->first + (uint32_t)(hit - l) : NONE;
}

/* The automaton's transition from st on byte c (following failure links). */
static inline uint32_t ac_step(const struct mask_ac *a, uint32_t st, unsigned char c)
{
    for (;;) {
        if (st == MASK_AC_ROOT) {
            return a->root_next[c];
        }
        uint32_t g = child_of(a, st, c);
        if (g != NONE) {
            return g;
        }
        st = a->st[st].fail;
    }
}

/* Lays out the trie of the sorted, unique patterns ps[0, m) breadth first.
 * Returns the number of states. lo/hi are scratch arrays of the states'
 * pattern ranges. */
static uint32_t build_trie(struct mask_ac *a, const struct pat *ps, uint32_t m, uint32_t *lo,
                           uint32_t *hi)
{
    uint32_t nst = 1;
    lo[0] = 0;
    hi[0] = m;
    a->st[0].depth = 0;
    for (uint32_t v = 0; v < nst; v++) {
        uint32_t k = lo[v], end = hi[v], d = a->st[v].depth;
        a->st[v].outlen = 0;
        if (k < end && ps[k].len == d) {
            a->st[v].outlen = d; /* terminal; final value set in link_failures */
            k++;
        }
        a->st[v].first = nst;
        a->st[v].nchild = 0;
        while (k < end) {
            unsigned char c = ps[k].p[d];
            uint32_t k2 = k + 1;
            while (k2 < end && ps[k2].p[d] == c) {
                k2++;
            }
            uint32_t u = nst++;
            a->label[u] = c;
            a->st[u].depth = d + 1;
            lo[u] = k;
            hi[u] = k2;
            a->st[v].nchild++;
            k = k2;
        }
    }
    return nst;
}

/* Computes failure links, root transitions and outlen, in id order (ids are
 * breadth first, so a failure target always precedes its source). */
static void link_failures(struct mask_ac *a)
{
    memset(a->root_next, 0, sizeof a->root_next);
    const struct ac_state *root = &a->st[0];
    for (uint32_t u = root->first; u < root->first + root->nchild; u++) {
        a->root_next[a->label[u]] = u;
        a->st[u].fail = MASK_AC_ROOT;
    }
    a->st[0].fail = MASK_AC_ROOT;
    for (uint32_t v = 1; v < a->nstates; v++) {
        const struct ac_state *sv = &a->st[v];
        for (uint32_t u = sv->first; u < sv->first + sv->nchild; u++) {
            unsigned char c = a->label[u];
            uint32_t f = sv->fail;
            for (;;) {
                if (f == MASK_AC_ROOT) {
                    a->st[u].fail = a->root_next[c];
                    break;
                }
                uint32_t g = child_of(a, f, c);
                if (g != NONE) {
                    a->st[u].fail = g;
                    break;
                }
                f = a->st[f].fail;
            }
        }
    }
    for (uint32_t u = 1; u < a->nstates; u++) {
        if (a->st[u].outlen == 0) {
            a->st[u].outlen = a->st[a->st[u].fail].outlen;
        }
    }
}

/* Sizes and fills the prefilter: about 128 bits per pattern, 2^15 to 2^22. */
static int build_bloom(struct mask_ac *a, const struct pat *ps, uint32_t m)
{
    unsigned lg = 15;
    while (lg < 22 && ((uint64_t)1 << lg) < (uint64_t)m * 128) {
        lg++;
    }
    a->bloom_shift = 32 - lg;
    a->bloom = calloc(((size_t)1 << lg) / 64, sizeof(uint64_t));
    if (!a->bloom) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < m; i++) {
        uint32_t h = hash4(ps[i].p, a->bloom_shift);
        a->bloom[h >> 6] |= (uint64_t)1 << (h & 63);
    }
    return 0;
}

struct mask_ac *mask_ac_build(const unsigned char *const *pats, const size_t *lens, size_t n)
{
    struct mask_ac *a = calloc(1, sizeof *a);
    struct pat *ps = malloc((n ? n : 1) * sizeof *ps);
    uint32_t *lo = NULL, *hi = NULL;
    if (!a || !ps) {
        goto fail;
    }
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        ps[i].p = pats[i];
        ps[i].len = lens[i];
        total += lens[i];
    }
    if (total >= UINT32_MAX || n >= UINT32_MAX) {
        goto fail;
    }
    qsort(ps, n, sizeof *ps, pat_cmp);
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || pat_cmp(&ps[m - 1], &ps[i]) != 0) {
            ps[m++] = ps[i];
        }
    }
    a->st = malloc(total * sizeof *a->st);
    a->label = malloc(total);
    lo = malloc(total * sizeof *lo);
    hi = malloc(total * sizeof *hi);
    if (!a->st || !a->label || !lo || !hi || build_bloom(a, ps, m) < 0) {
        goto fail;
    }
    a->label[0] = 0;
    a->nstates = build_trie(a, ps, m, lo, hi);
    link_failures(a);
    struct ac_state *shrunk = realloc(a->st, a->nstates * sizeof *a->st);
    if (shrunk) {
        a->st = shrunk;
    }
    free(lo);
    free(hi);
    free(ps);
    return a;
fail:
    free(lo);
    free(hi);
    free(ps);
    mask_ac_free(a);
    return NULL;
}

void mask_ac_free(struct mask_ac *a)
{
    if (!a) {
        return;
    }
    free(a->st);
    free(a->label);
    free(a->bloom);
    free(a);
}

size_t mask_ac_states(const struct mask_ac *a)
{
    return a->nstates;
}

uint32_t mask_ac_depth(const struct mask_ac *a, uint32_t st)
{
    return a->st[st].depth;
}

/* 1 when the 4 bytes x (as loaded from memory) may begin a pattern. */
static inline unsigned bloom_bit(const uint64_t *bloom, unsigned shift, uint32_t x)
{
    uint32_t h = (x * 0x9E3779B1u) >> shift;
    return (unsigned)(bloom[h >> 6] >> (h & 63)) & 1u;
}

/* First position i >= from where a pattern could begin according to the
 * prefilter, or the first position with fewer than 4 bytes left (then every
 * remaining position is a candidate); n when there is none. */
static size_t prefilter_next(const struct mask_ac *a, const unsigned char *buf, size_t i, size_t n)
{
    const uint64_t *bloom = a->bloom;
    const unsigned sh = a->bloom_shift;
    while (i + 12 <= n) { /* 8 positions per round, branch-free */
        uint64_t x0, x1;
        memcpy(&x0, buf + i, 8);
        memcpy(&x1, buf + i + 4, 8);
        unsigned m = 0;
        for (unsigned k = 0; k < 4; k++) {
            m |= bloom_bit(bloom, sh, (uint32_t)(x0 >> (8 * k))) << k;
            m |= bloom_bit(bloom, sh, (uint32_t)(x1 >> (8 * k))) << (k + 4);
        }
        if (m) {
            return i + (size_t)__builtin_ctz(m);
        }
        i += 8;
    }
    while (i + 4 <= n) {
        uint32_t x;
        memcpy(&x, buf + i, 4);
        if (bloom_bit(bloom, sh, x)) {
            return i;
        }
        i++;
    }
    return i;
}

int mask_ac_scan(const struct mask_ac *a, const unsigned char *buf, size_t from, size_t n,
                 uint32_t *state, struct mask_ivec *iv)
{
    uint32_t st = *state;
    size_t j = from;
    if (a->nstates <= 1) {
        *state = MASK_AC_ROOT;
        return 0;
    }
    while (j < n) {
        if (st == MASK_AC_ROOT) {
            j = prefilter_next(a, buf, j, n);
            if (j >= n) {
                break;
            }
        }
        size_t anchor = j - a->st[st].depth; /* where the live partial match began */
        for (;;) {
            st = ac_step(a, st, buf[j]);
            j++;
            uint32_t ol = a->st[st].outlen;
            if (ol && mask_ivec_add(iv, j - ol, j) < 0) {
                *state = st;
                return -ENOMEM;
            }
            if (j >= n) {
                break;
            }
            uint32_t d = a->st[st].depth;
            if (d < MASK_AC_MIN_PATTERN && j - d > anchor) {
                j -= d; /* rescan these few bytes through the prefilter */
                st = MASK_AC_ROOT;
                break;
            }
        }
    }
    *state = st;
    return 0;
}

static struct mask_iv *ivec_data(struct mask_ivec *iv)
{
    return iv->v ? iv->v : iv->small;
}

static int ivec_reserve(struct mask_ivec *iv, size_t want)
{
    size_t cap = iv->v ? iv->cap : sizeof iv->small / sizeof iv->small[0];
    if (want <= cap) {
        return 0;
    }
    size_t ncap = cap * 2 > want ? cap * 2 : want;
    struct mask_iv *nv = realloc(iv->v, ncap * sizeof *nv);
    if (!nv) {
        return -ENOMEM;
    }
    if (!iv->v) {
        memcpy(nv, iv->small, iv->n * sizeof *nv);
    }
    iv->v = nv;
    iv->cap = ncap;
    return 0;
}

int mask_ivec_add(struct mask_ivec *iv, size_t s, size_t e)
{
    struct mask_iv *v = ivec_data(iv);
    size_t n = iv->n;
    size_t k = n; /* ranges [k, n) start after e: untouched */
    while (k > 0 && v[k - 1].s > e) {
        k--;
    }
    size_t m = k; /* ranges [m, k) overlap or touch [s, e) */
    while (m > 0 && v[m - 1].e >= s) {
        m--;
        if (v[m].s < s) {
            s = v[m].s;
        }
        if (v[m].e > e) {
            e = v[m].e;
        }
    }
    if (m == k) {
        if (ivec_reserve(iv, n + 1) < 0) {
            return -ENOMEM;
        }
        v = ivec_data(iv);
        memmove(v + k + 1, v + k, (n - k) * sizeof *v);
        iv->n = n + 1;
    } else {
        memmove(v + m + 1, v + k, (n - k) * sizeof *v);
        iv->n = n - (k - m - 1);
    }
    v[m].s = s;
    v[m].e = e;
    return 0;
}

int mask_ivec_merge(struct mask_ivec *iv, struct mask_ivec *other)
{
    if (other->n == 0) {
        return 0;
    }
    size_t na = iv->n, nb = other->n;
    struct mask_iv *out = malloc((na + nb) * sizeof *out);
    if (!out) {
        return -ENOMEM;
    }
    const struct mask_iv *a = ivec_data(iv), *b = ivec_data(other);
    size_t i = 0, j = 0, w = 0;
    while (i < na || j < nb) {
        struct mask_iv x = (j >= nb || (i < na && a[i].s <= b[j].s)) ? a[i++] : b[j++];
        if (w > 0 && out[w - 1].e >= x.s) {
            if (x.e > out[w - 1].e) {
                out[w - 1].e = x.e;
            }
        } else {
            out[w++] = x;
        }
    }
    free(iv->v);
    iv->v = out;
    iv->cap = na + nb;
    iv->n = w;
    other->n = 0;
    return 0;
}

void mask_ivec_drop(struct mask_ivec *iv, size_t k)
{
    struct mask_iv *v = ivec_data(iv);
    if (k > iv->n) {
        k = iv->n;
    }
    memmove(v, v + k, (iv->n - k) * sizeof *v);
    iv->n -= k;
}

void mask_ivec_free(struct mask_ivec *iv)
{
    free(iv->v);
    iv->v = NULL;
    iv->n = iv->cap = 0;
}
