/* Shared body of the Lua fuzz targets: see lua_target.h. */
#include "lua_target.h"

#include "host.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

static lua_State *fuzz_state;

#ifdef PIXIE_LIBFUZZER
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[1 << 16];

/* Line hook: bumps the counter of the edge (previous line -> this line). */
static void line_hook(lua_State *L, lua_Debug *ar)
{
    static uint64_t prev;
    (void)L; /* lines of different chunks may share a counter: cheap beats exact */
    uint64_t here = (uint64_t)ar->currentline;
    uint64_t slot = ((here ^ (prev >> 1)) * 0x9E3779B97F4A7C15ull) >> 48;
    lua_edges[slot]++;
    prev = here;
}
#endif

/* Creates the host and leaves the checker function in the registry slot
 * "fuzz_checker". Aborts if that fails (nothing can be fuzzed). */
static void setup(const char *name, const char *checker, size_t checker_len)
{
    fuzz_state = host_new();
    if (!fuzz_state) {
        abort();
    }
    if (luaL_loadbufferx(fuzz_state, checker, checker_len, name, "t") != LUA_OK ||
        host_pcall(fuzz_state, 0, 1) != LUA_OK) {
        fprintf(stderr, "%s: setup failed: %s\n", name, lua_tostring(fuzz_state, -1));
        abort();
    }
    lua_setfield(fuzz_state, LUA_REGISTRYINDEX, "fuzz_checker");
#ifdef PIXIE_LIBFUZZER
    lua_sethook(fuzz_state, line_hook, LUA_MASKLINE, 0);
#endif
}

int lua_target_run(const char *name, const char *checker, size_t checker_len,
                   const uint8_t *data, size_t size)
{
    if (!fuzz_state) {
        setup(name, checker, checker_len);
    }
    lua_State *L = fuzz_state;
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_checker");
    lua_pushlstring(L, (const char *)data, size);
    if (host_pcall(L, 1, 1) != LUA_OK) {
        fprintf(stderr, "%s: raised: %s\n", name, lua_tostring(L, -1));
        abort();
    }
    if (!lua_isboolean(L, -1)) {
        fprintf(stderr, "%s: invariant broken: %s\n", name, lua_tostring(L, -1));
        abort();
    }
    lua_pop(L, 1);
    return 0;
}
