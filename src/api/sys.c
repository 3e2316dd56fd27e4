/* pixie.sys: small process facts the Lua side needs (clocks, pid, ids). */
#include "api.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
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

static const luaL_Reg sys_functions[] = {
    {"monotonic_ms", sys_monotonic_ms},
    {"now", sys_now},
    {"getpid", sys_getpid},
    {"random_hex", sys_random_hex},
    {"uuid4", sys_uuid4},
    {"sleep_ms", sys_sleep_ms},
    {NULL, NULL},
};

int luaopen_pixie_sys(lua_State *L)
{
    luaL_newlib(L, sys_functions);
    return 1;
}
