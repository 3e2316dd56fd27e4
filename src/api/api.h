/* The one list of pixie.* modules implemented in C (src/api/<module>.c), and
 * the helpers every binding uses (Lua's liolib.c / lauxlib.c idioms).
 *
 * Error contract: misuse (a wrong type, a bad option, a closed handle, a
 * path with a NUL byte, a number out of range) raises with the argument
 * number (luaL_check*, luaL_argerror, the api_check and api_opt helpers
 * below); failures of the world return nil, message, errno (api_fail).
 *
 * Out of memory: a C allocation that fails inside a binding raises
 * "not enough memory" (api_nomem), as Lua itself does when its allocator
 * fails. Every lua_push* may raise that error anyway, so a caller can never
 * count on getting nil, message back for memory; one way (raise) means one
 * path to handle and to test. api_fail applies it to an ENOMEM from the core.
 *
 * Memory across errors: C memory a binding holds while anything can raise
 * lives in a box (api_newbox, api_newbuf): a userdata whose __gc and
 * __close free it, so a raise cannot leak it. */
#ifndef PIXIE_API_H
#define PIXIE_API_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>

struct buf;

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
int luaopen_pixie_server(lua_State *L);
int luaopen_pixie_sys(lua_State *L);
int luaopen_pixie_term(lua_State *L);
int luaopen_pixie_zip(lua_State *L);

struct store;
/* The store behind the open pixie.db handle at idx (raises when idx is not
 * an open handle). The pointer is valid while the handle is open; a C owner
 * that must outlive the handle (the launcher thread) takes its own
 * reference with store_retain and drops it with store_release. */
struct store *db_check_store(lua_State *L, int idx);

/* ---- failures (result.c) ------------------------------------------------ */

/* The world-failure return (liolib's luaL_fileresult): pushes nil, the
 * message and err as a positive errno number; returns 3. err is an errno
 * value, negative as the core returns it, or positive. The message is fmt
 * formatted as lua_pushfstring does; when fmt ends in ':', a space and
 * strerror(err) follow (perror's form: api_fail(L, rc, "%s:", path)). An
 * ENOMEM is raised instead (api_nomem): the out-of-memory policy above. */
int api_fail(lua_State *L, int err, const char *fmt, ...);

/* Raises "not enough memory" (the out-of-memory policy); never returns. */
int api_nomem(lua_State *L);

/* Registers the handle metatable `name` (metamethods `meta`, methods
 * `methods` as its __index), leaving the stack as it was. */
void api_register_class(lua_State *L, const char *name, const luaL_Reg *meta,
                        const luaL_Reg *methods);

/* ---- arguments and options (args.c) ------------------------------------- */

/* The string argument at arg as a C path: raises unless it is a string
 * without NUL bytes (a NUL would silently cut the path short). */
const char *api_checkpath(lua_State *L, int arg);

/* An integer in [min, max]: with name NULL the argument at arg itself,
 * else field `name` of the options table at arg (the argument may be
 * absent or nil: no options). Absent or nil: def. Raises, naming the
 * argument and field, for a non-integer or a value out of range. */
lua_Integer api_optinteger(lua_State *L, int arg, const char *name, lua_Integer def,
                           lua_Integer min, lua_Integer max);

/* String field `name` of the options table at arg (absent or nil: def).
 * With len NULL the caller wants a C string (a path, a name): a NUL byte
 * raises; else *len is its length. The string stays alive in the table. */
const char *api_optstring(lua_State *L, int arg, const char *name, const char *def, size_t *len);

/* Boolean field `name` of the options table at arg (absent or nil: def;
 * other values by Lua truth). */
int api_optboolean(lua_State *L, int arg, const char *name, int def);

/* ---- C memory owned by Lua (cbuf.c) -------------------------------------- */

/* Pushes a box: a zero-filled userdata of `size` bytes whose __gc and
 * __close call release(payload) once (release may be NULL). Returns the
 * payload, aligned as Lua aligns userdata (pointers, integers, doubles). */
void *api_newbox(lua_State *L, size_t size, void (*release)(void *payload));

/* Pushes a box holding an empty struct buf (src/core/buf.h) for core
 * functions to append to; the box frees it. With `secret` set the bytes
 * are wiped (explicit_bzero) when the box frees them: reserve the room
 * first (buf_reserve), since growing moves the bytes and leaves the old
 * block unwiped. Returns the buf. */
struct buf *api_newbuf(lua_State *L, int secret);

/* Pushes a box holding one pointer (NULL at first) that it frees with
 * free(): the owner of a malloc'd C object a core function returned. Store
 * the object in it right after the call, before anything that can raise. */
void **api_newptr(lua_State *L);

/* Pushes b's bytes as a string ("" when empty), raising "not enough
 * memory" when b failed to grow. b stays owned by its box. */
void api_pushbuf(lua_State *L, const struct buf *b);

/* ---- C string arrays (strv.c) ------------------------------------------- */

/* The strings of the array table at t as a NULL-terminated array: pushes
 * it as a box and returns it. The strings are kept alive by the table, which
 * the caller keeps on the stack. Raises, naming `what`, on an entry that is
 * not a string or holds a NUL byte. */
const char **api_push_strv(lua_State *L, int t, const char *what);

/* Builds a NULL-terminated "KEY=VALUE" array from the {KEY = VALUE} table at
 * idx (0 = an empty environment). Pushes two values (the strings' anchor
 * table and the array) that keep it alive; raises, naming `what`, on
 * non-string entries, '=' in a name, or NUL. */
const char **api_push_envp(lua_State *L, int idx, const char *what);

#endif
