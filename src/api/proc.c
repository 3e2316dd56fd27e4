/* pixie.proc: one-shot processes with the same hygiene as tools (an explicit
 * environment, own process group, fds closed, core dumps off, the whole tree
 * killed on timeout and when the process exits), output masked as streams.
 *
 *   run(argv, {cwd=, env={K=V}, timeout_ms=60000, stdin=, max_memory_mb=0,
 *              max_output=16 MiB, grace_ms=2000})
 *     -> {code=int|nil, signal=int|nil, stdout=, stderr=, timed_out=bool,
 *         truncated=bool} | nil, message, errno
 *
 * env is the child's whole environment (default: empty); nothing of Pixie's
 * own environment is inherited. argv[1] without '/' is looked up in env.PATH
 * (else a default PATH). */
#include "api.h"
#include "buf.h"
#include "spawn.h"

#include "mask.h"

#include <errno.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PROC_DEFAULT_TIMEOUT_MS 60000
#define PROC_DEFAULT_MAX_OUTPUT (16u * 1024u * 1024u)
#define PROC_DEFAULT_GRACE_MS 2000
#define PROC_MAX_TIMEOUT_MS (7 * 24 * 3600 * 1000LL) /* a week */
#define PROC_MAX_GRACE_MS (10 * 60 * 1000)           /* ten minutes */
#define PROC_MAX_OUTPUT (1LL << 30)
#define PROC_MAX_MEMORY_MB (1LL << 24) /* 16 TiB */

struct capture {
    struct buf buf;
    struct mask_stream *mask;
};

/* A run in progress, in a box (api_newbox) so that every allocation is
 * freed (and the tree killed) even when a Lua error unwinds. */
struct proc_run {
    struct spawn_child child;
    int started;
    struct capture out[2];
    size_t max_output;
    int truncated;
};

/* Cuts c's text back to max_output bytes (masked first, then truncated:
 * the cut never reveals what masking hid, it only drops bytes). */
static void capture_clip(struct proc_run *r, struct capture *c)
{
    if (c->buf.len > r->max_output) {
        r->truncated = 1;
        c->buf.len = r->max_output;
        c->buf.data[c->buf.len] = '\0';
    }
}

/* spawn_capture callback: masks the chunk as part of its stream. */
static void on_chunk(void *ctx, int stream, const char *data, size_t len)
{
    struct proc_run *r = ctx;
    struct capture *c = &r->out[stream == 2];
    if (c->buf.len >= r->max_output) {
        r->truncated = r->truncated || len > 0;
        return; /* full: nothing more is kept */
    }
    if (mask_stream_feed_to(c->mask, data, len, &c->buf) != 0) {
        c->buf.err = 0;
        buf_append(&c->buf, MASK_TOKEN, strlen(MASK_TOKEN)); /* out of memory: withhold it */
        r->truncated = 1;
    }
    capture_clip(r, c);
}

static void capture_finish(struct proc_run *r, struct capture *c)
{
    if (c->buf.len < r->max_output && mask_stream_flush_to(c->mask, &c->buf) != 0) {
        r->truncated = 1;
    }
    capture_clip(r, c);
}

/* Kills what is still running and frees everything; idempotent (the box's
 * release function, also called directly). */
static void proc_run_release(void *payload)
{
    struct proc_run *r = payload;
    if (r->started) {
        spawn_kill_tree(&r->child, 0);
        spawn_close(&r->child);
        r->started = 0;
    }
    for (int i = 0; i < 2; i++) {
        buf_free(&r->out[i].buf);
        if (r->out[i].mask) {
            mask_stream_free(r->out[i].mask);
            r->out[i].mask = NULL;
        }
    }
}

static void push_capture(lua_State *L, struct capture *c, const char *field)
{
    c->buf.err = 0; /* a failed append was reported as truncated */
    api_pushbuf(L, &c->buf);
    lua_setfield(L, -2, field);
}

static int proc_run(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int has_opts = !lua_isnoneornil(L, 2);
    if (has_opts) {
        luaL_checktype(L, 2, LUA_TTABLE);
    } else {
        lua_settop(L, 1);
        lua_newtable(L);
    }
    luaL_argcheck(L, luaL_len(L, 1) >= 1, 1, "argv must be a non-empty array");
    const char **argv = api_push_strv(L, 1, "argv");
    const char *cwd = api_optstring(L, 2, "cwd", NULL, NULL);
    size_t in_len = 0;
    const char *in = api_optstring(L, 2, "stdin", NULL, &in_len);
    lua_Integer timeout =
        api_optinteger(L, 2, "timeout_ms", PROC_DEFAULT_TIMEOUT_MS, 0, PROC_MAX_TIMEOUT_MS);
    lua_Integer mem = api_optinteger(L, 2, "max_memory_mb", 0, 0, PROC_MAX_MEMORY_MB);
    lua_Integer max_output =
        api_optinteger(L, 2, "max_output", PROC_DEFAULT_MAX_OUTPUT, 0, PROC_MAX_OUTPUT);
    lua_Integer grace =
        api_optinteger(L, 2, "grace_ms", PROC_DEFAULT_GRACE_MS, 0, PROC_MAX_GRACE_MS);
    lua_getfield(L, 2, "env");
    int env_idx = lua_gettop(L);
    if (lua_isnil(L, env_idx)) {
        env_idx = 0;
    } else {
        luaL_argcheck(L, lua_istable(L, env_idx), 2, "field 'env': table expected");
    }
    const char **envp = api_push_envp(L, env_idx, "option 'env'");

    struct proc_run *r = api_newbox(L, sizeof *r, proc_run_release);
    r->max_output = (size_t)max_output;
    for (int i = 0; i < 2; i++) {
        if (!(r->out[i].mask = mask_stream_new())) {
            return api_nomem(L); /* r is released by its box */
        }
    }
    spawn_sweep(); /* reap zombies left by earlier escapees */
    struct spawn_opts o = {
        .argv = argv,
        .envp = envp,
        .cwd = cwd,
        .max_memory_mb = (unsigned long)mem,
        .stdin_pipe = in != NULL,
    };
    int rc = spawn_start(&o, &r->child);
    if (rc != 0) {
        proc_run_release(r);
        return api_fail(L, rc, "%s:", argv[0]);
    }
    r->started = 1;
    int64_t deadline = timeout > 0 ? spawn_now_ms() + timeout : 0;
    rc = spawn_capture(&r->child, in, in_len, deadline, on_chunk, r);
    int timed_out = rc == -ETIMEDOUT;
    /* on timeout, or when the process left others running: stop the tree */
    spawn_kill_tree(&r->child, timed_out ? (int)grace : 0);
    spawn_capture(&r->child, NULL, 0, spawn_now_ms() + 200, on_chunk, r); /* drain */
    spawn_close(&r->child);
    r->started = 0;
    capture_finish(r, &r->out[0]);
    capture_finish(r, &r->out[1]);
    if (rc != 0 && !timed_out) {
        proc_run_release(r);
        return api_fail(L, rc, "capturing output:");
    }
    int st = r->child.status;
    lua_createtable(L, 0, 6);
    if (WIFEXITED(st)) {
        lua_pushinteger(L, WEXITSTATUS(st));
        lua_setfield(L, -2, "code");
    } else if (WIFSIGNALED(st)) {
        lua_pushinteger(L, WTERMSIG(st));
        lua_setfield(L, -2, "signal");
    }
    push_capture(L, &r->out[0], "stdout");
    push_capture(L, &r->out[1], "stderr");
    lua_pushboolean(L, timed_out);
    lua_setfield(L, -2, "timed_out");
    lua_pushboolean(L, r->truncated);
    lua_setfield(L, -2, "truncated");
    proc_run_release(r);
    return 1;
}

static const luaL_Reg proc_functions[] = {
    {"run", proc_run},
    {NULL, NULL},
};

int luaopen_pixie_proc(lua_State *L)
{
    luaL_newlib(L, proc_functions);
    return 1;
}
