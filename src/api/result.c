/* Helpers shared by every binding: failure returns (DESIGN.md error
 * contract) and handle class registration. */
#include "api.h"

#include <lauxlib.h>
#include <string.h>

int api_fail_errno(lua_State *L, int negerr, const char *what)
{
    int e = negerr < 0 ? -negerr : negerr;
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, strerror(e));
    lua_pushinteger(L, e);
    return 3;
}

int api_fail(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

void api_register_class(lua_State *L, const char *name, const luaL_Reg *meta,
                        const luaL_Reg *methods)
{
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
