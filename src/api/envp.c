/* Building a child's envp from a Lua table, shared by pixie.proc and
 * pixie.launcher. */
#include "api.h"

#include <lauxlib.h>
#include <string.h>

const char **api_push_envp(lua_State *L, int idx, const char *what)
{
    lua_newtable(L); /* anchor for the "KEY=VALUE" strings */
    int anchor = lua_gettop(L);
    int n = 0;
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
    const char **envp = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, anchor, i + 1);
        envp[i] = lua_tostring(L, -1); /* kept alive by the anchor table */
        lua_pop(L, 1);
    }
    envp[n] = NULL;
    return envp;
}
