/* Argument and option checks shared by every binding: C paths without NUL
 * bytes, integers in a range, string and boolean options. Misuse raises
 * through luaL_argerror, so the message names the function and argument. */
#include "api.h"

#include <lauxlib.h>
#include <string.h>

const char *api_checkpath(lua_State *L, int arg)
{
    size_t len;
    const char *path = luaL_checklstring(L, arg, &len);
    luaL_argcheck(L, strlen(path) == len, arg, "path contains a NUL byte");
    return path;
}

/* Pushes field `name` of the options table at arg (nil when the argument
 * is absent or nil) and returns its type. Raises when the argument is
 * something else than a table. */
static int push_option(lua_State *L, int arg, const char *name)
{
    if (lua_isnoneornil(L, arg)) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    luaL_checktype(L, arg, LUA_TTABLE);
    return lua_getfield(L, arg, name);
}

/* Raises a bad-argument error about field `name` of argument arg (or the
 * argument itself when name is NULL). */
static int option_error(lua_State *L, int arg, const char *name, const char *what)
{
    if (name) {
        return luaL_argerror(L, arg, lua_pushfstring(L, "field '%s': %s", name, what));
    }
    return luaL_argerror(L, arg, what);
}

lua_Integer api_optinteger(lua_State *L, int arg, const char *name, lua_Integer def,
                           lua_Integer min, lua_Integer max)
{
    if (name) {
        push_option(L, arg, name);
    } else if (lua_isnone(L, arg)) {
        lua_pushnil(L);
    } else {
        lua_pushvalue(L, arg);
    }
    lua_Integer v = def;
    if (!lua_isnil(L, -1)) {
        int ok;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || lua_type(L, -1) != LUA_TNUMBER || v < min || v > max) {
            option_error(L, arg, name, lua_pushfstring(L, "integer in %I..%I expected", min, max));
        }
    }
    lua_pop(L, 1);
    return v;
}

const char *api_optstring(lua_State *L, int arg, const char *name, const char *def, size_t *len)
{
    const char *s = def;
    size_t n = def ? strlen(def) : 0;
    if (push_option(L, arg, name) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            option_error(L, arg, name, "string expected");
        }
        s = lua_tolstring(L, -1, &n); /* kept alive by the options table */
        if (!len && strlen(s) != n) {
            option_error(L, arg, name, "contains a NUL byte");
        }
    }
    lua_pop(L, 1);
    if (len) {
        *len = n;
    }
    return s;
}

int api_optboolean(lua_State *L, int arg, const char *name, int def)
{
    int v = push_option(L, arg, name) == LUA_TNIL ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}
