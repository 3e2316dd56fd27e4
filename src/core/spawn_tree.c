/* Process trees of spawned children: the registry of leaders, /proc scans,
 * killing and reaping whole trees, the sweep, and the watchdog. See spawn.h
 * for the contract and docs/architecture.md ("Tool processes").
 *
 * Finding a tree: /proc/<pid>/stat gives ppid, pgid and state; a tree is the
 * leader's process group, every descendant of the leader or of a group
 * member, and orphans re-parented to us (we are a subreaper) that carry the
 * spawn's marker in /proc/<pid>/environ.
 *
 * Dying with Pixie: each leader has PR_SET_PDEATHSIG(SIGKILL). Descendants
 * do not inherit that, so a watchdog process (forked once, raw system calls
 * only) holds a socket to us and is told every spawned group and every
 * escaped descendant; when the socket reaches EOF (Pixie died, however) it
 * SIGKILLs all of them. */
#include "spawn.h"
#include "spawn_tree.h"

#include "buf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_SLOTS 4096
#define KILL_SETTLE_MS 3000 /* how long SIGKILLed processes get to vanish */

enum { GUARD_ADD_GROUP = 1, GUARD_DEL_GROUP, GUARD_ADD_PID, GUARD_DEL_PID, GUARD_QUIT };

struct guard_msg {
    int32_t op;
    int32_t pid;
    uint64_t start; /* /proc starttime, to refuse a recycled pid */
};

struct pinfo {
    pid_t pid, ppid, pgid;
    char state;
    uint64_t start;
    int mark;
};

/* Registry of leaders we spawned and have not reaped, the watchdog, and the
 * escaped descendants we told the watchdog about. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *tracked;
static size_t n_tracked, cap_tracked;
static struct guard_msg *escaped;
static size_t n_escaped, cap_escaped;
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

/* Tells the watchdog about a group or pid; reg_lock held. */
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

/* Parses the fields we need from the text of /proc/<pid>/stat. */
static int parse_stat(const char *buf, struct pinfo *p)
{
    const char *r = strrchr(buf, ')');
    if (!r || r[1] != ' ') {
        return -1;
    }
    p->state = r[2];
    const char *s = r + 3;
    /* fields after state: ppid(4) pgrp(5) ... starttime(22) */
    unsigned long long v[19];
    for (int i = 0; i < 19; i++) {
        char *end;
        while (*s == ' ') {
            s++;
        }
        long long x = strtoll(s, &end, 10);
        if (end == s) {
            return -1;
        }
        v[i] = (unsigned long long)x;
        s = end;
    }
    p->ppid = (pid_t)v[0];
    p->pgid = (pid_t)v[1];
    p->start = v[18];
    return 0;
}

/* Reads every process of /proc. Returns the count (malloc'd *out, the caller
 * frees) or -errno. */
static int proc_scan(struct pinfo **out)
{
    DIR *d = opendir("/proc");
    if (!d) {
        return -errno;
    }
    size_t n = 0, cap = 0;
    struct pinfo *v = NULL;
    if (buf_grow_array((void **)&v, &cap, 256, sizeof *v) != 0) {
        closedir(d);
        return -ENOMEM;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) {
            continue;
        }
        buf[len] = '\0';
        struct pinfo p = {.pid = (pid_t)atoi(e->d_name)};
        if (parse_stat(buf, &p) != 0) {
            continue;
        }
        if (buf_grow_array((void **)&v, &cap, n + 1, sizeof *v) != 0) {
            break;
        }
        v[n++] = p;
    }
    closedir(d);
    *out = v;
    return (int)n;
}

/* 1 when /proc/<pid>/environ holds the exact entry `marker`. */
static int environ_has(pid_t pid, const char *marker)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    size_t mlen = strlen(marker), cap = 256 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    int found = 0;
    if (buf) {
        ssize_t r;
        while (len < cap && (r = read(fd, buf + len, cap - len)) > 0) {
            len += (size_t)r;
        }
        buf[len] = '\0';
        for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
            if (strlen(buf + i) == mlen && memcmp(buf + i, marker, mlen) == 0) {
                found = 1;
                break;
            }
        }
        free(buf);
    }
    close(fd);
    return found;
}

static int is_dead(const struct pinfo *p)
{
    return p->state == 'Z' || p->state == 'X' || p->state == 'x';
}

/* Members seen in earlier scans of one kill (a zombie's environ is empty,
 * so an orphan found by its marker must be remembered to be reaped). */
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
    if (known_has(k, p)) {
        return;
    }
    if (buf_grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v) != 0) {
        return;
    }
    k->v[k->n++] = (struct guard_msg){0, p->pid, p->start};
}

/* Marks (p->mark = 1) the members of c's tree in v[0..n): its group, known
 * members, orphans with the marker, their descendants. */
static void mark_tree(struct pinfo *v, int n, const struct spawn_child *c, struct known *k)
{
    pid_t self = getpid(), own_group = getpgrp(), lead = c->pid;
    const char *marker = c->marker;
    pthread_mutex_lock(&reg_lock);
    /* a reaped leader's pid may since be another spawn's leader (then no
     * process holds the old group id any more, or the pid were not free) */
    int lead_reused = c->reaped && is_tracked_locked(lead);
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        p->mark = 0;
        if (p->pid == self || ((p->pid != lead || lead_reused) && is_tracked_locked(p->pid))) {
            p->mark = -1; /* never a member: us, the watchdog, other leaders */
        } else if ((!lead_reused && (p->pid == lead || p->pgid == lead)) || known_has(k, p)) {
            p->mark = 1;
        } else if (marker[0] && p->ppid == self && p->pgid != own_group) {
            p->mark = environ_has(p->pid, marker) ? 1 : 0;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            if (v[i].mark != 0) {
                continue;
            }
            for (int j = 0; j < n; j++) {
                if (v[j].mark == 1 && v[j].pid == v[i].ppid) {
                    v[i].mark = 1;
                    changed = 1;
                    break;
                }
            }
        }
    }
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
    struct pinfo *v;
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

/* Async-signal-safe: the start time of pid from /proc, 0 when gone. */
static uint64_t guard_starttime(pid_t pid)
{
    char path[40] = "/proc/", digits[16];
    int nd = 0;
    for (unsigned x = (unsigned)pid; nd == 0 || x; x /= 10) {
        digits[nd++] = (char)('0' + x % 10);
    }
    int k = 6;
    while (nd) {
        path[k++] = digits[--nd];
    }
    memcpy(path + k, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    char buf[1024];
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) {
        return 0;
    }
    buf[len] = '\0';
    char *r = NULL;
    for (ssize_t i = 0; i < len; i++) {
        if (buf[i] == ')') {
            r = buf + i;
        }
    }
    if (!r) {
        return 0;
    }
    int field = 2; /* r points at the end of field 2 */
    uint64_t v = 0;
    for (char *s = r + 1; *s && field <= 22; s++) {
        if (*s == ' ') {
            field++;
        } else if (field == 22 && *s >= '0' && *s <= '9') {
            v = v * 10 + (uint64_t)(*s - '0');
        }
    }
    return v;
}

/* The watchdog's body: only system calls. Never returns. */
static void guard_main(int sock)
{
    static struct guard_msg tab[GUARD_SLOTS];
    static const int quiet[] = {SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        sigaction(quiet[i], &ign, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    prctl(PR_SET_NAME, "pixie-watchdog", 0, 0, 0);
    int null = open("/dev/null", O_RDWR);
    if (dup2(sock, 3) < 0) {
        _exit(1);
    }
    for (int fd = 0; fd < 3 && null >= 0; fd++) {
        dup2(null, fd);
    }
    close_range(4, ~0U, 0);
    struct guard_msg m;
    for (;;) {
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
        if (m.op == GUARD_ADD_GROUP || m.op == GUARD_ADD_PID) {
            for (int i = 0; i < GUARD_SLOTS; i++) {
                if (tab[i].op == 0) {
                    tab[i] = m;
                    break;
                }
            }
        } else {
            int want = m.op == GUARD_DEL_GROUP ? GUARD_ADD_GROUP : GUARD_ADD_PID;
            for (int i = 0; i < GUARD_SLOTS; i++) {
                if (tab[i].op == want && tab[i].pid == m.pid) {
                    tab[i].op = 0;
                }
            }
        }
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < GUARD_SLOTS; i++) {
            if (tab[i].op == GUARD_ADD_GROUP) {
                kill(-tab[i].pid, SIGKILL);
            } else if (tab[i].op == GUARD_ADD_PID && guard_starttime(tab[i].pid) == tab[i].start) {
                kill(tab[i].pid, SIGKILL);
            }
        }
    }
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
    atexit(spawn_shutdown);
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
    struct pinfo *v;
    int n = proc_scan(&v);
    if (n < 0) {
        return n;
    }
    pid_t self = getpid(), own_group = getpgrp();
    int reaped = 0;
    /* our descendants: mark = 1 */
    for (int i = 0; i < n; i++) {
        v[i].mark = v[i].ppid == self ? 1 : 0;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n && !v[i].mark; j++) {
                if (v[j].mark && v[j].pid == v[i].ppid) {
                    v[i].mark = changed = 1;
                }
            }
        }
    }
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        if (!p->mark || p->pgid == own_group || is_tracked_locked(p->pid) ||
            is_tracked_locked(p->pgid)) {
            continue; /* ours to leave, a leader, or covered by its group */
        }
        if (is_dead(p)) {
            reaped += p->ppid == self && reap_untracked_locked(p->pid);
            continue;
        }
        size_t k = 0;
        while (k < n_escaped && !(escaped[k].pid == p->pid && escaped[k].start == p->start)) {
            k++;
        }
        if (k < n_escaped) {
            continue;
        }
        if (buf_grow_array((void **)&escaped, &cap_escaped, n_escaped + 1, sizeof *escaped) != 0) {
            continue;
        }
        escaped[n_escaped++] = (struct guard_msg){GUARD_ADD_PID, p->pid, p->start};
        guard_send_locked(GUARD_ADD_PID, p->pid, p->start);
    }
    /* forget escaped pids that are gone */
    for (size_t k = 0; k < n_escaped;) {
        int live = 0;
        for (int i = 0; i < n && !live; i++) {
            live = v[i].pid == escaped[k].pid && v[i].start == escaped[k].start && !is_dead(&v[i]);
        }
        if (live) {
            k++;
        } else {
            guard_send_locked(GUARD_DEL_PID, escaped[k].pid, 0);
            escaped[k] = escaped[--n_escaped];
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
    guard_send(GUARD_DEL_GROUP, c->pid, 0);
    if (alive > 0) {
        return -EBUSY;
    }
    return c->reaped && c->status == SPAWN_STATUS_UNKNOWN ? -ECHILD : 0;
}

void spawn_guard_add_group(pid_t pgid)
{
    guard_send(GUARD_ADD_GROUP, pgid, 0);
}
