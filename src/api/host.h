/* The Lua host: one function makes a ready lua_State, one runs Lua code
 * under a protected call that reports errors the same way everywhere. */
#ifndef PIXIE_HOST_H
#define PIXIE_HOST_H

#include <lua.h>

/* Creates a lua_State with the standard libraries, every pixie.* C module
 * and every embedded lua/pixie/ module in package.preload.
 * Returns NULL when out of memory. The caller closes it with lua_close. */
lua_State *host_new(void);

/* lua_pcall with a message handler that turns non-string errors into text
 * and appends a traceback when PIXIE_DEBUG=1. Same stack contract and
 * return codes as lua_pcall; on error the message string is on the top. */
int host_pcall(lua_State *L, int nargs, int nresults);

/* Prints the error message on top of the stack to stderr as
 * "pixie: <message>", masked (mask.h), and pops it. */
void host_report(lua_State *L);

/* require(module).main(args) where args is argv[1..argc-1] as a Lua array.
 * Returns the integer main returned (0 if it returned nothing), or 1 after
 * reporting an error. */
int host_run_main(lua_State *L, const char *module, int argc, char **argv);

#endif
