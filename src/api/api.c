/* The one list of pixie.* modules implemented in C. A binding for
 * pixie.<module> lives in src/api/<module>.c and exports
 * luaopen_pixie_<module>. Lua-implemented modules live in lua/pixie/. */
#include "api.h"

#include <lauxlib.h>

static const luaL_Reg c_modules[] = {
    {"pixie.db", luaopen_pixie_db},
    {"pixie.embedded", luaopen_pixie_embedded},
    {"pixie.env", luaopen_pixie_env},
    {"pixie.fs", luaopen_pixie_fs},
    {"pixie.launcher", luaopen_pixie_launcher},
    {"pixie.log", luaopen_pixie_log},
    {"pixie.mask", luaopen_pixie_mask},
    {"pixie.proc", luaopen_pixie_proc},
    {"pixie.server", luaopen_pixie_server},
    {"pixie.sys", luaopen_pixie_sys},
    {"pixie.term", luaopen_pixie_term},
    {"pixie.zip", luaopen_pixie_zip},
    {NULL, NULL},
};

void api_preload(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const luaL_Reg *m = c_modules; m->name; m++) {
        lua_pushcfunction(L, m->func);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
}
