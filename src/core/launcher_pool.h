/* The launcher's pool, private to launcher.c and launcher_pool.c: the
 * objects, their locks and the two threads.
 *
 * A slot per tool id (never freed) holds the locks that serialise starts
 * and, for concurrent:false tools, runs, and points to the current ready
 * instance. An instance is one process, reference-counted: the pool (while
 * it is its slot's instance), the I/O thread (while it reads its pipes) and
 * every caller using it.
 *
 * Ownership of an instance's spawn_child: the I/O thread creates it and
 * keeps its own copies of the pipes and the pidfd; whoever removes the
 * instance from the pool (a stop, a timed-out run, the reaper, a failed
 * start) kills and reaps its tree. Only one thread ever removes it.
 *
 * Every field of the pool is under pool_lock unless said otherwise. */
#ifndef PIXIE_LAUNCHER_POOL_H
#define PIXIE_LAUNCHER_POOL_H

#include "launcher.h"
#include "mask.h"
#include "spawn.h"

#include <pthread.h>
#include <stdint.h>

#define READY_TIMEOUT_MS 30000 /* the timings of SPEC §4.2 */
#define PROBE_TIMEOUT_MS 1000
#define TAIL_SIZE 4096
#define IDLE_FLUSH_MS 200
#define REAPER_TICK_MS 500
#define SWEEP_MIN_GAP_MS 50 /* at most 20 /proc scans a second */
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

struct inst { /* one process; see above */
    int refs;
    struct slot *slot;
    struct spawn_child child;
    int spawn_rc; /* set by the I/O thread: 0 or -errno; 1 = pending */
    int port;
    uint64_t sig;
    double started_at, last_used_wall;
    int64_t last_used_ms;
    int busy;
    int in_pool;
    int exited;  /* the I/O thread saw the leader exit */
    int io_done; /* the I/O thread is finished with the pipes */
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
    struct inst *inst; /* current ready instance, under pool_lock */
    unsigned stop_gen; /* bumped by stop: a start in progress gives up */
    struct ring tail;  /* output of every instance, under pool_lock */
    struct slot *next;
};

extern pthread_mutex_t pool_lock;
extern pthread_cond_t pool_cond;        /* an instance's state changed */
extern pthread_cond_t pool_reaper_cond; /* work for the reaper */
extern struct slot *pool_slots;
extern struct inst *pool_jobs; /* spawn requests for the I/O thread */
extern int pool_warm_max;
extern launcher_output_fn pool_out_fn;
extern void *pool_out_ctx;
extern int pool_shutting_down;
extern int pool_sweep_wanted; /* a run ended: sweep soon */

/* Creates the eventfd and starts the I/O and reaper threads (signals
 * blocked in them). Returns 0 or -errno. */
int pool_start(void);

/* 1 once pool_start succeeded. */
int pool_running(void);

/* Ends both threads (after the caller stopped every instance). */
void pool_stop_threads(void);

/* Wakes the I/O thread (new spawn requests, shutdown). Any thread. */
void pool_wake_io(void);

/* CLOCK_REALTIME in seconds. */
double pool_wall_now(void);

/* The ring's content as a malloc'd NUL-terminated string (the caller
 * frees), or NULL; its length in *len when len is not NULL. Lock held. */
char *pool_ring_copy(const struct ring *r, size_t *len);

/* Drops one reference; frees the instance at zero. Lock held / not held. */
void pool_inst_unref_locked(struct inst *in);
void pool_inst_unref(struct inst *in);

/* Takes the instance out of its slot; the caller becomes its remover and
 * inherits the pool's reference. Returns 1 when it was in the pool. Lock held. */
int pool_inst_remove_locked(struct inst *in);

/* Kills the instance's tree (grace_ms of SIGTERM first), waits up to 1 s for
 * the I/O thread to drain its output, drops the caller's reference. Lock
 * not held. */
void pool_inst_kill(struct inst *in, int grace_ms);

/* Number of ready instances in the pool. Lock held. */
int pool_warm_count_locked(void);

/* Waits on pool_cond until *flag is set or ms pass. Lock held. */
void pool_wait_flag_locked(const int *flag, int ms);

#endif
