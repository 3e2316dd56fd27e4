/* Aho–Corasick automaton over byte patterns, with a 4-byte prefilter, used by
 * the masking registry (mask.c). Internal to the core: other modules use
 * mask.h. An automaton is immutable once built, so any number of threads may
 * scan with it at once. */
#ifndef PIXIE_MASK_AC_H
#define PIXIE_MASK_AC_H

#include <stddef.h>
#include <stdint.h>

/* Every pattern is at least this long; the prefilter hashes this many bytes. */
#define MASK_AC_MIN_PATTERN 4

struct mask_ac;

/* A half-open byte range [s, e) of a buffer. */
struct mask_iv {
    size_t s, e;
};

/* A sorted list of disjoint, non-touching ranges (overlapping or adjacent
 * ranges are merged as they are added). Zero-initialise, then call
 * mask_ivec_free. */
struct mask_ivec {
    struct mask_iv *v;
    size_t n, cap;
    struct mask_iv small[8]; /* used before the first heap allocation */
};

/* Builds the automaton for `n` patterns (pats[i], lens[i] bytes each; every
 * lens[i] >= MASK_AC_MIN_PATTERN; duplicates allowed). The patterns are
 * copied into the automaton's own tables; the caller keeps its arrays.
 * Returns the automaton (free with mask_ac_free) or NULL on ENOMEM. n may
 * be 0. */
struct mask_ac *mask_ac_build(const unsigned char *const *pats, const size_t *lens, size_t n);

void mask_ac_free(struct mask_ac *a);

/* Number of automaton states (including the root), for tests and benchmarks. */
size_t mask_ac_states(const struct mask_ac *a);

/* The root state: nothing of a pattern seen yet. */
#define MASK_AC_ROOT 0u

/* Length of the longest suffix of the text scanned so far (from the last
 * reset to the root) that is a prefix of some pattern, in state `st`: the
 * bytes that could still begin a match. */
uint32_t mask_ac_depth(const struct mask_ac *a, uint32_t st);

/* Scans buf[from, n). *state must be the automaton state reached after
 * buf[0, from) (MASK_AC_ROOT when from is 0, or when the bytes before `from`
 * cannot begin a match); on return it is the state after buf[0, n), whose
 * depth is the number of trailing bytes that could still begin a match.
 * Every occurrence of every pattern ending in buf[from, n) is added to `iv`
 * as a range of buf offsets (each end position adds the longest pattern
 * ending there; shorter ones lie inside it). Returns 0 or -ENOMEM (then `iv`
 * holds the ranges found so far and *state is unspecified). */
int mask_ac_scan(const struct mask_ac *a, const unsigned char *buf, size_t from, size_t n,
                 uint32_t *state, struct mask_ivec *iv);

/* Adds [s, e) to the list, merging it with every range it overlaps or
 * touches. Returns 0 or -ENOMEM (list unchanged). */
int mask_ivec_add(struct mask_ivec *iv, size_t s, size_t e);

/* Merges every range of `other` into iv (both sorted lists, merged in
 * linear time) and empties `other`. Returns 0 or -ENOMEM (iv unchanged). */
int mask_ivec_merge(struct mask_ivec *iv, struct mask_ivec *other);

/* Removes the first k ranges. */
void mask_ivec_drop(struct mask_ivec *iv, size_t k);

/* Frees the heap storage and empties the list. */
void mask_ivec_free(struct mask_ivec *iv);

#endif
