/* Child processes with hygiene; see spawn.h for the contract.
 *
 * Starting: fork() from a possibly multi-threaded process, so the child
 * runs only async-signal-safe system calls before execve (everything it
 * needs is prepared before the fork). Exec failures come back through a
 * close-on-exec pipe as an errno.
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

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

int64_t spawn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- registry (callers hold no lock) ------------------------------------ */

static void track_add(pid_t pid)
{
    pthread_mutex_lock(&reg_lock);
    if (n_tracked == cap_tracked) {
        size_t ncap = cap_tracked ? cap_tracked * 2 : 16;
        pid_t *p = realloc(tracked, ncap * sizeof *p);
        if (p) {
            tracked = p;
            cap_tracked = ncap;
        }
    }
    if (n_tracked < cap_tracked) {
        tracked[n_tracked++] = pid;
    }
    pthread_mutex_unlock(&reg_lock);
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

static int is_tracked_locked(pid_t pid)
{
    for (size_t i = 0; i < n_tracked; i++) {
        if (tracked[i] == pid) {
            return 1;
        }
    }
    return 0;
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

/* ---- /proc ----------------------------------------------------------------- */

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
    size_t n = 0, cap = 256;
    struct pinfo *v = malloc(cap * sizeof *v);
    if (!v) {
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
        if (n == cap) {
            struct pinfo *nv = realloc(v, cap * 2 * sizeof *v);
            if (!nv) {
                break;
            }
            v = nv;
            cap *= 2;
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
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 16;
        struct guard_msg *nv = realloc(k->v, ncap * sizeof *nv);
        if (!nv) {
            return;
        }
        k->v = nv;
        k->cap = ncap;
    }
    k->v[k->n++] = (struct guard_msg){0, p->pid, p->start};
}

/* Marks (p->mark = 1) the members of the tree of leader `lead` in v[0..n):
 * its group, known members, orphans with the marker, their descendants. */
static void mark_tree(struct pinfo *v, int n, pid_t lead, const char *marker, struct known *k)
{
    pid_t self = getpid(), own_group = getpgrp();
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < n; i++) {
        struct pinfo *p = &v[i];
        p->mark = 0;
        if (p->pid == self || (p->pid != lead && is_tracked_locked(p->pid))) {
            p->mark = -1; /* never a member: us, the watchdog, other leaders */
        } else if (p->pid == lead || p->pgid == lead || known_has(k, p)) {
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

/* Reaps c's leader if it has exited. Returns 1 when reaped (now or before). */
static int reap_leader(struct spawn_child *c, int flags)
{
    if (c->reaped) {
        return 1;
    }
    int st;
    pid_t r;
    while ((r = waitpid(c->pid, &st, flags)) < 0 && errno == EINTR) {
    }
    if (r == c->pid || (r < 0 && errno == ECHILD)) {
        c->reaped = 1;
        c->status = r == c->pid ? st : 0;
        if (c->pidfd >= 0) {
            close(c->pidfd);
            c->pidfd = -1;
        }
        track_del(c->pid);
        return 1;
    }
    return 0;
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
    mark_tree(v, n, c->pid, c->marker, k);
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
                reap_leader(c, WNOHANG);
            } else if (v[i].ppid == self) {
                waitpid(v[i].pid, NULL, WNOHANG);
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

/* ---- the watchdog --------------------------------------------------------- */

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
    pid_t pid = fork();
    if (pid < 0) {
        init_rc = -errno;
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
    track_add(pid);
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
        sleep_ms(10);
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
            if (p->ppid == self && waitpid(p->pid, NULL, WNOHANG) == p->pid) {
                reaped++;
            }
            continue;
        }
        size_t k = 0;
        while (k < n_escaped && !(escaped[k].pid == p->pid && escaped[k].start == p->start)) {
            k++;
        }
        if (k < n_escaped) {
            continue;
        }
        if (n_escaped == cap_escaped) {
            size_t ncap = cap_escaped ? cap_escaped * 2 : 16;
            struct guard_msg *ne = realloc(escaped, ncap * sizeof *ne);
            if (!ne) {
                continue;
            }
            escaped = ne;
            cap_escaped = ncap;
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

/* ---- starting ------------------------------------------------------------- */

int spawn_resolve(const char *name, const char *path, char *buf, size_t size)
{
    if (strchr(name, '/')) {
        if (strlen(name) >= size) {
            return -ENAMETOOLONG;
        }
        strcpy(buf, name);
        return 0;
    }
    if (!path || !*path) {
        path = "/usr/local/bin:/usr/bin:/bin";
    }
    while (*path) {
        const char *end = strchr(path, ':');
        size_t dlen = end ? (size_t)(end - path) : strlen(path);
        if (dlen > 0 && (size_t)snprintf(buf, size, "%.*s/%s", (int)dlen, path, name) < size) {
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) {
                return 0;
            }
        }
        path += dlen + (end ? 1 : 0);
    }
    return -ENOENT;
}

/* Moves fd to a number >= 3 (so dup2 onto 0-2 in the child cannot clobber
 * another pipe end). Returns the fd or -1. */
static int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > 2) {
        return fd;
    }
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return nfd;
}

/* In the child: makes `from` the descriptor `to`, without close-on-exec. */
static int child_move_fd(int from, int to)
{
    if (from == to) {
        return fcntl(to, F_SETFD, 0);
    }
    return dup2(from, to) < 0 ? -1 : 0;
}

struct child_plan {
    const char *path, *cwd;
    char *const *argv, *const *envp;
    int in_fd, out_fd, err_fd, report_fd;
    pid_t parent;
    struct rlimit as, core;
    int limit_as;
};

/* Runs in the forked child: system calls only, then execve. */
static void child_exec(const struct child_plan *p)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP) {
            sigaction(s, &dfl, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int err = 0;
    if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        err = errno;
    } else if (getppid() != p->parent) {
        _exit(127); /* Pixie died before the death signal was armed */
    } else if (setrlimit(RLIMIT_CORE, &p->core) != 0 ||
               (p->limit_as && setrlimit(RLIMIT_AS, &p->as) != 0)) {
        err = errno;
    } else if (child_move_fd(p->in_fd, 0) != 0 || child_move_fd(p->out_fd, 1) != 0 ||
               child_move_fd(p->err_fd, 2) != 0) {
        err = errno;
    } else if (p->cwd && chdir(p->cwd) != 0) {
        err = errno;
    } else {
        /* close-on-exec for every fd >= 3, so the report pipe lives until exec */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            if (p->report_fd > 3) {
                close_range(3, (unsigned)p->report_fd - 1, 0);
            }
            close_range((unsigned)p->report_fd + 1, ~0U, 0);
        }
        execve(p->path, p->argv, p->envp);
        err = errno;
    }
    while (write(p->report_fd, &err, sizeof err) < 0 && errno == EINTR) {
    }
    _exit(127);
}

static const char *env_lookup(const char *const *envp, const char *key)
{
    size_t klen = strlen(key);
    for (; *envp; envp++) {
        if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=') {
            return *envp + klen + 1;
        }
    }
    return NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int spawn_start(const struct spawn_opts *o, struct spawn_child *c)
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->pidfd = c->out_fd = c->err_fd = c->in_fd = -1;
    if (!o || !o->argv || !o->argv[0] || !o->envp ||
        (o->marker && strlen(o->marker) >= sizeof c->marker)) {
        return -EINVAL;
    }
    int rc = spawn_init();
    if (rc != 0) {
        return rc;
    }
    char path[PATH_MAX];
    rc = spawn_resolve(o->argv[0], env_lookup(o->envp, "PATH"), path, sizeof path);
    if (rc != 0) {
        return rc;
    }
    if (o->marker) {
        strcpy(c->marker, o->marker);
    }
    int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, rep[2] = {-1, -1};
    rc = 0;
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) {
        rc = -errno;
    } else if (o->stdin_pipe) {
        /* a socket, so writing to a child that closed stdin gives EPIPE, not SIGPIPE */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
            rc = -errno;
        }
    } else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = -errno;
    }
    int *fds[] = {&out[0], &out[1], &err[0], &err[1], &in[0], &in[1], &rep[0], &rep[1]};
    for (size_t i = 0; rc == 0 && i < sizeof fds / sizeof fds[0]; i++) {
        if ((*fds[i] = fd_above_stdio(*fds[i])) < 0 && i != 5) {
            rc = -EMFILE;
        }
    }
    struct child_plan plan = {
        .path = path,
        .cwd = o->cwd,
        .argv = (char *const *)o->argv,
        .envp = (char *const *)o->envp,
        .in_fd = in[0],
        .out_fd = out[1],
        .err_fd = err[1],
        .report_fd = rep[1],
        .parent = getpid(),
        .core = {0, 0},
        .limit_as = o->max_memory_mb > 0,
    };
    plan.as.rlim_cur = plan.as.rlim_max = (rlim_t)o->max_memory_mb * 1024 * 1024;
    pid_t pid = -1;
    if (rc == 0) {
        pid = fork();
        if (pid < 0) {
            rc = -errno;
        } else if (pid == 0) {
            child_exec(&plan);
        }
    }
    close_fd(&out[1]);
    close_fd(&err[1]);
    close_fd(&in[0]);
    close_fd(&rep[1]);
    if (rc == 0) {
        int child_err = 0;
        ssize_t r;
        while ((r = read(rep[0], &child_err, sizeof child_err)) < 0 && errno == EINTR) {
        }
        if (r != 0) {
            /* the child reported an errno (or vanished): nothing was executed */
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
            rc = r == (ssize_t)sizeof child_err && child_err ? -child_err : -ECHILD;
        }
    }
    close_fd(&rep[0]);
    if (rc != 0) {
        close_fd(&out[0]);
        close_fd(&err[0]);
        close_fd(&in[1]);
        return rc;
    }
    c->pid = pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (c->pidfd >= 0 && c->pidfd < 3) {
        c->pidfd = fd_above_stdio(c->pidfd);
    }
    c->out_fd = out[0];
    c->err_fd = err[0];
    c->in_fd = o->stdin_pipe ? in[1] : -1;
    fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
    if (c->in_fd >= 0) {
        fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
    }
    track_add(pid);
    guard_send(GUARD_ADD_GROUP, pid, 0);
    return 0;
}

/* ---- waiting, killing ------------------------------------------------------ */

int spawn_poll_exit(struct spawn_child *c)
{
    if (c->pid <= 0) {
        return -EINVAL;
    }
    return reap_leader(c, WNOHANG);
}

int spawn_wait(struct spawn_child *c, int timeout_ms)
{
    if (c->pid <= 0) {
        return -EINVAL;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : spawn_now_ms() + timeout_ms;
    while (!reap_leader(c, WNOHANG)) {
        int64_t left = deadline < 0 ? 1000 : deadline - spawn_now_ms();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        if (c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, (int)left);
        } else {
            sleep_ms(left < 5 ? (int)left : 5);
        }
    }
    return 0;
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
            reap_leader(c, WNOHANG);
        } else {
            sleep_ms(step > 0 ? step : 1);
        }
        alive = signal_tree(c, 0, &k);
    }
    int64_t settle = spawn_now_ms() + KILL_SETTLE_MS;
    c->forced = alive > 0;
    while (alive != 0 && spawn_now_ms() < settle) {
        alive = signal_tree(c, SIGKILL, &k);
        if (alive != 0) {
            sleep_ms(2);
        }
    }
    if (!c->reaped) {
        int left = (int)(settle - spawn_now_ms());
        spawn_wait(c, left > 100 ? left : 100);
    }
    signal_tree(c, 0, &k); /* reaps members that turned into zombies meanwhile */
    free(k.v);
    guard_send(GUARD_DEL_GROUP, c->pid, 0);
    return alive > 0 ? -EBUSY : 0;
}

void spawn_close(struct spawn_child *c)
{
    close_fd(&c->out_fd);
    close_fd(&c->err_fd);
    close_fd(&c->in_fd);
    if (c->pidfd >= 0 && c->reaped) {
        close_fd(&c->pidfd);
    }
}

/* ---- capturing output ------------------------------------------------------ */

#define LINGER_MS 500 /* output still arriving after the leader exited */

/* Reads what is available on *fd; closes it at EOF. */
static void pump(int *fd, int stream, spawn_chunk_fn on_chunk, void *ctx)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r > 0) {
            if (on_chunk) {
                on_chunk(ctx, stream, buf, (size_t)r);
            }
            if ((size_t)r < sizeof buf) {
                return;
            }
        } else if (r == 0) {
            close_fd(fd);
            return;
        } else if (errno != EINTR) {
            if (errno != EAGAIN) {
                close_fd(fd);
            }
            return;
        }
    }
}

int spawn_capture(struct spawn_child *c, const char *in, size_t in_len, int64_t deadline_ms,
                  spawn_chunk_fn on_chunk, void *ctx)
{
    size_t in_off = 0;
    if (!in) {
        close_fd(&c->in_fd);
    }
    int64_t exited_at = c->reaped ? spawn_now_ms() : -1;
    for (;;) {
        if (!c->reaped && reap_leader(c, WNOHANG)) {
            exited_at = spawn_now_ms();
        }
        int64_t now = spawn_now_ms();
        if (c->reaped && ((c->out_fd < 0 && c->err_fd < 0) || now - exited_at >= LINGER_MS)) {
            return 0;
        }
        int64_t until = deadline_ms > 0 ? deadline_ms : -1;
        if (c->reaped && (until < 0 || exited_at + LINGER_MS < until)) {
            until = exited_at + LINGER_MS;
        }
        if (until >= 0 && now >= until) {
            return c->reaped ? 0 : -ETIMEDOUT;
        }
        struct pollfd p[4];
        int np = 0, io = -1, ie = -1, ii = -1, ip = -1;
        if (c->out_fd >= 0) {
            io = np;
            p[np++] = (struct pollfd){c->out_fd, POLLIN, 0};
        }
        if (c->err_fd >= 0) {
            ie = np;
            p[np++] = (struct pollfd){c->err_fd, POLLIN, 0};
        }
        if (c->in_fd >= 0) {
            ii = np;
            p[np++] = (struct pollfd){c->in_fd, POLLOUT, 0};
        }
        if (!c->reaped && c->pidfd >= 0) {
            ip = np;
            p[np++] = (struct pollfd){c->pidfd, POLLIN, 0};
        }
        int timeout = until < 0 ? -1 : (int)(until - now);
        if (!c->reaped && c->pidfd < 0 && (timeout < 0 || timeout > 10)) {
            timeout = 10;
        }
        if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR) {
            return -errno;
        }
        if (io >= 0 && p[io].revents) {
            pump(&c->out_fd, 1, on_chunk, ctx);
        }
        if (ie >= 0 && p[ie].revents) {
            pump(&c->err_fd, 2, on_chunk, ctx);
        }
        if (ii >= 0 && p[ii].revents) {
            ssize_t w = in_off < in_len ? send(c->in_fd, in + in_off, in_len - in_off,
                                               MSG_NOSIGNAL | MSG_DONTWAIT)
                                        : 0;
            if (w > 0) {
                in_off += (size_t)w;
            }
            if (in_off >= in_len || (w < 0 && errno != EAGAIN && errno != EINTR)) {
                close_fd(&c->in_fd);
            }
        }
        (void)ip;
    }
}

void spawn_describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        snprintf(buf, size, "signal %d (SIG%s)", WTERMSIG(status), name ? name : "?");
    } else {
        snprintf(buf, size, "status %d", status);
    }
}
