/* The warm pool's public face: starting tools (port, spawn through the
 * I/O thread, readiness), runs, stops and state; see launcher.h for the
 * contract and launcher_pool.h for the objects and threads. */
#include "launcher.h"

#include "httpc.h"
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

/* malloc'd printf, or NULL. */
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) {
        s = NULL;
    }
    va_end(ap);
    return s;
}

static void set_err(char **err, char *msg)
{
    if (err) {
        free(*err);
        *err = msg;
    } else {
        free(msg);
    }
}
/* FNV-1a over what makes a process: a change (a new .env value, another
 * interpreter) means the warm process is stale. */
static uint64_t tool_sig(const struct launcher_tool *t)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[] = {t->dir, t->python, t->entrypoint};
    for (size_t i = 0; i < 3; i++) {
        for (const char *p = parts[i]; p && *p; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        }
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    for (const char *const *e = t->env; e && *e; e++) {
        for (const char *p = *e; *p; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        }
        h = (h ^ 0xfe) * 1099511628211ULL;
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

/* Error text for a process that exited: its status (when the caller reaped
 * it) and the masked tail of its output. Waits briefly for the output. */
static char *death_message(struct inst *in, const char *what)
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
    char *msg = fmt("tool '%s' %s (%s)%s%s", in->slot->id, what, status,
                    *t ? "; its output ends with:\n" : "; it printed nothing", t);
    free(tail);
    return msg;
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
 * *err / *rc; *retry is set when a new port may help. */
static struct inst *start_once(struct slot *slot, const struct launcher_tool *t, uint64_t sig,
                               int *rc, int *retry, char **err)
{
    *retry = 0;
    int port = httpc_free_port();
    if (port < 0) {
        *rc = port;
        set_err(err, fmt("no free loopback port: %s", strerror(-port)));
        return NULL;
    }
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv[] = {t->python, t->entrypoint, "--port", port_s, NULL};
    static const char *const no_env[] = {NULL};
    struct inst *in = pool_inst_new(slot, port, sig);
    if (!in) {
        *rc = -ENOMEM;
        set_err(err, fmt("out of memory"));
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
        set_err(err, fmt("cannot start tool '%s': %s: %s", t->id, t->python, strerror(-*rc)));
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
            set_err(err, death_message(in, "exited before it was ready"));
            pool_inst_kill(in, 0);
            return NULL;
        }
        if (elapsed >= READY_TIMEOUT_MS) {
            *rc = -ETIMEDOUT;
            char *msg = fmt("tool '%s' did not answer /healthz on port %d within %d s", t->id, port,
                            READY_TIMEOUT_MS / 1000);
            pool_inst_kill(in, FAILED_START_GRACE_MS);
            set_err(err, msg);
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
 * `use`), starting one when needed. */
static struct inst *ensure(struct slot *slot, const struct launcher_tool *t, int use, int *started,
                           int *rc, char **err)
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
        in = start_once(slot, t, sig, rc, &retry, err);
        if (!in && retry) {
            in = start_once(slot, t, sig, rc, &retry, err);
        }
        if (in) {
            pool_lock();
            if (slot->stop_gen != gen || !pool_running_locked()) {
                pool_unlock();
                pool_inst_kill(in, STOP_GRACE_MS);
                *rc = -ECANCELED;
                set_err(err, fmt("tool '%s' was stopped while it was starting", t->id));
                in = NULL;
            } else {
                in->in_pool = 1;
                in->refs++; /* the pool's; the caller keeps start_once's */
                slot->inst = in;
                *started = 1;
                in->busy += use;
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
            return ensure(slot, t, use, started, rc, err);
        }
        in->refs++;
    }
    in->warm_keep_seconds = t->warm_keep_seconds;
    in->last_used_ms = spawn_now_ms();
    in->last_used_wall = pool_wall_now();
    in->busy += use;
    pool_unlock();
    pthread_mutex_unlock(&slot->start_lock);
    return in;
}

/* Checks t, starts the launcher when needed and returns t's slot, or NULL
 * with *rc and *err. */
static struct slot *tool_slot(const struct launcher_tool *t, int *rc, char **err)
{
    if (!t || !t->id || !t->id[0] || !t->dir || !t->python || !t->entrypoint) {
        *rc = -EINVAL;
        set_err(err, fmt("incomplete tool description"));
        return NULL;
    }
    if ((*rc = launcher_init()) != 0) {
        set_err(err, fmt("launcher cannot start: %s", strerror(-*rc)));
        return NULL;
    }
    struct slot *slot = pool_slot_get(t->id);
    if (!slot) {
        *rc = -ENOMEM;
        set_err(err, fmt("out of memory"));
    }
    return slot;
}

int launcher_start(const struct launcher_tool *t, int *port, pid_t *pid, int *started, char **err)
{
    int rc;
    struct slot *slot = tool_slot(t, &rc, err);
    if (!slot) {
        return rc;
    }
    struct inst *in = ensure(slot, t, 0, started, &rc, err);
    if (!in) {
        return rc;
    }
    *port = in->port;
    *pid = in->child.pid;
    pool_inst_unref(in);
    return 0;
}

int launcher_run(const struct launcher_tool *t, const char *body, size_t len,
                 const char *const *headers, long deadline_ms, struct launcher_result *res,
                 char **err)
{
    memset(res, 0, sizeof *res);
    int rc;
    struct slot *slot = tool_slot(t, &rc, err);
    if (!slot) {
        return rc;
    }
    if (!t->concurrent) {
        pthread_mutex_lock(&slot->run_lock);
    }
    struct inst *in = ensure(slot, t, 1, &res->started, &rc, err);
    if (in) {
        res->port = in->port;
        res->pid = in->child.pid;
        if (deadline_ms <= 0) {
            deadline_ms = ((long)t->max_runtime_seconds + 5) * 1000;
        }
        struct httpc_response r;
        rc = httpc_post_json(in->port, "/run", body, len, headers, deadline_ms, &r);
        res->status = r.status;
        res->body = r.body;
        res->body_len = r.body_len;
        pool_lock();
        pool_run_done_locked(in);
        int removed = rc == -ETIMEDOUT && pool_inst_remove_locked(in);
        pool_unlock();
        if (rc == -ETIMEDOUT) {
            res->timed_out = 1;
            set_err(err, fmt("tool '%s' did not answer /run within %ld ms; its processes were "
                             "killed",
                             t->id, deadline_ms));
            if (removed) {
                pool_inst_kill(in, TIMEOUT_GRACE_MS); /* drops the pool's reference */
            }
        } else if (rc != 0) {
            pool_lock();
            pool_wait_flag_locked(&in->exited, 200);
            removed = in->exited && pool_inst_remove_locked(in);
            int exited = in->exited;
            pool_unlock();
            if (removed) {
                spawn_kill_tree(&in->child, 0); /* reaps it: its status is known */
            }
            if (exited) {
                set_err(err, death_message(in, "died during the run"));
            } else {
                set_err(err, fmt("tool '%s': %s", t->id, r.error));
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
    return rc;
}

int launcher_get(const char *tool_id, const char *path, long timeout_ms, long *status, char **body,
                 size_t *len, char **err)
{
    *body = NULL;
    *len = 0;
    pool_lock();
    struct slot *s = pool_slot_find_locked(tool_id);
    struct inst *in = s ? s->inst : NULL;
    if (in) {
        in->refs++;
    }
    pool_unlock();
    if (!in) {
        set_err(err, fmt("tool '%s' is not running", tool_id));
        return -ESRCH;
    }
    struct httpc_response r;
    int rc = httpc_get(in->port, path, timeout_ms, &r);
    pool_inst_unref(in);
    if (rc != 0) {
        set_err(err, fmt("tool '%s': %s", tool_id, r.error));
        httpc_response_free(&r);
        return rc;
    }
    *status = r.status;
    *body = r.body;
    *len = r.body_len;
    return 0;
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

int launcher_tail(const char *tool_id, char **out, size_t *len)
{
    pool_lock();
    struct slot *s = pool_slot_find_locked(tool_id);
    int rc = -ESRCH;
    if (s) {
        *out = pool_ring_copy(&s->tail, len);
        rc = *out ? 0 : -ENOMEM;
    }
    pool_unlock();
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
