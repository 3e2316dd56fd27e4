/* pixie.server: the dashboard server and the event board (docs/dashboard-api.md §3).
 *   serve{home=ABS, port=7860, workers=4, on_ready=fn(url), app="pixie.web.app",
 *         watch={{dir=ABS, names={...}, children={...}}, ...},
 *         upload_routes={pattern...}, upload_max=BYTES, heartbeat_ms=15000}
 *       -> true | nil, msg, errno    blocks until SIGINT/SIGTERM; `app` names
 *       the module with init/handle (tests give their own); `watch` lists
 *       the folders cacheable answers depend on (watch.h): without it, or
 *       without inotify, nothing is cached; a body on a path
 *       matching an upload route pattern ('*' = one segment) may have
 *       upload_max bytes (1 MiB..1 GiB), any other 1 MiB; an SSE stream
 *       with nothing to say gets a comment every heartbeat_ms (>= 10)
 *   job(module, fn, arg) -> true | nil, msg    require(module)[fn](arg) on
 *       a new thread with its own state (at most JOBS_MAX at once)
 *   board_open(key) -> true | nil, msg
 *   publish(key, event, data) -> true | nil, msg
 *   finish(key, status, body) -> true | nil, msg
 *   cancel(key) -> boolean     cancelled(key) -> boolean
 *   board_state(key) -> "running" | "finished" | nil
 * Each worker and job thread owns one Lua state (host_new) on which
 * require("pixie.web.app").init(home) runs first; a worker's state lives
 * in thread-local storage and is closed when the thread ends. */
#include "api.h"
#include "board.h"
#include "deadline.h"
#include "buf.h"
#include "embedded.h"
#include "host.h"
#include "launcher.h"
#include "log.h"
#include "mask.h"
#include "server.h"
#include "watch.h"

#include <errno.h>
#include <lauxlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP_MODULE "pixie.web.app"
#define APP_NAME_MAX 128
#define JOBS_MAX 32
#define JOBS_WAIT_MS 10000 /* at shutdown, for jobs to see their tools stopped */
#define UPLOAD_ROUTES_MAX 16
#define UPLOAD_MAX_LIMIT (1024LL * 1024 * 1024)

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cond = PTHREAD_COND_INITIALIZER;
static int jobs_running;
static char *serve_home;                               /* set while serving (under jobs_lock) */
static char app_module[APP_NAME_MAX + 1] = APP_MODULE; /* set before the threads start */

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

/* Logs the error message on top of L's stack (masked by the log) and pops it. */
static void log_lua_error(lua_State *L, const char *what)
{
    const char *msg = lua_tostring(L, -1);
    log_write(LOG_LEVEL_ERROR, "server", "%s: %s", what, msg ? msg : "(no message)");
    lua_pop(L, 1);
}

/* Protected: require(APP_MODULE).init(home), home at index 1. */
static int call_init(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, app_module);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "init");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 0);
    return 0;
}

/* A new state with the app initialised for home, or NULL (logged). */
static lua_State *new_state(const char *home)
{
    lua_State *L = host_new();
    if (!L) {
        log_write(LOG_LEVEL_ERROR, "server", "cannot make a Lua state: out of memory");
        return NULL;
    }
    lua_pushcfunction(L, call_init);
    lua_pushstring(L, home);
    if (host_pcall(L, 1, 0) != LUA_OK) {
        log_lua_error(L, "the app's init");
        lua_close(L);
        return NULL;
    }
    return L;
}

static void close_state(void *p)
{
    lua_close(p);
}

static void make_state_key(void)
{
    pthread_key_create(&state_key, close_state);
}

/* This worker thread's state, made on first use; NULL when it cannot be. */
static lua_State *thread_state(const char *home)
{
    pthread_once(&state_once, make_state_key);
    lua_State *L = pthread_getspecific(state_key);
    if (!L) {
        L = new_state(home);
        if (L && pthread_setspecific(state_key, L) != 0) {
            lua_close(L);
            L = NULL;
        }
    }
    return L;
}

/* Pushes {name = value, ...} from a NULL-terminated pairs array. */
static void push_pairs(lua_State *L, const char *const *v)
{
    lua_newtable(L);
    for (size_t i = 0; v[i] && v[i + 1]; i += 2) {
        lua_pushstring(L, v[i + 1]);
        lua_setfield(L, -2, v[i]);
    }
}

/* Protected: require(APP_MODULE).handle(req) with req built from the
 * light userdata at 1; leaves the results on the stack. */
static int call_handle(lua_State *L)
{
    const struct server_request *r = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getglobal(L, "require");
    lua_pushstring(L, app_module);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "handle");
    lua_remove(L, 1);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, r->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, r->path);
    lua_setfield(L, -2, "path");
    push_pairs(L, r->query);
    lua_setfield(L, -2, "query");
    push_pairs(L, r->headers);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, r->body, r->body_len);
    lua_setfield(L, -2, "body");
    lua_call(L, 1, 4);
    return 4;
}

/* Sets the reply to 500 {"error": "internal error"}. */
static void internal_error(struct server_reply *rep)
{
    static const char body[] = "{\"error\": \"internal error\"}";
    rep->kind = SERVER_REPLY_BODY;
    rep->status = 500;
    buf_clear(&rep->body);
    buf_append(&rep->body, body, sizeof body - 1);
    buf_clear(&rep->headers);
    buf_clear(&rep->content_type);
}

/* Copies the handler's results (at 1..4 of L) into rep; 0 or -1 when
 * they are not what docs/dashboard-api.md §3 allows (logged). */
static int take_results(lua_State *L, const char *path, struct server_reply *rep)
{
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *kind = lua_tostring(L, 1);
        size_t klen;
        const char *key = lua_tolstring(L, 2, &klen);
        if ((strcmp(kind, "sse") != 0 && strcmp(kind, "await") != 0) ||
            lua_type(L, 2) != LUA_TSTRING || klen == 0) {
            log_write(LOG_LEVEL_ERROR, "server", "%s: handle returned '%s' without a key", path,
                      kind);
            return -1;
        }
        rep->kind = strcmp(kind, "sse") == 0 ? SERVER_REPLY_SSE : SERVER_REPLY_AWAIT;
        buf_append(&rep->key, key, klen);
        return 0;
    }
    if (!lua_isinteger(L, 1) || lua_tointeger(L, 1) < 100 || lua_tointeger(L, 1) > 599) {
        log_write(LOG_LEVEL_ERROR, "server", "%s: handle returned no status", path);
        return -1;
    }
    rep->kind = SERVER_REPLY_BODY;
    rep->status = (int)lua_tointeger(L, 1);
    if (!lua_isnil(L, 2)) {
        if (lua_type(L, 2) != LUA_TSTRING) {
            log_write(LOG_LEVEL_ERROR, "server", "%s: handle returned a body that is no string",
                      path);
            return -1;
        }
        size_t n;
        const char *b = lua_tolstring(L, 2, &n);
        buf_append(&rep->body, b, n);
    }
    if (lua_istable(L, 3)) {
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
                size_t nl, vl;
                const char *name = lua_tolstring(L, -2, &nl);
                const char *value = lua_tolstring(L, -1, &vl);
                if (strlen(name) == nl && strlen(value) == vl) {
                    if (strcasecmp(name, "content-type") == 0) {
                        buf_clear(&rep->content_type);
                        buf_append(&rep->content_type, value, vl);
                    } else {
                        buf_append(&rep->headers, name, nl + 1);
                        buf_append(&rep->headers, value, vl + 1);
                    }
                }
            }
            lua_pop(L, 1);
        }
    }
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "cache");
        rep->cacheable = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    return 0;
}

/* The server's API callback: runs the app's handle on this thread's state. */
static void api_handler(void *ctx, const struct server_request *req, struct server_reply *rep)
{
    const char *home = ctx;
    lua_State *L = thread_state(home);
    if (!L) {
        internal_error(rep);
        return;
    }
    lua_settop(L, 0);
    lua_pushcfunction(L, call_handle);
    lua_pushlightuserdata(L, (void *)req);
    if (host_pcall(L, 1, 4) != LUA_OK) {
        log_lua_error(L, req->path);
        internal_error(rep);
    } else if (take_results(L, req->path, rep) != 0) {
        internal_error(rep);
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCSTEP, 0);
}

/* ---- serve ------------------------------------------------------------------------------ */

/* The web/ and vendor/ files of the embedded table; a malloc'd array
 * ending with a NULL name, or NULL. */
static struct server_file *served_files(void)
{
    size_t n = 0;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        n++;
    }
    struct server_file *v = calloc(n + 1, sizeof *v);
    if (!v) {
        return NULL;
    }
    size_t k = 0;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        if (strncmp(f->name, "web/", 4) == 0 || strncmp(f->name, "vendor/", 7) == 0) {
            v[k].name = f->name;
            v[k].data = f->data;
            v[k++].len = (size_t)f->length;
        }
    }
    return v;
}

/* The strings of the array in field `name` of the table at idx, at most
 * max, as a NULL-terminated array (api_push_strv: kept alive by what this
 * leaves on the stack, until the caller's lua_settop), or NULL when the
 * field is absent. Raises `what` on anything else. */
static const char **strv_field(lua_State *L, int idx, const char *name, lua_Integer max,
                               const char *what)
{
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    luaL_argcheck(L, lua_istable(L, -1) && luaL_len(L, -1) <= max, 1, what);
    return api_push_strv(L, -1, what);
}

/* The watch described by the `watch` field of the table at 1, or NULL
 * (absent, or inotify refused: logged). Raises on a malformed field. */
static struct watch *watch_of(lua_State *L)
{
    lua_getfield(L, 1, "watch");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    luaL_argcheck(L, lua_istable(L, -1), 1, "watch must be an array of {dir, names, children}");
    int list = lua_gettop(L);
    /* every entry is checked first, so that a raise leaks no watch */
    for (lua_Integer i = 1; i <= luaL_len(L, list); i++) {
        luaL_argcheck(L, lua_rawgeti(L, list, i) == LUA_TTABLE, 1, "watch: entries are tables");
        lua_getfield(L, -1, "dir");
        const char *dir = lua_tostring(L, -1);
        luaL_argcheck(L, dir && dir[0] == '/', 1, "watch: each entry needs an absolute dir");
        strv_field(L, list + 1, "names", 32, "watch: names must be at most 32 strings");
        strv_field(L, list + 1, "children", 32, "watch: children must be at most 32 strings");
        lua_settop(L, list);
    }
    struct buf err = {0};
    struct watch *w = watch_new(&err);
    if (!w) {
        log_write(LOG_LEVEL_WARN, "server", "no answer is cached: %s", err.data ? err.data : "?");
        buf_free(&err);
    }
    int rc = 0;
    for (lua_Integer i = 1; w && rc == 0 && i <= luaL_len(L, list); i++) {
        lua_rawgeti(L, list, i);
        lua_getfield(L, -1, "dir");
        const char *dir = lua_tostring(L, -1);
        const char **names =
            strv_field(L, list + 1, "names", 32, "watch: names must be at most 32 strings");
        const char **children =
            strv_field(L, list + 1, "children", 32, "watch: children must be at most 32 strings");
        rc = watch_add(w, dir, names, children);
        lua_settop(L, list);
    }
    lua_pop(L, 1);
    if (rc) {
        watch_free(w);
        api_nomem(L);
    }
    return w;
}

/* The server's generation function: moves when a watched file, the warm
 * pool or the set of masked values changes (each counter only grows). */
static uint64_t serve_generation(void *ctx)
{
    return watch_generation(ctx) + launcher_state_generation() + (uint64_t)mask_count();
}

/* Waits (bounded) until no job runs. */
static void wait_jobs(void)
{
    struct timespec until = deadline_after_ms(CLOCK_REALTIME, JOBS_WAIT_MS);
    pthread_mutex_lock(&jobs_lock);
    while (jobs_running > 0) {
        if (pthread_cond_timedwait(&jobs_cond, &jobs_lock, &until) == ETIMEDOUT) {
            log_write(LOG_LEVEL_WARN, "server", "%d job(s) still running at exit", jobs_running);
            break;
        }
    }
    pthread_mutex_unlock(&jobs_lock);
}

/* serve{home, port, workers, on_ready, app, upload_routes, upload_max, heartbeat_ms} */
static int l_serve(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *home = api_optstring(L, 1, "home", NULL, NULL);
    luaL_argcheck(L, home && home[0] == '/', 1, "home must be an absolute path");
    unsigned port = (unsigned)api_optinteger(L, 1, "port", 7860, 0, 65535);
    unsigned workers = (unsigned)api_optinteger(L, 1, "workers", 4, 1, 64);
    size_t upload_max =
        (size_t)api_optinteger(L, 1, "upload_max", 1024 * 1024, 1024 * 1024, UPLOAD_MAX_LIMIT);
    unsigned heartbeat_ms =
        (unsigned)api_optinteger(L, 1, "heartbeat_ms", SERVER_HEARTBEAT_MS, 10, 3600000);
    const char **routes = strv_field(L, 1, "upload_routes", UPLOAD_ROUTES_MAX,
                                     "upload_routes must be at most 16 path patterns");
    for (const char **p = routes; p && *p; p++) {
        luaL_argcheck(L, **p != '\0', 1, "upload_routes must hold path patterns");
    }
    size_t app_len;
    const char *app = api_optstring(L, 1, "app", APP_MODULE, &app_len);
    luaL_argcheck(L, app_len >= 1 && app_len <= APP_NAME_MAX && strlen(app) == app_len, 1,
                  "app must be a module name");
    lua_getfield(L, 1, "on_ready");
    int has_ready = !lua_isnil(L, -1);
    luaL_argcheck(L, !has_ready || lua_isfunction(L, -1), 1, "on_ready must be a function");
    int ready_idx = lua_gettop(L);
    struct watch *watch = watch_of(L);

    char *h = strdup(home);
    struct server_file *files = served_files();
    if (!h || !files) {
        free(h);
        free(files);
        watch_free(watch);
        return api_nomem(L);
    }
    pthread_mutex_lock(&jobs_lock);
    int busy = serve_home != NULL;
    if (!busy) {
        serve_home = h;
        if (jobs_running == 0) { /* a job of an earlier serve may still read it */
            snprintf(app_module, sizeof app_module, "%s", app);
        }
    }
    pthread_mutex_unlock(&jobs_lock);
    if (busy) {
        free(h);
        free(files);
        watch_free(watch);
        return luaL_error(L, "pixie.server.serve is already serving");
    }
    int rc = server_signals_install();
    struct buf err = {0};
    struct server *s = NULL;
    if (rc == 0) {
        struct server_config cfg = {
            .port = port,
            .workers = workers,
            .api = api_handler,
            .api_ctx = h,
            .files = files,
            .generation = watch ? serve_generation : NULL,
            .generation_ctx = watch,
            .upload_max = upload_max,
            .upload_routes = routes,
            .heartbeat_ms = heartbeat_ms,
        };
        s = server_start(&cfg, &rc, &err);
        if (!s) {
            server_signals_restore();
        }
    } else {
        buf_append(&err, "cannot install signal handlers", 30);
    }
    if (!s) {
        pthread_mutex_lock(&jobs_lock);
        serve_home = NULL;
        pthread_mutex_unlock(&jobs_lock);
        free(h);
        free(files);
        watch_free(watch);
        lua_pushnil(L);
        lua_pushstring(L, err.data ? err.data : "cannot serve");
        lua_pushinteger(L, -rc);
        buf_free(&err);
        return 3;
    }
    buf_free(&err);
    int ready_ok = LUA_OK;
    if (has_ready) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/", server_port(s));
        lua_pushvalue(L, ready_idx);
        lua_pushstring(L, url);
        ready_ok = host_pcall(L, 1, 0);
    }
    if (ready_ok == LUA_OK) {
        int sig = server_signals_wait();
        log_write(LOG_LEVEL_INFO, "server", "stopping (signal %d)", sig);
    }
    server_stop(s);
    launcher_stop_all(5000);
    wait_jobs();
    server_signals_restore();
    pthread_mutex_lock(&jobs_lock);
    serve_home = NULL;
    pthread_mutex_unlock(&jobs_lock);
    free(h); /* jobs hold copies */
    free(files);
    watch_free(watch);
    if (ready_ok != LUA_OK) {
        return lua_error(L);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- jobs ------------------------------------------------------------------------------- */

struct job {
    char *home, *module, *fn, *arg;
    size_t arg_len;
};

static void job_free(struct job *j)
{
    free(j->home);
    free(j->module);
    free(j->fn);
    free(j->arg);
    free(j);
}

/* Protected: require(module)[fn](arg) from the job at light userdata 1. */
static int call_job(lua_State *L)
{
    struct job *j = lua_touserdata(L, 1);
    lua_getglobal(L, "require");
    lua_pushstring(L, j->module);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, j->fn);
    lua_pushlstring(L, j->arg, j->arg_len);
    lua_call(L, 1, 0);
    return 0;
}

static void *job_main(void *p)
{
    struct job *j = p;
    lua_State *L = new_state(j->home);
    if (L) {
        lua_pushcfunction(L, call_job);
        lua_pushlightuserdata(L, j);
        if (host_pcall(L, 1, 0) != LUA_OK) {
            char what[300];
            snprintf(what, sizeof what, "job %s.%s", j->module, j->fn);
            log_lua_error(L, what);
        }
        lua_close(L);
    }
    job_free(j);
    pthread_mutex_lock(&jobs_lock);
    jobs_running--;
    pthread_cond_broadcast(&jobs_cond);
    pthread_mutex_unlock(&jobs_lock);
    return NULL;
}

/* job(module, fn, arg) */
static int l_job(lua_State *L)
{
    const char *module = api_checkpath(L, 1);
    const char *fn = api_checkpath(L, 2);
    size_t alen;
    const char *arg = luaL_optlstring(L, 3, "", &alen);
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        return api_nomem(L);
    }
    j->module = strdup(module);
    j->fn = strdup(fn);
    j->arg = malloc(alen + 1);
    j->arg_len = alen;
    if (!j->module || !j->fn || !j->arg) {
        job_free(j);
        return api_nomem(L);
    }
    memcpy(j->arg, arg, alen);
    j->arg[alen] = '\0';
    pthread_mutex_lock(&jobs_lock);
    const char *why = !serve_home                ? "not serving"
                      : jobs_running >= JOBS_MAX ? "too many jobs"
                                                 : NULL;
    if (!why) {
        j->home = strdup(serve_home);
        if (!j->home) {
            why = "out of memory";
        } else {
            jobs_running++;
        }
    }
    pthread_mutex_unlock(&jobs_lock);
    if (why) {
        job_free(j);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot start a job: %s", why);
        return 2;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the job takes no signals */
    pthread_t t;
    int rc = pthread_create(&t, &attr, job_main, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        job_free(j);
        pthread_mutex_lock(&jobs_lock);
        jobs_running--;
        pthread_cond_broadcast(&jobs_cond);
        pthread_mutex_unlock(&jobs_lock);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot start a job: %s", strerror(rc));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- the board --------------------------------------------------------------------------- */

/* Pushes true, or nil and err's message; frees err. */
static int board_result(lua_State *L, int rc, struct buf *err)
{
    if (rc == -ENOMEM) {
        buf_free(err);
        return api_nomem(L);
    }
    if (rc == 0) {
        buf_free(err);
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, err->data ? err->data : "board error");
    buf_free(err);
    return 2;
}

static int l_board_open(lua_State *L)
{
    struct buf err = {0};
    int rc = board_open(api_checkpath(L, 1), &err);
    return board_result(L, rc, &err);
}

static int l_publish(lua_State *L)
{
    const char *key = api_checkpath(L, 1);
    const char *event = api_checkpath(L, 2);
    size_t n;
    const char *data = luaL_checklstring(L, 3, &n);
    struct buf err = {0};
    int rc = board_publish(key, event, data, n, &err);
    return board_result(L, rc, &err);
}

static int l_finish(lua_State *L)
{
    const char *key = api_checkpath(L, 1);
    lua_Integer status = luaL_checkinteger(L, 2);
    luaL_argcheck(L, status >= 100 && status <= 599, 2, "status must be 100 to 599");
    size_t n;
    const char *body = luaL_checklstring(L, 3, &n);
    struct buf err = {0};
    int rc = board_finish(key, (int)status, body, n, &err);
    return board_result(L, rc, &err);
}

static int l_cancel(lua_State *L)
{
    lua_pushboolean(L, board_cancel(api_checkpath(L, 1)));
    return 1;
}

static int l_cancelled(lua_State *L)
{
    lua_pushboolean(L, board_cancelled(api_checkpath(L, 1)));
    return 1;
}

static int l_board_state(lua_State *L)
{
    enum board_state s = board_state(api_checkpath(L, 1));
    if (s == BOARD_NONE) {
        lua_pushnil(L);
    } else {
        lua_pushstring(L, s == BOARD_RUNNING ? "running" : "finished");
    }
    return 1;
}

static const luaL_Reg server_functions[] = {
    {"serve", l_serve},
    {"job", l_job},
    {"board_open", l_board_open},
    {"publish", l_publish},
    {"finish", l_finish},
    {"cancel", l_cancel},
    {"cancelled", l_cancelled},
    {"board_state", l_board_state},
    {NULL, NULL},
};

int luaopen_pixie_server(lua_State *L)
{
    luaL_newlib(L, server_functions);
    return 1;
}
