/* The warm pool; see launcher.h for the contract.
 *
 * Objects: a slot per tool id (never freed before shutdown) holds the locks
 * that serialise starts and, for concurrent:false tools, runs, and points
 * to the current ready instance. An instance is one process; it is
 * reference-counted: the pool (while it is the slot's current instance),
 * the I/O thread (while it reads its pipes) and every caller using it.
 *
 * Ownership of an instance's spawn_child: the I/O thread creates it and
 * keeps its own copies of the pipes and the pidfd; whoever removes the
 * instance from the pool (a stop, a timed-out run, the reaper, a failed
 * start) kills and reaps its tree. Only one thread ever removes it. */
#include "launcher.h"

#include "httpc.h"
#include "spawn.h"

#include "mask.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 30000
#define PROBE_TIMEOUT_MS 1000
#define TAIL_SIZE 4096
#define IDLE_FLUSH_MS 200
#define REAPER_TICK_MS 500
#define STOP_GRACE_MS 5000
#define EVICT_GRACE_MS 3000
#define TIMEOUT_GRACE_MS 1000
#define FAILED_START_GRACE_MS 2000
#define EARLY_DEATH_MS 1000
#define DEFAULT_WARM_MAX 5

struct ring {
    char data[TAIL_SIZE];
    size_t start, len;
};

struct slot;

struct inst {
    int refs;
    struct slot *slot;
    struct spawn_child child;
    int spawn_rc;      /* set by the I/O thread: 0 or -errno; 1 = pending */
    int port;
    uint64_t sig;
    double started_at, last_used_wall;
    int64_t last_used_ms;
    int busy;
    int in_pool;
    int exited;        /* the I/O thread saw the leader exit */
    int io_done;       /* the I/O thread is finished with the pipes */
    unsigned warm_keep_seconds;
    /* I/O thread's own descriptors and per-stream masking state */
    int io_fd[2], io_pidfd;
    int64_t io_last[2];
    int io_dirty[2];
    struct mask_stream *mask[2];
    struct ring tail;
    /* spawn request */
    const char *const *argv, *const *envp;
    const char *cwd;
    unsigned max_memory_mb;
    char marker[160];
    struct inst *next_job, *next_io;
};

struct slot {
    char *id;
    pthread_mutex_t start_lock, run_lock;
    struct inst *inst;      /* current ready instance, under pool_lock */
    unsigned stop_gen;      /* bumped by stop: a start in progress gives up */
    struct ring tail;       /* output of every instance, under pool_lock */
    struct slot *next;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;   /* instance state changed */
static pthread_cond_t reaper_cond = PTHREAD_COND_INITIALIZER; /* work for the reaper */
static struct slot *slots;
static struct inst *jobs;      /* spawn requests for the I/O thread */
static int warm_max = DEFAULT_WARM_MAX;
static launcher_output_fn out_fn;
static void *out_ctx;
static int wake_fd = -1;
static int shutting_down;
static pthread_t io_thread, reaper_thread;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static void ring_add(struct ring *r, const char *data, size_t len)
{
    if (len >= TAIL_SIZE) {
        data += len - TAIL_SIZE;
        len = TAIL_SIZE;
    }
    for (size_t i = 0; i < len; i++) {
        size_t pos = (r->start + r->len) % TAIL_SIZE;
        r->data[pos] = data[i];
        if (r->len < TAIL_SIZE) {
            r->len++;
        } else {
            r->start = (r->start + 1) % TAIL_SIZE;
        }
    }
}

/* Copies the ring's content into a malloc'd NUL-terminated string. */
static char *ring_copy(const struct ring *r, size_t *len)
{
    char *s = malloc(r->len + 1);
    if (!s) {
        return NULL;
    }
    for (size_t i = 0; i < r->len; i++) {
        s[i] = r->data[(r->start + i) % TAIL_SIZE];
    }
    s[r->len] = '\0';
    if (len) {
        *len = r->len;
    }
    return s;
}

static void wake_io(void)
{
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof one) < 0) {
        /* the counter is saturated: the thread is awake anyway */
    }
}

/* ---- instances (pool_lock held unless said otherwise) ---------------------- */

static void inst_unref_locked(struct inst *in)
{
    if (--in->refs > 0) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (in->mask[i]) {
            mask_stream_free(in->mask[i]);
        }
    }
    free(in);
}

static void inst_unref(struct inst *in)
{
    pthread_mutex_lock(&pool_lock);
    inst_unref_locked(in);
    pthread_mutex_unlock(&pool_lock);
}

/* Takes the instance out of its slot (the caller becomes its remover and
 * inherits the pool's reference). Returns 1 when it was in the pool. */
static int inst_remove_locked(struct inst *in)
{
    if (!in->in_pool) {
        return 0;
    }
    in->in_pool = 0;
    if (in->slot->inst == in) {
        in->slot->inst = NULL;
    }
    return 1;
}

/* Kills the instance's tree, waits (briefly) for the I/O thread to drain its
 * output, then drops the caller's reference. Call without the lock. */
static void inst_kill(struct inst *in, int grace_ms)
{
    spawn_kill_tree(&in->child, grace_ms);
    spawn_close(&in->child);
    pthread_mutex_lock(&pool_lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (!in->io_done) {
        if (pthread_cond_timedwait(&pool_cond, &pool_lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    inst_unref_locked(in);
    pthread_mutex_unlock(&pool_lock);
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

static struct slot *slot_get(const char *id)
{
    pthread_mutex_lock(&pool_lock);
    struct slot *s = slots;
    while (s && strcmp(s->id, id) != 0) {
        s = s->next;
    }
    if (!s && (s = calloc(1, sizeof *s)) != NULL) {
        if (!(s->id = strdup(id))) {
            free(s);
            s = NULL;
        } else {
            pthread_mutex_init(&s->start_lock, NULL);
            pthread_mutex_init(&s->run_lock, NULL);
            s->next = slots;
            slots = s;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return s;
}

static struct slot *slot_find_locked(const char *id)
{
    struct slot *s = slots;
    while (s && strcmp(s->id, id) != 0) {
        s = s->next;
    }
    return s;
}

/* ---- the I/O thread ---------------------------------------------------------- */

static struct inst *io_list; /* instances whose pipes the thread reads (its own) */

static void emit(struct inst *in, int stream, const char *text, size_t len)
{
    if (len == 0) {
        return;
    }
    pthread_mutex_lock(&pool_lock);
    ring_add(&in->tail, text, len);
    ring_add(&in->slot->tail, text, len);
    launcher_output_fn fn = out_fn;
    void *ctx = out_ctx;
    pthread_mutex_unlock(&pool_lock);
    if (fn) {
        fn(ctx, in->slot->id, stream == 0 ? "stdout" : "stderr", text, len);
    }
}

/* Masks raw output of one stream and emits it. */
static void io_feed(struct inst *in, int stream, const char *data, size_t len)
{
    char *out = NULL;
    size_t olen = 0;
    if (mask_stream_feed(in->mask[stream], data, len, &out, &olen) == 0) {
        emit(in, stream, out, olen);
    }
    free(out);
    in->io_dirty[stream] = 1;
    in->io_last[stream] = spawn_now_ms();
}

/* Emits what the masker still holds back for one stream. */
static void io_flush(struct inst *in, int stream)
{
    in->io_dirty[stream] = 0;
    char *out = NULL;
    size_t olen = 0;
    if (mask_stream_flush(in->mask[stream], &out, &olen) == 0) {
        emit(in, stream, out, olen);
    }
    free(out);
}

static void io_read(struct inst *in, int stream)
{
    char buf[65536];
    ssize_t r = read(in->io_fd[stream], buf, sizeof buf);
    if (r > 0) {
        io_feed(in, stream, buf, (size_t)r);
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        io_flush(in, stream);
        close(in->io_fd[stream]);
        in->io_fd[stream] = -1;
    }
}

/* Starts the processes requested in `jobs` and registers their pipes. */
static void io_spawn_jobs(void)
{
    pthread_mutex_lock(&pool_lock);
    struct inst *list = jobs;
    jobs = NULL;
    pthread_mutex_unlock(&pool_lock);
    while (list) {
        struct inst *in = list;
        list = in->next_job;
        struct spawn_opts o = {
            .argv = in->argv,
            .envp = in->envp,
            .cwd = in->cwd,
            .max_memory_mb = in->max_memory_mb,
            .marker = in->marker,
        };
        int rc = spawn_start(&o, &in->child);
        if (rc == 0) {
            /* the I/O thread owns the pipes and a pidfd of its own */
            in->io_fd[0] = in->child.out_fd;
            in->io_fd[1] = in->child.err_fd;
            in->child.out_fd = in->child.err_fd = -1;
            in->io_pidfd = in->child.pidfd >= 0 ? fcntl(in->child.pidfd, F_DUPFD_CLOEXEC, 3) : -1;
        }
        pthread_mutex_lock(&pool_lock);
        in->spawn_rc = rc;
        if (rc == 0) {
            in->refs++; /* the I/O thread's */
            in->next_io = io_list;
            io_list = in;
        } else {
            in->io_done = 1;
        }
        pthread_cond_broadcast(&pool_cond);
        pthread_mutex_unlock(&pool_lock);
    }
}

/* The leader has exited (seen through the pidfd, or by waitid without
 * reaping when there is no pidfd). */
static int io_leader_gone(struct inst *in)
{
    if (in->io_pidfd >= 0) {
        struct pollfd p = {in->io_pidfd, POLLIN, 0};
        return poll(&p, 1, 0) == 1;
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)in->child.pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
           si.si_pid != 0;
}

static void *io_main(void *arg)
{
    (void)arg;
    struct pollfd *p = NULL;
    struct inst **who = NULL;
    int *what = NULL;
    size_t cap = 0;
    for (;;) {
        size_t n = 0, need = 1;
        for (struct inst *in = io_list; in; in = in->next_io) {
            need += 3;
        }
        if (need > cap) {
            cap = need * 2;
            p = realloc(p, cap * sizeof *p);
            who = realloc(who, cap * sizeof *who);
            what = realloc(what, cap * sizeof *what);
            if (!p || !who || !what) {
                abort(); /* cannot keep reading tool output */
            }
        }
        p[n] = (struct pollfd){wake_fd, POLLIN, 0};
        who[n] = NULL;
        what[n++] = -1;
        int64_t now = spawn_now_ms(), next = -1;
        int no_pidfd = 0;
        for (struct inst *in = io_list; in; in = in->next_io) {
            for (int s = 0; s < 2; s++) {
                if (in->io_fd[s] >= 0) {
                    p[n] = (struct pollfd){in->io_fd[s], POLLIN, 0};
                    who[n] = in;
                    what[n++] = s;
                }
                if (in->io_dirty[s]) {
                    int64_t due = in->io_last[s] + IDLE_FLUSH_MS;
                    next = next < 0 || due < next ? due : next;
                }
            }
            if (!in->exited && in->io_pidfd >= 0) {
                p[n] = (struct pollfd){in->io_pidfd, POLLIN, 0};
                who[n] = in;
                what[n++] = 2;
            } else if (!in->exited) {
                no_pidfd = 1;
            }
        }
        int timeout = next < 0 ? -1 : (int)(next > now ? next - now : 0);
        if (no_pidfd && (timeout < 0 || timeout > 100)) {
            timeout = 100;
        }
        if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            sleep(1);
            continue;
        }
        if (p[0].revents) {
            uint64_t v;
            if (read(wake_fd, &v, sizeof v) < 0) {
                /* nothing to drain */
            }
            io_spawn_jobs();
        }
        for (size_t i = 1; i < n; i++) {
            if (!p[i].revents) {
                continue;
            }
            if (what[i] < 2) {
                io_read(who[i], what[i]);
            }
        }
        now = spawn_now_ms();
        struct inst **link = &io_list;
        while (*link) {
            struct inst *in = *link;
            for (int s = 0; s < 2; s++) {
                if (in->io_dirty[s] && now - in->io_last[s] >= IDLE_FLUSH_MS) {
                    io_flush(in, s);
                }
            }
            if (!in->exited && io_leader_gone(in)) {
                pthread_mutex_lock(&pool_lock);
                in->exited = 1;
                pthread_cond_broadcast(&pool_cond);
                pthread_cond_signal(&reaper_cond);
                pthread_mutex_unlock(&pool_lock);
            }
            if (in->exited && in->io_fd[0] < 0 && in->io_fd[1] < 0) {
                if (in->io_pidfd >= 0) {
                    close(in->io_pidfd);
                    in->io_pidfd = -1;
                }
                *link = in->next_io;
                pthread_mutex_lock(&pool_lock);
                in->io_done = 1;
                pthread_cond_broadcast(&pool_cond);
                inst_unref_locked(in);
                pthread_mutex_unlock(&pool_lock);
            } else {
                link = &in->next_io;
            }
        }
        pthread_mutex_lock(&pool_lock);
        int done = shutting_down && !io_list && !jobs;
        pthread_mutex_unlock(&pool_lock);
        if (done) {
            break;
        }
    }
    free(p);
    free(who);
    free(what);
    return NULL;
}

/* ---- the reaper ---------------------------------------------------------------- */

static int warm_count_locked(void)
{
    int n = 0;
    for (struct slot *s = slots; s; s = s->next) {
        n += s->inst != NULL;
    }
    return n;
}

/* Removes instances that died, are idle past their warm_keep_seconds, or
 * exceed the LRU cap, into victims[] (with the grace each gets). */
static int collect_victims_locked(struct inst **victims, int *grace, int max)
{
    int n = 0;
    int64_t now = spawn_now_ms();
    for (struct slot *s = slots; s && n < max; s = s->next) {
        struct inst *in = s->inst;
        if (!in) {
            continue;
        }
        int idle = in->busy == 0 &&
                   now - in->last_used_ms >= (int64_t)in->warm_keep_seconds * 1000;
        if (in->exited || idle) {
            inst_remove_locked(in);
            victims[n] = in;
            grace[n++] = in->exited ? 0 : EVICT_GRACE_MS;
        }
    }
    while (n < max && warm_count_locked() > warm_max) {
        struct inst *lru = NULL;
        for (struct slot *s = slots; s; s = s->next) {
            if (s->inst && s->inst->busy == 0 &&
                (!lru || s->inst->last_used_ms < lru->last_used_ms)) {
                lru = s->inst;
            }
        }
        if (!lru) {
            break; /* all busy: evicted when one becomes idle */
        }
        inst_remove_locked(lru);
        victims[n] = lru;
        grace[n++] = EVICT_GRACE_MS;
    }
    return n;
}

static void *reaper_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct inst *victims[64];
        int grace[64];
        pthread_mutex_lock(&pool_lock);
        int n = collect_victims_locked(victims, grace, 64);
        if (n == 0 && !shutting_down) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)REAPER_TICK_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&reaper_cond, &pool_lock, &until);
        }
        int stop = shutting_down && n == 0;
        pthread_mutex_unlock(&pool_lock);
        for (int i = 0; i < n; i++) {
            inst_kill(victims[i], grace[i]);
        }
        spawn_sweep();
        if (stop) {
            return NULL;
        }
    }
}

/* ---- init ---------------------------------------------------------------------- */

static void init_once_fn(void)
{
    const char *max = getenv("PIXIE_WARM_KEEP_MAX");
    if (max && atoi(max) >= 1) {
        warm_max = atoi(max);
    }
    if ((init_rc = spawn_init()) != 0) {
        return;
    }
    if ((wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        init_rc = -errno;
        return;
    }
    /* the threads must not take signals meant for the main program */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&io_thread, NULL, io_main, NULL);
    if (rc == 0 && (rc = pthread_create(&reaper_thread, NULL, reaper_main, NULL)) != 0) {
        pthread_mutex_lock(&pool_lock);
        shutting_down = 1;
        pthread_mutex_unlock(&pool_lock);
        wake_io();
        pthread_join(io_thread, NULL);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    init_rc = -rc;
}

int launcher_init(void)
{
    pthread_once(&init_once, init_once_fn);
    return init_rc;
}

void launcher_set_output(launcher_output_fn fn, void *ctx)
{
    pthread_mutex_lock(&pool_lock);
    out_fn = fn;
    out_ctx = ctx;
    pthread_mutex_unlock(&pool_lock);
}

void launcher_set_warm_max(int n)
{
    pthread_mutex_lock(&pool_lock);
    warm_max = n >= 1 ? n : 1;
    pthread_cond_signal(&reaper_cond);
    pthread_mutex_unlock(&pool_lock);
}

/* ---- starting -------------------------------------------------------------------- */

/* Waits on pool_cond until *flag is set or ms pass. Lock held. */
static void wait_flag_locked(const int *flag, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    until.tv_sec += ms / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!*flag) {
        if (pthread_cond_timedwait(&pool_cond, &pool_lock, &until) == ETIMEDOUT) {
            break;
        }
    }
}

/* Error text for a process that exited: its status (when the caller reaped
 * it) and the masked tail of its output. Waits briefly for the output. */
static char *death_message(struct inst *in, const char *what)
{
    pthread_mutex_lock(&pool_lock);
    wait_flag_locked(&in->io_done, 1000);
    size_t tlen = 0;
    char *tail = ring_copy(&in->tail, &tlen);
    pthread_mutex_unlock(&pool_lock);
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
    pthread_mutex_lock(&pool_lock);
    char *tail = ring_copy(&in->tail, NULL);
    pthread_mutex_unlock(&pool_lock);
    int r = tail && (strstr(tail, "Address already in use") || strstr(tail, "address already in use"));
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
    struct inst *in = calloc(1, sizeof *in);
    if (!in) {
        *rc = -ENOMEM;
        set_err(err, fmt("out of memory"));
        return NULL;
    }
    in->refs = 1;
    in->slot = slot;
    in->port = port;
    in->sig = sig;
    in->spawn_rc = 1;
    in->io_fd[0] = in->io_fd[1] = in->io_pidfd = -1;
    in->argv = argv;
    in->envp = t->env ? t->env : no_env;
    in->cwd = t->dir;
    in->max_memory_mb = t->max_memory_mb;
    in->warm_keep_seconds = t->warm_keep_seconds;
    /* PIXIE_TOOL_ID=<id> in the environment identifies re-parented orphans */
    snprintf(in->marker, sizeof in->marker, "PIXIE_TOOL_ID=%s", t->id);
    int has_marker = 0;
    for (const char *const *e = in->envp; *e && !has_marker; e++) {
        has_marker = strcmp(*e, in->marker) == 0;
    }
    if (!has_marker) {
        in->marker[0] = '\0';
    }
    if (!(in->mask[0] = mask_stream_new()) || !(in->mask[1] = mask_stream_new())) {
        inst_unref(in);
        *rc = -ENOMEM;
        set_err(err, fmt("out of memory"));
        return NULL;
    }
    int64_t t0 = spawn_now_ms();
    pthread_mutex_lock(&pool_lock);
    in->next_job = jobs;
    jobs = in;
    wake_io();
    while (in->spawn_rc == 1) {
        pthread_cond_wait(&pool_cond, &pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
    in->argv = NULL;
    in->envp = NULL;
    if (in->spawn_rc != 0) {
        *rc = in->spawn_rc;
        set_err(err, fmt("cannot start tool '%s': %s: %s", t->id, t->python, strerror(-*rc)));
        inst_unref(in);
        return NULL;
    }
    /* readiness: a cheap connect probe, then GET /healthz; interval grows
     * from 1 ms to 100 ms; the wait wakes at once if the process dies */
    for (;;) {
        int64_t elapsed = spawn_now_ms() - t0;
        pthread_mutex_lock(&pool_lock);
        int exited = in->exited;
        pthread_mutex_unlock(&pool_lock);
        if (exited) {
            *retry = elapsed < EARLY_DEATH_MS || bind_failed(in);
            *rc = -ECHILD;
            spawn_kill_tree(&in->child, 0);
            set_err(err, death_message(in, "exited before it was ready"));
            inst_kill(in, 0);
            return NULL;
        }
        if (elapsed >= READY_TIMEOUT_MS) {
            *rc = -ETIMEDOUT;
            char *msg = fmt("tool '%s' did not answer /healthz on port %d within %d s", t->id,
                            port, READY_TIMEOUT_MS / 1000);
            inst_kill(in, FAILED_START_GRACE_MS);
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
        pthread_mutex_lock(&pool_lock);
        wait_flag_locked(&in->exited, interval < 100 ? interval : 100);
        pthread_mutex_unlock(&pool_lock);
    }
    in->started_at = in->last_used_wall = wall_now();
    in->last_used_ms = spawn_now_ms();
    return in;
}

/* Returns the slot's ready instance for t with a reference (and busy++ when
 * `use`), starting one when needed. */
static struct inst *ensure(struct slot *slot, const struct launcher_tool *t, int use,
                           int *started, int *rc, char **err)
{
    uint64_t sig = tool_sig(t);
    *started = 0;
    pthread_mutex_lock(&slot->start_lock);
    pthread_mutex_lock(&pool_lock);
    struct inst *in = slot->inst, *stale = NULL;
    if (in && (in->exited || in->sig != sig)) {
        inst_remove_locked(in);
        stale = in;
        in = NULL;
    }
    unsigned gen = slot->stop_gen;
    pthread_mutex_unlock(&pool_lock);
    if (stale) {
        inst_kill(stale, stale->exited ? 0 : EVICT_GRACE_MS);
    }
    if (!in) {
        int retry = 0;
        in = start_once(slot, t, sig, rc, &retry, err);
        if (!in && retry) {
            in = start_once(slot, t, sig, rc, &retry, err);
        }
        if (in) {
            pthread_mutex_lock(&pool_lock);
            if (slot->stop_gen != gen || shutting_down) {
                pthread_mutex_unlock(&pool_lock);
                inst_kill(in, STOP_GRACE_MS);
                *rc = -ECANCELED;
                set_err(err, fmt("tool '%s' was stopped while it was starting", t->id));
                in = NULL;
            } else {
                in->in_pool = 1;
                in->refs++; /* the pool's; the caller keeps start_once's */
                slot->inst = in;
                *started = 1;
                in->busy += use;
                pthread_cond_signal(&reaper_cond); /* the LRU cap may apply now */
                pthread_mutex_unlock(&pool_lock);
            }
        }
        pthread_mutex_unlock(&slot->start_lock);
        return in;
    } else {
        pthread_mutex_lock(&pool_lock);
        if (!in->in_pool) {
            /* removed since we looked (a stop, the reaper): start afresh */
            pthread_mutex_unlock(&pool_lock);
            pthread_mutex_unlock(&slot->start_lock);
            return ensure(slot, t, use, started, rc, err);
        }
        in->refs++;
    }
    in->warm_keep_seconds = t->warm_keep_seconds;
    in->last_used_ms = spawn_now_ms();
    in->last_used_wall = wall_now();
    in->busy += use;
    pthread_mutex_unlock(&pool_lock);
    pthread_mutex_unlock(&slot->start_lock);
    return in;
}

static int check_tool(const struct launcher_tool *t, char **err)
{
    if (!t || !t->id || !t->id[0] || !t->dir || !t->python || !t->entrypoint) {
        set_err(err, fmt("incomplete tool description"));
        return -EINVAL;
    }
    int rc = launcher_init();
    if (rc != 0) {
        set_err(err, fmt("launcher cannot start: %s", strerror(-rc)));
    }
    return rc;
}

int launcher_start(const struct launcher_tool *t, int *port, pid_t *pid, int *started, char **err)
{
    int rc = check_tool(t, err);
    if (rc != 0) {
        return rc;
    }
    struct slot *slot = slot_get(t->id);
    if (!slot) {
        set_err(err, fmt("out of memory"));
        return -ENOMEM;
    }
    struct inst *in = ensure(slot, t, 0, started, &rc, err);
    if (!in) {
        return rc;
    }
    *port = in->port;
    *pid = in->child.pid;
    inst_unref(in);
    return 0;
}

int launcher_run(const struct launcher_tool *t, const char *body, size_t len,
                 const char *const *headers, long deadline_ms, struct launcher_result *res,
                 char **err)
{
    memset(res, 0, sizeof *res);
    int rc = check_tool(t, err);
    if (rc != 0) {
        return rc;
    }
    struct slot *slot = slot_get(t->id);
    if (!slot) {
        set_err(err, fmt("out of memory"));
        return -ENOMEM;
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
        pthread_mutex_lock(&pool_lock);
        in->busy--;
        in->last_used_ms = spawn_now_ms();
        in->last_used_wall = wall_now();
        int removed = rc == -ETIMEDOUT && inst_remove_locked(in);
        pthread_mutex_unlock(&pool_lock);
        if (rc == -ETIMEDOUT) {
            res->timed_out = 1;
            set_err(err, fmt("tool '%s' did not answer /run within %ld ms; its processes were "
                             "killed", t->id, deadline_ms));
            if (removed) {
                inst_kill(in, TIMEOUT_GRACE_MS); /* drops the pool's reference */
            }
        } else if (rc != 0) {
            pthread_mutex_lock(&pool_lock);
            wait_flag_locked(&in->exited, 200);
            removed = in->exited && inst_remove_locked(in);
            int exited = in->exited;
            pthread_mutex_unlock(&pool_lock);
            if (removed) {
                spawn_kill_tree(&in->child, 0); /* reaps it: its status is known */
            }
            if (exited) {
                set_err(err, death_message(in, "died during the run"));
            } else {
                set_err(err, fmt("tool '%s': %s", t->id, r.error));
            }
            if (removed) {
                inst_kill(in, 0);
            }
        }
        inst_unref(in);
    }
    if (!t->concurrent) {
        pthread_mutex_unlock(&slot->run_lock);
    }
    return rc;
}

int launcher_get(const char *tool_id, const char *path, long timeout_ms, long *status,
                 char **body, size_t *len, char **err)
{
    *body = NULL;
    *len = 0;
    pthread_mutex_lock(&pool_lock);
    struct slot *s = slot_find_locked(tool_id);
    struct inst *in = s ? s->inst : NULL;
    if (in) {
        in->refs++;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!in) {
        set_err(err, fmt("tool '%s' is not running", tool_id));
        return -ESRCH;
    }
    struct httpc_response r;
    int rc = httpc_get(in->port, path, timeout_ms, &r);
    inst_unref(in);
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
    pthread_mutex_lock(&pool_lock);
    struct slot *s = slot_find_locked(tool_id);
    struct inst *in = NULL;
    if (s) {
        s->stop_gen++;
        in = s->inst;
        if (in) {
            inst_remove_locked(in);
        }
    }
    pthread_mutex_unlock(&pool_lock);
    if (!in) {
        return 0;
    }
    inst_kill(in, grace_ms);
    return 1;
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
    inst_kill(j->in, j->grace);
    return NULL;
}

void launcher_stop_all(int grace_ms)
{
    pthread_mutex_lock(&pool_lock);
    size_t n = 0;
    for (struct slot *s = slots; s; s = s->next) {
        s->stop_gen++;
        n += s->inst != NULL;
    }
    struct stop_job *jobs_v = calloc(n ? n : 1, sizeof *jobs_v);
    size_t k = 0;
    for (struct slot *s = slots; s && jobs_v; s = s->next) {
        if (s->inst) {
            jobs_v[k].in = s->inst;
            jobs_v[k++].grace = grace_ms;
            inst_remove_locked(s->inst);
        }
    }
    pthread_mutex_unlock(&pool_lock);
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
    pthread_mutex_lock(&pool_lock);
    size_t count = (size_t)warm_count_locked(), k = 0;
    struct launcher_state_row *v = calloc(count ? count : 1, sizeof *v);
    for (struct slot *s = slots; s && v; s = s->next) {
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
    pthread_mutex_unlock(&pool_lock);
    if (!v) {
        return -ENOMEM;
    }
    *rows = v;
    *n = k;
    return 0;
}

int launcher_tail(const char *tool_id, char **out, size_t *len)
{
    pthread_mutex_lock(&pool_lock);
    struct slot *s = slot_find_locked(tool_id);
    int rc = -ESRCH;
    if (s) {
        *out = ring_copy(&s->tail, len);
        rc = *out ? 0 : -ENOMEM;
    }
    pthread_mutex_unlock(&pool_lock);
    return rc;
}

void launcher_shutdown(void)
{
    pthread_mutex_lock(&pool_lock);
    int running = init_rc == 0 && wake_fd >= 0 && !shutting_down;
    pthread_mutex_unlock(&pool_lock);
    if (!running) {
        return;
    }
    launcher_stop_all(STOP_GRACE_MS);
    pthread_mutex_lock(&pool_lock);
    shutting_down = 1;
    pthread_cond_signal(&reaper_cond);
    pthread_mutex_unlock(&pool_lock);
    wake_io();
    pthread_join(reaper_thread, NULL);
    pthread_join(io_thread, NULL);
}
