/* Fuzz target for the tool.json model: feeds the input as text to
 * require("pixie.toolspec").parse(text, "fuzz") under a protected call.
 * Invariant: parse never raises, and returns either a spec table or nil plus
 * a non-empty array of error strings, none of them the "internal error"
 * line its own safety net produces. Anything else aborts. The Lua host is
 * created once per process.
 *
 * A spec must also encode as JSON and parse again to the same encoding
 * (normalisation is idempotent).
 *
 * libFuzzer cannot see which Lua lines run (the VM is one loop), so under
 * libFuzzer a line hook feeds Lua edge coverage (previous line -> line)
 * into libFuzzer's extra-counters section. */
#include "fuzz.h"
#include "host.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

/* Returns a function(text) -> true | message that checks the invariant. */
static const char CHECKER[] =
    "local ts = require('pixie.toolspec')\n"
    "local json = require('pixie.json')\n"
    "return function(text)\n"
    "  local spec, errs = ts.parse(text, 'fuzz')\n"
    "  if spec ~= nil then\n"
    "    if type(spec) ~= 'table' or errs ~= nil then return 'spec with errors' end\n"
    "    if type(spec.id) ~= 'string' or type(spec.inputs) ~= 'table' then return 'bad spec' end\n"
    "    local once, why = json.encode(spec)\n"
    "    if not once then return 'spec does not encode: ' .. why end\n"
    "    local again, errs2 = ts.parse(once, 'fuzz')\n"
    "    if not again then return 'normalised spec rejected: ' .. errs2[1] end\n"
    "    if json.encode(again) ~= once then return 'normalisation is not idempotent' end\n"
    "    return true\n"
    "  end\n"
    "  if type(errs) ~= 'table' or #errs == 0 then return 'nil spec without errors' end\n"
    "  for _, e in ipairs(errs) do\n"
    "    if type(e) ~= 'string' then return 'non-string error' end\n"
    "    if e:find('^tool%.json: internal error') then return e end\n"
    "  end\n"
    "  return true\n"
    "end\n";

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
 * "fuzz_toolspec". Aborts if that fails (nothing can be fuzzed). */
static void setup(void)
{
    fuzz_state = host_new();
    if (!fuzz_state) {
        abort();
    }
    if (luaL_loadbufferx(fuzz_state, CHECKER, sizeof CHECKER - 1, "=fuzz_toolspec", "t") !=
            LUA_OK ||
        host_pcall(fuzz_state, 0, 1) != LUA_OK) {
        fprintf(stderr, "fuzz_toolspec: setup failed: %s\n", lua_tostring(fuzz_state, -1));
        abort();
    }
    lua_setfield(fuzz_state, LUA_REGISTRYINDEX, "fuzz_toolspec");
#ifdef PIXIE_LIBFUZZER
    lua_sethook(fuzz_state, line_hook, LUA_MASKLINE, 0);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_state) {
        setup();
    }
    lua_State *L = fuzz_state;
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_toolspec");
    lua_pushlstring(L, (const char *)data, size);
    if (host_pcall(L, 1, 1) != LUA_OK) {
        fprintf(stderr, "fuzz_toolspec: parse raised: %s\n", lua_tostring(L, -1));
        abort();
    }
    if (!lua_isboolean(L, -1)) {
        fprintf(stderr, "fuzz_toolspec: invariant broken: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_pop(L, 1);
    return 0;
}
