/* Child processes with hygiene; see spawn.h for the contract. Starting,
 * waiting and capturing output live here; finding, killing and reaping
 * whole trees and the watchdog in spawn_tree.c.
 *
 * Starting: fork() from a possibly multi-threaded process, so the child
 * runs only async-signal-safe system calls before execve (everything it
 * needs is prepared before the fork). Exec failures come back through a
 * close-on-exec pipe as an errno. */
#include "spawn.h"
#include "spawn_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

int64_t spawn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void spawn_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
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
    /* a subreaper keeps its whole tree below it (kept across execve); if
     * Pixie dies, SIGSTOP holds it there until the watchdog kills the tree.
     * Its own session (so its own group): that group is never orphaned by
     * Pixie's death, which would SIGHUP it once stopped */
    if (setsid() < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_PDEATHSIG, SIGSTOP, 0, 0, 0) != 0) {
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
    if (!o || !o->argv || !o->argv[0] || !o->envp) {
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
        pid = spawn_fork_tracked(); /* registered before anyone can reap it */
        if (pid < 0) {
            rc = pid;
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
            spawn_reap_failed(pid);
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
    /* safe: the pid is ours (unreaped, so not recycled) until c reaps it */
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
    spawn_guard_add_leader(pid);
    return 0;
}

/* ---- waiting ------------------------------------------------------------- */

int spawn_poll_exit(struct spawn_child *c)
{
    if (c->pid <= 0) {
        return -EINVAL;
    }
    return spawn_reap_leader(c, WNOHANG);
}

int spawn_wait(struct spawn_child *c, int timeout_ms)
{
    if (c->pid <= 0) {
        return -EINVAL;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : spawn_now_ms() + timeout_ms;
    int r;
    while ((r = spawn_reap_leader(c, WNOHANG)) == 0) {
        int64_t left = deadline < 0 ? 1000 : deadline - spawn_now_ms();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        if (c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, (int)left);
        } else {
            spawn_sleep_ms(left < 5 ? (int)left : 5);
        }
    }
    return r < 0 ? r : 0;
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

/* What a capture that saw the leader reaped returns: 0, or -ECHILD when
 * its status was lost. */
static int reaped_rc(const struct spawn_child *c)
{
    return c->status == SPAWN_STATUS_UNKNOWN ? -ECHILD : 0;
}

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
        if (!c->reaped) {
            int r = spawn_reap_leader(c, WNOHANG);
            if (r < 0 && !c->reaped) {
                return r;
            }
            exited_at = c->reaped ? spawn_now_ms() : -1;
        }
        int64_t now = spawn_now_ms();
        if (c->reaped && ((c->out_fd < 0 && c->err_fd < 0) || now - exited_at >= LINGER_MS)) {
            return reaped_rc(c);
        }
        int64_t until = deadline_ms > 0 ? deadline_ms : -1;
        if (c->reaped && (until < 0 || exited_at + LINGER_MS < until)) {
            until = exited_at + LINGER_MS;
        }
        if (until >= 0 && now >= until) {
            return c->reaped ? reaped_rc(c) : -ETIMEDOUT;
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
    if (status == SPAWN_STATUS_UNKNOWN) {
        snprintf(buf, size, "exit status unknown");
    } else if (WIFEXITED(status)) {
        snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        snprintf(buf, size, "signal %d (SIG%s)", WTERMSIG(status), name ? name : "?");
    } else {
        snprintf(buf, size, "status %d", status);
    }
}
