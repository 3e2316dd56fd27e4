/* Shared body of the fuzz targets whose code under test is Lua: a checker
 * chunk returns function(text) -> true | message; each input is passed to
 * it as a string under a protected call, and a raise or a message (a broken
 * invariant) aborts. The Lua host (host_new) is made on the first input.
 *
 * libFuzzer cannot see which Lua lines run (the VM is one loop), so under
 * libFuzzer a line hook feeds Lua edge coverage (previous line -> line)
 * into libFuzzer's extra-counters section. */
#ifndef PIXIE_FUZZ_LUA_TARGET_H
#define PIXIE_FUZZ_LUA_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Runs the checker chunk `checker` (named `name` in messages) on one input.
 * Returns 0; aborts on a raise or a broken invariant. */
int lua_target_run(const char *name, const char *checker, size_t checker_len,
                   const uint8_t *data, size_t size);

#endif
