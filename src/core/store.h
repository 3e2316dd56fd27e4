/* The run store: one SQLite database file (pixie.db) opened safely, plus a
 * generic statement API for the Lua binding and one schema-aware function,
 * store_spawn_log_append, for the launcher's output thread. The schema and
 * its migrations live in lua/pixie/store.lua; the only table this file knows
 * is spawn_log(id, tool_id, ts, stream, text).
 *
 * Opening (store_open):
 *   - an existing non-empty file must start with the 16-byte header
 *     "SQLite format 3\0" (read through SQLite's own VFS, never with a plain
 *     open()/close() that would drop the process's POSIX locks held by
 *     other connections) and pass PRAGMA quick_check on a read-only
 *     connection; otherwise it is refused with a clear message and never
 *     modified, recreated or deleted;
 *   - a missing file is created empty with mode 0600 whatever the umask;
 *     SQLite gives -wal and -shm the database file's mode; existing looser
 *     modes of the three files are tightened to 0600;
 *   - the connection uses journal_mode=WAL, synchronous=FULL (a commit that
 *     returned survives a process kill and a power loss), busy_timeout=5000,
 *     foreign_keys=ON, trusted_schema=OFF, secure_delete=ON,
 *     journal_size_limit=64 MiB.
 *
 * Threads: the main connection (everything except store_spawn_log_append)
 * is used by one thread at a time, the one owning the Lua state.
 * store_spawn_log_append may be called from any thread: it uses a second,
 * dedicated connection serialised by a mutex, with synchronous=NORMAL
 * (durable against a process kill; the last lines may be lost on power
 * loss — it is a diagnostic log).
 *
 * Errors: functions return 0 (or a documented count) on success and a
 * negative errno-style code on failure; the message of the last failure on
 * the main connection is store_errmsg(). Nothing here prints or exits. */
#ifndef PIXIE_STORE_H
#define PIXIE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_stmt; /* a prepared statement on the main connection */

enum store_type {
    STORE_NULL,
    STORE_INTEGER,
    STORE_FLOAT,
    STORE_TEXT,
    STORE_BLOB,
};

/* Default cap of spawn_log rows kept per tool; PIXIE_SPAWN_LOG_MAX_ROWS
 * (read at store_open) overrides it. */
#define STORE_SPAWN_LOG_MAX_ROWS 2000

/* Opens (creating when missing) the database at `path` as described above.
 * On success *out is a store with one reference (release it with
 * store_release) and 0 is returned. On failure *out is NULL, a negative
 * errno is returned and `err` (errlen bytes, may be NULL) holds a one-line
 * message naming the path: -EILSEQ when the file is not SQLite, -EBADMSG
 * when it fails the integrity check, other codes from the system or
 * SQLite. */
int store_open(const char *path, struct store **out, char *err, size_t errlen);

/* Takes one more reference (for another owner, e.g. the launcher thread).
 * Thread-safe. */
void store_retain(struct store *s);

/* Drops one reference; the last one closes both connections (finalizing
 * nothing: every statement must have been finalized) and frees `s`.
 * NULL is ignored. Thread-safe with respect to other references. */
void store_release(struct store *s);

/* The path given to store_open (owned by the store). */
const char *store_path(const struct store *s);

/* Message of the last failure on the main connection (owned by SQLite,
 * valid until the next call on the connection). */
const char *store_errmsg(struct store *s);

/* Runs PRAGMA integrity_check (full != 0) or quick_check on the main
 * connection. Returns 0 when the answer is "ok", -EBADMSG with the first
 * problem in `err` otherwise, or another negative errno. */
int store_check(struct store *s, int full, char *err, size_t errlen);

/* Runs every statement of `sql` (no parameters, no result rows kept), e.g.
 * "BEGIN IMMEDIATE". Returns 0 or a negative errno (message: store_errmsg). */
int store_exec(struct store *s, const char *sql);

/* 1 when the main connection is inside an explicit transaction, else 0. */
int store_in_transaction(struct store *s);

/* Rowid of the last successful INSERT on the main connection. */
int64_t store_last_insert_rowid(struct store *s);

/* Total rows changed by INSERT/UPDATE/DELETE on the main connection since
 * it was opened (sqlite3_total_changes64: triggers and cascades included). */
int64_t store_total_changes(struct store *s);

/* Prepares the first statement of the `len` bytes at `sql`. On success
 * returns 0, *out is the statement (finalize it with store_finalize) or NULL
 * when only whitespace and comments were left, and *used is how many bytes
 * were consumed (the next statement starts at sql + *used). On failure
 * returns a negative errno, *out is NULL (message: store_errmsg). */
int store_prepare(struct store *s, const char *sql, size_t len, struct store_stmt **out,
                  size_t *used);

/* Finalizes a statement (NULL is ignored). */
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
 * negative errno (-EBUSY when still locked after busy_timeout). */
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
 * rows (never inside a UTF-8 sequence), so a tool's log is bounded by
 * cap x this many bytes. */
#define STORE_SPAWN_LOG_MAX_ROW_BYTES 16384

/* Appends text to spawn_log as one row (tool_id, ts = now in ISO-8601 UTC
 * with milliseconds, stream, text), or several when it is longer than
 * STORE_SPAWN_LOG_MAX_ROW_BYTES, and deletes that tool's oldest rows beyond
 * the cap, in one transaction. Thread-safe; may be called from any thread
 * while the main connection is in use (dedicated connection, mutex).
 * `stream` must be "stdout", "stderr" or "pixie" (-EINVAL otherwise).
 * `text` (len bytes, any bytes) MUST already be masked by the caller: this
 * function stores what it is given. Returns 0 or a negative errno
 * (-ENOENT when the spawn_log table does not exist yet). */
int store_spawn_log_append(struct store *s, const char *tool_id, const char *stream,
                           const char *text, size_t len);

/* The per-tool cap store_spawn_log_append applies. */
long store_spawn_log_cap(const struct store *s);

#endif
