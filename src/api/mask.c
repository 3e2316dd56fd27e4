/* pixie.mask: the process-wide secret masker (src/core/mask.h).
 *   add(value) -> boolean      registers value and its derived forms;
 *                              false when shorter than 4 bytes (ignored)
 *   scrub(text) -> text        every registered pattern replaced by ***
 *   count() -> integer         registered patterns (values + derived forms)
 *   stream() -> stream         s:feed(data) -> text, s:flush() -> text,
 *                              s:pending() -> integer, s:close() (idempotent;
 *                              also __gc and __close)
 * Misuse (wrong types, a closed stream) raises; running out of memory
 * raises "not enough memory" (api.h). */
#include "api.h"
#include "buf.h"
#include "mask.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>

#define STREAM_MT "pixie.mask.stream"

/* add(value) -> true when registered, false when shorter than 4 bytes */
static int l_add(lua_State *L)
{
    size_t len;
    const char *v = luaL_checklstring(L, 1, &len);
    int rc = mask_add(v, len);
    if (rc < 0) {
        return api_nomem(L);
    }
    lua_pushboolean(L, rc == 1);
    return 1;
}

/* scrub(text) -> masked text */
static int l_scrub(lua_State *L)
{
    size_t len;
    const char *in = luaL_checklstring(L, 1, &len);
    struct buf *b = api_newbuf(L, 0);
    if (mask_scrub_to(b, in, len) < 0) {
        return api_nomem(L);
    }
    api_pushbuf(L, b);
    return 1;
}

/* count() -> number of registered patterns */
static int l_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mask_count());
    return 1;
}

struct lstream {
    struct mask_stream *s; /* NULL once closed */
};

static struct mask_stream *check_open(lua_State *L)
{
    struct lstream *ls = luaL_checkudata(L, 1, STREAM_MT);
    luaL_argcheck(L, ls->s != NULL, 1, "stream is closed");
    return ls->s;
}

/* stream() -> a new open stream */
static int l_stream(lua_State *L)
{
    struct lstream *ls = lua_newuserdatauv(L, sizeof *ls, 0);
    ls->s = NULL; /* created closed, then opened */
    luaL_setmetatable(L, STREAM_MT);
    ls->s = mask_stream_new();
    if (!ls->s) {
        return api_nomem(L);
    }
    return 1;
}

/* s:feed(data) -> the text now safe to emit, masked ("" when none) */
static int ls_feed(lua_State *L)
{
    struct mask_stream *s = check_open(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    struct buf *b = api_newbuf(L, 0);
    if (mask_stream_feed_to(s, data, len, b) < 0) {
        return api_nomem(L);
    }
    api_pushbuf(L, b);
    return 1;
}

/* s:flush() -> everything held back, masked ("" when none) */
static int ls_flush(lua_State *L)
{
    struct mask_stream *s = check_open(L);
    struct buf *b = api_newbuf(L, 0);
    if (mask_stream_flush_to(s, b) < 0) {
        return api_nomem(L);
    }
    api_pushbuf(L, b);
    return 1;
}

/* s:pending() -> bytes held back */
static int ls_pending(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mask_stream_pending(check_open(L)));
    return 1;
}

/* s:close(): discards held bytes; idempotent (also __gc, __close) */
static int ls_close(lua_State *L)
{
    struct lstream *ls = luaL_checkudata(L, 1, STREAM_MT);
    mask_stream_free(ls->s);
    ls->s = NULL;
    return 0;
}

static int ls_tostring(lua_State *L)
{
    struct lstream *ls = luaL_checkudata(L, 1, STREAM_MT);
    lua_pushstring(L, ls->s ? "pixie.mask.stream (open)" : "pixie.mask.stream (closed)");
    return 1;
}

static const luaL_Reg stream_methods[] = {
    {"feed", ls_feed},   {"flush", ls_flush}, {"pending", ls_pending},
    {"close", ls_close}, {NULL, NULL},
};

static const luaL_Reg stream_meta[] = {
    {"__gc", ls_close},
    {"__close", ls_close},
    {"__tostring", ls_tostring},
    {NULL, NULL},
};

static const luaL_Reg mask_functions[] = {
    {"add", l_add}, {"scrub", l_scrub}, {"count", l_count}, {"stream", l_stream}, {NULL, NULL},
};

int luaopen_pixie_mask(lua_State *L)
{
    api_register_class(L, STREAM_MT, stream_meta, stream_methods);
    luaL_newlib(L, mask_functions);
    return 1;
}
