/* NULL-terminated C string arrays built from Lua tables (argv, envp, HTTP
 * headers, sorted names), kept alive by the tables they come from. */
#include "api.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

const char **api_push_strv(lua_State *L, int t, const char *what)
{
    t = lua_absindex(L, t);
    lua_Integer n = luaL_len(L, t);
    if (n < 0 || (lua_Unsigned)n >= ((size_t)-1) / sizeof(char *) - 1) {
        luaL_error(L, "bad %s (too many entries)", what);
    }
    const char **v = api_newbox(L, sizeof(char *) * (size_t)(n + 1), NULL);
    for (lua_Integer i = 1; i <= n; i++) {
        size_t len = 0;
        const char *s = lua_rawgeti(L, t, i) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!s || strlen(s) != len) {
            luaL_error(L, "bad %s (strings without NUL bytes expected)", what);
        }
        v[i - 1] = s; /* kept alive by the table */
        lua_pop(L, 1);
    }
    v[n] = NULL;
    return v;
}

/* qsort comparator of two C strings (byte order). */
static int strv_compare(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The "KEY=VALUE" array of a {KEY = VALUE} table, sorted: the order of a
 * Lua table's traversal depends on the state's hash seed, and the launcher
 * compares environments entry by entry (tool_sig), so an unsorted array
 * made the same tool look changed to every other Lua state (every job),
 * which restarted it and cut off requests still going to the old one. */
const char **api_push_envp(lua_State *L, int idx, const char *what)
{
    lua_newtable(L); /* anchor for the "KEY=VALUE" strings */
    int anchor = lua_gettop(L);
    lua_Integer n = 0;
    if (idx) {
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            size_t klen, vlen;
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
                luaL_error(L, "bad %s (string keys and string values expected)", what);
            }
            const char *k = lua_tolstring(L, -2, &klen);
            const char *v = lua_tolstring(L, -1, &vlen);
            if (klen == 0 || strchr(k, '=') || strlen(k) != klen || strlen(v) != vlen) {
                luaL_error(L, "bad %s (invalid variable name or NUL in a value)", what);
            }
            lua_pushfstring(L, "%s=%s", k, v);
            lua_rawseti(L, anchor, ++n);
            lua_pop(L, 1);
        }
    }
    const char **v = api_push_strv(L, anchor, what);
    qsort(v, (size_t)n, sizeof *v, strv_compare);
    return v;
}
