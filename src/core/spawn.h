/* Child processes with hygiene (SPEC §4.2, security-anchors §4): an explicit
 * environment (never environ), a cwd, their own session (so process group), every
 * inherited fd closed except 0-2 (stdin is /dev/null or a pipe), core dumps
 * off, an optional RLIMIT_AS, stdout and stderr on pipes.
 *
 * Trees: each child is a child subreaper, so every descendant stays below it
 * whatever environment, session or process group it chooses; Pixie is one
 * too, so the orphans of a child that died come to us. A tree is found in
 * /proc by ppid chains, never by anything a descendant can change. Death
 * with Pixie: PR_SET_PDEATHSIG(SIGSTOP) on the child and a watchdog process
 * that kills every registered child's whole tree when Pixie dies. Every
 * process Pixie forks must come from spawn_start: a child of ours that no
 * spawn registered is taken for an orphan of a dead tree.
 *
 * All functions return 0 or a negative errno value; they never print or
 * exit. A struct spawn_child is owned by one thread at a time. */
#ifndef PIXIE_SPAWN_H
#define PIXIE_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spawn_opts {
    const char *const *argv;     /* argv[0]: a path, or a name looked up in PATH */
    const char *const *envp;     /* the child's whole environment, NULL-terminated */
    const char *cwd;             /* NULL = Pixie's cwd */
    unsigned long max_memory_mb; /* RLIMIT_AS in MiB, 0 = no limit */
    int stdin_pipe;              /* 1 = stdin is a pipe (in_fd), 0 = /dev/null */
};

struct spawn_child {
    pid_t pid;  /* also the process group id */
    int pidfd;  /* -1 when the kernel has no pidfd_open */
    int out_fd; /* parent end of stdout, O_CLOEXEC|O_NONBLOCK, -1 once closed */
    int err_fd; /* parent end of stderr, same */
    int in_fd;  /* parent end of stdin when stdin_pipe, else -1 */
    int reaped; /* 1 once the leader is gone (waited for, or status lost) */
    int status; /* its wait status once reaped, or SPAWN_STATUS_UNKNOWN */
    int forced; /* 1 when spawn_kill_tree had to SIGKILL something */
};

/* c->status of a leader that someone else reaped: no wait status is
 * negative. Every function that would report the status returns -ECHILD
 * instead; a lost status is never taken for an exit code. */
#define SPAWN_STATUS_UNKNOWN (-1)

/* Starts the process. Returns 0 with *c filled, or -errno: -ENOENT /
 * -EACCES / -ENOEXEC ... when the program cannot be executed (reported by
 * the child before exec; nothing is left running), -EINVAL on bad opts.
 * The caller eventually calls spawn_kill_tree or spawn_wait, then
 * spawn_close. */
int spawn_start(const struct spawn_opts *o, struct spawn_child *c);

/* Waits for the leader to exit for at most timeout_ms (-1 = forever) and
 * reaps it. Returns 0 (c->status set), -ETIMEDOUT, -ECHILD (its status was
 * lost: see SPAWN_STATUS_UNKNOWN), or -errno. */
int spawn_wait(struct spawn_child *c, int timeout_ms);

/* Non-blocking: 1 when the leader has exited (and is then reaped), 0 when
 * it is running, -ECHILD when its status was lost, other -errno on error. */
int spawn_poll_exit(struct spawn_child *c);

/* Stops the whole tree: SIGTERM to the group and to every descendant
 * outside it (by ppid chain; plus our strays, orphans of dead trees), waits
 * up to grace_ms for all of them to go (at most 500 ms more once the leader
 * has exited), then SIGKILL to what is left,
 * and reaps the leader and every re-parented member (c->forced tells
 * whether SIGKILL was needed). On return no process of the tree is alive
 * and none is our zombie. Returns 0, -EBUSY when something outlived
 * SIGKILL, -ECHILD when the leader's status was lost, or -errno. */
int spawn_kill_tree(struct spawn_child *c, int grace_ms);

/* Closes the parent's fds of c (idempotent). Does not signal or reap. */
void spawn_close(struct spawn_child *c);

/* Output callback of spawn_capture: stream is 1 (stdout) or 2 (stderr). */
typedef void (*spawn_chunk_fn)(void *ctx, int stream, const char *data, size_t len);

/* Feeds `in` (may be NULL) to the child's stdin pipe and reads stdout and
 * stderr, passing every chunk to on_chunk, until both pipes reach EOF and
 * the leader has exited, or until deadline_ms (CLOCK_MONOTONIC ms, as
 * spawn_now_ms; <= 0 = none) passes. Returns 0 when finished (leader reaped,
 * c->status set), -ETIMEDOUT at the deadline (the caller kills), -ECHILD
 * when the output was read but the leader's status was lost, -errno. */
int spawn_capture(struct spawn_child *c, const char *in, size_t in_len, int64_t deadline_ms,
                  spawn_chunk_fn on_chunk, void *ctx);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t spawn_now_ms(void);

/* Sleeps ms milliseconds (EINTR-safe). */
void spawn_sleep_ms(int ms);

/* Makes this process a child subreaper and starts the watchdog (once;
 * spawn_start calls it). The watchdog, named pixie-watchdog (comm and
 * command line), kills the trees of every child still registered when
 * Pixie's end of its socket closes (any exit: after an orderly one nothing
 * is registered any more) or when it gets SIGTERM. Returns 0 or -errno. */
int spawn_init(void);

/* Tells the watchdog to quit without killing anything and reaps it.
 * Idempotent. Children spawned afterwards are no longer covered by it. */
void spawn_shutdown(void);

/* Housekeeping for a long-lived thread (call every ~0.5 s): SIGKILLs our
 * strays (children no spawn registered: orphans of a tree whose leader
 * died) and everything below them, and reaps those that are zombies.
 * Returns the number of zombies reaped or -errno. */
int spawn_sweep(void);

/* Describes a wait status for messages: "exit code N" / "signal N (NAME)"
 * / "exit status unknown" (SPAWN_STATUS_UNKNOWN). */
void spawn_describe_status(int status, char *buf, size_t size);

/* Resolves `name` against the ':'-separated `path` (a name containing '/'
 * is returned as is). Returns 0 with the result in buf, or -ENOENT. */
int spawn_resolve(const char *name, const char *path, char *buf, size_t size);

#endif
