/* The run store: safe opening of pixie.db and a thin statement API
 * (contracts in store.h). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

struct store {
    sqlite3 *db; /* main connection */
    char *path;
    atomic_int refs;
    long spawn_log_cap;
    pthread_mutex_t log_mu; /* guards the three fields below */
    sqlite3 *log_db;        /* dedicated spawn_log connection, opened lazily */
    sqlite3_stmt *log_insert;
    sqlite3_stmt *log_prune;
};

static const char sqlite_magic[16] = "SQLite format 3";

/* Settings of every read-write connection; `sync` is the synchronous level. */
static const char *const pragmas_main = "PRAGMA synchronous=FULL;"
                                        "PRAGMA foreign_keys=ON;"
                                        "PRAGMA trusted_schema=OFF;"
                                        "PRAGMA secure_delete=ON;"
                                        "PRAGMA journal_size_limit=67108864;";
static const char *const pragmas_log = "PRAGMA synchronous=NORMAL;"
                                       "PRAGMA foreign_keys=ON;"
                                       "PRAGMA trusted_schema=OFF;"
                                       "PRAGMA secure_delete=ON;";

/* Formats a message into err (when not NULL). */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Maps an SQLite result code (primary or extended) to a negative errno. */
static int sqlite_to_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_RANGE:
        return -ERANGE;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_CORRUPT:
        return -EBADMSG;
    case SQLITE_NOTADB:
        return -EILSEQ;
    case SQLITE_IOERR:
        return -EIO;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    default:
        return -EINVAL;
    }
}

/* Reads up to 16 bytes at offset 0 of `path` through SQLite's default VFS
 * (so closing it never drops POSIX locks other connections of this
 * process hold on the file). Returns 0 and sets *got, or a negative errno. */
static int vfs_read_header(const char *path, unsigned char hdr[16], int *got)
{
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    if (!vfs) {
        return -ENOSYS;
    }
    char *full = sqlite3_malloc(vfs->mxPathname + 1);
    sqlite3_file *f = sqlite3_malloc(vfs->szOsFile);
    sqlite3_filename name = NULL;
    int rc = -ENOMEM;
    if (!full || !f) {
        goto out;
    }
    memset(f, 0, (size_t)vfs->szOsFile);
    if (vfs->xFullPathname(vfs, path, vfs->mxPathname + 1, full) != SQLITE_OK) {
        rc = -ENAMETOOLONG;
        goto out;
    }
    name = sqlite3_create_filename(full, "", "", 0, NULL);
    if (!name) {
        goto out;
    }
    int oflags = 0;
    int src = vfs->xOpen(vfs, name, f, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, &oflags);
    if (src == SQLITE_OK) {
        memset(hdr, 0, 16);
        src = f->pMethods->xRead(f, hdr, 16, 0);
        if (src == SQLITE_OK) {
            *got = 16;
            rc = 0;
        } else if (src == SQLITE_IOERR_SHORT_READ) {
            sqlite3_int64 size = 0;
            f->pMethods->xFileSize(f, &size);
            *got = (int)(size < 16 ? size : 16);
            rc = 0;
        } else {
            rc = -EIO;
        }
    } else {
        rc = sqlite_to_errno(src);
    }
    if (f->pMethods) {
        f->pMethods->xClose(f);
    }
out:
    sqlite3_free_filename(name);
    sqlite3_free(f);
    sqlite3_free(full);
    return rc;
}

/* Copies the first line of `text` into err after `prefix`. */
static void first_line_err(char *err, size_t errlen, const char *path, const char *text)
{
    size_t n = strcspn(text, "\n");
    if (n > 200) {
        n = 200;
    }
    set_err(err, errlen,
            "%s failed the database integrity check (%.*s); refusing to use it — "
            "move it aside to start a new history",
            path, (int)n, text);
}

/* Runs PRAGMA quick_check / integrity_check on `db`. Returns 0 when "ok",
 * -EBADMSG (message in err) when not, another negative errno on failure. */
static int run_check(sqlite3 *db, const char *path, int full, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    const char *sql = full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)";
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    int result;
    if (rc == SQLITE_ROW) {
        const char *answer = (const char *)sqlite3_column_text(st, 0);
        if (answer && strcmp(answer, "ok") == 0) {
            result = 0;
        } else {
            first_line_err(err, errlen, path, answer ? answer : "no answer");
            result = -EBADMSG;
        }
    } else {
        int e = sqlite_to_errno(rc);
        if (e == -EBADMSG || e == -EILSEQ || e == -EINVAL) {
            first_line_err(err, errlen, path, sqlite3_errmsg(db));
            result = e == -EILSEQ ? -EILSEQ : -EBADMSG;
        } else {
            set_err(err, errlen, "%s: cannot check the database: %s", path, sqlite3_errmsg(db));
            result = e ? e : -EIO;
        }
    }
    sqlite3_finalize(st);
    return result;
}

/* Checks an existing non-empty file before any read-write connection
 * touches it: the header, then quick_check on a read-only connection. */
static int check_existing(const char *path, char *err, size_t errlen)
{
    unsigned char hdr[16];
    int got = 0;
    int rc = vfs_read_header(path, hdr, &got);
    if (rc != 0) {
        set_err(err, errlen, "%s: cannot read the database header: %s", path, strerror(-rc));
        return rc;
    }
    if (got < 16 || memcmp(hdr, sqlite_magic, 16) != 0) {
        set_err(err, errlen,
                "%s is not a SQLite database; refusing to use it — move it aside to start "
                "a new history",
                path);
        return -EILSEQ;
    }
    sqlite3 *ro = NULL;
    rc = sqlite3_open_v2(path, &ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot open the database: %s", path,
                ro ? sqlite3_errmsg(ro) : "out of memory");
        sqlite3_close_v2(ro);
        return sqlite_to_errno(rc);
    }
    sqlite3_busy_timeout(ro, BUSY_TIMEOUT_MS);
    rc = run_check(ro, path, 0, err, errlen);
    sqlite3_close_v2(ro);
    return rc;
}

/* Creates `path` empty with mode 0600 (umask-proof) unless it exists.
 * Returns 0 (created or already there) or a negative errno. */
static int create_empty(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? 0 : -errno;
    }
    int rc = fchmod(fd, 0600) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Tightens the mode of `path` (when it exists) to 0600 by path, never
 * opening it. */
static void tighten_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) != 0600) {
        chmod(path, 0600);
    }
}

/* Tightens the database, -wal and -shm files to 0600. */
static void tighten_modes(const char *path)
{
    tighten_mode(path);
    size_t n = strlen(path);
    char *side = malloc(n + 5);
    if (!side) {
        return;
    }
    snprintf(side, n + 5, "%s-wal", path);
    tighten_mode(side);
    snprintf(side, n + 5, "%s-shm", path);
    tighten_mode(side);
    free(side);
}

/* Opens a read-write connection (no create) with busy_timeout and the given
 * pragmas. Returns 0 and *out, or a negative errno with a message. */
static int open_rw(const char *path, const char *pragmas, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    *out = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot open the database: %s", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return sqlite_to_errno(rc);
    }
    *out = db;
    return 0;
}

/* Reads the journal mode into buf ("" on failure). Returns the SQLite
 * result code of the step. */
static int journal_mode(sqlite3 *db, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        snprintf(buf, n, "%s", mode ? mode : "");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Puts `db` in WAL mode (persistent in the file) unless it already is.
 * Switching needs an exclusive lock and SQLite may report SQLITE_BUSY at
 * once, without its busy handler, while another process switches or
 * reads; retry for up to BUSY_TIMEOUT_MS. Returns 0 or a negative errno
 * with a message. */
static int ensure_wal(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    char mode[16];
    int rc = journal_mode(db, "PRAGMA journal_mode", mode, sizeof mode);
    for (int waited = 0; strcmp(mode, "wal") != 0 && waited < BUSY_TIMEOUT_MS; waited += 10) {
        rc = journal_mode(db, "PRAGMA journal_mode=WAL", mode, sizeof mode);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
            break;
        }
        usleep(10 * 1000);
    }
    if (strcmp(mode, "wal") != 0) {
        set_err(err, errlen, "%s: cannot switch the database to WAL mode: %s", path,
                rc == SQLITE_ROW ? "refused" : sqlite3_errmsg(db));
        return rc == SQLITE_ROW ? -ENOTSUP : sqlite_to_errno(rc);
    }
    return 0;
}

/* Reads PIXIE_SPAWN_LOG_MAX_ROWS (a positive integer) or the default. */
static long spawn_log_cap_from_env(void)
{
    const char *v = getenv("PIXIE_SPAWN_LOG_MAX_ROWS");
    if (!v || !*v) {
        return STORE_SPAWN_LOG_MAX_ROWS;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 1) {
        return STORE_SPAWN_LOG_MAX_ROWS;
    }
    return n;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
    *out = NULL;
    set_err(err, errlen, "%s", "");
    struct stat st;
    int rc;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            set_err(err, errlen, "%s is not a regular file", path);
            return -EINVAL;
        }
        rc = st.st_size > 0 ? check_existing(path, err, errlen) : 0;
    } else if (errno == ENOENT) {
        rc = create_empty(path);
        if (rc != 0) {
            set_err(err, errlen, "%s: cannot create the database: %s", path, strerror(-rc));
        } else if (stat(path, &st) == 0 && st.st_size > 0) {
            rc = check_existing(path, err, errlen); /* another process won the race */
        }
    } else {
        rc = -errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
    }
    if (rc != 0) {
        return rc;
    }
    struct store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        set_err(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    rc = open_rw(path, pragmas_main, &s->db, err, errlen);
    if (rc == 0) {
        rc = ensure_wal(s->db, path, err, errlen);
    }
    if (rc != 0) {
        sqlite3_close_v2(s->db);
        free(s->path);
        free(s);
        return rc;
    }
    tighten_modes(path);
    atomic_init(&s->refs, 1);
    s->spawn_log_cap = spawn_log_cap_from_env();
    pthread_mutex_init(&s->log_mu, NULL);
    *out = s;
    return 0;
}

void store_retain(struct store *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void store_release(struct store *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) {
        return;
    }
    sqlite3_finalize(s->log_insert);
    sqlite3_finalize(s->log_prune);
    sqlite3_close_v2(s->log_db);
    sqlite3_close_v2(s->db);
    pthread_mutex_destroy(&s->log_mu);
    free(s->path);
    free(s);
}

const char *store_path(const struct store *s)
{
    return s->path;
}

const char *store_errmsg(struct store *s)
{
    return sqlite3_errmsg(s->db);
}

int store_check(struct store *s, int full, char *err, size_t errlen)
{
    return run_check(s->db, s->path, full, err, errlen);
}

int store_exec(struct store *s, const char *sql)
{
    return sqlite_to_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

int store_in_transaction(struct store *s)
{
    return !sqlite3_get_autocommit(s->db);
}

int64_t store_last_insert_rowid(struct store *s)
{
    return sqlite3_last_insert_rowid(s->db);
}

int64_t store_total_changes(struct store *s)
{
    return sqlite3_total_changes64(s->db);
}

/* --- statements: struct store_stmt is sqlite3_stmt under another name --- */

static sqlite3_stmt *raw(struct store_stmt *st)
{
    return (sqlite3_stmt *)st;
}

int store_prepare(struct store *s, const char *sql, size_t len, struct store_stmt **out,
                  size_t *used)
{
    *out = NULL;
    *used = 0;
    if (len > INT_MAX) {
        return -E2BIG;
    }
    sqlite3_stmt *st = NULL;
    const char *tail = sql;
    int rc = sqlite3_prepare_v2(s->db, sql, (int)len, &st, &tail);
    if (rc != SQLITE_OK) {
        return sqlite_to_errno(rc);
    }
    *out = (struct store_stmt *)st;
    *used = (size_t)(tail - sql);
    return 0;
}

void store_finalize(struct store_stmt *st)
{
    sqlite3_finalize(raw(st));
}

int store_param_count(struct store_stmt *st)
{
    return sqlite3_bind_parameter_count(raw(st));
}

int store_bind_null(struct store_stmt *st, int i)
{
    return sqlite_to_errno(sqlite3_bind_null(raw(st), i));
}

int store_bind_int64(struct store_stmt *st, int i, int64_t v)
{
    return sqlite_to_errno(sqlite3_bind_int64(raw(st), i, v));
}

int store_bind_double(struct store_stmt *st, int i, double v)
{
    return sqlite_to_errno(sqlite3_bind_double(raw(st), i, v));
}

int store_bind_text(struct store_stmt *st, int i, const char *p, size_t len)
{
    return sqlite_to_errno(sqlite3_bind_text64(raw(st), i, p, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

int store_bind_blob(struct store_stmt *st, int i, const void *p, size_t len)
{
    return sqlite_to_errno(sqlite3_bind_blob64(raw(st), i, p, len, SQLITE_TRANSIENT));
}

int store_step(struct store_stmt *st)
{
    int rc = sqlite3_step(raw(st));
    if (rc == SQLITE_ROW) {
        return 1;
    }
    if (rc == SQLITE_DONE) {
        return 0;
    }
    int e = sqlite_to_errno(rc);
    return e ? e : -EIO;
}

int store_column_count(struct store_stmt *st)
{
    return sqlite3_column_count(raw(st));
}

const char *store_column_name(struct store_stmt *st, int i)
{
    return sqlite3_column_name(raw(st), i);
}

enum store_type store_column_type(struct store_stmt *st, int i)
{
    switch (sqlite3_column_type(raw(st), i)) {
    case SQLITE_INTEGER:
        return STORE_INTEGER;
    case SQLITE_FLOAT:
        return STORE_FLOAT;
    case SQLITE_TEXT:
        return STORE_TEXT;
    case SQLITE_BLOB:
        return STORE_BLOB;
    default:
        return STORE_NULL;
    }
}

int64_t store_column_int64(struct store_stmt *st, int i)
{
    return sqlite3_column_int64(raw(st), i);
}

double store_column_double(struct store_stmt *st, int i)
{
    return sqlite3_column_double(raw(st), i);
}

const void *store_column_bytes(struct store_stmt *st, int i, size_t *len)
{
    const void *p = sqlite3_column_type(raw(st), i) == SQLITE_BLOB
                        ? sqlite3_column_blob(raw(st), i)
                        : (const void *)sqlite3_column_text(raw(st), i);
    *len = (size_t)sqlite3_column_bytes(raw(st), i);
    return p ? p : "";
}

/* --- spawn_log: dedicated connection ------------------------------------ */

static const char *const sql_log_insert =
    "INSERT INTO spawn_log (tool_id, ts, stream, text) "
    "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2, ?3)";
static const char *const sql_log_prune =
    "DELETE FROM spawn_log WHERE tool_id = ?1 AND id <= "
    "(SELECT id FROM spawn_log WHERE tool_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";

/* Opens the spawn_log connection and prepares its statements (log_mu held).
 * Returns 0 or a negative errno (-ENOENT: no spawn_log table yet). */
static int log_open(struct store *s)
{
    if (s->log_db) {
        return 0;
    }
    sqlite3 *db;
    int rc = open_rw(s->path, pragmas_log, &db, NULL, 0);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *ins = NULL, *prune = NULL;
    int src = sqlite3_prepare_v3(db, sql_log_insert, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_prepare_v3(db, sql_log_prune, -1, SQLITE_PREPARE_PERSISTENT, &prune, NULL);
    }
    if (src != SQLITE_OK) {
        rc = strstr(sqlite3_errmsg(db), "no such table") ? -ENOENT : sqlite_to_errno(src);
        sqlite3_finalize(ins);
        sqlite3_close_v2(db);
        return rc;
    }
    s->log_db = db;
    s->log_insert = ins;
    s->log_prune = prune;
    return 0;
}

/* Length of the next row's piece of text[0..len): at most
 * STORE_SPAWN_LOG_MAX_ROW_BYTES, not ending inside a UTF-8 sequence when
 * the text is UTF-8 (any bytes are accepted). */
static size_t piece_len(const char *text, size_t len)
{
    if (len <= STORE_SPAWN_LOG_MAX_ROW_BYTES) {
        return len;
    }
    size_t n = STORE_SPAWN_LOG_MAX_ROW_BYTES;
    for (int back = 0; back < 3 && ((unsigned char)text[n] & 0xc0) == 0x80; back++) {
        n--;
    }
    return n;
}

/* Inserts one row (log_mu held). Returns an SQLite result code. */
static int log_insert_row(struct store *s, const char *tool_id, const char *stream,
                          const char *text, size_t len)
{
    sqlite3_bind_text(s->log_insert, 1, tool_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->log_insert, 2, stream, -1, SQLITE_STATIC);
    sqlite3_bind_text64(s->log_insert, 3, text, len, SQLITE_STATIC, SQLITE_UTF8);
    int rc = sqlite3_step(s->log_insert);
    sqlite3_reset(s->log_insert);
    sqlite3_clear_bindings(s->log_insert);
    return rc;
}

/* Inserts the text (split into rows of at most
 * STORE_SPAWN_LOG_MAX_ROW_BYTES) and runs the prune inside
 * BEGIN IMMEDIATE … COMMIT (log_mu held, connection open). Returns 0 or a
 * negative errno. */
static int log_write(struct store *s, const char *tool_id, const char *stream, const char *text,
                     size_t len)
{
    int rc = sqlite3_exec(s->log_db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return sqlite_to_errno(rc);
    }
    size_t pos = 0;
    do {
        size_t n = piece_len(text + pos, len - pos);
        rc = log_insert_row(s, tool_id, stream, text + pos, n);
        pos += n;
    } while (rc == SQLITE_DONE && pos < len);
    if (rc == SQLITE_DONE) {
        sqlite3_bind_text(s->log_prune, 1, tool_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->log_prune, 2, s->spawn_log_cap);
        rc = sqlite3_step(s->log_prune);
        sqlite3_reset(s->log_prune);
        sqlite3_clear_bindings(s->log_prune);
    }
    if (rc == SQLITE_DONE) {
        rc = sqlite3_exec(s->log_db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        int e = sqlite_to_errno(rc);
        sqlite3_exec(s->log_db, "ROLLBACK", NULL, NULL, NULL);
        return e ? e : -EIO;
    }
    return 0;
}

int store_spawn_log_append(struct store *s, const char *tool_id, const char *stream,
                           const char *text, size_t len)
{
    if (!s || !tool_id || !stream || (!text && len > 0)) {
        return -EINVAL;
    }
    if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0 &&
        strcmp(stream, "pixie") != 0) {
        return -EINVAL;
    }
    pthread_mutex_lock(&s->log_mu);
    int rc = log_open(s);
    if (rc == 0) {
        rc = log_write(s, tool_id, stream, text ? text : "", len);
    }
    pthread_mutex_unlock(&s->log_mu);
    return rc;
}

long store_spawn_log_cap(const struct store *s)
{
    return s->spawn_log_cap;
}
