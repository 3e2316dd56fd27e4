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
 * The pool's state (the slot list, spawn requests, the output callback, the
 * warm cap, shutdown) is private to launcher_pool.c; launcher.c reaches it
 * through the functions below. */
#ifndef PIXIE_LAUNCHER_POOL_H
#define PIXIE_LAUNCHER_POOL_H

#include "launcher.h"
#include "spawn.h"

#include <pthread.h>
#include <stdint.h>

#define TAIL_SIZE 4096      /* masked output kept per instance and per tool */
#define EVICT_GRACE_MS 3000 /* SIGTERM grace of a stale or evicted instance */

struct ring {
    char data[TAIL_SIZE];
    size_t start, len;
};

struct slot;
struct mask_stream;

struct inst { /* one process; see above */
    int refs;
    struct slot *slot;
    struct spawn_child child;
    int port;
    uint64_t sig;
    double started_at, last_used_wall;
    int64_t last_used_ms;
    int busy;
    int in_pool;
    int exited;     /* the I/O thread saw the leader exit */
    int io_done;    /* the I/O thread is finished with the pipes */
    int io_abandon; /* the tree is dead: stop reading pipes someone else holds */
    unsigned warm_keep_seconds;
    struct ring tail;
    /* the pool's own: launcher_pool.c only */
    int spawn_rc;                   /* 0 or -errno; 1 = pending */
    const struct spawn_opts *spawn; /* the request, during pool_inst_spawn */
    int io_fd[2], io_pidfd;         /* the I/O thread's descriptors */
    struct mask_stream *mask[2];
    struct inst *next_job, *next_io;
};

struct slot {
    char *id;
    pthread_mutex_t start_lock, run_lock;
    struct inst *inst; /* current ready instance, under the pool lock */
    unsigned stop_gen; /* bumped by stop: a start in progress gives up */
    struct ring tail;  /* output of every instance, under the pool lock */
    struct slot *next;
};

/* The pool lock: every field above is under it unless said otherwise. */
void pool_lock(void);
void pool_unlock(void);

/* Creates the eventfd and starts the I/O and reaper threads (signals
 * blocked in them). Returns 0 or -errno. */
int pool_start(void);

/* 1 after pool_start succeeded and before a shutdown began. Lock held. */
int pool_running_locked(void);

/* Ends both threads (after the caller stopped every instance). */
void pool_stop_threads(void);

/* The output callback and the warm cap (launcher_set_output and
 * launcher_set_warm_max). Lock not held. */
void pool_set_output(launcher_output_fn fn, void *ctx);
void pool_set_warm_max(int n);

/* The slot of tool `id`, created when missing (slots are never freed);
 * NULL when out of memory. Lock not held. */
struct slot *pool_slot_get(const char *id);

/* The slot of `id`, or NULL. Lock held. */
struct slot *pool_slot_find_locked(const char *id);

/* The first slot (the others follow ->next). Lock held. */
struct slot *pool_slots_locked(void);

/* Number of ready instances in the pool. Lock held. */
int pool_warm_count_locked(void);

/* Marks that what launcher_state shows (a slot's instance, its busy count)
 * changed: call after changing it. Lock held. */
void pool_state_changed_locked(void);

/* The counter pool_state_changed_locked moves; any thread, no lock. */
uint64_t pool_state_generation(void);

/* A new instance of slot (not in the pool, no process yet) with one
 * reference for the caller, or NULL when out of memory. */
struct inst *pool_inst_new(struct slot *slot, int port, uint64_t sig);

/* Has the I/O thread start in's process as `o` describes (o need only live
 * during the call) and waits for it. Returns 0, or the -errno of
 * spawn_start (then nothing runs). Lock not held. */
int pool_inst_spawn(struct inst *in, const struct spawn_opts *o);

/* Drops one reference; frees the instance at zero. Lock held / not held. */
void pool_inst_unref_locked(struct inst *in);
void pool_inst_unref(struct inst *in);

/* Takes the instance out of its slot; the caller becomes its remover and
 * inherits the pool's reference. Returns 1 when it was in the pool. Lock held. */
int pool_inst_remove_locked(struct inst *in);

/* Kills the instance's tree (grace_ms of SIGTERM first), gives the I/O
 * thread up to 1 s to drain its output, then has it close the pipes (a
 * process outside the tree may hold their other ends), drops the caller's
 * reference. Never waits for a pipe's EOF. Lock not held. */
void pool_inst_kill(struct inst *in, int grace_ms);

/* A run on in ended: one less busy, used now, and the reaper sweeps soon
 * (runs tend to leave processes behind). Lock held. */
void pool_run_done_locked(struct inst *in);

/* Wakes the reaper (an instance joined: the LRU cap may apply). Lock held. */
void pool_wake_reaper_locked(void);

/* Waits until *flag is set (by a change of an instance's state) or ms
 * pass. Lock held. */
void pool_wait_flag_locked(const int *flag, int ms);

/* CLOCK_REALTIME in seconds. */
double pool_wall_now(void);

/* The ring's content as a malloc'd NUL-terminated string (the caller
 * frees), or NULL; its length in *len when len is not NULL. Lock held. */
char *pool_ring_copy(const struct ring *r, size_t *len);

#endif
