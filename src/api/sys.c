/* pixie.sys: small process facts the Lua side needs (clocks, pid, ids). */
#include "api.h"
#include "interrupt.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* monotonic_ms() -> milliseconds (float) from an arbitrary origin */
static int sys_monotonic_ms(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000.0 + (lua_Number)ts.tv_nsec / 1e6);
    return 1;
}

/* now() -> wall-clock seconds since the epoch (float) */
static int sys_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static int sys_getpid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

/* random_hex(nbytes) -> lowercase hex of nbytes from the kernel CSPRNG */
static int sys_random_hex(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n > 0 && n <= 256, 1, "byte count must be 1..256");
    unsigned char buf[256];
    size_t want = (size_t)n & 0x1ff;
    if (want > sizeof buf || getrandom(buf, want, 0) != (ssize_t)want) {
        return api_fail(L, errno, "getrandom:");
    }
    char hex[513];
    for (lua_Integer i = 0; i < n; i++) {
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    }
    lua_pushlstring(L, hex, (size_t)(2 * n));
    return 1;
}

/* uuid4() -> random RFC 4122 version-4 UUID string */
static int sys_uuid4(lua_State *L)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        return api_fail(L, errno, "getrandom:");
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char s[37];
    snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    lua_pushstring(L, s);
    return 1;
}

/* sleep_ms(ms) -> true: sleeps the calling thread (EINTR resumes the rest) */
static int sys_sleep_ms(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ms >= 0 && ms <= 86400000, 1, "milliseconds out of range");
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* interrupt_arm() -> true | nil, msg, errno: from now on Ctrl-C (SIGINT)
 * sets the interrupted flag instead of ending the process, and aborts a
 * request to a tool in progress (src/core/interrupt.h). */
static int sys_interrupt_arm(lua_State *L)
{
    int rc = interrupt_arm();
    if (rc != 0) {
        return api_fail(L, rc, "cannot catch Ctrl-C:");
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* interrupt_disarm(): Ctrl-C does what it did before arm again. */
static int sys_interrupt_disarm(lua_State *L)
{
    (void)L;
    interrupt_disarm();
    return 0;
}

/* interrupted([clear]) -> bool: Ctrl-C came since arm (or the last clear);
 * clear = true clears the flag after reading it. */
static int sys_interrupted(lua_State *L)
{
    lua_pushboolean(L, interrupt_pending());
    if (lua_toboolean(L, 1)) {
        interrupt_clear();
    }
    return 1;
}

static const luaL_Reg sys_functions[] = {
    {"monotonic_ms", sys_monotonic_ms},
    {"now", sys_now},
    {"getpid", sys_getpid},
    {"random_hex", sys_random_hex},
    {"uuid4", sys_uuid4},
    {"sleep_ms", sys_sleep_ms},
    {"interrupt_arm", sys_interrupt_arm},
    {"interrupt_disarm", sys_interrupt_disarm},
    {"interrupted", sys_interrupted},
    {NULL, NULL},
};

/* ---- pixie.sys.errno -------------------------------------------------------
 * The errno names of <errno.h> (POSIX plus the Linux ones a file system or a
 * socket can return) with this platform's values, so Lua compares a
 * binding's third result with errno.ENOENT, never with a typed number. */

/* clang-format off */
#define ERRNO(name) {#name, name}
/* clang-format on */
static const struct {
    const char *name;
    int value;
} errno_names[] = {
    ERRNO(E2BIG),        ERRNO(EACCES),       ERRNO(EADDRINUSE),      ERRNO(EADDRNOTAVAIL),
    ERRNO(EAFNOSUPPORT), ERRNO(EAGAIN),       ERRNO(EALREADY),        ERRNO(EBADF),
    ERRNO(EBADMSG),      ERRNO(EBUSY),        ERRNO(ECANCELED),       ERRNO(ECHILD),
    ERRNO(ECONNABORTED), ERRNO(ECONNREFUSED), ERRNO(ECONNRESET),      ERRNO(EDEADLK),
    ERRNO(EDESTADDRREQ), ERRNO(EDOM),         ERRNO(EDQUOT),          ERRNO(EEXIST),
    ERRNO(EFAULT),       ERRNO(EFBIG),        ERRNO(EHOSTUNREACH),    ERRNO(EIDRM),
    ERRNO(EILSEQ),       ERRNO(EINPROGRESS),  ERRNO(EINTR),           ERRNO(EINVAL),
    ERRNO(EIO),          ERRNO(EISCONN),      ERRNO(EISDIR),          ERRNO(ELOOP),
    ERRNO(EMFILE),       ERRNO(EMLINK),       ERRNO(EMSGSIZE),        ERRNO(EMULTIHOP),
    ERRNO(ENAMETOOLONG), ERRNO(ENETDOWN),     ERRNO(ENETRESET),       ERRNO(ENETUNREACH),
    ERRNO(ENFILE),       ERRNO(ENOBUFS),      ERRNO(ENODATA),         ERRNO(ENODEV),
    ERRNO(ENOENT),       ERRNO(ENOEXEC),      ERRNO(ENOLCK),          ERRNO(ENOLINK),
    ERRNO(ENOMEM),       ERRNO(ENOMSG),       ERRNO(ENOPROTOOPT),     ERRNO(ENOSPC),
    ERRNO(ENOSR),        ERRNO(ENOSTR),       ERRNO(ENOSYS),          ERRNO(ENOTBLK),
    ERRNO(ENOTCONN),     ERRNO(ENOTDIR),      ERRNO(ENOTEMPTY),       ERRNO(ENOTRECOVERABLE),
    ERRNO(ENOTSOCK),     ERRNO(ENOTSUP),      ERRNO(ENOTTY),          ERRNO(ENXIO),
    ERRNO(EOPNOTSUPP),   ERRNO(EOVERFLOW),    ERRNO(EOWNERDEAD),      ERRNO(EPERM),
    ERRNO(EPIPE),        ERRNO(EPROTO),       ERRNO(EPROTONOSUPPORT), ERRNO(EPROTOTYPE),
    ERRNO(ERANGE),       ERRNO(EROFS),        ERRNO(ESHUTDOWN),       ERRNO(ESPIPE),
    ERRNO(ESRCH),        ERRNO(ESTALE),       ERRNO(ETIME),           ERRNO(ETIMEDOUT),
    ERRNO(ETXTBSY),      ERRNO(EWOULDBLOCK),  ERRNO(EXDEV),
};
#undef ERRNO

/* __index of pixie.sys.errno: the value of a known name; any other key
 * raises (a misspelt name is a programmer mistake, not "no such errno"). */
static int errno_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL) {
        return luaL_error(L, "pixie.sys.errno has no %s", luaL_tolstring(L, 2, NULL));
    }
    return 1;
}

/* __newindex of pixie.sys.errno: always raises. */
static int errno_newindex(lua_State *L)
{
    return luaL_error(L, "pixie.sys.errno is read-only");
}

/* The iterator errno_pairs returns: next over the values table (argument 1). */
static int errno_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, 1)) {
        return 2;
    }
    lua_pushnil(L);
    return 1;
}

/* __pairs of pixie.sys.errno: iterates name, value over the values. */
static int errno_pairs(lua_State *L)
{
    lua_pushcfunction(L, errno_next);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushnil(L);
    return 3;
}

/* Pushes the read-only errno table: an empty proxy whose metatable reads
 * from the name -> value table held as an upvalue. */
static void push_errno_table(lua_State *L)
{
    lua_createtable(L, 0, 0);                                                 /* proxy */
    lua_createtable(L, 0, 4);                                                 /* proxy, meta */
    lua_createtable(L, 0, (int)(sizeof errno_names / sizeof errno_names[0])); /* values */
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
        lua_pushinteger(L, errno_names[i].value);
        lua_setfield(L, -2, errno_names[i].name);
    }
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, errno_index, 1);
    lua_setfield(L, -3, "__index");
    lua_pushcclosure(L, errno_pairs, 1); /* consumes values */
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, errno_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "pixie.sys.errno is read-only");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* strerror(code) -> the C library's text for errno value code (for a
 * message built from a binding's third result; "Unknown error N" for a
 * value it does not know). */
static int sys_strerror(lua_State *L)
{
    lua_Integer code = luaL_checkinteger(L, 1);
    luaL_argcheck(L, code > 0 && code < 4096, 1, "errno value out of range");
    lua_pushstring(L, strerror((int)code));
    return 1;
}

int luaopen_pixie_sys(lua_State *L)
{
    luaL_newlib(L, sys_functions);
    lua_pushcfunction(L, sys_strerror);
    lua_setfield(L, -2, "strerror");
    push_errno_table(L);
    lua_setfield(L, -2, "errno");
    return 1;
}
