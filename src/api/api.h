/* The one list of pixie.* modules implemented in C (src/api/<module>.c). */
#ifndef PIXIE_API_H
#define PIXIE_API_H

#include <lua.h>

/* Puts every C module's luaopen function into package.preload under its
 * module name ("pixie.fs", ...). */
void api_preload(lua_State *L);

int luaopen_pixie_embedded(lua_State *L);
int luaopen_pixie_fs(lua_State *L);
int luaopen_pixie_proc(lua_State *L);
int luaopen_pixie_sys(lua_State *L);



/* World-failure return of the error contract: pushes nil, "<what>: <strerror>"
 * and the errno name's number (positive), returns 3. `negerr` is a negative
 * errno value as returned by the core. */
int api_fail_errno(lua_State *L, int negerr, const char *what);

/* Pushes nil and the message, returns 2. */
int api_fail(lua_State *L, const char *msg);
#endif
