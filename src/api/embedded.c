/* pixie.embedded: read access to files compiled into the binary. */
#include "api.h"
#include "embedded.h"

#include <lauxlib.h>
#include <string.h>

/* get(name) -> bytes | nil */
static int embedded_get(lua_State *L)
{
    const struct embedded_file *f = embedded_find(api_checkpath(L, 1));
    if (!f) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, f->data, (size_t)f->length);
    return 1;
}

/* list(prefix) -> array of names starting with prefix, sorted */
static int embedded_list(lua_State *L)
{
    size_t plen;
    const char *prefix = luaL_optlstring(L, 1, "", &plen);
    lua_newtable(L);
    lua_Integer i = 0;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        if (strncmp(f->name, prefix, plen) == 0) {
            lua_pushstring(L, f->name);
            lua_rawseti(L, -2, ++i);
        }
    }
    return 1;
}

static const luaL_Reg embedded_functions[] = {
    {"get", embedded_get},
    {"list", embedded_list},
    {NULL, NULL},
};

int luaopen_pixie_embedded(lua_State *L)
{
    luaL_newlib(L, embedded_functions);
    return 1;
}
