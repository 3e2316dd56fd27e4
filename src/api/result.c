/* The failure return and out-of-memory raise of every binding (the error
 * contract of api.h), and handle class registration. */
#include "api.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <string.h>

int api_fail(lua_State *L, int err, const char *fmt, ...)
{
    int e = err < 0 ? -err : err;
    if (e == ENOMEM) {
        return api_nomem(L);
    }
    lua_pushnil(L);
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    size_t n = strlen(fmt);
    if (n > 0 && fmt[n - 1] == ':') {
        lua_pushfstring(L, " %s", strerror(e));
        lua_concat(L, 2);
    }
    lua_pushinteger(L, e);
    return 3;
}

int api_nomem(lua_State *L)
{
    return luaL_error(L, "not enough memory");
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
