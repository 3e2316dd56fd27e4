/* The event board (docs/dashboard-api.md §3): a process-wide, thread-safe table of
 * entries keyed by a string (a run id, "validate:<tool>"). Producers
 * publish named events to an entry and finish it with a status and a body;
 * readers stream an entry's events as Server-Sent Events text, awaiters
 * wait for its finish. Nobody blocks a thread inside the board: a reader
 * that finds nothing new registers a waiter whose `arm` hook runs under
 * the board's lock (the server suspends its connection there) and whose
 * `wake` hook runs, also under the lock, when the entry changes (the
 * server resumes the connection). Hooks must not call back into the board.
 *
 * Limits: each entry keeps up to BOARD_HISTORY_MAX bytes of event data
 * (older events dropped; a reader that missed some gets `event: gap`);
 * finished entries are kept BOARD_KEEP_SECONDS, and at most BOARD_KEYS_MAX
 * entries exist (the oldest finished go first).
 * Errors: negative errno with a message appended to the caller's `err`
 * (may be NULL). */
#ifndef PIXIE_BOARD_H
#define PIXIE_BOARD_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define BOARD_HISTORY_MAX (4u * 1024 * 1024)
#define BOARD_KEEP_SECONDS 300
#define BOARD_KEYS_MAX 1024
#define BOARD_KEY_MAX 256 /* longest key, bytes */

/* Opens entry `key` (1..BOARD_KEY_MAX bytes, no NUL): a new, empty,
 * running entry replacing a finished one of that key. Returns 0, -EEXIST
 * (open and unfinished), -EINVAL (bad key), -ENOSPC (BOARD_KEYS_MAX
 * running entries) or -ENOMEM. */
int board_open(const char *key, struct buf *err);

/* Appends event `event` ([a-z_]{1,32}) with data[0, len) to the running
 * entry `key` and wakes its waiters. Returns 0, -ENOENT (no such entry),
 * -EALREADY (finished), -EINVAL (bad event name) or -ENOMEM. */
int board_publish(const char *key, const char *event, const char *data, size_t len,
                  struct buf *err);

/* Finishes the running entry `key` with an HTTP status (100..599) and
 * body[0, len), and wakes its waiters. Returns 0, -ENOENT, -EALREADY,
 * -EINVAL (status) or -ENOMEM. */
int board_finish(const char *key, int status, const char *body, size_t len, struct buf *err);

/* Sets the cancel flag of `key`: 1 when it is open and unfinished, else 0. */
int board_cancel(const char *key);

/* 1 when `key` exists and its cancel flag is set, else 0. */
int board_cancelled(const char *key);

enum board_state {
    BOARD_NONE = 0,
    BOARD_RUNNING = 1,
    BOARD_FINISHED = 2,
};

/* The state of `key`. */
enum board_state board_state(const char *key);

/* A reader's or awaiter's wakeup hooks; zero it before first use. Owned by
 * the caller, who must keep it alive while it is registered (until `wake`
 * ran or board_waiter_drop returned). */
struct board_waiter {
    void (*arm)(void *ctx);  /* under the lock, right after registering */
    void (*wake)(void *ctx); /* under the lock, once, after unregistering */
    void *ctx;
    int idle_wake; /* caller's: 1 lets board_wake_idle wake it */
    int idled;     /* set (before the wake) when board_wake_idle woke it;
                      the caller clears it */
    /* board's own */
    struct board_waiter *prev, *next;
    void *entry;
    double armed_at;
};

/* Unregisters w if it is still registered (its wake will not run). */
void board_waiter_drop(struct board_waiter *w);

/* Wakes every registered waiter with idle_wake set that has waited
 * `seconds` or more, setting its `idled` flag first (a stream's heartbeat:
 * the woken reader writes a comment and waits again). Returns how many. */
int board_wake_idle(double seconds);

/* A reader of one entry: holds the entry (even after it leaves the table)
 * and a cursor into its events. */
struct board_reader;

/* A reader of `key` from the first event; NULL when there is no such entry
 * (*rc = -ENOENT) or no memory (*rc = -ENOMEM). */
struct board_reader *board_reader_new(const char *key, int *rc);

enum board_read {
    BOARD_READ_DATA = 1, /* text appended to out */
    BOARD_READ_WAIT = 2, /* nothing new: w registered and armed */
    BOARD_READ_END = 3,  /* everything, the final event included, was read */
};

/* Appends to `out` the SSE text of what the reader has not seen: an
 * `event: gap` (data: the number of events missed) when events it had not
 * read were dropped, every event still kept ("event: NAME" and one "data:"
 * line per line of the data, CR, LF and CRLF all ending lines), then, once
 * the entry is finished, `event: final` with the body. Returns DATA when
 * something was appended; else END when the final event was already read;
 * else registers w (when not NULL), calls its arm hook and returns WAIT.
 * Returns -ENOMEM (out's error) with the cursor unchanged. */
int board_reader_read(struct board_reader *r, struct buf *out, struct board_waiter *w);

/* Frees the reader (drops a waiter of it first: pass it, or NULL). */
void board_reader_free(struct board_reader *r, struct board_waiter *w);

/* An awaiter of `key`'s finish. When the entry is finished: its status
 * and body (appended to `body`) and returns BOARD_FINISHED. When it runs:
 * registers w, calls its arm hook and returns BOARD_RUNNING (call again
 * after the wake). Returns BOARD_NONE when there is no such entry, or
 * -ENOMEM. */
int board_await(const char *key, int *status, struct buf *body, struct board_waiter *w);

/* Wakes every registered waiter and makes later reads end (END) and awaits
 * not wait (BOARD_NONE) while `closing` is 1; 0 undoes it. For shutdown. */
void board_set_closing(int closing);

/* Tests only: removes every entry (readers keep theirs) and resets the
 * clock override. */
void board_reset(void);

/* Tests only: a fake clock in seconds (0: the real monotonic clock). */
void board_set_clock(double seconds);

#endif
