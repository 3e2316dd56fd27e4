/* The Lua host: creates states, loads embedded modules, runs protected calls. */
#include "host.h"

#include "api.h"
#include "buf.h"
#include "embedded.h"
#include "mask.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct embedded_file *embedded_find(const char *name)
{
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

/* package.preload loader for an embedded lua/ module; upvalue 1 is the
 * embedded file's path. */
static int load_embedded_module(lua_State *L)
{
    const char *path = lua_tostring(L, lua_upvalueindex(1));
    const struct embedded_file *f = embedded_find(path);
    if (!f) {
        return luaL_error(L, "embedded module %s vanished", path);
    }
    lua_pushfstring(L, "@%s", path);
    if (luaL_loadbufferx(L, f->data, (size_t)f->length, lua_tostring(L, -1), "t") != LUA_OK) {
        return lua_error(L);
    }
    lua_pushvalue(L, 1); /* module name */
    lua_call(L, 1, 1);
    return 1;
}

/* Registers lua/pixie/x/y.lua as module "pixie.x.y" in package.preload. */
static void preload_embedded_lua(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        size_t n = strlen(f->name);
        if (strncmp(f->name, "lua/", 4) != 0 || n < 9 || strcmp(f->name + n - 4, ".lua") != 0) {
            continue;
        }
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (size_t i = 4; i < n - 4; i++) {
            luaL_addchar(&b, f->name[i] == '/' ? '.' : f->name[i]);
        }
        luaL_pushresult(&b);
        lua_pushstring(L, f->name);
        lua_pushcclosure(L, load_embedded_module, 1);
        lua_settable(L, -3);
    }
    lua_pop(L, 1);
}

lua_State *host_new(void)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        return NULL;
    }
    luaL_openlibs(L);
    api_preload(L);
    preload_embedded_lua(L);
    return L;
}

/* Message handler: stringify the error, add a traceback under PIXIE_DEBUG. */
static int message_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            msg = lua_tostring(L, -1);
        } else {
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        }
    }
    const char *debug = getenv("PIXIE_DEBUG");
    if (debug && strcmp(debug, "1") == 0) {
        luaL_traceback(L, L, msg, 1);
    } else {
        lua_pushstring(L, msg);
    }
    return 1;
}

int host_pcall(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

void host_report(lua_State *L)
{
    size_t len = 0;
    const char *msg = lua_tolstring(L, -1, &len);
    if (!msg) {
        msg = "unknown error";
        len = strlen(msg);
    }
    struct buf masked = {0};
    int rc = mask_scrub_to(&masked, msg, len);
    fprintf(stderr, "pixie: %s\n",
            rc == 0 ? masked.data : "error (message withheld: out of memory)");
    buf_free(&masked);
    fflush(stderr);
    lua_pop(L, 1);
}

/* Protected body of host_run_main: upvalue-free, args (module, argv table). */
static int run_main(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    return 1;
}

int host_run_main(lua_State *L, const char *module, int argc, char **argv)
{
    lua_pushcfunction(L, run_main);
    lua_pushstring(L, module);
    lua_createtable(L, argc > 0 ? argc - 1 : 0, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    if (host_pcall(L, 2, 1) != LUA_OK) {
        host_report(L);
        return 1;
    }
    int code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    return code;
}
