/* Runs one Lua test file (or bench script, with ARGS in the global `arg`) inside the pixie Lua host
 * (same modules as the pixie binary), with tests/lua/ on package.path for the harness. Tests of
 * out-of-memory paths get one global function: fail_allocs(n)   after n more growing allocations,
 * every growing allocation fails (Lua then raises a memory error); fail_allocs()    allocations
 * succeed again. */
#include "host.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

static lua_Alloc real_alloc;
static void *real_ud;
static long allocs_left = -1; /* -1: never fail */

/* The state's allocator, failing growth once allocs_left ran out. */
static void *test_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    size_t old = ptr ? osize : 0;
    if (nsize > old && allocs_left >= 0) {
        if (allocs_left == 0) {
            return NULL;
        }
        allocs_left--;
    }
    return real_alloc(real_ud, ptr, osize, nsize);
}

static int fail_allocs(lua_State *L)
{
    allocs_left = lua_isnoneornil(L, 1) ? -1 : (long)luaL_checkinteger(L, 1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pixie_lua_test FILE.lua [ARGS...]\n");
        return 2;
    }
    lua_State *L = host_new();
    if (!L) {
        return 1;
    }
    real_alloc = lua_getallocf(L, &real_ud);
    lua_setallocf(L, test_alloc, NULL);
    lua_register(L, "fail_allocs", fail_allocs);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;", dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_createtable(L, argc - 2, 1); /* global arg: [0] = script, [1..] = ARGS */
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    int code = 0;
    if (luaL_loadfile(L, argv[1]) != LUA_OK || host_pcall(L, 0, 1) != LUA_OK) {
        host_report(L);
        code = 1;
    } else if (lua_isinteger(L, -1)) {
        code = (int)lua_tointeger(L, -1);
    }
    lua_close(L);
    return code;
}
