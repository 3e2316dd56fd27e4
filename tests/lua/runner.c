/* Runs one Lua test file (or bench script, with ARGS in the global `arg`) inside the pixie Lua host (same modules as the
 * pixie binary), with tests/lua/ on package.path for the harness. */
#include "host.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

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
