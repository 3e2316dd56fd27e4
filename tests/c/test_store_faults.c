/* I/O error injection for src/core/store (security anchors §5.5): a VFS
 * wrapped around SQLite's default fails every write, truncate and sync from
 * the Nth one on (a disk that fills up or dies), for N = 0, 1, 2, … until a
 * whole session completes. Each time the store must report the failure (a
 * negative return, no crash), and afterwards, with the disk healthy again,
 * the database must open, pass integrity_check, and hold every row whose
 * commit was reported and nothing half-written. */
#include "check.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static long fault_countdown = -1; /* < 0: healthy */
static int fault_fired;

struct fault_file {
    sqlite3_file base;
    sqlite3_file *real; /* lives right after this struct */
};

/* 1 when this write-type operation must fail. */
static int fault_now(void)
{
    if (fault_countdown < 0) {
        return 0;
    }
    if (fault_countdown == 0) {
        fault_fired = 1;
        return 1;
    }
    fault_countdown--;
    return 0;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct fault_file *)f)->real;
}

static int f_close(sqlite3_file *f)
{
    return real_of(f)->pMethods->xClose(real_of(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (fault_now()) {
        return SQLITE_IOERR_WRITE;
    }
    return real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (fault_now()) {
        return SQLITE_IOERR_TRUNCATE;
    }
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (fault_now()) {
        return SQLITE_IOERR_FSYNC;
    }
    return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int f_device(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int f_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

static const sqlite3_io_methods fault_io = {
    2, /* no xFetch/xUnfetch: every read goes through xRead */
    f_close,   f_read,     f_write,          f_truncate,  f_sync,   f_size,
    f_lock,    f_unlock,   f_check_reserved, f_control,   f_sector, f_device,
    f_shm_map, f_shm_lock, f_shm_barrier,    f_shm_unmap, NULL,     NULL,
};

static int fault_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                      int *out_flags)
{
    (void)vfs;
    struct fault_file *ff = (struct fault_file *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
    ff->base.pMethods = ff->real->pMethods ? &fault_io : NULL;
    return rc;
}

static void install_fault_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    fault_vfs = *real_vfs;
    fault_vfs.iVersion = real_vfs->iVersion;
    fault_vfs.zName = "pixie-fault";
    fault_vfs.szOsFile = (int)sizeof(struct fault_file) + real_vfs->szOsFile;
    fault_vfs.xOpen = fault_open;
    fault_vfs.pNext = NULL;
    CHECK(sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK);
}

/* Counts rows with a fresh, healthy store (-1 when it cannot open). */
static long long count_rows(const char *path, const char *sql, char *err, size_t errlen)
{
    long saved = fault_countdown;
    fault_countdown = -1;
    struct store *s;
    long long n = -1;
    if (store_open(path, STORE_ANY_SCHEMA, &s, err, errlen) == 0) {
        if (store_check(s, 1, err, errlen) == 0) {
            struct store_stmt *st;
            size_t used;
            if (store_prepare(s, sql, strlen(sql), &st, &used) == 0 && st && store_step(st) == 1) {
                n = store_column_int64(st, 0);
            }
            store_finalize(st);
        }
        store_release(s);
    }
    fault_countdown = saved;
    return n;
}

/* One session on a database prepared healthy: open, one committed batch of
 * 40 runs, three spawn_log appends, close. Faults start at operation n.
 * Returns 1 when no fault fired (the session ran to the end). */
static int session(const char *dir, long n, int *reports)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/pixie.db", dir);
    char err[512];
    struct store *s;
    fault_countdown = -1;
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (!s) {
        return 1;
    }
    CHECK(store_exec(s, "CREATE TABLE runs (id INTEGER PRIMARY KEY, v TEXT);"
                        "CREATE TABLE spawn_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                        " tool_id TEXT NOT NULL, ts TEXT NOT NULL, stream TEXT NOT NULL,"
                        " text TEXT NOT NULL)") == 0);
    store_release(s);

    fault_fired = 0;
    fault_countdown = n;
    int committed = 0, appended = 0;
    if (store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0) {
        /* one statement: its own transaction, all or nothing */
        int rc = store_exec(s, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
                               " WHERE i < 40) INSERT INTO runs (v) SELECT printf('%0200d', i)"
                               " FROM c");
        if (rc == 0) {
            committed = 1;
        } else {
            (*reports)++;
            CHECK(rc < 0);
        }
        for (int i = 0; i < 3; i++) {
            int arc = store_spawn_log_append(s, "t", "stdout", "some output", 11);
            if (arc == 0) {
                appended++;
            } else {
                (*reports)++;
                CHECK(arc < 0);
            }
        }
        store_release(s);
    } else {
        (*reports)++;
        CHECK(err[0] != '\0');
    }
    int clean = !fault_fired;
    fault_countdown = -1;

    long long runs = count_rows(path, "SELECT count(*) FROM runs", err, sizeof err);
    long long logs = count_rows(path, "SELECT count(*) FROM spawn_log", err, sizeof err);
    if (runs < 0) {
        fprintf(stderr, "after fault at %ld: %s\n", n, err);
    }
    CHECK(runs == 0 || runs == 40);       /* all or nothing */
    CHECK(!committed || runs == 40);      /* a reported commit is there */
    CHECK(logs >= appended && logs <= 3); /* reported appends are there */
    return clean;
}

int main(void)
{
    install_fault_vfs();
    int reports = 0;
    long n;
    for (n = 0; n < 2000; n++) {
        char name[64];
        snprintf(name, sizeof name, "store-faults-%ld", n);
        const char *dir = check_tmpdir(name);
        int clean = session(dir, n, &reports);
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
        if (clean) {
            break;
        }
    }
    CHECK(n < 2000);    /* a session finally ran without faults */
    CHECK(reports > 0); /* and the faults were reported, not swallowed */
    printf("fault points tried: %ld, failures reported: %d\n", n + 1, reports);
    return check_exit();
}
