/* pixie.term: terminal questions and secret input. Secret bytes live in a
 * Lua-owned buffer that is wiped right after the value is pushed and again
 * by its __gc, so no copy outlives the call except the returned string. */
#include "api.h"
#include "term.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TERM_DEFAULT_MAX 65536
#define TERM_LIMIT_MAX (64 * 1024 * 1024)
#define BUFFER_META "pixie.term.buffer"

struct secret_buffer {
    size_t cap;
    char data[];
};

/* __gc of a secret buffer: wipes what is left in it. */
static int buffer_gc(lua_State *L)
{
    struct secret_buffer *b = luaL_checkudata(L, 1, BUFFER_META);
    explicit_bzero(b->data, b->cap);
    return 0;
}

/* Pushes a new wiped-on-collect buffer of cap bytes and returns it. */
static struct secret_buffer *new_buffer(lua_State *L, size_t cap)
{
    struct secret_buffer *b = lua_newuserdatauv(L, sizeof *b + cap, 0);
    b->cap = cap;
    memset(b->data, 0, cap);
    luaL_setmetatable(L, BUFFER_META);
    return b;
}

/* Pushes b->data[0..len) as the result and wipes the buffer. */
static int push_and_wipe(lua_State *L, struct secret_buffer *b, size_t len)
{
    lua_pushlstring(L, b->data, len);
    explicit_bzero(b->data, b->cap);
    return 1;
}

/* Reads a byte limit from opts.max (index idx, optional table). */
static size_t opt_max(lua_State *L, int idx)
{
    lua_Integer max = TERM_DEFAULT_MAX;
    if (!lua_isnoneornil(L, idx)) {
        luaL_checktype(L, idx, LUA_TTABLE);
        lua_getfield(L, idx, "max");
        max = luaL_optinteger(L, -1, max);
        lua_pop(L, 1);
    }
    luaL_argcheck(L, max >= 1 && max <= TERM_LIMIT_MAX, idx, "max must be 1..67108864");
    return (size_t)max;
}

/* isatty(fd | "stdin" | "stdout" | "stderr") -> boolean */
static int term_isatty_l(lua_State *L)
{
    int fd;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n >= 0 && n <= 1 << 20, 1, "bad file descriptor");
        fd = (int)n;
    } else {
        static const char *const names[] = {"stdin", "stdout", "stderr", NULL};
        fd = luaL_checkoption(L, 1, NULL, names);
    }
    lua_pushboolean(L, term_isatty(fd));
    return 1;
}

/* read_secret(prompt [, {max=65536}]) -> value | nil, msg.
 * msg is "no terminal", "interrupted", "too long" or a tty error. The
 * prompt goes to the terminal; echo is off while reading. */
static int term_read_secret_l(lua_State *L)
{
    const char *prompt = luaL_checkstring(L, 1);
    size_t max = opt_max(L, 2);
    struct secret_buffer *b = new_buffer(L, max + 1);
    size_t len = 0;
    int rc = term_read_secret(prompt, b->data, b->cap, &len);
    switch (rc) {
    case 0:
        return push_and_wipe(L, b, len);
    case -ENOTTY:
        return api_fail(L, "no terminal");
    case -EINTR:
        return api_fail(L, "interrupted");
    case -EMSGSIZE:
        return api_fail(L, "too long");
    default:
        return api_fail_errno(L, rc, "terminal");
    }
}

/* read_stdin([max=65536]) -> whole stdin | nil, "input longer than N
 * bytes" | nil, msg, errno. Never truncates. */
static int term_read_stdin_l(lua_State *L)
{
    lua_Integer max = luaL_optinteger(L, 1, TERM_DEFAULT_MAX);
    luaL_argcheck(L, max >= 0 && max <= TERM_LIMIT_MAX, 1, "max must be 0..67108864");
    struct secret_buffer *b = new_buffer(L, (size_t)max + 1);
    size_t len = 0;
    int rc = term_read_all(STDIN_FILENO, b->data, (size_t)max, &len);
    if (rc == -EFBIG) {
        lua_pushnil(L);
        lua_pushfstring(L, "input longer than %I bytes", max);
        return 2;
    }
    if (rc != 0) {
        return api_fail_errno(L, rc, "stdin");
    }
    return push_and_wipe(L, b, len);
}

/* confirm(prompt) -> true when the answer is y/yes (any case), false for
 * anything else | nil, "no terminal". Reads one line with echo on. */
static int term_confirm_l(lua_State *L)
{
    const char *prompt = luaL_checkstring(L, 1);
    char line[256];
    size_t len = 0;
    int rc = term_read_line(prompt, line, sizeof line, &len);
    if (rc == -ENOTTY) {
        return api_fail(L, "no terminal");
    }
    if (rc != 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    char *s = line;
    while (len > 0 && isspace((unsigned char)s[len - 1])) {
        s[--len] = '\0';
    }
    while (*s && isspace((unsigned char)*s)) {
        s++;
    }
    lua_pushboolean(L, strcasecmp(s, "y") == 0 || strcasecmp(s, "yes") == 0);
    return 1;
}

static const luaL_Reg term_functions[] = {
    {"isatty", term_isatty_l},
    {"read_secret", term_read_secret_l},
    {"read_stdin", term_read_stdin_l},
    {"confirm", term_confirm_l},
    {NULL, NULL},
};

int luaopen_pixie_term(lua_State *L)
{
    if (luaL_newmetatable(L, BUFFER_META)) {
        lua_pushcfunction(L, buffer_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    luaL_newlib(L, term_functions);
    return 1;
}
