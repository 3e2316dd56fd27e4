/* The run store: one SQLite database file (pixie.db) opened safely, shared
 * by the whole process through ONE connection, plus a generic statement
 * API for the Lua binding and the schema-aware spawn_log functions for the
 * launcher's output thread. The schema and its migrations live in
 * lua/pixie/store.lua; the only table this code knows is
 * spawn_log(id, tool_id, ts, stream, text).
 *
 * One writer (Debian's SQLite 3.40.1 has the WAL-reset bug, which needs two
 * connections writing or checkpointing at once):
 *   - store_open returns the process-wide store of a file (reference
 *     counted; the same struct for every path naming the file), so every
 *     thread, Lua state and the launcher's I/O thread use one connection;
 *   - a recursive mutex gives the connection to one thread at a time
 *     (store_lock; every function here takes it itself; a statement holds
 *     it from store_prepare to store_finalize; a transaction from
 *     store_begin to store_commit/store_rollback);
 *   - writes of different processes are serialised by an exclusive flock on
 *     `<path>.lock` (created 0600, never followed through a symlink), held
 *     for each write transaction — store_begin … commit, or one autocommit
 *     statement that writes — for the spawn_log flushes and for the last
 *     close (which checkpoints); reads never take it;
 *   - transaction statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE)
 *     in caller SQL are refused (-EPERM): use store_begin/store_commit.
 *
 * Opening (store_open):
 *   - the database and its side files (-wal, -shm, .lock) are checked with
 *     lstat before anything opens them: each must be a regular file (the
 *     side files may be absent); a symbolic link is refused (-ELOOP), a
 *     FIFO, directory, socket or device too (-EINVAL), with a one-line
 *     message naming the file, so nothing blocks on a FIFO; SQLite opens
 *     the database with SQLITE_OPEN_NOFOLLOW and Pixie's own opens use
 *     O_NOFOLLOW|O_NONBLOCK;
 * At the first open of the file in the process:
 *   - an existing non-empty file must start with the 16-byte header
 *     "SQLite format 3\0" (read through SQLite's own VFS, never with a plain
 *     open()/close() that would drop the process's POSIX locks held by
 *     other connections) and pass PRAGMA quick_check; with a schema version
 *     given, PRAGMA user_version and sqlite_schema are read on the
 *     connection (so a value still in the WAL counts) and a database newer
 *     than that version, or one with tables but user_version 0 (another
 *     program's), is refused; a refused file is never modified (no WAL
 *     switch, no mode change), recreated or deleted;
 *   - a missing file is created empty with mode 0600 whatever the umask;
 *     SQLite gives -wal and -shm the database file's mode; existing looser
 *     modes of the three files are tightened to 0600;
 *   - the connection uses journal_mode=WAL, synchronous=FULL (a commit that
 *     returned survives a process kill and a power loss), busy_timeout=5000,
 *     foreign_keys=ON, trusted_schema=OFF, secure_delete=ON,
 *     journal_size_limit=64 MiB. spawn_log batches commit with
 *     synchronous=NORMAL (durable against a kill; a diagnostic log may lose
 *     its last lines on power loss).
 *
 * Errors: functions return 0 (or a documented count) on success and a
 * negative errno-style code on failure; the message of the last SQLite
 * failure is store_errmsg() (hold store_lock around the call and the read
 * when other threads share the store). Nothing here exits. */
#ifndef PIXIE_STORE_H
#define PIXIE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_stmt; /* a prepared statement; holds the connection */

enum store_type {
    STORE_NULL,
    STORE_INTEGER,
    STORE_FLOAT,
    STORE_TEXT,
    STORE_BLOB,
};

/* Default cap of spawn_log rows kept per tool; PIXIE_SPAWN_LOG_MAX_ROWS
 * (read at the first open) overrides it. */
#define STORE_SPAWN_LOG_MAX_ROWS 2000

/* store_open's schema_version for a database of any schema (no check). */
#define STORE_ANY_SCHEMA (-1)

/* Opens (creating when missing) the database at `path` as described above,
 * or takes one more reference on the store of this process already open on
 * that file. schema_version >= 0 is the newest schema (user_version) the
 * caller knows: checked on the connection at every open. On success *out
 * is a store (release it with store_release) and 0 is returned. On failure
 * *out is NULL, a negative errno is returned and `err` (errlen bytes, may
 * be NULL) holds a one-line message naming the path: -ELOOP / -EINVAL when
 * a file is a symbolic link / not a regular file, -EILSEQ when the file
 * is not SQLite or holds another program's tables, -ENOTSUP when its
 * schema is newer than schema_version, -EBADMSG when it fails the
 * integrity check, other codes from the system or SQLite. */
int store_open(const char *path, int schema_version, struct store **out, char *err, size_t errlen);

/* Takes one more reference (for another owner, e.g. the launcher thread).
 * Thread-safe. */
void store_retain(struct store *s);

/* Drops one reference; the last one writes the queued spawn_log rows,
 * closes the connection (SQLite checkpoints, under the write lock) and
 * frees `s`. Every statement must have been finalized. NULL is ignored.
 * Thread-safe. */
void store_release(struct store *s);

/* The path given to the first store_open of the file (owned by the store). */
const char *store_path(const struct store *s);

/* Takes the connection for the calling thread (recursive: nest freely,
 * one store_unlock per store_lock). The outermost lock first writes the
 * queued spawn_log rows, so what the I/O thread appended is visible to
 * what follows. */
void store_lock(struct store *s);

/* Gives the connection back; the outermost unlock writes spawn_log rows
 * queued meanwhile when the write lock is free. */
void store_unlock(struct store *s);

/* Message of the last failure on the connection (owned by SQLite, valid
 * until the next call on the connection: hold store_lock). */
const char *store_errmsg(struct store *s);

/* Runs PRAGMA integrity_check (full != 0) or quick_check. Returns 0 when
 * the answer is "ok", -EBADMSG with the first problem in `err` otherwise,
 * or another negative errno. */
int store_check(struct store *s, int full, char *err, size_t errlen);

/* Runs every statement of `sql` (no parameters, no result rows kept), each
 * in its own autocommit transaction (or inside the caller's store_begin).
 * Returns 0 or a negative errno (message: store_errmsg). */
int store_exec(struct store *s, const char *sql);

/* Starts a write transaction owned by the calling thread: takes the
 * connection (kept until the matching store_commit/store_rollback), and at
 * the outermost level pixie.db.lock and BEGIN IMMEDIATE; nested, a
 * savepoint. Returns 0, or a negative errno with a message in err (nothing
 * is held then): -EBUSY when another process kept the write lock for
 * STORE_WRITE_LOCK_WAIT_MS. */
int store_begin(struct store *s, char *err, size_t errlen);

/* Commits (or releases the savepoint of) the innermost store_begin and
 * gives back what it took. When the commit fails the transaction is rolled
 * back, a negative errno is returned and err holds the message; the
 * transaction is over either way. */
int store_commit(struct store *s, char *err, size_t errlen);

/* Rolls back the innermost store_begin (to its savepoint when nested) and
 * gives back what it took. */
void store_rollback(struct store *s);

/* 1 when the calling thread is inside store_begin, else 0. */
int store_in_transaction(struct store *s);

/* Rowid of the last successful INSERT on the connection (hold store_lock
 * around the INSERT and this call). */
int64_t store_last_insert_rowid(struct store *s);

/* Rowid of the last successful INSERT on the connection since the
 * previous call (0 when none), resetting it to 0, so a caller holding
 * store_lock around its statements and this call learns whether they
 * inserted whatever other threads did before. */
int64_t store_take_insert_rowid(struct store *s);

/* Total rows changed by INSERT/UPDATE/DELETE on the connection since it
 * was opened (sqlite3_total_changes64; hold store_lock to compare). */
int64_t store_total_changes(struct store *s);

/* Prepares the first statement of the `len` bytes at `sql`, taking the
 * connection until store_finalize. On success returns 0, *out is the
 * statement (finalize it with store_finalize) or NULL when only whitespace
 * and comments were left (nothing held), and *used is how many bytes were
 * consumed (the next statement starts at sql + *used). On failure returns a
 * negative errno (-EPERM for a transaction statement), *out is NULL
 * (message: store_errmsg). */
int store_prepare(struct store *s, const char *sql, size_t len, struct store_stmt **out,
                  size_t *used);

/* Finalizes a statement and gives the connection back (NULL is ignored). */
void store_finalize(struct store_stmt *st);

/* Number of parameters ("?", "?N", ":name") of the statement; the highest
 * index for "?N". */
int store_param_count(struct store_stmt *st);

/* Bind parameter `i` (1-based). Text and blobs are copied. Return 0 or a
 * negative errno (-ERANGE for a bad index, -E2BIG for too long). */
int store_bind_null(struct store_stmt *st, int i);
int store_bind_int64(struct store_stmt *st, int i, int64_t v);
int store_bind_double(struct store_stmt *st, int i, double v);
int store_bind_text(struct store_stmt *st, int i, const char *p, size_t len);
int store_bind_blob(struct store_stmt *st, int i, const void *p, size_t len);

/* Steps the statement: returns 1 when a row is ready, 0 when done, or a
 * negative errno (-EBUSY when still locked after busy_timeout or the write
 * lock wait). A statement that writes outside store_begin takes
 * pixie.db.lock for its autocommit transaction. */
int store_step(struct store_stmt *st);

/* Columns of the current row (0-based). Text and blob pointers are owned by
 * SQLite and valid until the next step/finalize; *len gets the byte count
 * (text may hold any bytes: SQLite stores what was bound). */
int store_column_count(struct store_stmt *st);
const char *store_column_name(struct store_stmt *st, int i);
enum store_type store_column_type(struct store_stmt *st, int i);
int64_t store_column_int64(struct store_stmt *st, int i);
double store_column_double(struct store_stmt *st, int i);
const void *store_column_bytes(struct store_stmt *st, int i, size_t *len);

/* Longest text of one spawn_log row; longer text is split into several
 * rows (never inside a UTF-8 sequence nor inside a "***"), so a tool's log
 * is bounded by cap x this many bytes. */
#define STORE_SPAWN_LOG_MAX_ROW_BYTES 16384

/* Most bytes of spawn_log text queued while the connection is busy; more
 * is dropped (and counted in a warning in the log). */
#define STORE_SPAWN_LOG_QUEUE_MAX_BYTES (8u << 20)

/* Appends text to spawn_log now, as one row (tool_id, ts = now in ISO-8601
 * UTC with milliseconds, stream, text), or several when it is longer than
 * STORE_SPAWN_LOG_MAX_ROW_BYTES, and deletes that tool's oldest rows beyond
 * the cap, in one transaction (a savepoint inside the caller's
 * store_begin). Waits for the connection. `stream` must be "stdout",
 * "stderr" or "pixie" (-EINVAL otherwise). `text` (len bytes, any bytes)
 * MUST already be masked by the caller: this function stores what it is
 * given, as given (no line assembly: for Pixie's own whole messages).
 * Returns 0 or a negative errno (-ENOENT when the spawn_log table does not
 * exist yet). */
int store_spawn_log_append(struct store *s, const char *tool_id, const char *stream,
                           const char *text, size_t len);

/* Output of a tool's stream, for a thread that must never wait (the
 * launcher's I/O thread). This is where tool output becomes rows, and rows
 * are lines: text (len bytes, any bytes, already masked by the caller) is
 * added to the unfinished line of (tool_id, stream); every line it
 * completes, through its '\n' (kept in the row's text), becomes one row; an
 * unfinished line waits for its newline, for store_spawn_log_end, or for
 * STORE_SPAWN_LOG_MAX_ROW_BYTES bytes (then a row of that many bytes is cut
 * off, as store_spawn_log_append cuts). So `pixie logs --follow` and a live
 * tail only ever see whole lines. Output of two processes of one tool
 * running at once shares the unfinished line of each stream.
 *
 * Rows go to a queue and return at once; they are written when the
 * connection and the write lock are free, else by the next thread giving
 * the connection back, the next store_lock (so reads see them) or the last
 * store_release (which also ends every unfinished line). Returns 0, -EINVAL
 * (bad stream), -ENOMEM (the text is dropped), or -ENOBUFS when the queue
 * is full (a row is dropped and counted in a warning). Rows that cannot be
 * written later (no spawn_log table, I/O error) are dropped with a warning
 * in the log. */
int store_spawn_log_queue(struct store *s, const char *tool_id, const char *stream,
                          const char *text, size_t len);

/* End of a tool's stream (its pipe closed): the unfinished line of
 * (tool_id, stream), if any, becomes a row, queued as store_spawn_log_queue
 * does. Call it after the last store_spawn_log_queue of the stream. Returns
 * 0, -EINVAL, -ENOMEM or -ENOBUFS (the line is dropped). */
int store_spawn_log_end(struct store *s, const char *tool_id, const char *stream);

/* The per-tool cap the spawn_log functions apply. */
long store_spawn_log_cap(const struct store *s);

#endif
