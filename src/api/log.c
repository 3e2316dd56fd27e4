/* pixie.log: Pixie's masked log (src/core/log.h).
 *   debug(...), info(...), warn(...), error(...)
 *       every argument tostring'd, joined by spaces, written as one line
 *       with component "lua" (no format string: "%" is literal)
 *   write(level, component, ...)   the same with a level name and component
 *   open(logs_dir) -> true | nil, msg, errno   log file <logs_dir>/pixie.log
 *                                  (created on the first line written)
 *   close()                        stop writing the file
 *   threshold() -> "debug"|"info"|"warn"|"error"   the stderr threshold */
#include "api.h"
#include "log.h"

#include <lauxlib.h>

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};

/* Joins arguments first..top (tostring'd, space separated) and logs them. */
static int log_args(lua_State *L, enum log_level level, const char *component, int first)
{
    int top = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = first; i <= top; i++) {
        if (i > first) {
            luaL_addchar(&b, ' ');
        }
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    log_write(level, component, "%s", lua_tostring(L, -1));
    return 0;
}

static int l_debug(lua_State *L)
{
    return log_args(L, LOG_LEVEL_DEBUG, "lua", 1);
}

static int l_info(lua_State *L)
{
    return log_args(L, LOG_LEVEL_INFO, "lua", 1);
}

static int l_warn(lua_State *L)
{
    return log_args(L, LOG_LEVEL_WARN, "lua", 1);
}

static int l_error(lua_State *L)
{
    return log_args(L, LOG_LEVEL_ERROR, "lua", 1);
}

/* write(level, component, ...) */
static int l_write(lua_State *L)
{
    int level = luaL_checkoption(L, 1, NULL, level_names);
    const char *component = luaL_checkstring(L, 2);
    return log_args(L, (enum log_level)level, component, 3);
}

/* open(logs_dir) -> true | nil, msg, errno */
static int l_open(lua_State *L)
{
    const char *dir = api_checkpath(L, 1);
    int rc = log_open(dir);
    if (rc < 0) {
        return api_fail(L, rc, "%s:", dir);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L)
{
    (void)L;
    log_close();
    return 0;
}

static int l_threshold(lua_State *L)
{
    lua_pushstring(L, level_names[log_threshold()]);
    return 1;
}

static const luaL_Reg log_functions[] = {
    {"debug", l_debug}, {"info", l_info},           {"warn", l_warn},
    {"error", l_error}, {"write", l_write},         {"open", l_open},
    {"close", l_close}, {"threshold", l_threshold}, {NULL, NULL},
};

int luaopen_pixie_log(lua_State *L)
{
    luaL_newlib(L, log_functions);
    return 1;
}
