/* The masking registry, one-shot scrub and streams (see mask.h).
 *
 * Registry: the distinct patterns live in one byte arena (offsets, so the
 * arena may grow) with an open-addressing hash index; a generation counter
 * changes with every addition, an epoch with every reset.
 *
 * Snapshot: the automata for one generation, reference counted. Level 0
 * covers the registry's first patterns, level 1 (when present) the ones
 * added since level 0 was built. A change rebuilds only level 1 while it
 * stays small next to level 0 (so registering values one by one between
 * scrubs costs little), else everything; a snapshot with two levels folds
 * them into one after it has served SNAP_FOLD_AFTER scrubs. Readers take
 * the current snapshot under a read lock held only to take a reference,
 * and rebuild it under the registry mutex when its generation is stale. */
#include "mask.h"
#include "buf.h"
#include "hash.h"
#include "mask_ac.h"
#include "mask_forms.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct reg_pat {
    size_t off, len;
};

static struct {
    struct buf arena; /* the patterns' bytes */
    struct buf pats;  /* struct reg_pat[npats] */
    size_t npats;
    size_t *index; /* hash slots: pattern number + 1, 0 = empty */
    size_t index_cap;
} reg;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong reg_gen = 1;
static unsigned long reg_epoch; /* under reg_lock */
static atomic_size_t reg_count;

/* An automaton over registry patterns [base, npats) of one epoch, shared by
 * the snapshots that use it. */
struct acref {
    atomic_size_t refs;
    struct mask_ac *ac;
    size_t base, npats;
    unsigned long epoch;
};

#define SNAP_LEVELS 2
#define SNAP_FOLD_AFTER 256u

struct mask_snap {
    atomic_size_t refs;
    unsigned long gen;
    struct acref *lvl[SNAP_LEVELS]; /* lvl[0] always; lvl[1] may be NULL */
    atomic_uint uses;
};

static pthread_rwlock_t snap_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct mask_snap *snap_cur; /* changes under reg_lock + write lock */

/* Pattern k of the registry (0-based) and its bytes. Need reg_lock. */
static const struct reg_pat *reg_pat(size_t k)
{
    return (const struct reg_pat *)reg.pats.data + k;
}

static const unsigned char *reg_bytes(const struct reg_pat *rp)
{
    return (const unsigned char *)reg.arena.data + rp->off;
}

/* Slot of pattern p in the index: where it is, or the empty slot where it
 * would go. Needs reg_lock and index_cap > 0. */
static size_t index_slot(const unsigned char *p, size_t n)
{
    size_t mask = reg.index_cap - 1;
    size_t i = (size_t)hash_fnv1a(HASH_FNV1A_INIT, p, n) & mask;
    for (;;) {
        size_t k = reg.index[i];
        if (k == 0) {
            return i;
        }
        const struct reg_pat *rp = reg_pat(k - 1);
        if (rp->len == n && memcmp(reg_bytes(rp), p, n) == 0) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

/* Doubles the index (load stays under 1/2). Needs reg_lock. */
static int index_grow(void)
{
    size_t ncap = reg.index_cap ? reg.index_cap * 2 : 256;
    size_t *ni = calloc(ncap, sizeof *ni);
    if (!ni) {
        return -ENOMEM;
    }
    free(reg.index);
    reg.index = ni;
    reg.index_cap = ncap;
    for (size_t k = 0; k < reg.npats; k++) {
        const struct reg_pat *rp = reg_pat(k);
        reg.index[index_slot(reg_bytes(rp), rp->len)] = k + 1;
    }
    return 0;
}

/* mask_forms callback: adds one pattern unless known. Needs reg_lock.
 * Returns 0 or -ENOMEM. *(int *)ctx is set when something was added. */
static int reg_insert(void *ctx, const char *form, size_t n)
{
    const unsigned char *p = (const unsigned char *)form;
    if ((reg.npats + 1) * 2 > reg.index_cap && index_grow() < 0) {
        return -ENOMEM;
    }
    size_t slot = index_slot(p, n);
    if (reg.index[slot] != 0) {
        return 0;
    }
    struct reg_pat rp = {reg.arena.len, n};
    if (buf_reserve(&reg.arena, n) < 0 || buf_reserve(&reg.pats, sizeof rp) < 0) {
        reg.arena.err = reg.pats.err = 0; /* a failed reservation changed nothing */
        return -ENOMEM;
    }
    buf_append(&reg.arena, p, n); /* room reserved: cannot fail */
    buf_append(&reg.pats, &rp, sizeof rp);
    reg.index[slot] = ++reg.npats;
    *(int *)ctx = 1;
    return 0;
}

int mask_add(const char *value, size_t len)
{
    if (len < MASK_MIN_VALUE) {
        return 0;
    }
    int added = 0;
    pthread_mutex_lock(&reg_lock);
    int rc = mask_forms(value, len, reg_insert, &added);
    if (added) {
        atomic_store(&reg_count, reg.npats);
        atomic_fetch_add(&reg_gen, 1);
    }
    pthread_mutex_unlock(&reg_lock);
    return rc < 0 ? rc : 1;
}

size_t mask_count(void)
{
    return atomic_load(&reg_count);
}

void mask_reset(void)
{
    pthread_mutex_lock(&reg_lock);
    buf_free(&reg.arena);
    buf_free(&reg.pats);
    free(reg.index);
    memset(&reg, 0, sizeof reg);
    reg_epoch++;
    atomic_store(&reg_count, 0);
    atomic_fetch_add(&reg_gen, 1);
    pthread_mutex_unlock(&reg_lock);
}

static void acref_release(struct acref *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        mask_ac_free(r->ac);
        free(r);
    }
}

static void snap_release(struct mask_snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        for (int l = 0; l < SNAP_LEVELS; l++) {
            acref_release(s->lvl[l]);
        }
        free(s);
    }
}

/* Builds the automaton of registry patterns [base, npats). Needs reg_lock.
 * Returns it with one reference, or NULL on ENOMEM. */
static struct acref *acref_build(size_t base)
{
    struct acref *r = calloc(1, sizeof *r);
    size_t n = reg.npats - base;
    const unsigned char **pats = malloc((n ? n : 1) * sizeof *pats);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (r && pats && lens) {
        for (size_t k = 0; k < n; k++) {
            pats[k] = reg_bytes(reg_pat(base + k));
            lens[k] = reg_pat(base + k)->len;
        }
        r->ac = mask_ac_build(pats, lens, n);
    }
    free(pats);
    free(lens);
    if (r && !r->ac) {
        free(r);
        return NULL;
    }
    if (r) {
        atomic_init(&r->refs, 1);
        r->base = base;
        r->npats = reg.npats;
        r->epoch = reg_epoch;
    }
    return r;
}

/* Builds a snapshot of the registry for generation gen, reusing level 0 of
 * `cur` unless `fold` is set or the patterns added since are too many.
 * Needs reg_lock. Returns NULL on ENOMEM. */
static struct mask_snap *snap_build(unsigned long gen, const struct mask_snap *cur, int fold)
{
    struct mask_snap *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->gen = gen;
    struct acref *big = cur ? cur->lvl[0] : NULL;
    if (!fold && big && big->epoch == reg_epoch && big->npats <= reg.npats &&
        reg.npats - big->npats <= (big->npats / 8 > 128 ? big->npats / 8 : 128)) {
        atomic_fetch_add(&big->refs, 1);
        s->lvl[0] = big;
        if (reg.npats > big->npats && !(s->lvl[1] = acref_build(big->npats))) {
            snap_release(s);
            return NULL;
        }
        return s;
    }
    if (!(s->lvl[0] = acref_build(0))) {
        snap_release(s);
        return NULL;
    }
    return s;
}

/* Returns a reference to a snapshot of the current registry (release with
 * snap_release), or NULL on ENOMEM. */
static struct mask_snap *snap_acquire(void)
{
    pthread_rwlock_rdlock(&snap_lock);
    struct mask_snap *s = snap_cur;
    if (s) {
        atomic_fetch_add(&s->refs, 1);
    }
    pthread_rwlock_unlock(&snap_lock);
    int fold = 0;
    if (s && s->gen == atomic_load(&reg_gen)) {
        if (!s->lvl[1] || atomic_fetch_add(&s->uses, 1) != SNAP_FOLD_AFTER) {
            return s;
        }
        fold = 1; /* this caller folds the two levels into one */
    }
    struct mask_snap *seen = s;
    pthread_mutex_lock(&reg_lock);
    unsigned long gen = atomic_load(&reg_gen);
    struct mask_snap *cur = snap_cur;
    if (!cur || cur->gen != gen || (fold && cur == seen)) {
        struct mask_snap *ns = snap_build(gen, cur, fold);
        if (!ns) {
            pthread_mutex_unlock(&reg_lock);
            if (fold) {
                return s; /* still valid, merely slower */
            }
            snap_release(s);
            return NULL;
        }
        pthread_rwlock_wrlock(&snap_lock);
        snap_cur = ns;
        pthread_rwlock_unlock(&snap_lock);
        snap_release(cur);
        cur = ns;
    }
    atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&reg_lock);
    snap_release(s);
    return cur;
}

/* Scans buf[from, n) with every level of snap (st[l]: level l's state, see
 * mask_ac_scan), adding the matches to iv. Returns 0 or -ENOMEM. */
static int snap_scan(const struct mask_snap *snap, const unsigned char *buf, size_t from, size_t n,
                     uint32_t *st, struct mask_ivec *iv)
{
    int rc = mask_ac_scan(snap->lvl[0]->ac, buf, from, n, &st[0], iv);
    if (rc == 0 && snap->lvl[1]) {
        struct mask_ivec more = {0};
        rc = mask_ac_scan(snap->lvl[1]->ac, buf, from, n, &st[1], &more);
        if (rc == 0) {
            rc = mask_ivec_merge(iv, &more);
        }
        mask_ivec_free(&more);
    }
    return rc;
}

/* Number of trailing bytes that could still begin a match, in states st. */
static size_t snap_hold(const struct mask_snap *snap, const uint32_t *st)
{
    size_t hold = 0;
    for (int l = 0; l < SNAP_LEVELS; l++) {
        if (snap->lvl[l]) {
            size_t d = mask_ac_depth(snap->lvl[l]->ac, st[l]);
            hold = d > hold ? d : hold;
        }
    }
    return hold;
}

/* Appends buf[0, p) with every covered range of iv (ranges starting
 * before p, clipped to p) replaced by MASK_TOKEN to out. A range starting at
 * 0 continues the previous output's masked run when *prev_covered is set (no
 * second token). Updates *prev_covered to whether byte p-1 was covered, and
 * rebases iv to start at p (ranges wholly before p are dropped). Returns 0
 * or out's error (-ENOMEM, ...; then nothing else changed and out is as it
 * was). */
static int emit_prefix(const unsigned char *buf, size_t p, struct mask_ivec *iv, int *prev_covered,
                       struct buf *out)
{
    const struct mask_iv *v = iv->v ? iv->v : iv->small;
    size_t nr = 0;
    while (nr < iv->n && v[nr].s < p) {
        nr++;
    }
    if (buf_reserve(out, p + 3 * nr) < 0) {
        return out->err;
    }
    char *o = out->data + out->len; /* room reserved: plain copies */
    size_t pos = 0, w = 0;
    int covered = *prev_covered;
    for (size_t k = 0; k < nr; k++) {
        size_t s = v[k].s, e = v[k].e < p ? v[k].e : p;
        memcpy(o + w, buf + pos, s - pos);
        w += s - pos;
        if (!(covered && s == 0)) {
            memcpy(o + w, MASK_TOKEN, 3);
            w += 3;
        }
        pos = e;
    }
    memcpy(o + w, buf + pos, p - pos);
    w += p - pos;
    out->len += w;
    o[w] = '\0';
    if (p > 0) {
        *prev_covered = nr > 0 && pos == p;
    }
    size_t drop = nr;
    if (nr > 0 && v[nr - 1].e > p) {
        drop--; /* straddles p: keep its tail */
    }
    mask_ivec_drop(iv, drop);
    struct mask_iv *rv = iv->v ? iv->v : iv->small;
    for (size_t k = 0; k < iv->n; k++) {
        rv[k].s = rv[k].s > p ? rv[k].s - p : 0;
        rv[k].e -= p;
    }
    return 0;
}

int mask_scrub_to(struct buf *out, const char *in, size_t len)
{
    struct mask_snap *snap = snap_acquire();
    if (!snap) {
        return -ENOMEM;
    }
    struct mask_ivec iv = {0};
    uint32_t st[SNAP_LEVELS] = {MASK_AC_ROOT};
    int prev = 0;
    int rc = snap_scan(snap, (const unsigned char *)in, 0, len, st, &iv);
    if (rc == 0) {
        rc = emit_prefix((const unsigned char *)in, len, &iv, &prev, out);
    }
    mask_ivec_free(&iv);
    snap_release(snap);
    return rc;
}

struct mask_stream {
    struct mask_snap *snap;      /* the automaton `state` belongs to */
    struct buf held;             /* held-back bytes, then the new data */
    uint32_t state[SNAP_LEVELS]; /* automaton states after held */
    int rescan;                  /* state is stale: scan held from the start again */
    int prev_covered;
    struct mask_ivec iv; /* matches in held, relative to its start */
};

struct mask_stream *mask_stream_new(void)
{
    return calloc(1, sizeof(struct mask_stream));
}

/* Appends data, scans, and appends to out what is final: what can no
 * longer begin a match, or everything at the end of the stream (flush),
 * where a held tail of at least MASK_MIN_VALUE bytes (the start of a
 * pattern the stream did not finish) is masked too. */
static int stream_advance(struct mask_stream *s, const char *data, size_t len, int flush,
                          struct buf *out)
{
    if (buf_reserve(&s->held, len) < 0) {
        s->held.err = 0; /* a failed reservation changed nothing */
        return -ENOMEM;
    }
    struct mask_snap *snap = snap_acquire();
    if (!snap) {
        return -ENOMEM;
    }
    if (snap != s->snap) {
        snap_release(s->snap); /* held bytes must be matched against the new set */
        s->snap = snap;
        s->rescan = 1;
    } else {
        snap_release(snap);
    }
    size_t from = s->held.len;
    buf_append(&s->held, data, len); /* room reserved: cannot fail */
    if (s->rescan) {
        from = 0;
        memset(s->state, 0, sizeof s->state);
    }
    unsigned char *held = (unsigned char *)s->held.data;
    if (snap_scan(s->snap, held, from, s->held.len, s->state, &s->iv) < 0) {
        s->rescan = 1; /* merging again what was found is harmless */
        return -ENOMEM;
    }
    s->rescan = 0;
    size_t keep = snap_hold(s->snap, s->state);
    if (flush && keep >= MASK_MIN_VALUE &&
        mask_ivec_add(&s->iv, s->held.len - keep, s->held.len) < 0) {
        return -ENOMEM; /* nothing emitted: a later flush tries again */
    }
    keep = flush ? 0 : keep;
    size_t p = s->held.len - keep;
    if (p == 0) {
        return 0;
    }
    int rc = emit_prefix(held, p, &s->iv, &s->prev_covered, out);
    if (rc < 0) {
        return rc;
    }
    memmove(held, held + p, keep);
    s->held.len = keep;
    if (flush) {
        memset(s->state, 0, sizeof s->state); /* what follows is a new stream */
        s->prev_covered = 0;
    }
    return 0;
}

int mask_stream_feed_to(struct mask_stream *s, const char *data, size_t len, struct buf *out)
{
    return stream_advance(s, data, len, 0, out);
}

int mask_stream_flush_to(struct mask_stream *s, struct buf *out)
{
    return stream_advance(s, NULL, 0, 1, out);
}

size_t mask_stream_pending(const struct mask_stream *s)
{
    return s->held.len;
}

void mask_stream_free(struct mask_stream *s)
{
    if (!s) {
        return;
    }
    snap_release(s->snap);
    mask_ivec_free(&s->iv);
    buf_free(&s->held);
    free(s);
}
