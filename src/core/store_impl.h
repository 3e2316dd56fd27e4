/* Internals shared by store.c (opening, ownership, transactions),
 * store_stmt.c (statements) and store_log.c (spawn_log). Not for other
 * files: everything else uses store.h. */
#ifndef PIXIE_STORE_IMPL_H
#define PIXIE_STORE_IMPL_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/types.h>

/* How long a writer waits for pixie.db.lock held by another process. */
#define STORE_WRITE_LOCK_WAIT_MS 30000

struct store_log_entry;
struct store_log_part;

struct store {
    sqlite3 *db; /* the one connection of this process to the file */
    char *path;
    dev_t dev; /* registry key: the file, whatever path named it */
    ino_t ino;
    int refs;           /* guarded by the registry mutex */
    struct store *next; /* registry list */

    /* Ownership of the connection (recursive mutex); the fields below it
     * are touched only by the thread holding it. */
    pthread_mutex_t conn_mu;
    int depth;         /* nesting of store_lock by the holder */
    int tx_depth;      /* nesting of store_begin */
    int allow_control; /* BEGIN/COMMIT/SAVEPOINT from the store or SQLite itself */
    int lock_fd;       /* pixie.db.lock */
    int write_locked;  /* lock_fd is held */
    long spawn_log_cap;
    sqlite3_stmt *log_insert; /* prepared lazily (spawn_log may not exist yet) */
    sqlite3_stmt *log_prune;

    /* spawn_log rows waiting for the connection (store_spawn_log_queue). */
    pthread_mutex_t q_mu;
    struct store_log_entry *q_head, *q_tail;
    struct store_log_part *q_parts; /* unfinished lines, one per tool stream */
    size_t q_bytes;
    unsigned long q_dropped;
    atomic_int q_count; /* entries queued, read without q_mu */
};

/* Maps an SQLite result code (primary or extended) to a negative errno
 * (0 for OK, ROW, DONE). */
int store_sqlite_errno(int rc);

/* Runs a transaction control statement (BEGIN, COMMIT, SAVEPOINT, …) that
 * the authorizer refuses to everyone else. Connection held. Returns 0 or a
 * negative errno. */
int store_control(struct store *s, const char *sql);

/* Makes sure this process holds pixie.db.lock (waiting up to wait_ms).
 * Connection held. Returns 0 or a negative errno (-EBUSY: still held by
 * another process). */
int store_write_lock(struct store *s, long wait_ms);

/* Releases pixie.db.lock unless a write transaction is still open on the
 * connection (store_begin, or an autocommit write not yet committed).
 * Connection held. */
void store_write_settle(struct store *s);

/* Writes the queued spawn_log rows in one transaction when the connection
 * is outside any transaction and pixie.db.lock can be had within wait_ms;
 * otherwise leaves them queued. Connection held. Returns 1 when it took
 * the queue (rows written, or dropped on an error), 0 when nothing was
 * queued, -1 when it had to leave them queued. */
int store_log_flush(struct store *s, long wait_ms);

/* 1 when spawn_log rows are queued. Any thread. */
int store_log_pending(struct store *s);

/* Last close: queues the unfinished lines (their streams end with the
 * store), writes the queue (waiting for the write lock as long as any
 * writer), then frees what is left and the spawn_log statements.
 * Connection held. */
void store_log_free(struct store *s);

#endif
