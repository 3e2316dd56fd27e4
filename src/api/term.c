/* pixie.term: terminal questions, secret input, and the escaping rule for
 * text Pixie shows (src/core/termtext.c). Secret bytes live in a secret
 * buffer (api_newbuf) that is wiped right after the value is pushed and
 * again when the box is collected, so no copy outlives the call except the
 * returned string. */
#include "api.h"
#include "buf.h"
#include "term.h"
#include "termtext.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TERM_DEFAULT_MAX 65536
#define TERM_LIMIT_MAX (64 * 1024 * 1024)

/* Pushes a new secret buffer with room for cap bytes (plus a NUL). */
static struct buf *new_buffer(lua_State *L, size_t cap)
{
    struct buf *b = api_newbuf(L, 1);
    if (buf_reserve(b, cap) != 0) {
        api_nomem(L);
    }
    return b;
}

/* Pushes b's len bytes as the result and wipes the buffer. */
static int push_and_wipe(lua_State *L, struct buf *b, size_t len)
{
    lua_pushlstring(L, b->data, len);
    explicit_bzero(b->data, b->cap);
    return 1;
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
    size_t max = (size_t)api_optinteger(L, 2, "max", TERM_DEFAULT_MAX, 1, TERM_LIMIT_MAX);
    struct buf *b = new_buffer(L, max + 1);
    size_t len = 0;
    int rc = term_read_secret(prompt, b->data, max + 1, &len);
    switch (rc) {
    case 0:
        return push_and_wipe(L, b, len);
    case -ENOTTY:
        return api_fail(L, rc, "no terminal");
    case -EINTR:
        return api_fail(L, rc, "interrupted");
    case -EMSGSIZE:
        return api_fail(L, rc, "too long");
    default:
        return api_fail(L, rc, "terminal:");
    }
}

/* read_stdin([max=65536]) -> whole stdin | nil, "input longer than N
 * bytes" | nil, msg, errno. Never truncates. */
static int term_read_stdin_l(lua_State *L)
{
    lua_Integer max = api_optinteger(L, 1, NULL, TERM_DEFAULT_MAX, 0, TERM_LIMIT_MAX);
    struct buf *b = new_buffer(L, (size_t)max + 1);
    size_t len = 0;
    int rc = term_read_all(STDIN_FILENO, b->data, (size_t)max, &len);
    if (rc == -EFBIG) {
        return api_fail(L, rc, "input longer than %I bytes", max);
    }
    if (rc != 0) {
        return api_fail(L, rc, "stdin:");
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
        return api_fail(L, rc, "no terminal");
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

/* escape(text [, set = "controls_but_layout"]) -> text with the control
 * characters of `set` written as \xNN (termtext.h): "controls_but_layout"
 * (all but tab and LF: for a terminal), "controls" (all: one line),
 * "line_breaks" (CR and LF only). */
static int term_escape_l(lua_State *L)
{
    static const char *const names[] = {"controls_but_layout", "controls", "line_breaks", NULL};
    static const enum termtext_set sets[] = {TERMTEXT_CONTROLS_BUT_LAYOUT, TERMTEXT_CONTROLS,
                                             TERMTEXT_LINE_BREAKS};
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    enum termtext_set set = sets[luaL_checkoption(L, 2, "controls_but_layout", names)];
    struct buf *out = api_newbuf(L, 0);
    termtext_escape(s, n, set, out);
    api_pushbuf(L, out);
    return 1;
}

static const luaL_Reg term_functions[] = {
    {"isatty", term_isatty_l},         {"read_secret", term_read_secret_l},
    {"read_stdin", term_read_stdin_l}, {"confirm", term_confirm_l},
    {"escape", term_escape_l},         {NULL, NULL},
};

int luaopen_pixie_term(lua_State *L)
{
    luaL_newlib(L, term_functions);
    return 1;
}
