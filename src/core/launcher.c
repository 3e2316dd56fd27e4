/* The warm pool's public face: starting tools (port, spawn through the
 * I/O thread, readiness), runs, stops and state; see launcher.h for the
 * contract and launcher_pool.h for the objects and threads. */
#include "launcher.h"

#include "buf.h"
#include "hash.h"
#include "httpc.h"
#include "interrupt.h"
#include "launcher_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READY_TIMEOUT_MS 30000 /* the timings of SPEC §4.2 */
#define PROBE_TIMEOUT_MS 1000
#define EARLY_DEATH_MS 1000
#define STOP_GRACE_MS 5000
#define TIMEOUT_GRACE_MS 1000
#define FAILED_START_GRACE_MS 2000

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

/* Replaces the message in msg (a launcher call's own, see finish) with the
 * printf of f; msg is left empty when out of memory. */
static void set_err(struct buf *msg, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct buf *msg, const char *f, ...)
{
    va_list ap, again;
    va_start(ap, f);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, f, ap);
    buf_clear(msg);
    if (n >= 0 && buf_reserve(msg, (size_t)n) == 0) {
        vsnprintf(msg->data, (size_t)n + 1, f, again);
        msg->len = (size_t)n;
    }
    va_end(again);
    va_end(ap);
}

/* The end of a public call: on failure (rc != 0) appends its message msg
 * to the caller's err (may be NULL); frees msg; returns rc. */
static int finish(int rc, struct buf *msg, struct buf *err)
{
    if (rc != 0 && err) {
        buf_append(err, msg->data, msg->len);
    }
    buf_free(msg);
    return rc;
}

/* FNV-1a over what makes a process: a change (a new .env value, another
 * interpreter) means the warm process is stale. A separator byte follows
 * each string (0xff, 0xfe after an environment entry). */
static uint64_t tool_sig(const struct launcher_tool *t)
{
    uint64_t h = HASH_FNV1A_INIT;
    const char *parts[] = {t->dir, t->python, t->entrypoint};
    for (size_t i = 0; i < 3; i++) {
        h = hash_fnv1a(h, parts[i], parts[i] ? strlen(parts[i]) : 0);
        h = hash_fnv1a(h, "\xff", 1);
    }
    for (const char *const *e = t->env; e && *e; e++) {
        h = hash_fnv1a(h, *e, strlen(*e));
        h = hash_fnv1a(h, "\xfe", 1);
    }
    return h ^ t->max_memory_mb;
}

/* ---- init ---------------------------------------------------------------------- */

static void init_once_fn(void)
{
    init_rc = spawn_init();
    if (init_rc == 0) {
        init_rc = pool_start();
    }
}

int launcher_init(void)
{
    pthread_once(&init_once, init_once_fn);
    return init_rc;
}

void launcher_set_output(launcher_output_fn fn, void *ctx)
{
    pool_set_output(fn, ctx);
}

void launcher_set_warm_max(int n)
{
    pool_set_warm_max(n);
}

/* ---- starting -------------------------------------------------------------------- */

/* Sets msg to the error text for a process that exited: its status (when
 * the caller reaped it) and the masked tail of its output. Waits briefly
 * for the output. */
static void death_message(struct inst *in, const char *what, struct buf *msg)
{
    pool_lock();
    pool_wait_flag_locked(&in->io_done, 1000);
    size_t tlen = 0;
    char *tail = pool_ring_copy(&in->tail, &tlen);
    pool_unlock();
    char status[64] = "stopped";
    if (in->child.reaped) {
        spawn_describe_status(in->child.status, status, sizeof status);
    }
    /* trim to the last ~2000 bytes, starting at a line */
    const char *t = tail ? tail : "";
    if (tlen > 2000) {
        t = tail + tlen - 2000;
        const char *nl = strchr(t, '\n');
        t = nl ? nl + 1 : t;
    }
    set_err(msg, "tool '%s' %s (%s)%s%s", in->slot->id, what, status,
            *t ? "; its output ends with:\n" : "; it printed nothing", t);
    free(tail);
}

/* 1 when the masked tail mentions a bind failure. */
static int bind_failed(struct inst *in)
{
    pool_lock();
    char *tail = pool_ring_copy(&in->tail, NULL);
    pool_unlock();
    int r =
        tail && (strstr(tail, "Address already in use") || strstr(tail, "address already in use"));
    free(tail);
    return r;
}

/* Spawns one process of t on a fresh port and waits until /healthz answers
 * 200. Returns the instance (one reference for the caller) or NULL with
 * *rc and the message in msg; *retry is set when a new port may help. */
static struct inst *start_once(struct slot *slot, const struct launcher_tool *t, uint64_t sig,
                               int *rc, int *retry, struct buf *msg)
{
    *retry = 0;
    int port = httpc_free_port();
    if (port < 0) {
        *rc = port;
        set_err(msg, "no free loopback port: %s", strerror(-port));
        return NULL;
    }
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv[] = {t->python, t->entrypoint, "--port", port_s, NULL};
    static const char *const no_env[] = {NULL};
    struct inst *in = pool_inst_new(slot, port, sig);
    if (!in) {
        *rc = -ENOMEM;
        set_err(msg, "out of memory");
        return NULL;
    }
    in->warm_keep_seconds = t->warm_keep_seconds;
    struct spawn_opts o = {
        .argv = argv,
        .envp = t->env ? t->env : no_env,
        .cwd = t->dir,
        .max_memory_mb = t->max_memory_mb,
    };
    int64_t t0 = spawn_now_ms();
    *rc = pool_inst_spawn(in, &o);
    if (*rc != 0) {
        set_err(msg, "cannot start tool '%s': %s: %s", t->id, t->python, strerror(-*rc));
        pool_inst_unref(in);
        return NULL;
    }
    /* readiness: a cheap connect probe, then GET /healthz; interval grows
     * from 1 ms to 100 ms; the wait wakes at once if the process dies */
    for (;;) {
        int64_t elapsed = spawn_now_ms() - t0;
        pool_lock();
        int exited = in->exited;
        pool_unlock();
        if (exited) {
            *retry = elapsed < EARLY_DEATH_MS || bind_failed(in);
            *rc = -ECHILD;
            spawn_kill_tree(&in->child, 0);
            death_message(in, "exited before it was ready", msg);
            pool_inst_kill(in, 0);
            return NULL;
        }
        if (interrupt_pending()) { /* Ctrl-C: the probes would all be aborted */
            *rc = -EINTR;
            set_err(msg, "tool '%s' was interrupted while starting", t->id);
            pool_inst_kill(in, 0);
            return NULL;
        }
        if (elapsed >= READY_TIMEOUT_MS) {
            *rc = -ETIMEDOUT;
            set_err(msg, "tool '%s' did not answer /healthz on port %d within %d s", t->id, port,
                    READY_TIMEOUT_MS / 1000);
            pool_inst_kill(in, FAILED_START_GRACE_MS);
            return NULL;
        }
        if (httpc_port_open(port)) {
            struct httpc_response r;
            int hrc = httpc_get(port, "/healthz", PROBE_TIMEOUT_MS, &r);
            long status = r.status;
            httpc_response_free(&r);
            if (hrc == 0 && status == 200) {
                break;
            }
        }
        int interval = 1 + (int)(elapsed / 100);
        pool_lock();
        pool_wait_flag_locked(&in->exited, interval < 100 ? interval : 100);
        pool_unlock();
    }
    in->started_at = in->last_used_wall = pool_wall_now();
    in->last_used_ms = spawn_now_ms();
    return in;
}

/* Returns the slot's ready instance for t with a reference (and busy++ when
 * `use`), starting one when needed; NULL with *rc and the message in msg. */
static struct inst *ensure(struct slot *slot, const struct launcher_tool *t, int use, int *started,
                           int *rc, struct buf *msg)
{
    uint64_t sig = tool_sig(t);
    *started = 0;
    pthread_mutex_lock(&slot->start_lock);
    pool_lock();
    struct inst *in = slot->inst, *stale = NULL;
    int stale_grace = 0;
    if (in && (in->exited || in->sig != sig)) {
        pool_inst_remove_locked(in);
        stale = in;
        stale_grace = in->exited ? 0 : EVICT_GRACE_MS;
        in = NULL;
    }
    unsigned gen = slot->stop_gen;
    pool_unlock();
    if (stale) {
        pool_inst_kill(stale, stale_grace);
    }
    if (!in) {
        int retry = 0;
        in = start_once(slot, t, sig, rc, &retry, msg);
        if (!in && retry) {
            in = start_once(slot, t, sig, rc, &retry, msg);
        }
        if (in) {
            pool_lock();
            if (slot->stop_gen != gen || !pool_running_locked()) {
                pool_unlock();
                pool_inst_kill(in, STOP_GRACE_MS);
                *rc = -ECANCELED;
                set_err(msg, "tool '%s' was stopped while it was starting", t->id);
                in = NULL;
            } else {
                in->in_pool = 1;
                in->refs++; /* the pool's; the caller keeps start_once's */
                slot->inst = in;
                *started = 1;
                in->busy += use;
                pool_state_changed_locked();
                pool_wake_reaper_locked(); /* the LRU cap may apply now */
                pool_unlock();
            }
        }
        pthread_mutex_unlock(&slot->start_lock);
        return in;
    } else {
        pool_lock();
        if (!in->in_pool) {
            /* removed since we looked (a stop, the reaper): start afresh */
            pool_unlock();
            pthread_mutex_unlock(&slot->start_lock);
            return ensure(slot, t, use, started, rc, msg);
        }
        in->refs++;
    }
    in->warm_keep_seconds = t->warm_keep_seconds;
    in->last_used_ms = spawn_now_ms();
    in->last_used_wall = pool_wall_now();
    in->busy += use;
    if (use) {
        pool_state_changed_locked();
    }
    pool_unlock();
    pthread_mutex_unlock(&slot->start_lock);
    return in;
}

/* Checks t, starts the launcher when needed and returns t's slot, or NULL
 * with *rc and the message in msg. */
static struct slot *tool_slot(const struct launcher_tool *t, int *rc, struct buf *msg)
{
    if (!t || !t->id || !t->id[0] || !t->dir || !t->python || !t->entrypoint) {
        *rc = -EINVAL;
        set_err(msg, "incomplete tool description");
        return NULL;
    }
    if ((*rc = launcher_init()) != 0) {
        set_err(msg, "launcher cannot start: %s", strerror(-*rc));
        return NULL;
    }
    struct slot *slot = pool_slot_get(t->id);
    if (!slot) {
        *rc = -ENOMEM;
        set_err(msg, "out of memory");
    }
    return slot;
}

int launcher_start(const struct launcher_tool *t, int *port, pid_t *pid, int *started,
                   struct buf *err)
{
    int rc;
    struct buf msg = {0};
    struct slot *slot = tool_slot(t, &rc, &msg);
    struct inst *in = slot ? ensure(slot, t, 0, started, &rc, &msg) : NULL;
    if (!in) {
        return finish(rc, &msg, err);
    }
    *port = in->port;
    *pid = in->child.pid;
    pool_inst_unref(in);
    return finish(0, &msg, err);
}

/* The response r of a call that returned rc: on 0 its body is appended to
 * out (its error, then -ENOMEM, is the call's), else the message is set from
 * r's. r is freed. Returns the call's result. */
static int take_response(int rc, struct httpc_response *r, const char *tool_id, struct buf *out,
                         struct buf *msg)
{
    if (rc == 0 && buf_append(out, r->body, r->body_len) != 0) {
        rc = out->err;
        set_err(msg, "tool '%s': response body: %s", tool_id, strerror(-rc));
    } else if (rc != 0) {
        set_err(msg, "tool '%s': %s", tool_id, r->error);
    }
    httpc_response_free(r);
    return rc;
}

int launcher_run(const struct launcher_tool *t, const char *body, size_t len,
                 const char *const *headers, long deadline_ms, struct launcher_result *res,
                 struct buf *out, struct buf *err)
{
    memset(res, 0, sizeof *res);
    int rc;
    struct buf msg = {0};
    struct slot *slot = tool_slot(t, &rc, &msg);
    if (!slot) {
        return finish(rc, &msg, err);
    }
    if (!t->concurrent) {
        pthread_mutex_lock(&slot->run_lock);
    }
    struct inst *in = ensure(slot, t, 1, &res->started, &rc, &msg);
    if (in) {
        res->port = in->port;
        res->pid = in->child.pid;
        if (deadline_ms <= 0) {
            deadline_ms = ((long)t->max_runtime_seconds + 5) * 1000;
        }
        struct httpc_response r;
        int hrc = httpc_post_json(in->port, "/run", body, len, headers, deadline_ms, &r);
        res->status = r.status;
        rc = take_response(hrc, &r, t->id, out, &msg);
        pool_lock();
        pool_run_done_locked(in);
        int removed = hrc == -ETIMEDOUT && pool_inst_remove_locked(in);
        pool_unlock();
        if (hrc == -ETIMEDOUT) {
            res->timed_out = 1;
            set_err(&msg, "tool '%s' did not answer /run within %ld ms; its processes were killed",
                    t->id, deadline_ms);
            if (removed) {
                pool_inst_kill(in, TIMEOUT_GRACE_MS); /* drops the pool's reference */
            }
        } else if (hrc != 0) {
            pool_lock();
            pool_wait_flag_locked(&in->exited, 200);
            removed = in->exited && pool_inst_remove_locked(in);
            int exited = in->exited;
            pool_unlock();
            if (removed) {
                spawn_kill_tree(&in->child, 0); /* reaps it: its status is known */
            }
            if (exited) {
                death_message(in, "died during the run", &msg);
            }
            if (removed) {
                pool_inst_kill(in, 0);
            }
        }
        pool_inst_unref(in);
    }
    if (!t->concurrent) {
        pthread_mutex_unlock(&slot->run_lock);
    }
    return finish(rc, &msg, err);
}

/* GET (post == NULL) or POST of post/len to `path` of the warm process of
 * tool_id; see launcher_get. */
static int warm_request(const char *tool_id, const char *path, const char *post, size_t len,
                        long timeout_ms, long *status, struct buf *body, struct buf *err)
{
    struct buf msg = {0};
    pool_lock();
    struct slot *s = pool_slot_find_locked(tool_id);
    struct inst *in = s ? s->inst : NULL;
    if (in) {
        in->refs++;
    }
    pool_unlock();
    if (!in) {
        set_err(&msg, "tool '%s' is not running", tool_id);
        return finish(-ESRCH, &msg, err);
    }
    struct httpc_response r;
    int rc = post ? httpc_post_json(in->port, path, post, len, NULL, timeout_ms, &r)
                  : httpc_get(in->port, path, timeout_ms, &r);
    pool_inst_unref(in);
    *status = r.status;
    rc = take_response(rc, &r, tool_id, body, &msg);
    return finish(rc, &msg, err);
}

int launcher_get(const char *tool_id, const char *path, long timeout_ms, long *status,
                 struct buf *body, struct buf *err)
{
    return warm_request(tool_id, path, NULL, 0, timeout_ms, status, body, err);
}

int launcher_post(const char *tool_id, const char *path, const char *post, size_t len,
                  long timeout_ms, long *status, struct buf *body, struct buf *err)
{
    return warm_request(tool_id, path, post ? post : "", post ? len : 0, timeout_ms, status, body,
                        err);
}

int launcher_stream(const char *tool_id, pid_t pid, const char *path, long deadline_ms,
                    launcher_data_fn fn, void *ctx, long *status, int *timed_out, struct buf *body,
                    struct buf *err)
{
    struct buf msg = {0};
    *status = 0;
    *timed_out = 0;
    pool_lock();
    struct slot *s = pool_slot_find_locked(tool_id);
    struct inst *in = s ? s->inst : NULL;
    if (in && pid > 0 && in->child.pid != pid) {
        in = NULL;
    }
    if (in) {
        in->refs++;
        in->busy++;
        pool_state_changed_locked();
    }
    pool_unlock();
    if (!in) {
        set_err(&msg, "tool '%s' is no longer running", tool_id);
        return finish(-ESRCH, &msg, err);
    }
    struct httpc_response r;
    int hrc = httpc_get_stream(in->port, path, deadline_ms, fn, ctx, &r);
    *status = r.status;
    int rc = take_response(hrc, &r, tool_id, body, &msg);
    pool_lock();
    pool_run_done_locked(in);
    int removed = hrc == -ETIMEDOUT && pool_inst_remove_locked(in);
    pool_unlock();
    if (hrc == -ETIMEDOUT) {
        *timed_out = 1;
        set_err(&msg,
                "tool '%s' did not finish its stream within %ld ms; its processes were killed",
                tool_id, deadline_ms);
        if (removed) {
            pool_inst_kill(in, TIMEOUT_GRACE_MS); /* drops the pool's reference */
        }
    }
    pool_inst_unref(in);
    return finish(rc, &msg, err);
}

int launcher_stop(const char *tool_id, int grace_ms)
{
    pool_lock();
    struct slot *s = pool_slot_find_locked(tool_id);
    struct inst *in = NULL;
    if (s) {
        s->stop_gen++;
        in = s->inst;
        if (in) {
            pool_inst_remove_locked(in);
        }
    }
    pool_unlock();
    if (!in) {
        return 0;
    }
    spawn_kill_tree(&in->child, grace_ms);
    int forced = in->child.forced;
    pool_inst_kill(in, 0); /* drains the output and drops the pool's reference */
    return forced ? 2 : 1;
}

struct stop_job {
    struct inst *in;
    int grace;
    pthread_t th;
    int threaded;
};

static void *stop_thread(void *arg)
{
    struct stop_job *j = arg;
    pool_inst_kill(j->in, j->grace);
    return NULL;
}

void launcher_stop_all(int grace_ms)
{
    pool_lock();
    size_t n = 0;
    for (struct slot *s = pool_slots_locked(); s; s = s->next) {
        s->stop_gen++;
        n += s->inst != NULL;
    }
    struct stop_job *jobs_v = calloc(n ? n : 1, sizeof *jobs_v);
    size_t k = 0;
    for (struct slot *s = pool_slots_locked(); s && jobs_v; s = s->next) {
        if (s->inst) {
            jobs_v[k].in = s->inst;
            jobs_v[k++].grace = grace_ms;
            pool_inst_remove_locked(s->inst);
        }
    }
    pool_unlock();
    if (!jobs_v) {
        return;
    }
    for (size_t i = 0; i < k; i++) {
        jobs_v[i].threaded = pthread_create(&jobs_v[i].th, NULL, stop_thread, &jobs_v[i]) == 0;
        if (!jobs_v[i].threaded) {
            stop_thread(&jobs_v[i]);
        }
    }
    for (size_t i = 0; i < k; i++) {
        if (jobs_v[i].threaded) {
            pthread_join(jobs_v[i].th, NULL);
        }
    }
    free(jobs_v);
}

uint64_t launcher_state_generation(void)
{
    return pool_state_generation();
}

int launcher_state(struct launcher_state_row **rows, size_t *n)
{
    pool_lock();
    size_t count = (size_t)pool_warm_count_locked(), k = 0;
    struct launcher_state_row *v = calloc(count ? count : 1, sizeof *v);
    for (struct slot *s = pool_slots_locked(); s && v; s = s->next) {
        struct inst *in = s->inst;
        if (!in) {
            continue;
        }
        snprintf(v[k].tool_id, sizeof v[k].tool_id, "%s", s->id);
        v[k].pid = in->child.pid;
        v[k].port = in->port;
        v[k].started_at = in->started_at;
        v[k].last_used = in->last_used_wall;
        v[k].busy = in->busy;
        k++;
    }
    pool_unlock();
    if (!v) {
        return -ENOMEM;
    }
    *rows = v;
    *n = k;
    return 0;
}

int launcher_tail(const char *tool_id, struct buf *out)
{
    size_t len = 0;
    char *tail = NULL;
    pool_lock();
    struct slot *s = pool_slot_find_locked(tool_id);
    if (s) {
        tail = pool_ring_copy(&s->tail, &len);
    }
    pool_unlock();
    if (!s) {
        return -ESRCH;
    }
    int rc = tail ? buf_append(out, tail, len) : -ENOMEM;
    free(tail);
    return rc;
}

void launcher_shutdown(void)
{
    pool_lock();
    int running = pool_running_locked();
    pool_unlock();
    if (!running) {
        return;
    }
    launcher_stop_all(STOP_GRACE_MS);
    pool_stop_threads();
}
