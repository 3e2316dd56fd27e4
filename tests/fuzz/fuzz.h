/* The libFuzzer entry point every tests/fuzz/fuzz_<name>.c defines. The same
 * object is linked either with libFuzzer (-DPIXIE_FUZZ=ON, clang) or with
 * replay_main.c, which feeds it the seed corpus in every normal build. */
#ifndef PIXIE_FUZZ_H
#define PIXIE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs the target on one input. Returns 0; a broken invariant aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
