/* Process trees of spawned children: the registry of leaders, /proc scans,
 * killing and reaping whole trees, the sweep, and the watchdog. See spawn.h
 * for the contract and docs/architecture.md ("Tool processes").
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GUARD_SLOTS 4096
#define GUARD_MAX_PROCS 65536   /* processes one watchdog scan can hold */
#define GUARD_FREEZE_ROUNDS 50  /* SIGSTOP rounds before SIGKILL regardless */
#define GUARD_ROUNDS 600        /* 5 ms apart: the watchdog gives up after ~3 s */
#define KILL_SETTLE_MS 3000     /* how long SIGKILLed processes get to vanish */
#define ORPHAN_GRACE_MS 500     /* grace left to a tree once its leader is gone */
#define GUARD_EXIT_WAIT_MS 3000 /* for Pixie's exit to complete, after EOF */
#define GUARD_TERM_WAIT_MS 200  /* the same after SIGTERM (Pixie may live on) */
#define WATCHDOG_NAME "pixie-watchdog"

enum { GUARD_ADD_LEADER = 1, GUARD_DEL_LEADER, GUARD_QUIT };

struct guard_msg {
    int32_t op;
    int32_t pid;
    uint64_t start; /* /proc starttime, to refuse a recycled pid */
};

struct pinfo {
    pid_t pid, ppid, pgid;
    char state;
    uint64_t start;
    int mark; /* 1 member, 0 not (yet), -1 never */
};

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

/* ---- reading /proc (async-signal-safe: the watchdog uses it too) ----------- */

/* Parses the decimal number at *s (skipping spaces and a minus sign; only
 * non-negative values are used), advancing *s. */
static uint64_t parse_num(const char **s)
{
    while (**s == ' ' || **s == '-') {
        (*s)++;
    }
    uint64_t v = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++) {
        v = v * 10 + (uint64_t)(**s - '0');
    }
    return v;
}

/* Reads /proc/<pid>/stat into *p (pid, ppid, pgid, state, start time).
 * Returns 0, or -1 when the process is gone or the text is unexpected. */
static int read_pinfo(pid_t pid, struct pinfo *p)
{
    char path[40] = "/proc/", digits[16], buf[1024];
    int nd = 0, k = 6;
    for (unsigned x = (unsigned)pid; nd == 0 || x; x /= 10) {
        digits[nd++] = (char)('0' + x % 10);
    }
    while (nd) {
        path[k++] = digits[--nd];
    }
    memcpy(path + k, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) {
        return -1;
    }
    buf[len] = '\0';
    const char *r = NULL;
    for (ssize_t i = 0; i < len; i++) {
        r = buf[i] == ')' ? buf + i : r;
    }
    if (!r || r[1] != ' ' || !r[2]) {
        return -1;
    }
    /* fields after the name: state(3) ppid(4) pgrp(5) ... starttime(22) */
    p->pid = pid;
    p->state = r[2];
    const char *s = r + 3;
    p->ppid = (pid_t)parse_num(&s);
    p->pgid = (pid_t)parse_num(&s);
    for (int field = 6; field < 22; field++) {
        parse_num(&s);
    }
    p->start = parse_num(&s);
    p->mark = 0;
    return 0;
}

/* Calls fn(ctx, &info) for every process of /proc. Returns 0 or -errno. */
static int proc_each(void (*fn)(void *, const struct pinfo *), void *ctx)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    _Alignas(8) char buf[8192];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            off += reclen;
            pid_t pid = 0;
            for (; *name >= '0' && *name <= '9'; name++) {
                pid = pid * 10 + (*name - '0');
            }
            struct pinfo p;
            if (*name == '\0' && pid > 0 && read_pinfo(pid, &p) == 0) {
                fn(ctx, &p);
            }
        }
    }
    close(fd);
    return 0;
}

static int is_dead(const struct pinfo *p)
{
    return p->state == 'Z' || p->state == 'X' || p->state == 'x';
}

/* Marks (mark = 1) every unmarked (0) process below a member, by ppid. */
static void mark_descendants(struct pinfo *v, int n)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n && v[i].mark == 0; j++) {
                if (v[j].mark == 1 && v[j].pid == v[i].ppid) {
                    v[i].mark = changed = 1;
                }
            }
        }
    }
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
    int rc = proc_each(scan_add, &s);
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
    mark_descendants(v, n);
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
        if (is_dead(&v[i])) {
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

/* ---- the watchdog (system calls only) ------------------------------------------ */

static volatile sig_atomic_t guard_term;

static void guard_on_term(int sig)
{
    (void)sig;
    guard_term = 1;
}

/* Gives this (forked) process its own command line: overwrites the argv
 * strings it shares with Pixie (their bounds from /proc/self/stat) with
 * WATCHDOG_NAME and NULs, so /proc/<pid>/cmdline and `pkill -f` see
 * "pixie-watchdog", never Pixie's arguments. */
static void guard_rename(void)
{
    prctl(PR_SET_NAME, WATCHDOG_NAME, 0, 0, 0);
    char buf[2048];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    if (len <= 0) {
        return;
    }
    buf[len] = '\0';
    const char *s = NULL;
    for (ssize_t i = 0; i < len; i++) {
        s = buf[i] == ')' ? buf + i + 2 : s;
    }
    /* from state (field 3) to arg_start (48) and arg_end (49) */
    uint64_t arg_start = 0, arg_end = 0;
    for (int field = 3; s && *s && field <= 49; field++) {
        uint64_t v = parse_num(&s);
        arg_start = field == 48 ? v : arg_start;
        arg_end = field == 49 ? v : arg_end;
        if (field == 3) {
            s++; /* the state letter */
        }
    }
    if (arg_start == 0 || arg_end <= arg_start) {
        return;
    }
    char *a = (char *)(uintptr_t)arg_start;
    size_t size = (size_t)(arg_end - arg_start);
    memset(a, 0, size);
    memcpy(a, WATCHDOG_NAME,
           size - 1 < sizeof WATCHDOG_NAME - 1 ? size - 1 : sizeof WATCHDOG_NAME - 1);
}

/* The watchdog's scan and the members it has signalled: fixed tables, no
 * allocation. A member stays one when its parent dies (e.g. a stopped
 * leader ended by SIGHUP as its group became orphaned). */
static struct pinfo guard_v[GUARD_MAX_PROCS];
static int guard_n;
static struct guard_msg guard_seen[GUARD_SLOTS];
static int guard_n_seen;

static int guard_was_seen(const struct pinfo *p)
{
    for (int i = 0; i < guard_n_seen; i++) {
        if (guard_seen[i].pid == p->pid && guard_seen[i].start == p->start) {
            return 1;
        }
    }
    return 0;
}

static void guard_add(void *ctx, const struct pinfo *p)
{
    (void)ctx;
    if (guard_n < GUARD_MAX_PROCS) {
        guard_v[guard_n++] = *p;
    }
}

static void guard_sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Ends every tree of the leaders in tab: SIGSTOP to all members until a
 * scan finds no new member and none still running (so none can fork or
 * leave), then SIGKILL until none is left alive. */
static void guard_kill_trees(const struct guard_msg *tab)
{
    pid_t self = getpid();
    int killing = 0, last_live = -1;
    for (int round = 0; round < GUARD_ROUNDS; round++) {
        guard_n = 0;
        proc_each(guard_add, NULL);
        for (int i = 0; i < guard_n; i++) {
            struct pinfo *p = &guard_v[i];
            p->mark = p->pid == self ? -1 : guard_was_seen(p);
            for (int t = 0; t < GUARD_SLOTS && p->mark == 0; t++) {
                if (tab[t].op == GUARD_ADD_LEADER &&
                    ((p->pid == tab[t].pid && p->start == tab[t].start) || p->pgid == tab[t].pid)) {
                    p->mark = 1;
                }
            }
        }
        mark_descendants(guard_v, guard_n);
        int live = 0, running = 0;
        for (int i = 0; i < guard_n; i++) {
            if (guard_v[i].mark == 1 && !is_dead(&guard_v[i])) {
                live++;
                running += guard_v[i].state != 'T' && guard_v[i].state != 't';
            }
        }
        if (live == 0) {
            return;
        }
        if (!killing && ((running == 0 && live == last_live) || round >= GUARD_FREEZE_ROUNDS)) {
            killing = 1;
        }
        last_live = live;
        for (int i = 0; i < guard_n; i++) {
            if (guard_v[i].mark == 1 && !is_dead(&guard_v[i])) {
                kill(guard_v[i].pid, killing ? SIGKILL : SIGSTOP);
                if (guard_n_seen < GUARD_SLOTS && !guard_was_seen(&guard_v[i])) {
                    guard_seen[guard_n_seen++] =
                        (struct guard_msg){0, guard_v[i].pid, guard_v[i].start};
                }
            }
        }
        guard_sleep_ms(5);
    }
}

/* The watchdog's body: only system calls. Never returns. */
static void guard_main(int sock)
{
    static struct guard_msg tab[GUARD_SLOTS];
    static const int quiet[] = {SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    struct sigaction ign = {.sa_handler = SIG_IGN}, term = {.sa_handler = guard_on_term};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        sigaction(quiet[i], &ign, NULL);
    }
    sigaction(SIGTERM, &term, NULL); /* no SA_RESTART: recv returns EINTR */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    guard_rename();
    int null = open("/dev/null", O_RDWR);
    if (dup2(sock, 3) < 0) {
        _exit(1);
    }
    for (int fd = 0; fd < 3 && null >= 0; fd++) {
        dup2(null, fd);
    }
    close_range(4, ~0U, 0);
    /* Pixie's pidfd: when Pixie dies, its exit must be complete before a
     * leader is stopped (else its group, orphaned with a stopped member,
     * gets SIGHUP) */
    int pixie = (int)syscall(SYS_pidfd_open, getppid(), 0);
    struct guard_msg m;
    while (!guard_term) {
        ssize_t r = recv(3, &m, sizeof m, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break; /* Pixie is gone */
        }
        if (r != (ssize_t)sizeof m) {
            continue;
        }
        if (m.op == GUARD_QUIT) {
            _exit(0); /* an orderly exit: Pixie stops its tools itself */
        }
        for (int i = 0; i < GUARD_SLOTS; i++) {
            if (m.op == GUARD_ADD_LEADER && tab[i].op == 0) {
                tab[i] = m;
                break;
            }
            if (m.op == GUARD_DEL_LEADER && tab[i].op == GUARD_ADD_LEADER && tab[i].pid == m.pid) {
                tab[i].op = 0;
            }
        }
    }
    if (pixie >= 0) {
        struct pollfd p = {pixie, POLLIN, 0};
        while (poll(&p, 1, guard_term ? GUARD_TERM_WAIT_MS : GUARD_EXIT_WAIT_MS) < 0 &&
               errno == EINTR) {
        }
    }
    guard_kill_trees(tab);
    _exit(0);
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
        guard_main(sv[1]);
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
    mark_descendants(v, n);
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        if (p->mark != 1) {
            continue;
        }
        struct pinfo now;
        if (is_dead(p)) {
            reaped += p->ppid == self && reap_untracked_locked(p->pid);
        } else if (read_pinfo(p->pid, &now) == 0 && now.start == p->start) {
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
    if (read_pinfo(pid, &p) == 0) {
        guard_send(GUARD_ADD_LEADER, pid, p.start);
    }
}
