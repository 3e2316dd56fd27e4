/* The one userdata type for C memory a binding holds while Lua may raise
 * ("pixie.box", Lua's UBox idea): the payload lives in the userdata, and
 * __gc / __close run its release function once. */
#include "api.h"
#include "buf.h"

#include <lauxlib.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BOX_MT "pixie.box"

/* The payload's alignment: Lua's own for userdata (LUAI_MAXALIGN). */
union box_align {
    void *p;
    double d;
    long long ll;
    lua_Number n;
    lua_Integer i;
};

struct box {
    void (*release)(void *payload); /* NULL once run (or never needed) */
    union box_align payload[];
};

/* __gc and __close: releases the payload; idempotent. */
static int box_close(lua_State *L)
{
    struct box *b = luaL_checkudata(L, 1, BOX_MT);
    void (*release)(void *) = b->release;
    b->release = NULL;
    if (release) {
        release(b->payload);
    }
    return 0;
}

void *api_newbox(lua_State *L, size_t size, void (*release)(void *payload))
{
    if (size > (size_t)-1 - sizeof(struct box)) {
        api_nomem(L);
    }
    struct box *b = lua_newuserdatauv(L, sizeof *b + size, 0);
    b->release = NULL;
    memset(b->payload, 0, size);
    if (luaL_newmetatable(L, BOX_MT)) {
        lua_pushcfunction(L, box_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, box_close);
        lua_setfield(L, -2, "__close");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    b->release = release; /* armed only once the metatable is set */
    return b->payload;
}

static void release_buf(void *payload)
{
    buf_free(payload);
}

static void release_secret(void *payload)
{
    struct buf *b = payload;
    if (b->data) {
        explicit_bzero(b->data, b->cap);
    }
    buf_free(b);
}

struct buf *api_newbuf(lua_State *L, int secret)
{
    return api_newbox(L, sizeof(struct buf), secret ? release_secret : release_buf);
}

static void release_ptr(void *payload)
{
    void **p = payload;
    free(*p);
    *p = NULL;
}

void **api_newptr(lua_State *L)
{
    return api_newbox(L, sizeof(void *), release_ptr);
}

void api_pushbuf(lua_State *L, const struct buf *b)
{
    if (b->err) {
        api_nomem(L); /* the only way a buf fails short of size_t overflow */
    }
    lua_pushlstring(L, b->data ? b->data : "", b->len);
}
