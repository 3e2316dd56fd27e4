/* The run store: the process-wide store of a database file, its safe
 * opening, ownership of the one connection, transactions and the write
 * lock discipline (contracts in store.h; statements in store_stmt.c,
 * spawn_log in store_log.c, the lock file in store_lock.c). */
#include "store_impl.h"
#include "store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

/* Every open store of the process, keyed by (dev, ino). */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store *registry;

static const char sqlite_magic[16] = "SQLite format 3";

static const char *const pragmas = "PRAGMA synchronous=FULL;"
                                   "PRAGMA foreign_keys=ON;"
                                   "PRAGMA trusted_schema=OFF;"
                                   "PRAGMA secure_delete=ON;"
                                   "PRAGMA journal_size_limit=67108864;";

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

int store_sqlite_errno(int rc)
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

/* ---- checks before the connection is trusted ------------------------------ */

/* Reads up to 16 bytes at offset 0 of `path` through SQLite's default VFS
 * (its unix VFS tracks every descriptor of a file in the process and
 * defers closing one while the file is locked, so this never drops POSIX
 * locks). Returns 0 and sets *got, or a negative errno. */
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
        rc = store_sqlite_errno(src);
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
        int e = store_sqlite_errno(rc);
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

/* Checks the 16-byte header of an existing non-empty file. */
static int check_header(const char *path, char *err, size_t errlen)
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
    return 0;
}

/* First column of the first row of `sql` as an integer in *out. Returns an
 * SQLite result code (SQLITE_ROW on success). */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Refuses a database whose schema is not one the caller knows: a
 * user_version newer than `known`, or tables with user_version 0 (another
 * program's database). Read on the connection, so the WAL counts. Returns
 * 0, -ENOTSUP, -EILSEQ or another negative errno, with a message. */
static int check_schema(sqlite3 *db, const char *path, int known, char *err, size_t errlen)
{
    if (known < 0) {
        return 0;
    }
    sqlite3_int64 version = 0, tables = 0;
    int rc = query_int(db, "PRAGMA user_version", &version);
    if (rc == SQLITE_ROW) {
        rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables);
    }
    if (rc != SQLITE_ROW) {
        set_err(err, errlen, "%s: cannot read the schema version: %s", path, sqlite3_errmsg(db));
        int e = store_sqlite_errno(rc);
        return e ? e : -EIO;
    }
    if (version > known) {
        set_err(err, errlen,
                "%s has schema version %lld, newer than this Pixie knows (%d); use a newer Pixie",
                path, (long long)version, known);
        return -ENOTSUP;
    }
    if (version == 0 && tables > 0) {
        set_err(err, errlen,
                "%s is not a Pixie database (it holds tables but no Pixie schema version); "
                "refusing to use it — move it aside to start a new history",
                path);
        return -EILSEQ;
    }
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

/* Creates `path` empty with mode 0600 (umask-proof) unless it exists.
 * Returns 0 (created or already there) or a negative errno. */
static int create_empty(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? 0 : -errno;
    }
    int rc = fchmod(fd, 0600) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* The files of a database besides itself, as suffixes of its path. */
static const char *const side_suffixes[] = {"-wal", "-shm", ".lock"};
#define SIDE_COUNT (sizeof side_suffixes / sizeof side_suffixes[0])
#define SIDE_SUFFIX_MAX 6 /* strlen(".lock") + 1 */

/* What a file that is not a regular one is, for a message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        return "a device";
    }
    return "not a regular file";
}

/* Lstats `path` (never following a symbolic link). Returns 0 with *st when
 * it is a regular file, 1 when it does not exist, or a negative errno with
 * a one-line message: -ELOOP for a symbolic link, -EINVAL for anything else
 * that is not a regular file (a FIFO would block the opener, a directory or
 * device cannot be a database). */
static int regular_or_absent(const char *path, struct stat *st, char *err, size_t errlen)
{
    if (lstat(path, st) != 0) {
        if (errno == ENOENT) {
            return 1;
        }
        int rc = -errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if (S_ISLNK(st->st_mode)) {
        set_err(err, errlen,
                "%s is a symbolic link; Pixie does not follow links for its database files — "
                "put the file itself there",
                path);
        return -ELOOP;
    }
    if (!S_ISREG(st->st_mode)) {
        set_err(err, errlen, "%s is %s, not a regular file; refusing to use it", path,
                file_kind(st->st_mode));
        return -EINVAL;
    }
    return 0;
}

/* Checks the side files of `path` (-wal, -shm, .lock): each must be a
 * regular file or absent. When `tighten`, an existing one's looser mode is
 * tightened to 0600 (by path, never opening it). Returns 0 or a negative
 * errno with a message. */
static int check_side_files(const char *path, int tighten, char *err, size_t errlen)
{
    size_t n = strlen(path) + SIDE_SUFFIX_MAX;
    char *side = malloc(n);
    if (!side) {
        set_err(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < SIDE_COUNT && rc >= 0; i++) {
        struct stat st;
        snprintf(side, n, "%s%s", path, side_suffixes[i]);
        rc = regular_or_absent(side, &st, err, errlen);
        if (rc == 0 && tighten && (st.st_mode & 0777) != 0600) {
            chmod(side, 0600);
        }
    }
    free(side);
    return rc < 0 ? rc : 0;
}

/* Checks `path` and its side files, creating `path` empty (0600) when
 * missing. Returns 0 with *st (a regular file), or a negative errno with a
 * message. Nothing is opened before the checks pass, so a FIFO never
 * blocks and a symbolic link is never followed. */
static int stat_or_create(const char *path, struct stat *st, char *err, size_t errlen)
{
    int rc = regular_or_absent(path, st, err, errlen);
    if (rc == 1) {
        rc = create_empty(path);
        if (rc != 0) {
            set_err(err, errlen, "%s: cannot create the database: %s", path, strerror(-rc));
            return rc;
        }
        rc = regular_or_absent(path, st, err, errlen);
        if (rc == 1) {
            set_err(err, errlen, "%s: removed while being created", path);
            return -ENOENT;
        }
    }
    if (rc == 0) {
        rc = check_side_files(path, 0, err, errlen);
    }
    return rc;
}

/* ---- the connection --------------------------------------------------------- */

/* Authorizer: transaction statements only from the store itself (or from
 * SQLite inside a step, as VACUUM does), so no caller can leave the shared
 * connection inside a transaction. It judges at prepare time. */
static int authorize(void *ctx, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    (void)a, (void)b, (void)c, (void)d;
    const struct store *s = ctx;
    if ((action == SQLITE_TRANSACTION || action == SQLITE_SAVEPOINT) && !s->allow_control) {
        return SQLITE_DENY;
    }
    return SQLITE_OK;
}

/* Opens the read-write connection (no create) with busy_timeout and the
 * pragmas. Returns 0 or a negative errno with a message. */
static int open_connection(struct store *s, char *err, size_t errlen)
{
    int rc =
        sqlite3_open_v2(s->path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot open the database: %s", s->path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return store_sqlite_errno(rc);
    }
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

/* Puts the database in WAL mode (persistent in the file) unless it already
 * is, holding the write lock. Switching needs an exclusive lock and SQLite
 * may report SQLITE_BUSY at once, without its busy handler, while another
 * process reads; retry for up to BUSY_TIMEOUT_MS. Returns 0 or a negative
 * errno with a message. */
static int ensure_wal(struct store *s, char *err, size_t errlen)
{
    char mode[16];
    int rc = journal_mode(s->db, "PRAGMA journal_mode", mode, sizeof mode);
    if (strcmp(mode, "wal") == 0) {
        return 0;
    }
    int lrc = store_write_lock(s, STORE_WRITE_LOCK_WAIT_MS);
    if (lrc != 0) {
        set_err(err, errlen, "%s: cannot take the write lock: %s", s->path, strerror(-lrc));
        return lrc;
    }
    for (int waited = 0; strcmp(mode, "wal") != 0 && waited < BUSY_TIMEOUT_MS; waited += 10) {
        rc = journal_mode(s->db, "PRAGMA journal_mode=WAL", mode, sizeof mode);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
            break;
        }
        usleep(10 * 1000);
    }
    store_write_settle(s);
    if (strcmp(mode, "wal") != 0) {
        set_err(err, errlen, "%s: cannot switch the database to WAL mode: %s", s->path,
                rc == SQLITE_ROW ? "refused" : sqlite3_errmsg(s->db));
        return rc == SQLITE_ROW ? -ENOTSUP : store_sqlite_errno(rc);
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

/* Closes the connection and the lock file and frees s (no other owner). The
 * close checkpoints when no other process has the file open: under the
 * write lock. */
static void destroy(struct store *s)
{
    if (s->db) {
        store_lock(s); /* writes what is still queued */
        store_log_free(s);
        int locked =
            s->lock_fd >= 0 && store_lockfile_acquire(s->lock_fd, STORE_WRITE_LOCK_WAIT_MS) == 0;
        sqlite3_close_v2(s->db);
        s->db = NULL;
        if (locked) {
            store_lockfile_release(s->lock_fd);
        }
        s->write_locked = 0;
        s->depth = 0;
        pthread_mutex_unlock(&s->conn_mu);
    }
    if (s->lock_fd >= 0) {
        close(s->lock_fd);
    }
    pthread_mutex_destroy(&s->conn_mu);
    pthread_mutex_destroy(&s->q_mu);
    free(s->path);
    free(s);
}

/* A new store for `path` (file `st`): checks, connection, lock file, WAL.
 * Returns 0 and *out, or a negative errno with a message. */
static int open_new(const char *path, const struct stat *st, int schema_version, struct store **out,
                    char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        set_err(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->conn_mu, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_mutex_init(&s->q_mu, NULL);
    s->lock_fd = -1;
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->refs = 1;
    s->spawn_log_cap = spawn_log_cap_from_env();
    int rc = st->st_size > 0 ? check_header(path, err, errlen) : 0;
    if (rc == 0) {
        rc = open_connection(s, err, errlen);
    }
    if (rc == 0 && st->st_size > 0) {
        rc = run_check(s->db, path, 0, err, errlen);
    }
    if (rc == 0) {
        rc = check_schema(s->db, path, schema_version, err, errlen);
    }
    if (rc == 0) {
        int fd = store_lockfile_open(path, err, errlen);
        if (fd < 0) {
            rc = fd;
        } else {
            s->lock_fd = fd;
        }
    }
    pthread_mutex_lock(&s->conn_mu);
    if (rc == 0) {
        rc = ensure_wal(s, err, errlen);
    }
    if (rc == 0) {
        sqlite3_set_authorizer(s->db, authorize, s);
    }
    pthread_mutex_unlock(&s->conn_mu);
    if (rc != 0) {
        destroy(s);
        return rc;
    }
    if ((st->st_mode & 0777) != 0600) {
        chmod(path, 0600);
    }
    check_side_files(path, 1, NULL, 0);
    *out = s;
    return 0;
}

/* 1 when the store's file was renamed or deleted since it was opened (its
 * inode number may then belong to a new file). */
static int moved(struct store *s)
{
    int has_moved = 0;
    return sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &has_moved) == SQLITE_OK &&
           has_moved;
}

int store_open(const char *path, int schema_version, struct store **out, char *err, size_t errlen)
{
    *out = NULL;
    set_err(err, errlen, "%s", "");
    struct stat st;
    int rc = stat_or_create(path, &st, err, errlen);
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&registry_mu);
    struct store *s = registry;
    int fresh = 0;
    while (s && !(s->dev == st.st_dev && s->ino == st.st_ino && !moved(s))) {
        s = s->next;
    }
    if (s) {
        s->refs++;
    } else if ((rc = open_new(path, &st, schema_version, &s, err, errlen)) == 0) {
        s->next = registry;
        registry = s;
        fresh = 1;
    }
    pthread_mutex_unlock(&registry_mu);
    if (rc != 0) {
        return rc;
    }
    if (!fresh && schema_version >= 0) { /* already open: check it again */
        store_lock(s);
        rc = check_schema(s->db, path, schema_version, err, errlen);
        store_unlock(s);
        if (rc != 0) {
            store_release(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

void store_retain(struct store *s)
{
    pthread_mutex_lock(&registry_mu);
    s->refs++;
    pthread_mutex_unlock(&registry_mu);
}

void store_release(struct store *s)
{
    if (!s) {
        return;
    }
    pthread_mutex_lock(&registry_mu);
    int last = --s->refs == 0;
    if (last) {
        struct store **p = &registry;
        while (*p != s) {
            p = &(*p)->next;
        }
        *p = s->next;
    }
    pthread_mutex_unlock(&registry_mu);
    if (last) {
        destroy(s);
    }
}

const char *store_path(const struct store *s)
{
    return s->path;
}

/* ---- ownership of the connection and the write lock ------------------------ */

void store_lock(struct store *s)
{
    pthread_mutex_lock(&s->conn_mu);
    if (++s->depth == 1) {
        store_log_flush(s, STORE_WRITE_LOCK_WAIT_MS);
    }
}

void store_unlock(struct store *s)
{
    if (s->depth > 1) {
        s->depth--;
        pthread_mutex_unlock(&s->conn_mu);
        return;
    }
    /* Outermost: write what the I/O thread queued meanwhile (never waiting
     * for another process), then re-check after letting go, so a row queued
     * between the flush and the unlock is not stranded. When the lock file
     * is busy the rows stay queued for the next user of the connection
     * (retrying here would spin until the other process is done). */
    for (;;) {
        int flushed = store_log_flush(s, 0);
        s->depth = 0;
        pthread_mutex_unlock(&s->conn_mu);
        if (flushed < 0 || !store_log_pending(s) || pthread_mutex_trylock(&s->conn_mu) != 0) {
            return;
        }
        s->depth = 1;
    }
}

int store_write_lock(struct store *s, long wait_ms)
{
    if (s->write_locked) {
        return 0;
    }
    int rc = store_lockfile_acquire(s->lock_fd, wait_ms);
    if (rc == 0) {
        s->write_locked = 1;
    }
    return rc;
}

void store_write_settle(struct store *s)
{
    if (s->write_locked && s->tx_depth == 0 && sqlite3_txn_state(s->db, NULL) != SQLITE_TXN_WRITE) {
        store_lockfile_release(s->lock_fd);
        s->write_locked = 0;
    }
}

int store_control(struct store *s, const char *sql)
{
    s->allow_control = 1;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    s->allow_control = 0;
    return store_sqlite_errno(rc);
}

const char *store_errmsg(struct store *s)
{
    return sqlite3_errmsg(s->db);
}

int store_check(struct store *s, int full, char *err, size_t errlen)
{
    store_lock(s);
    int rc = run_check(s->db, s->path, full, err, errlen);
    store_unlock(s);
    return rc;
}

int store_exec(struct store *s, const char *sql)
{
    size_t len = strlen(sql), pos = 0;
    int rc = 0;
    store_lock(s);
    while (rc == 0) {
        struct store_stmt *st;
        size_t used;
        rc = store_prepare(s, sql + pos, len - pos, &st, &used);
        pos += used;
        if (rc != 0 || !st) {
            break;
        }
        while ((rc = store_step(st)) == 1) {
        }
        store_finalize(st);
    }
    store_unlock(s);
    return rc;
}

/* ---- transactions ------------------------------------------------------------ */

int store_begin(struct store *s, char *err, size_t errlen)
{
    store_lock(s);
    int rc;
    if (s->tx_depth == 0) {
        rc = store_write_lock(s, STORE_WRITE_LOCK_WAIT_MS);
        if (rc != 0) {
            set_err(err, errlen, "%s: another process kept the write lock (%s.lock): %s", s->path,
                    s->path, strerror(-rc));
        } else if ((rc = store_control(s, "BEGIN IMMEDIATE")) != 0) {
            set_err(err, errlen, "%s", sqlite3_errmsg(s->db));
        }
    } else if ((rc = store_control(s, "SAVEPOINT pixie_tx")) != 0) {
        set_err(err, errlen, "%s", sqlite3_errmsg(s->db));
    }
    if (rc != 0) {
        store_write_settle(s);
        store_unlock(s);
        return rc;
    }
    s->tx_depth++;
    return 0;
}

/* Ends the innermost transaction: gives back its write lock (outermost)
 * and its hold on the connection. */
static void end_transaction(struct store *s)
{
    s->tx_depth--;
    store_write_settle(s);
    store_unlock(s);
}

void store_rollback(struct store *s)
{
    if (s->tx_depth == 0) {
        return;
    }
    if (s->tx_depth > 1) {
        store_control(s, "ROLLBACK TO pixie_tx; RELEASE pixie_tx");
    } else if (!sqlite3_get_autocommit(s->db)) {
        store_control(s, "ROLLBACK");
    }
    end_transaction(s);
}

int store_commit(struct store *s, char *err, size_t errlen)
{
    if (s->tx_depth == 0) {
        set_err(err, errlen, "%s", "no transaction to commit");
        return -EINVAL;
    }
    int rc;
    if (s->tx_depth == 1 && sqlite3_get_autocommit(s->db)) {
        /* SQLite already rolled it back (an I/O error, a full disk, ...) */
        set_err(err, errlen, "the transaction was rolled back: %s", sqlite3_errmsg(s->db));
        rc = -EIO;
    } else {
        rc = store_control(s, s->tx_depth > 1 ? "RELEASE pixie_tx" : "COMMIT");
        if (rc != 0) {
            set_err(err, errlen, "%s", sqlite3_errmsg(s->db));
        }
    }
    if (rc != 0) {
        store_rollback(s);
        return rc;
    }
    end_transaction(s);
    return 0;
}

int store_in_transaction(struct store *s)
{
    store_lock(s);
    int in = s->tx_depth > 0;
    store_unlock(s);
    return in;
}

int64_t store_last_insert_rowid(struct store *s)
{
    return sqlite3_last_insert_rowid(s->db);
}

int64_t store_take_insert_rowid(struct store *s)
{
    int64_t rowid = sqlite3_last_insert_rowid(s->db);
    sqlite3_set_last_insert_rowid(s->db, 0);
    return rowid;
}

int64_t store_total_changes(struct store *s)
{
    return sqlite3_total_changes64(s->db);
}
