/* pixie.launcher: the warm pool of tool processes (src/core/launcher.c).
 *
 *   start(tool) -> {port=, pid=, started=bool} | nil, msg, errno
 *   run(tool, body_json [, {run_id=, artefacts_dir=, deadline_ms=, headers={Name=value}}])
 *     -> {status_code=, body=, timed_out=false, started=, pid=, port=}
 *      | {timed_out=true, error=msg, started=, pid=, port=}
 *      | nil, msg, errno
 *   get(tool_id, path [, timeout_ms=5000]) -> {status_code=, body=} | nil, msg, errno
 *   post(tool_id, path [, body_json="" [, timeout_ms=5000]]) -> as get
 *   stream(tool_id, pid, path, {deadline_ms=, on_event=function(name, data)})
 *     reads `path` of the warm process `pid` (0: any) as Server-Sent Events
 *     (src/core/sse.h): on_event gets each event's name ("" when none) and
 *     data, unmasked (the caller masks); returning true stops the stream.
 *     -> {status_code=, timed_out=false, stopped=bool, body=(non-2xx only)}
 *      | {timed_out=true, error=msg}   (the tool's tree was killed)
 *      | nil, msg, errno
 *     An error raised by on_event is raised again once the stream is closed.
 *   stop(tool_id [, grace_ms=5000]) -> true, was_running, forced (SIGKILL needed)
 *   stop_all([grace_ms=5000]) -> true
 *   state() -> array of {tool_id, pid, port, started_at, last_used, busy}
 *   output(tool_id) -> masked tail of the tool's recent output | nil
 *   configure{warm_keep_max=N}
 *   set_store(db_handle | nil): tool output (masked) is appended to the
 *     store's spawn_log from now on (process-wide: set it once, when the
 *     home's store is first opened; setting the same store again changes
 *     nothing); without a store only output() keeps it.
 *
 * `tool` is prepared by Lua (see lua/pixie/childenv.lua): {id, dir, python,
 * entrypoint="main.py", env={KEY=VALUE} (the whole environment),
 * max_memory_mb=512, max_runtime_seconds=60, warm_keep_seconds=300,
 * concurrent=true}. Every tool still running when Pixie exits is stopped
 * (atexit); if Pixie dies, the tools die with it. */
#include "api.h"
#include "buf.h"
#include "launcher.h"
#include "sse.h"
#include "store.h"

#include <errno.h>
#include <lauxlib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_GRACE_MS 5000
#define MAX_GRACE_MS 600000
#define MAX_FIELD 10000000
#define LAUNCHER_MAX_DEADLINE_MS (24 * 3600 * 1000L) /* a day */

/* ---- output sink: the store's spawn_log ---------------------------------- */

/* The process's sink: set once, when the home's store is first opened (a
 * later set with the same store changes nothing). The I/O thread only
 * queues (store_spawn_log_queue, which makes whole-line rows, and
 * store_spawn_log_end when a stream ends), so it never waits behind a long
 * transaction. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *sink_store;

static void on_output(void *ctx, const char *tool_id, const char *stream, const char *text,
                      size_t len)
{
    (void)ctx;
    pthread_mutex_lock(&sink_lock);
    if (sink_store && text) {
        store_spawn_log_queue(sink_store, tool_id, stream, text, len); /* best effort */
    } else if (sink_store) {
        store_spawn_log_end(sink_store, tool_id, stream); /* the stream's last line */
    }
    pthread_mutex_unlock(&sink_lock);
}

/* Points the sink at s (NULL: none), holding a reference on it. */
static void set_sink(struct store *s)
{
    pthread_mutex_lock(&sink_lock);
    struct store *old = sink_store;
    if (s == old) {
        pthread_mutex_unlock(&sink_lock);
        return;
    }
    if (s) {
        store_retain(s);
    }
    sink_store = s;
    pthread_mutex_unlock(&sink_lock);
    store_release(old);
}

static void at_exit(void)
{
    launcher_shutdown();
    set_sink(NULL);
}

/* ---- the tool table ------------------------------------------------------ */

/* Non-empty C string field `name` of the tool table at idx (def when
 * absent; NULL def: required). */
static const char *field_str(lua_State *L, int idx, const char *name, const char *def)
{
    const char *s = api_optstring(L, idx, name, def, NULL);
    if (!s || !*s) {
        luaL_argerror(L, idx, lua_pushfstring(L, "field '%s': non-empty string expected", name));
    }
    return s;
}

/* Reads the tool table at idx into *t; pushes two values that keep the
 * environment alive. Raises on misuse. */
static void check_tool(lua_State *L, int idx, struct launcher_tool *t)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    memset(t, 0, sizeof *t);
    t->id = field_str(L, idx, "id", NULL);
    t->dir = field_str(L, idx, "dir", NULL);
    t->python = field_str(L, idx, "python", NULL);
    t->entrypoint = field_str(L, idx, "entrypoint", "main.py");
    t->max_memory_mb = (unsigned)api_optinteger(L, idx, "max_memory_mb", 512, 0, MAX_FIELD);
    t->max_runtime_seconds =
        (unsigned)api_optinteger(L, idx, "max_runtime_seconds", 60, 0, MAX_FIELD);
    t->warm_keep_seconds = (unsigned)api_optinteger(L, idx, "warm_keep_seconds", 300, 0, MAX_FIELD);
    t->concurrent = api_optboolean(L, idx, "concurrent", 1);
    lua_getfield(L, idx, "env");
    int env_idx = lua_gettop(L);
    if (lua_isnil(L, env_idx)) {
        env_idx = 0;
    } else {
        luaL_argcheck(L, lua_istable(L, env_idx), idx, "field 'env': table expected");
    }
    t->env = api_push_envp(L, env_idx, "tool field 'env'");
    lua_remove(L, -3); /* the env table itself stays in the tool table */
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

/* The failure return of a launcher call that returned rc with its message
 * in msg (strerror when it has none). */
static int fail(lua_State *L, int rc, const struct buf *msg)
{
    return api_fail(L, rc, msg->len ? "%s" : "launcher:", msg->data);
}

/* ---- functions ----------------------------------------------------------- */

static int l_start(lua_State *L)
{
    lua_settop(L, 1);
    struct launcher_tool t;
    check_tool(L, 1, &t);
    struct buf *err = api_newbuf(L, 0);
    int port = 0, started = 0;
    pid_t pid = 0;
    int rc = launcher_start(&t, &port, &pid, &started, err);
    if (rc != 0) {
        return fail(L, rc, err);
    }
    lua_createtable(L, 0, 3);
    set_int(L, "port", port);
    set_int(L, "pid", pid);
    set_bool(L, "started", started);
    return 1;
}

/* Adds "Name: value" to the header anchor table; raises on CR/LF/NUL. */
static void add_header(lua_State *L, int anchor, int *n, const char *name, const char *value,
                       size_t vlen)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || strlen(value) != vlen) {
        luaL_error(L, "bad header '%s' (CR, LF, NUL or ':' in it)", name);
    }
    lua_pushfstring(L, "%s: %s", name, value);
    lua_rawseti(L, anchor, ++*n);
}

static int l_run(lua_State *L)
{
    lua_settop(L, 3);
    struct launcher_tool t;
    check_tool(L, 1, &t); /* stack: tool, body, opts, anchor, envp */
    size_t body_len;
    const char *body = luaL_checklstring(L, 2, &body_len);
    long deadline = 0;
    lua_newtable(L);
    int anchor = lua_gettop(L), nh = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        static const struct {
            const char *opt, *header;
        } fixed[] = {{"run_id", "X-Pixie-Run-Id"}, {"artefacts_dir", "X-Pixie-Artefacts-Dir"}};
        for (size_t i = 0; i < 2; i++) {
            if (lua_getfield(L, 3, fixed[i].opt) != LUA_TNIL) {
                size_t vlen;
                const char *v = luaL_checklstring(L, -1, &vlen);
                add_header(L, anchor, &nh, fixed[i].header, v, vlen);
            }
            lua_pop(L, 1);
        }
        deadline = (long)api_optinteger(L, 3, "deadline_ms", 0, 1, LAUNCHER_MAX_DEADLINE_MS);
        if (lua_getfield(L, 3, "headers") != LUA_TNIL) {
            luaL_checktype(L, -1, LUA_TTABLE);
            lua_pushnil(L);
            while (lua_next(L, -2) != 0) {
                if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
                    return luaL_error(L, "bad option 'headers' (strings expected)");
                }
                size_t vlen;
                const char *v = lua_tolstring(L, -1, &vlen);
                add_header(L, anchor, &nh, lua_tostring(L, -2), v, vlen);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    const char **headers = api_push_strv(L, anchor, "header");
    struct buf *err = api_newbuf(L, 0), *out = api_newbuf(L, 0);
    struct launcher_result res;
    int rc = launcher_run(&t, body, body_len, headers, deadline, &res, out, err);
    if (rc != 0 && !res.timed_out) {
        return fail(L, rc, err);
    }
    lua_createtable(L, 0, 6);
    if (res.timed_out) {
        if (err->len) {
            api_pushbuf(L, err);
        } else {
            lua_pushliteral(L, "timed out");
        }
        lua_setfield(L, -2, "error");
    } else {
        set_int(L, "status_code", res.status);
        api_pushbuf(L, out);
        lua_setfield(L, -2, "body");
    }
    set_bool(L, "timed_out", res.timed_out);
    set_bool(L, "started", res.started);
    set_int(L, "pid", res.pid);
    set_int(L, "port", res.port);
    return 1;
}

/* get and post: a request to a warm process; post_idx is the index of the
 * body argument (0: a GET), the timeout follows the path or the body. */
static int warm_request(lua_State *L, int post_idx)
{
    const char *id = luaL_checkstring(L, 1);
    const char *path = api_checkpath(L, 2);
    size_t len = 0;
    const char *post = post_idx ? luaL_optlstring(L, post_idx, "", &len) : NULL;
    int t_idx = post_idx ? post_idx + 1 : 3;
    lua_Integer timeout = api_optinteger(L, t_idx, NULL, 5000, 1, LAUNCHER_MAX_DEADLINE_MS);
    luaL_argcheck(L, path[0] == '/', 2, "path must start with '/'");
    struct buf *err = api_newbuf(L, 0), *got = api_newbuf(L, 0);
    long status = 0;
    int rc = post ? launcher_post(id, path, post, len, (long)timeout, &status, got, err)
                  : launcher_get(id, path, (long)timeout, &status, got, err);
    if (rc != 0) {
        return fail(L, rc, err);
    }
    lua_createtable(L, 0, 2);
    set_int(L, "status_code", status);
    api_pushbuf(L, got);
    lua_setfield(L, -2, "body");
    return 1;
}

static int l_get(lua_State *L)
{
    return warm_request(L, 0);
}

static int l_post(lua_State *L)
{
    return warm_request(L, 3);
}

/* State of one stream(): the Lua callback at index fn_idx. */
struct stream_ctx {
    lua_State *L;
    int fn_idx;
    struct sse_parser parser;
    int failed;  /* on_event raised: its error value is at the stack top */
    int stopped; /* on_event returned true */
    int sse_rc;  /* the parser's own failure (-EFBIG, -ENOMEM) */
};

/* One event: calls on_event(name, data) protected. */
static int stream_event(void *ctx, const char *name, const char *data, size_t len)
{
    struct stream_ctx *c = ctx;
    lua_State *L = c->L;
    lua_pushvalue(L, c->fn_idx);
    lua_pushstring(L, name);
    lua_pushlstring(L, data, len);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        c->failed = 1; /* the error value stays on the stack */
        return 1;
    }
    int stop = lua_toboolean(L, -1);
    lua_pop(L, 1);
    c->stopped = stop;
    return stop;
}

/* Bytes of the body: into the SSE parser. */
static int stream_data(void *ctx, const char *data, size_t len)
{
    struct stream_ctx *c = ctx;
    int rc = sse_feed(&c->parser, data, len, stream_event, c);
    if (rc < 0) {
        c->sse_rc = rc;
    }
    return rc != 0;
}

static int l_stream(lua_State *L)
{
    const char *id = luaL_checkstring(L, 1);
    lua_Integer pid = luaL_checkinteger(L, 2);
    const char *path = api_checkpath(L, 3);
    luaL_argcheck(L, path[0] == '/', 3, "path must start with '/'");
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_Integer deadline = api_optinteger(L, 4, "deadline_ms", 0, 1, LAUNCHER_MAX_DEADLINE_MS);
    luaL_argcheck(L, deadline > 0, 4, "field 'deadline_ms' required");
    lua_getfield(L, 4, "on_event");
    luaL_argcheck(L, lua_isfunction(L, -1), 4, "field 'on_event': function expected");
    struct stream_ctx c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.fn_idx = lua_gettop(L);
    struct buf *err = api_newbuf(L, 0), *body = api_newbuf(L, 0);
    sse_init(&c.parser);
    long status = 0;
    int timed_out = 0;
    int rc = launcher_stream(id, (pid_t)pid, path, (long)deadline, stream_data, &c, &status,
                             &timed_out, body, err);
    sse_free(&c.parser);
    if (c.failed) {
        return lua_error(L); /* on_event's error, at the top */
    }
    if (c.sse_rc == -ENOMEM) {
        return api_nomem(L);
    }
    if (c.sse_rc == -EFBIG) {
        return api_fail(L, -EFBIG, "tool '%s': a stream event is over %u bytes", id, SSE_EVENT_CAP);
    }
    if (rc != 0 && !timed_out && rc != -ECANCELED) {
        return fail(L, rc, err);
    }
    lua_createtable(L, 0, 4);
    if (timed_out) {
        api_pushbuf(L, err);
        lua_setfield(L, -2, "error");
    } else {
        set_int(L, "status_code", status);
        if (status < 200 || status > 299) {
            api_pushbuf(L, body);
            lua_setfield(L, -2, "body");
        }
    }
    set_bool(L, "timed_out", timed_out);
    set_bool(L, "stopped", c.stopped);
    return 1;
}

static int l_stop(lua_State *L)
{
    const char *id = luaL_checkstring(L, 1);
    lua_Integer grace = api_optinteger(L, 2, NULL, DEFAULT_GRACE_MS, 0, MAX_GRACE_MS);
    int was = launcher_stop(id, (int)grace);
    lua_pushboolean(L, 1);
    lua_pushboolean(L, was > 0);
    lua_pushboolean(L, was == 2);
    return 3;
}

static int l_stop_all(lua_State *L)
{
    lua_Integer grace = api_optinteger(L, 1, NULL, DEFAULT_GRACE_MS, 0, MAX_GRACE_MS);
    launcher_stop_all((int)grace);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_state(lua_State *L)
{
    void **owner = api_newptr(L);
    struct launcher_state_row *rows = NULL;
    size_t n = 0;
    int rc = launcher_state(&rows, &n);
    *owner = rows;
    if (rc != 0) {
        return api_fail(L, rc, "launcher:");
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        struct launcher_state_row *r = &rows[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, r->tool_id);
        lua_setfield(L, -2, "tool_id");
        set_int(L, "pid", r->pid);
        set_int(L, "port", r->port);
        lua_pushnumber(L, r->started_at);
        lua_setfield(L, -2, "started_at");
        lua_pushnumber(L, r->last_used);
        lua_setfield(L, -2, "last_used");
        set_int(L, "busy", r->busy);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_output(lua_State *L)
{
    const char *id = luaL_checkstring(L, 1);
    struct buf *tail = api_newbuf(L, 0);
    int rc = launcher_tail(id, tail);
    if (rc == -ENOMEM) {
        return api_nomem(L);
    }
    if (rc != 0) {
        lua_pushnil(L);
        return 1;
    }
    api_pushbuf(L, tail);
    return 1;
}

static int l_configure(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = api_optinteger(L, 1, "warm_keep_max", 0, 1, 1024);
    if (n != 0) {
        launcher_set_warm_max((int)n);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_set_store(lua_State *L)
{
    set_sink(lua_isnoneornil(L, 1) ? NULL : db_check_store(L, 1));
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg launcher_functions[] = {
    {"start", l_start},
    {"run", l_run},
    {"get", l_get},
    {"post", l_post},
    {"stream", l_stream},
    {"stop", l_stop},
    {"stop_all", l_stop_all},
    {"state", l_state},
    {"output", l_output},
    {"configure", l_configure},
    {"set_store", l_set_store},
    {NULL, NULL},
};

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void install_hooks(void)
{
    launcher_set_output(on_output, NULL);
    atexit(at_exit);
}

int luaopen_pixie_launcher(lua_State *L)
{
    pthread_once(&hooks_once, install_hooks);
    luaL_newlib(L, launcher_functions);
    return 1;
}
