/* Process trees of spawned children: the registry of leaders, killing and
 * reaping whole trees, the sweep, and starting the watchdog (its body is
 * spawn_guard.c, /proc reading spawn_proc.c). See spawn.h for the contract
 * and docs/architecture.md ("Tool processes").
 *
 * Finding a tree never trusts what a descendant chooses (its environment,
 * session or process group): every leader is a child subreaper (set before
 * its exec), so while it lives every descendant, double-forked daemons
 * included, hangs below it in the ppid chains of /proc/<pid>/stat. When a
 * leader dies, its orphans re-parent to Pixie (a subreaper too): any child
 * of ours that is no registered leader nor the watchdog is such a "stray",
 * part of every tree kill and killed by the sweep on sight.
 *
 * Dying with Pixie: each leader has PR_SET_PDEATHSIG(SIGSTOP), so it stays,
 * stopped, above its descendants; a watchdog process (forked once, system
 * calls only, named pixie-watchdog) holds a socket to us and knows every
 * leader (pid + start time). When the socket reaches EOF (Pixie died,
 * however) or the watchdog gets SIGTERM, it freezes each leader's tree
 * with SIGSTOP until no new member appears, then SIGKILLs all of it. */
#include "spawn.h"
#include "spawn_guard.h"
#include "spawn_proc.h"
#include "spawn_tree.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_SETTLE_MS 3000 /* how long SIGKILLed processes get to vanish */
#define ORPHAN_GRACE_MS 500 /* grace left to a tree once its leader is gone */

/* Registry of leaders we spawned and have not reaped, and the watchdog. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *tracked;
static size_t n_tracked, cap_tracked;
static int guard_fd = -1;
static pid_t guard_pid = -1;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

/* The registry is the only place a leader's exit status can be lost: a pid
 * is in it from the instant fork() returns until its spawn_child reaps it,
 * and nothing else reaps a pid that is in it (sweeps and tree kills check
 * it under reg_lock, around their waitpid). */
pid_t spawn_fork_tracked(void)
{
    pthread_mutex_lock(&reg_lock);
    int rc = buf_grow_array((void **)&tracked, &cap_tracked, n_tracked + 1, sizeof *tracked);
    pid_t pid = rc != 0 ? rc : fork();
    if (pid < 0 && rc == 0) {
        pid = -errno;
    }
    if (pid == 0) {
        return 0; /* the child: its copy of reg_lock is never used again */
    }
    if (pid > 0) {
        tracked[n_tracked++] = pid;
    }
    pthread_mutex_unlock(&reg_lock);
    return pid;
}

static void track_del(pid_t pid)
{
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < n_tracked; i++) {
        if (tracked[i] == pid) {
            tracked[i] = tracked[--n_tracked];
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

void spawn_reap_failed(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    track_del(pid);
}

static int is_tracked_locked(pid_t pid)
{
    for (size_t i = 0; i < n_tracked; i++) {
        if (tracked[i] == pid) {
            return 1;
        }
    }
    return 0;
}

/* Reaps pid when it is our zombie and no registered leader (a leader's
 * status belongs to its spawn_child). reg_lock held. Returns 1 if reaped. */
static int reap_untracked_locked(pid_t pid)
{
    return !is_tracked_locked(pid) && waitpid(pid, NULL, WNOHANG) == pid;
}

/* Tells the watchdog about a leader; reg_lock held. */
static void guard_send_locked(int op, pid_t pid, uint64_t start)
{
    struct guard_msg m = {op, pid, start};
    if (guard_fd >= 0) {
        while (send(guard_fd, &m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
        }
    }
}

static void guard_send(int op, pid_t pid, uint64_t start)
{
    pthread_mutex_lock(&reg_lock);
    guard_send_locked(op, pid, start);
    pthread_mutex_unlock(&reg_lock);
}

/* ---- Pixie's side: scans, trees --------------------------------------------- */

struct scan {
    struct pinfo *v;
    size_t n, cap;
    int oom;
};

static void scan_add(void *ctx, const struct pinfo *p)
{
    struct scan *s = ctx;
    if (buf_grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) != 0) {
        s->oom = 1;
        return;
    }
    s->v[s->n++] = *p;
}

/* Reads every process of /proc. Returns the count (malloc'd *out, the caller
 * frees) or -errno. */
static int proc_scan(struct pinfo **out)
{
    struct scan s = {0};
    int rc = spawn_proc_each(scan_add, &s);
    if (rc == 0 && s.oom) {
        rc = -ENOMEM;
    }
    if (rc != 0) {
        free(s.v);
        return rc;
    }
    *out = s.v;
    return (int)s.n;
}

/* Marks as never members (-1): us, and every registered pid (other leaders,
 * the watchdog) except `keep`. As members (1): our strays, children of
 * ours that no one registered (orphans of a leader that died). reg_lock
 * held. */
static void mark_fixed_locked(struct pinfo *v, int n, pid_t keep)
{
    pid_t self = getpid();
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        if (p->pid == self || (p->pid != keep && is_tracked_locked(p->pid))) {
            p->mark = -1;
        } else if (p->ppid == self) {
            p->mark = 1;
        }
    }
}

/* Members seen in earlier scans of one kill (a zombie may have lost the
 * links that made it a member). */
struct known {
    struct guard_msg *v;
    size_t n, cap;
};

static int known_has(const struct known *k, const struct pinfo *p)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->v[i].pid == p->pid && k->v[i].start == p->start) {
            return 1;
        }
    }
    return 0;
}

static void known_add(struct known *k, const struct pinfo *p)
{
    if (known_has(k, p) || buf_grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v) != 0) {
        return;
    }
    k->v[k->n++] = (struct guard_msg){0, p->pid, p->start};
}

/* Marks (mark = 1) the members of c's tree in v[0..n): the leader, its
 * group, the strays, members of earlier scans, and everything below them. */
static void mark_tree(struct pinfo *v, int n, const struct spawn_child *c, struct known *k)
{
    pid_t lead = c->pid;
    pthread_mutex_lock(&reg_lock);
    /* a reaped leader's pid may since be another spawn's leader (then no
     * process holds the old group id any more, or the pid were not free) */
    int lead_reused = c->reaped && is_tracked_locked(lead);
    mark_fixed_locked(v, n, lead_reused ? -1 : lead);
    pthread_mutex_unlock(&reg_lock);
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        if (p->mark == 0 &&
            ((!lead_reused && (p->pid == lead || p->pgid == lead)) || known_has(k, p))) {
            p->mark = 1;
        }
    }
    spawn_proc_mark_descendants(v, n);
    for (int i = 0; i < n; i++) {
        if (v[i].mark == 1) {
            known_add(k, &v[i]);
        }
    }
}

int spawn_reap_leader(struct spawn_child *c, int flags)
{
    if (c->reaped) {
        return c->status == SPAWN_STATUS_UNKNOWN ? -ECHILD : 1;
    }
    int st;
    pid_t r;
    while ((r = waitpid(c->pid, &st, flags)) < 0 && errno == EINTR) {
    }
    if (r == 0) {
        return 0;
    }
    if (r < 0 && errno != ECHILD) {
        return -errno;
    }
    /* ECHILD: no longer our child, so its status is lost; never "exit 0" */
    c->reaped = 1;
    c->status = r == c->pid ? st : SPAWN_STATUS_UNKNOWN;
    if (c->pidfd >= 0) {
        close(c->pidfd);
        c->pidfd = -1;
    }
    track_del(c->pid);
    return r == c->pid ? 1 : -ECHILD;
}

/* Signals every live member of c's tree; reaps members that are our zombies.
 * Returns the number of live members (excluding zombies), or -errno. */
static int signal_tree(struct spawn_child *c, int sig, struct known *k)
{
    /* once the leader is reaped its pid may be recycled: signal the group
     * only while a member still holds the group id */
    if (sig && !c->reaped) {
        kill(-c->pid, sig);
    }
    struct pinfo *v = NULL;
    int n = proc_scan(&v);
    if (n < 0) {
        return n;
    }
    mark_tree(v, n, c, k);
    pid_t self = getpid();
    int alive = 0, group_kill = sig && c->reaped;
    for (int i = 0; i < n; i++) {
        if (v[i].mark != 1) {
            continue;
        }
        if (group_kill && v[i].pgid == c->pid) {
            kill(-c->pid, sig);
            group_kill = 0;
        }
        if (spawn_proc_is_dead(&v[i])) {
            if (v[i].pid == c->pid) {
                spawn_reap_leader(c, WNOHANG);
            } else if (v[i].ppid == self) {
                pthread_mutex_lock(&reg_lock);
                reap_untracked_locked(v[i].pid);
                pthread_mutex_unlock(&reg_lock);
            }
            continue;
        }
        alive++;
        if (sig && v[i].pgid != c->pid) {
            kill(v[i].pid, sig);
        }
        if (sig == SIGTERM) {
            kill(v[i].pid, SIGCONT);
        }
    }
    free(v);
    return alive;
}

static void init_once_fn(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        init_rc = -errno;
        return;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        init_rc = -errno;
        return;
    }
    pid_t pid = spawn_fork_tracked();
    if (pid < 0) {
        init_rc = pid;
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (pid == 0) {
        close(sv[0]);
        spawn_guard_main(sv[1]);
    }
    close(sv[1]);
    guard_fd = sv[0];
    guard_pid = pid;
}

void spawn_shutdown(void)
{
    pthread_mutex_lock(&reg_lock);
    int fd = guard_fd;
    pid_t pid = guard_pid;
    guard_fd = -1;
    guard_pid = -1;
    pthread_mutex_unlock(&reg_lock);
    if (fd < 0) {
        return;
    }
    struct guard_msg quit = {GUARD_QUIT, 0, 0};
    while (send(fd, &quit, sizeof quit, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
    close(fd);
    for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++) {
        spawn_sleep_ms(10);
    }
    track_del(pid);
}

int spawn_init(void)
{
    pthread_once(&init_once, init_once_fn);
    return init_rc;
}

int spawn_sweep(void)
{
    struct pinfo *v = NULL;
    int n = proc_scan(&v);
    if (n < 0) {
        return n;
    }
    pid_t self = getpid();
    int reaped = 0;
    pthread_mutex_lock(&reg_lock);
    mark_fixed_locked(v, n, -1);
    spawn_proc_mark_descendants(v, n);
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        if (p->mark != 1) {
            continue;
        }
        struct pinfo now;
        if (spawn_proc_is_dead(p)) {
            reaped += p->ppid == self && reap_untracked_locked(p->pid);
        } else if (spawn_proc_read(p->pid, &now) == 0 && now.start == p->start) {
            kill(p->pid, SIGKILL); /* an orphan of a dead leader's tree */
        }
    }
    pthread_mutex_unlock(&reg_lock);
    free(v);
    return reaped;
}

int spawn_kill_tree(struct spawn_child *c, int grace_ms)
{
    if (c->pid <= 0) {
        return -EINVAL;
    }
    int64_t deadline = spawn_now_ms() + (grace_ms > 0 ? grace_ms : 0);
    struct known k = {0};
    int alive = signal_tree(c, SIGTERM, &k);
    while (alive > 0 && spawn_now_ms() < deadline) {
        int64_t left = deadline - spawn_now_ms();
        int step = left < 20 ? (int)left : 20;
        if (!c->reaped && c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, step);
            spawn_reap_leader(c, WNOHANG);
        } else {
            spawn_sleep_ms(step > 0 ? step : 1);
        }
        if (c->reaped && deadline - spawn_now_ms() > ORPHAN_GRACE_MS) {
            deadline = spawn_now_ms() + ORPHAN_GRACE_MS; /* the tool itself is gone */
        }
        alive = signal_tree(c, 0, &k);
    }
    int64_t settle = spawn_now_ms() + KILL_SETTLE_MS;
    c->forced = alive > 0;
    while (alive != 0 && spawn_now_ms() < settle) {
        alive = signal_tree(c, SIGKILL, &k);
        if (alive != 0) {
            spawn_sleep_ms(2);
        }
    }
    if (!c->reaped) {
        int left = (int)(settle - spawn_now_ms());
        spawn_wait(c, left > 100 ? left : 100);
    }
    signal_tree(c, 0, &k); /* reaps members that turned into zombies meanwhile */
    free(k.v);
    guard_send(GUARD_DEL_LEADER, c->pid, 0);
    if (alive > 0) {
        return -EBUSY;
    }
    return c->reaped && c->status == SPAWN_STATUS_UNKNOWN ? -ECHILD : 0;
}

void spawn_guard_add_leader(pid_t pid)
{
    struct pinfo p;
    if (spawn_proc_read(pid, &p) == 0) {
        guard_send(GUARD_ADD_LEADER, pid, p.start);
    }
}
