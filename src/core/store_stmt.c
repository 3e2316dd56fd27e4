/* The statement API of the store (contracts in store.h): a statement
 * holds the connection from prepare to finalize, and one that writes
 * outside store_begin holds pixie.db.lock for its autocommit transaction. */
#include "store_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

struct store_stmt {
    sqlite3_stmt *st;
    struct store *s;
};

int store_prepare(struct store *s, const char *sql, size_t len, struct store_stmt **out,
                  size_t *used)
{
    *out = NULL;
    *used = 0;
    if (len > INT_MAX) {
        return -E2BIG;
    }
    struct store_stmt *w = malloc(sizeof *w);
    if (!w) {
        return -ENOMEM;
    }
    store_lock(s);
    sqlite3_stmt *st = NULL;
    const char *tail = sql;
    int rc = sqlite3_prepare_v2(s->db, sql, (int)len, &st, &tail);
    if (rc != SQLITE_OK || !st) {
        free(w);
        store_unlock(s);
        *used = rc == SQLITE_OK ? (size_t)(tail - sql) : 0;
        return (rc & 0xff) == SQLITE_AUTH ? -EPERM : store_sqlite_errno(rc);
    }
    w->st = st;
    w->s = s;
    *out = w;
    *used = (size_t)(tail - sql);
    return 0;
}

void store_finalize(struct store_stmt *w)
{
    if (!w) {
        return;
    }
    struct store *s = w->s;
    sqlite3_finalize(w->st); /* ends an autocommit write still open */
    free(w);
    store_write_settle(s);
    store_unlock(s);
}

int store_param_count(struct store_stmt *w)
{
    return sqlite3_bind_parameter_count(w->st);
}

int store_bind_null(struct store_stmt *w, int i)
{
    return store_sqlite_errno(sqlite3_bind_null(w->st, i));
}

int store_bind_int64(struct store_stmt *w, int i, int64_t v)
{
    return store_sqlite_errno(sqlite3_bind_int64(w->st, i, v));
}

int store_bind_double(struct store_stmt *w, int i, double v)
{
    return store_sqlite_errno(sqlite3_bind_double(w->st, i, v));
}

int store_bind_text(struct store_stmt *w, int i, const char *p, size_t len)
{
    return store_sqlite_errno(sqlite3_bind_text64(w->st, i, p, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

int store_bind_blob(struct store_stmt *w, int i, const void *p, size_t len)
{
    return store_sqlite_errno(sqlite3_bind_blob64(w->st, i, p, len, SQLITE_TRANSIENT));
}

int store_step(struct store_stmt *w)
{
    struct store *s = w->s;
    if (!sqlite3_stmt_readonly(w->st)) {
        int lrc = store_write_lock(s, STORE_WRITE_LOCK_WAIT_MS);
        if (lrc != 0) {
            return lrc;
        }
    }
    s->allow_control = 1; /* statements SQLite prepares inside a step (VACUUM's) */
    int rc = sqlite3_step(w->st);
    s->allow_control = 0;
    if (rc == SQLITE_ROW) {
        return 1;
    }
    if (s->write_locked && s->tx_depth == 0) {
        sqlite3_reset(w->st); /* the autocommit transaction ends here */
        store_write_settle(s);
    }
    if (rc == SQLITE_DONE) {
        return 0;
    }
    int e = store_sqlite_errno(rc);
    return e ? e : -EIO;
}

int store_column_count(struct store_stmt *w)
{
    return sqlite3_column_count(w->st);
}

const char *store_column_name(struct store_stmt *w, int i)
{
    return sqlite3_column_name(w->st, i);
}

enum store_type store_column_type(struct store_stmt *w, int i)
{
    switch (sqlite3_column_type(w->st, i)) {
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

int64_t store_column_int64(struct store_stmt *w, int i)
{
    return sqlite3_column_int64(w->st, i);
}

double store_column_double(struct store_stmt *w, int i)
{
    return sqlite3_column_double(w->st, i);
}

const void *store_column_bytes(struct store_stmt *w, int i, size_t *len)
{
    const void *p = sqlite3_column_type(w->st, i) == SQLITE_BLOB
                        ? sqlite3_column_blob(w->st, i)
                        : (const void *)sqlite3_column_text(w->st, i);
    *len = (size_t)sqlite3_column_bytes(w->st, i);
    return p ? p : "";
}
