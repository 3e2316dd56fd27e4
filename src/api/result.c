/* Failure returns shared by every binding (DESIGN.md error contract). */
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
