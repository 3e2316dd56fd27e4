/* The one list of pixie.* modules implemented in C (src/api/<module>.c). */
#ifndef PIXIE_API_H
#define PIXIE_API_H

#include <lauxlib.h>
#include <lua.h>

/* Puts every C module's luaopen function into package.preload under its
 * module name ("pixie.fs", ...). */
void api_preload(lua_State *L);

int luaopen_pixie_db(lua_State *L);
int luaopen_pixie_embedded(lua_State *L);
int luaopen_pixie_env(lua_State *L);
int luaopen_pixie_fs(lua_State *L);
int luaopen_pixie_launcher(lua_State *L);
int luaopen_pixie_log(lua_State *L);
int luaopen_pixie_mask(lua_State *L);
int luaopen_pixie_proc(lua_State *L);
int luaopen_pixie_sys(lua_State *L);
int luaopen_pixie_term(lua_State *L);

struct store;
/* The store behind the open pixie.db handle at idx (raises when idx is not
 * an open handle). The pointer is valid while the handle is open; a C owner
 * that must outlive the handle (the launcher thread) takes its own
 * reference with store_retain and drops it with store_release. */
struct store *db_check_store(lua_State *L, int idx);

/* Builds a NULL-terminated "KEY=VALUE" array from the {KEY = VALUE} table at
 * idx (0 = an empty environment). Pushes two values (the strings' anchor
 * table and the array userdata) that keep it alive; raises, naming `what`,
 * on non-string entries, '=' in a name, or NUL. */
const char **api_push_envp(lua_State *L, int idx, const char *what);

/* World-failure return of the error contract: pushes nil, "<what>: <strerror>"
 * and the errno name's number (positive), returns 3. `negerr` is a negative
 * errno value as returned by the core. */
int api_fail_errno(lua_State *L, int negerr, const char *what);

/* Registers the handle metatable `name` (metamethods `meta`, methods
 * `methods` as its __index), leaving the stack as it was. */
void api_register_class(lua_State *L, const char *name, const luaL_Reg *meta,
                        const luaL_Reg *methods);

/* Pushes nil and the message, returns 2. */
int api_fail(lua_State *L, const char *msg);
#endif
