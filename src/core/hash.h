/* The one string hash of the core: 64-bit FNV-1a. Not for adversaries
 * (anyone can build collisions); for hash tables and change detection. */
#ifndef PIXIE_HASH_H
#define PIXIE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT 1469598103934665603ull

/* Continues the FNV-1a hash h over p[0, n); start with HASH_FNV1A_INIT.
 * Hashing a string in pieces gives the hash of the whole. */
static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 1099511628211ull;
    }
    return h;
}

#endif
