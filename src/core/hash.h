/* The one non-cryptographic hash of the core: 64-bit FNV-1a, for hash
 * tables keyed by short byte strings (dotenv's interpolation, the masker).
 * Not for anything an attacker may choose to collide at scale. */
#ifndef PIXIE_HASH_H
#define PIXIE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of the n bytes at p (p may be NULL when n is 0). */
static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 1099511628211ull;
    }
    return h;
}

#endif
