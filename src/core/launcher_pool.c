/* The launcher's pool: instances, the I/O thread that creates every tool
 * process and reads, masks and passes on its output, and the reaper thread
 * that evicts idle tools and cleans up dead ones. See launcher_pool.h. */
#include "launcher_pool.h"

#include "buf.h"
#include "deadline.h"
#include "mask.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REAPER_TICK_MS 500
#define SWEEP_MIN_GAP_MS 50 /* at most 20 /proc scans a second */
#define DEFAULT_WARM_MAX 5
#define DRAIN_MS 1000 /* output of a killed tree still read */

/* The pool's state; every field under pool_mutex. */
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;        /* an instance changed */
static pthread_cond_t pool_reaper_cond = PTHREAD_COND_INITIALIZER; /* work for the reaper */
static struct slot *pool_slots;
static struct inst *pool_jobs; /* spawn requests for the I/O thread */
static int pool_warm_max = DEFAULT_WARM_MAX;
static launcher_output_fn pool_out_fn;
static void *pool_out_ctx;
static int pool_shutting_down;
static int pool_sweep_wanted; /* a run ended: sweep soon */
static int pool_wake_fd = -1;
static pthread_t io_thread, reaper_thread;
static int started;
static _Atomic uint64_t pool_state_gen; /* moves when a slot's instance or busy changes */

void pool_lock(void)
{
    pthread_mutex_lock(&pool_mutex);
}

void pool_unlock(void)
{
    pthread_mutex_unlock(&pool_mutex);
}

double pool_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
char *pool_ring_copy(const struct ring *r, size_t *len)
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

/* Wakes the I/O thread (new spawn requests, shutdown). Any thread. */
static void pool_wake_io(void)
{
    uint64_t one = 1;
    if (write(pool_wake_fd, &one, sizeof one) < 0) {
        /* the counter is saturated: the thread is awake anyway */
    }
}
/* ---- slots and instances (lock held unless said otherwise) ----------------- */

void pool_set_output(launcher_output_fn fn, void *ctx)
{
    pool_lock();
    pool_out_fn = fn;
    pool_out_ctx = ctx;
    pool_unlock();
}

void pool_set_warm_max(int n)
{
    pool_lock();
    pool_warm_max = n >= 1 ? n : 1;
    pthread_cond_signal(&pool_reaper_cond);
    pool_unlock();
}

struct slot *pool_slots_locked(void)
{
    return pool_slots;
}

struct slot *pool_slot_find_locked(const char *id)
{
    struct slot *s = pool_slots;
    while (s && strcmp(s->id, id) != 0) {
        s = s->next;
    }
    return s;
}

struct slot *pool_slot_get(const char *id)
{
    pool_lock();
    struct slot *s = pool_slot_find_locked(id);
    if (!s && (s = calloc(1, sizeof *s)) != NULL) {
        if (!(s->id = strdup(id))) {
            free(s);
            s = NULL;
        } else {
            pthread_mutex_init(&s->start_lock, NULL);
            pthread_mutex_init(&s->run_lock, NULL);
            s->next = pool_slots;
            pool_slots = s;
        }
    }
    pool_unlock();
    return s;
}

struct inst *pool_inst_new(struct slot *slot, int port, uint64_t sig)
{
    struct inst *in = calloc(1, sizeof *in);
    if (!in) {
        return NULL;
    }
    in->refs = 1;
    in->slot = slot;
    in->port = port;
    in->sig = sig;
    in->spawn_rc = 1;
    in->io_fd[0] = in->io_fd[1] = in->io_pidfd = -1;
    if (!(in->mask[0] = mask_stream_new()) || !(in->mask[1] = mask_stream_new())) {
        pool_inst_unref(in);
        return NULL;
    }
    return in;
}

int pool_inst_spawn(struct inst *in, const struct spawn_opts *o)
{
    pool_lock();
    in->spawn = o;
    in->next_job = pool_jobs;
    pool_jobs = in;
    pool_wake_io();
    while (in->spawn_rc == 1) {
        pthread_cond_wait(&pool_cond, &pool_mutex);
    }
    in->spawn = NULL;
    int rc = in->spawn_rc;
    pool_unlock();
    return rc;
}

void pool_state_changed_locked(void)
{
    pool_state_gen++;
}

uint64_t pool_state_generation(void)
{
    return pool_state_gen;
}

void pool_run_done_locked(struct inst *in)
{
    in->busy--;
    pool_state_changed_locked();
    in->last_used_ms = spawn_now_ms();
    in->last_used_wall = pool_wall_now();
    pool_sweep_wanted = 1;
    pthread_cond_signal(&pool_reaper_cond);
}

void pool_wake_reaper_locked(void)
{
    pthread_cond_signal(&pool_reaper_cond);
}

void pool_inst_unref_locked(struct inst *in)
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

void pool_inst_unref(struct inst *in)
{
    pool_lock();
    pool_inst_unref_locked(in);
    pool_unlock();
}

/* Takes the instance out of its slot (the caller becomes its remover and
 * inherits the pool's reference). Returns 1 when it was in the pool. */
int pool_inst_remove_locked(struct inst *in)
{
    if (!in->in_pool) {
        return 0;
    }
    in->in_pool = 0;
    if (in->slot->inst == in) {
        in->slot->inst = NULL;
        pool_state_changed_locked();
    }
    return 1;
}

void pool_inst_kill(struct inst *in, int grace_ms)
{
    spawn_kill_tree(&in->child, grace_ms);
    spawn_close(&in->child);
    pool_lock();
    pool_wait_flag_locked(&in->io_done, DRAIN_MS);
    if (!in->io_done) {
        in->io_abandon = 1;
        pool_wake_io();
        pool_wait_flag_locked(&in->io_done, DRAIN_MS);
    }
    pool_inst_unref_locked(in);
    pool_unlock();
}

/* Waits on pool_cond until *flag is set or ms pass. Lock held. */
void pool_wait_flag_locked(const int *flag, int ms)
{
    struct timespec until = deadline_after_ms(CLOCK_REALTIME, ms);
    while (!*flag) {
        if (pthread_cond_timedwait(&pool_cond, &pool_mutex, &until) == ETIMEDOUT) {
            break;
        }
    }
}

/* ---- the I/O thread ---------------------------------------------------------- */

static struct inst *io_list; /* instances whose pipes the thread reads (its own) */

/* Calls the output callback for one stream (text NULL: the stream ended). */
static void pass_on(struct inst *in, int stream, const char *text, size_t len)
{
    pool_lock();
    launcher_output_fn fn = pool_out_fn;
    void *ctx = pool_out_ctx;
    pool_unlock();
    if (fn) {
        fn(ctx, in->slot->id, stream == 0 ? "stdout" : "stderr", text, len);
    }
}

/* Keeps masked text of one stream in the tails and passes it on. */
static void emit(struct inst *in, int stream, const char *text, size_t len)
{
    if (len == 0) {
        return;
    }
    pool_lock();
    ring_add(&in->tail, text, len);
    ring_add(&in->slot->tail, text, len);
    pool_unlock();
    pass_on(in, stream, text, len);
}

/* Masks raw output of one stream (data NULL: flushes what the masker
 * holds back) and emits it. */
static void io_mask_emit(struct inst *in, int stream, const char *data, size_t len)
{
    struct buf out = {0};
    int rc = data ? mask_stream_feed_to(in->mask[stream], data, len, &out)
                  : mask_stream_flush_to(in->mask[stream], &out);
    if (rc == 0) {
        emit(in, stream, out.data, out.len);
    }
    buf_free(&out);
}

/* End of one stream: emits what the masker still holds back, then the end
 * (so the sink ends the stream's unfinished line). Never called on idle: a
 * held-back byte may be the start of a secret still being written. */
static void io_end(struct inst *in, int stream)
{
    io_mask_emit(in, stream, NULL, 0);
    pass_on(in, stream, NULL, 0);
}

static void io_read(struct inst *in, int stream)
{
    char buf[65536];
    ssize_t r = read(in->io_fd[stream], buf, sizeof buf);
    if (r > 0) {
        io_mask_emit(in, stream, buf, (size_t)r);
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        io_end(in, stream);
        close(in->io_fd[stream]);
        in->io_fd[stream] = -1;
    }
}

/* Stops reading in's pipes: what is readable now is read, the masker is
 * ended (its held-back tail masked, its last line handed on), the pipes
 * are closed (a process that escaped the tree kill may
 * hold their other ends forever; it never holds up Pixie). */
static void io_drop(struct inst *in)
{
    for (int s = 0; s < 2; s++) {
        if (in->io_fd[s] < 0) {
            continue;
        }
        io_read(in, s);
        if (in->io_fd[s] >= 0) {
            io_end(in, s);
            close(in->io_fd[s]);
            in->io_fd[s] = -1;
        }
    }
}

/* Starts the processes requested in `pool_jobs` and registers their pipes. */
static void io_spawn_jobs(void)
{
    pool_lock();
    struct inst *list = pool_jobs;
    pool_jobs = NULL;
    pool_unlock();
    while (list) {
        struct inst *in = list;
        list = in->next_job;
        int rc = spawn_start(in->spawn, &in->child);
        if (rc == 0) {
            /* the I/O thread owns the pipes and a pidfd of its own */
            in->io_fd[0] = in->child.out_fd;
            in->io_fd[1] = in->child.err_fd;
            in->child.out_fd = in->child.err_fd = -1;
            in->io_pidfd = in->child.pidfd >= 0 ? fcntl(in->child.pidfd, F_DUPFD_CLOEXEC, 3) : -1;
        }
        pool_lock();
        in->spawn_rc = rc;
        if (rc == 0) {
            in->refs++; /* the I/O thread's */
            in->next_io = io_list;
            io_list = in;
        } else {
            in->io_done = 1;
        }
        pthread_cond_broadcast(&pool_cond);
        pool_unlock();
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
    if (waitid(P_PID, (id_t)in->child.pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return errno == ECHILD; /* reaped already: gone; EINTR: look again */
    }
    return si.si_pid != 0;
}

static void *io_main(void *arg)
{
    (void)arg;
    struct pollfd *p = NULL;
    struct inst **who = NULL;
    int *what = NULL;
    size_t cap_p = 0, cap_who = 0, cap_what = 0;
    for (;;) {
        size_t n = 0, need = 1;
        for (struct inst *in = io_list; in; in = in->next_io) {
            need += 3;
        }
        if (buf_grow_array((void **)&p, &cap_p, need, sizeof *p) != 0 ||
            buf_grow_array((void **)&who, &cap_who, need, sizeof *who) != 0 ||
            buf_grow_array((void **)&what, &cap_what, need, sizeof *what) != 0) {
            spawn_sleep_ms(100); /* out of memory: try again shortly */
            continue;
        }
        p[n] = (struct pollfd){pool_wake_fd, POLLIN, 0};
        who[n] = NULL;
        what[n++] = -1;
        int no_pidfd = 0;
        for (struct inst *in = io_list; in; in = in->next_io) {
            for (int s = 0; s < 2; s++) {
                if (in->io_fd[s] >= 0) {
                    p[n] = (struct pollfd){in->io_fd[s], POLLIN, 0};
                    who[n] = in;
                    what[n++] = s;
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
        int timeout = no_pidfd ? 100 : -1;
        if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            sleep(1);
            continue;
        }
        if (p[0].revents) {
            uint64_t v;
            if (read(pool_wake_fd, &v, sizeof v) < 0) {
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
        struct inst **link = &io_list;
        while (*link) {
            struct inst *in = *link;
            pool_lock();
            int abandon = in->io_abandon || pool_shutting_down;
            pool_unlock();
            if (abandon) {
                io_drop(in);
            }
            if (!in->exited && io_leader_gone(in)) {
                pool_lock();
                in->exited = 1;
                pthread_cond_broadcast(&pool_cond);
                pthread_cond_signal(&pool_reaper_cond);
                pool_unlock();
            }
            if ((in->exited || abandon) && in->io_fd[0] < 0 && in->io_fd[1] < 0) {
                if (in->io_pidfd >= 0) {
                    close(in->io_pidfd);
                    in->io_pidfd = -1;
                }
                *link = in->next_io;
                pool_lock();
                in->io_done = 1;
                pthread_cond_broadcast(&pool_cond);
                pool_inst_unref_locked(in);
                pool_unlock();
            } else {
                link = &in->next_io;
            }
        }
        pool_lock();
        int done = pool_shutting_down && !io_list && !pool_jobs;
        pool_unlock();
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

int pool_warm_count_locked(void)
{
    int n = 0;
    for (struct slot *s = pool_slots; s; s = s->next) {
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
    for (struct slot *s = pool_slots; s && n < max; s = s->next) {
        struct inst *in = s->inst;
        if (!in) {
            continue;
        }
        int idle = in->busy == 0 && now - in->last_used_ms >= (int64_t)in->warm_keep_seconds * 1000;
        if (in->exited || idle) {
            pool_inst_remove_locked(in);
            victims[n] = in;
            grace[n++] = in->exited ? 0 : EVICT_GRACE_MS;
        }
    }
    while (n < max && pool_warm_count_locked() > pool_warm_max) {
        struct inst *lru = NULL;
        for (struct slot *s = pool_slots; s; s = s->next) {
            if (s->inst && s->inst->busy == 0 &&
                (!lru || s->inst->last_used_ms < lru->last_used_ms)) {
                lru = s->inst;
            }
        }
        if (!lru) {
            break; /* all busy: evicted when one becomes idle */
        }
        pool_inst_remove_locked(lru);
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
        pool_lock();
        int n = collect_victims_locked(victims, grace, 64);
        if (n == 0 && !pool_shutting_down && !pool_sweep_wanted) {
            struct timespec until = deadline_after_ms(CLOCK_REALTIME, REAPER_TICK_MS);
            pthread_cond_timedwait(&pool_reaper_cond, &pool_mutex, &until);
        }
        int stop = pool_shutting_down && n == 0;
        int warm = pool_warm_count_locked();
        pool_sweep_wanted = 0;
        pool_unlock();
        for (int i = 0; i < n; i++) {
            pool_inst_kill(victims[i], grace[i]);
        }
        if (warm > 0 || n > 0) {
            /* a /proc scan, only while there are tools: every tick and
             * right after runs (when tools tend to leave processes), so
             * the watchdog soon knows every escaped descendant */
            spawn_sweep();
            spawn_sleep_ms(SWEEP_MIN_GAP_MS);
        }
        if (stop) {
            return NULL;
        }
    }
}

/* ---- threads ------------------------------------------------------------------- */

int pool_start(void)
{
    const char *max = getenv("PIXIE_WARM_KEEP_MAX");
    if (max && atoi(max) >= 1) {
        pool_warm_max = atoi(max);
    }
    if ((pool_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        return -errno;
    }
    /* the threads must not take signals meant for the main program */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&io_thread, NULL, io_main, NULL);
    if (rc == 0 && (rc = pthread_create(&reaper_thread, NULL, reaper_main, NULL)) != 0) {
        pool_lock();
        pool_shutting_down = 1;
        pool_unlock();
        pool_wake_io();
        pthread_join(io_thread, NULL);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pool_lock();
    started = rc == 0;
    pool_unlock();
    return -rc;
}

int pool_running_locked(void)
{
    return started && !pool_shutting_down;
}

void pool_stop_threads(void)
{
    pool_lock();
    pool_shutting_down = 1;
    pthread_cond_signal(&pool_reaper_cond);
    pool_unlock();
    pool_wake_io();
    pthread_join(reaper_thread, NULL);
    pthread_join(io_thread, NULL);
}
