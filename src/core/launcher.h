/* The warm pool of tool processes (SPEC §4.1-§4.2). Process-wide, thread-
 * safe: any thread may call these functions; a wait for one tool never
 * blocks calls for another.
 *
 * Threads inside: the I/O thread creates every tool process (so the
 * parent-death signal is tied to a thread that lives as long as Pixie),
 * reads all tool output, masks it per stream and passes it to the output
 * callback; the reaper thread evicts idle tools (warm_keep_seconds, LRU cap)
 * and cleans up tools that died, and sweeps escaped descendants.
 *
 * A tool is started as `<python> <entrypoint> --port N` in its folder with
 * exactly the environment given (built by the caller, see childenv.lua),
 * its own process group, RLIMIT_AS from max_memory_mb. Errors come back as
 * a negative errno plus a message appended to the caller's buffer `err`
 * (may be NULL; nothing is appended on success) that may quote the tool's
 * masked output, never unmasked. Bytes a call produces (response bodies,
 * the output tail) are appended to a caller's buffer `out`, only on
 * success. */
#ifndef PIXIE_LAUNCHER_H
#define PIXIE_LAUNCHER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

struct launcher_tool {
    const char *id;         /* tool id */
    const char *dir;        /* tool folder: the child's cwd */
    const char *python;     /* interpreter path */
    const char *entrypoint; /* e.g. "main.py", relative to dir */
    const char *const *env; /* NULL-terminated "KEY=VALUE": the whole environment */
    unsigned max_memory_mb; /* RLIMIT_AS, 0 = none */
    unsigned max_runtime_seconds;
    unsigned warm_keep_seconds;
    int concurrent; /* 0 = one run at a time */
};

/* Output callback: called from the I/O thread with masked text of one
 * stream ("stdout" / "stderr") of the tool's process, then once with text
 * NULL (len 0) when that stream has ended (its pipe closed). Text held back
 * by the masker as a possible start of a secret is passed on only when
 * more output shows it is none, or at the end: never after a pause. Must
 * not call back into the launcher. */
typedef void (*launcher_output_fn)(void *ctx, const char *tool_id, const char *stream,
                                   const char *text, size_t len);

/* Starts the launcher's threads (once; later calls only succeed). Returns 0
 * or -errno. Every other function calls it. */
int launcher_init(void);

/* Sets the output callback (NULL = drop; output is still masked into the
 * tail kept for error messages). */
void launcher_set_output(launcher_output_fn fn, void *ctx);

/* At most `n` (>= 1) warm tools; least recently used idle ones are evicted. */
void launcher_set_warm_max(int n);

/* Ensures a warm, healthy process for t. *port / *pid describe it;
 * *started is 1 when this call spawned it (the caller may then compare
 * /schema). Returns 0 or -errno with a message in err: -EINVAL (t
 * incomplete), -ENOENT/-EACCES (interpreter), -ECHILD (the process exited
 * before it was healthy: its exit status and masked output tail are in the
 * message), -ETIMEDOUT (no healthy /healthz in 30 s), -EINTR (Ctrl-C, see
 * interrupt.h), -ECANCELED (stopped while starting), -ENOMEM. */
int launcher_start(const struct launcher_tool *t, int *port, pid_t *pid, int *started,
                   struct buf *err);

struct launcher_result {
    long status;   /* HTTP status of /run, 0 when there was no answer */
    int timed_out; /* deadline passed: the tool's whole tree was killed */
    int started;   /* this run spawned the process */
    int port;
    pid_t pid;
};

/* POST /run with `body` (JSON) and extra headers ("Name: value", NULL-
 * terminated, may be NULL) to a warm process of t, starting it when needed.
 * deadline_ms bounds the request (<= 0: (max_runtime_seconds + 5) s); when
 * it passes the tool's process tree is killed and the call returns -ETIMEDOUT
 * with res->timed_out = 1. Tools with concurrent = 0 run one at a time.
 * Returns 0 when the tool answered (any status), its response body appended
 * to `out`; else -errno (launcher_start's, -ETIMEDOUT, the transport's, or
 * out's error when the body did not fit) with a message in err and nothing
 * appended to out. *res is filled in either case. */
int launcher_run(const struct launcher_tool *t, const char *body, size_t len,
                 const char *const *headers, long deadline_ms, struct launcher_result *res,
                 struct buf *out, struct buf *err);

/* GET `path` (e.g. "/schema") from the warm process of tool_id. Returns 0
 * with *status set and the response body appended to `body`; -ESRCH when
 * the tool is not warm, or another -errno (the transport's, body's error),
 * with a message in err and nothing appended to body. */
int launcher_get(const char *tool_id, const char *path, long timeout_ms, long *status,
                 struct buf *body, struct buf *err);

/* POST of `post` (JSON, len bytes; NULL: empty) to `path` (e.g.
 * "/cancel?run_id=...") of the warm process of tool_id; otherwise as
 * launcher_get. */
int launcher_post(const char *tool_id, const char *path, const char *post, size_t len,
                  long timeout_ms, long *status, struct buf *body, struct buf *err);

/* Receives a streamed body as it arrives; non-zero stops the stream. */
typedef int (*launcher_data_fn)(void *ctx, const char *data, size_t len);

/* GET `path` (e.g. "/stream?run_id=...") from the warm process of tool_id
 * that has pid `pid` (the one that answered the run; 0: any), handing a 2xx
 * body to fn as it arrives (a non-2xx body is appended to `body`). The
 * process counts as busy meanwhile. deadline_ms (> 0) bounds the whole
 * read: when it passes the tool's process tree is killed, *timed_out is 1
 * and -ETIMEDOUT returned. Returns 0 when the tool ended the body (any
 * status, in *status), -ECANCELED when fn stopped it, -ESRCH when that
 * process is not warm, or the transport's -errno; a message in err on
 * failure. */
int launcher_stream(const char *tool_id, pid_t pid, const char *path, long deadline_ms,
                    launcher_data_fn fn, void *ctx, long *status, int *timed_out, struct buf *body,
                    struct buf *err);

/* Stops the warm process of tool_id: SIGTERM to its tree, grace_ms, then
 * SIGKILL; returns when nothing of it is left. Returns 0 when it was not
 * running, 1 when it was stopped by SIGTERM, 2 when SIGKILL was needed. */
int launcher_stop(const char *tool_id, int grace_ms);

/* Stops every warm tool (in parallel) and waits for all of them. */
void launcher_stop_all(int grace_ms);

struct launcher_state_row {
    char tool_id[128];
    pid_t pid;
    int port;
    double started_at; /* seconds since the epoch */
    double last_used;  /* seconds since the epoch */
    int busy;          /* runs in flight */
};

/* Snapshot of the warm pool. *rows is malloc'd (the caller frees), *n rows.
 * Returns 0 or -ENOMEM. */
int launcher_state(struct launcher_state_row **rows, size_t *n);

/* A counter that moves whenever launcher_state's answer may change (a tool
 * becomes warm or stops, a run starts or ends); any thread. */
uint64_t launcher_state_generation(void);

/* Appends to `out` the masked tail (last few KiB) of the output of
 * tool_id's current or most recent process. Returns 0, -ESRCH when the tool
 * is unknown, or -ENOMEM (or out's error); nothing is appended on failure. */
int launcher_tail(const char *tool_id, struct buf *out);

/* stop_all with a 5 s grace and ends the threads; for process exit. */
void launcher_shutdown(void);

#endif
