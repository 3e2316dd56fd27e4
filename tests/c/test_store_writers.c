/* Tests of the one-writer design of src/core/store (store.h): one store
 * per file per process, the schema check on the connection, many threads
 * writing and appending spawn_log at once, the spawn_log queue that never
 * waits for a transaction, and pixie.db.lock held for write transactions
 * only. */
#include "check.h"
#include "store.h"
#include "store_check.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char schema[] =
    "CREATE TABLE spawn_log (id INTEGER PRIMARY KEY AUTOINCREMENT, tool_id TEXT NOT NULL,"
    " ts TEXT NOT NULL, stream TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, who TEXT, status TEXT);";

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh store with the test schema in a new folder named `name`. */
static struct store *fresh(const char *name, char *path, size_t n)
{
    path_in(path, n, check_tmpdir(name), "pixie.db");
    struct store *s = NULL;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (s) {
        CHECK(store_exec(s, schema) == 0);
    }
    return s;
}

static void test_one_store_per_file(void)
{
    char path[4200], other[4300];
    struct store *a = fresh("writers-same", path, sizeof path);
    if (!a) {
        return;
    }
    snprintf(other, sizeof other, "%.*s/./pixie.db", (int)(strrchr(path, '/') - path), path);
    struct store *b, *c;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &b, err, sizeof err) == 0);
    CHECK(store_open(other, STORE_ANY_SCHEMA, &c, err, sizeof err) == 0);
    CHECK(a == b && b == c); /* one connection, whatever path names the file */
    store_release(c);
    store_release(b);
    CHECK(store_check_scalar(a, "SELECT count(*) FROM runs") == 0); /* still open */
    store_release(a);
}

/* Writes a database with raw SQLite (rollback journal): user_version and a
 * table. */
static void raw_db(const char *path, const char *sql)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

/* Bytes [off, off+n) of a file. */
static void read_at(const char *path, long off, unsigned char *buf, size_t n)
{
    memset(buf, 0, n);
    FILE *f = fopen(path, "rb");
    if (f) {
        fseek(f, off, SEEK_SET);
        CHECK(fread(buf, 1, n, f) == n);
        fclose(f);
    }
}

static void test_schema_check_on_the_connection(void)
{
    const char *dir = check_tmpdir("writers-schema");
    char path[4200], wal[4300], lock[4300];
    struct store *s = NULL;
    char err[512];
    const char *cases[][2] = {
        {"newer.db", "PRAGMA user_version = 9; CREATE TABLE t (x);"},
        {"foreign.db", "CREATE TABLE runs (x); INSERT INTO runs VALUES (1);"},
    };
    for (int i = 0; i < 2; i++) {
        path_in(path, sizeof path, dir, cases[i][0]);
        snprintf(wal, sizeof wal, "%s-wal", path);
        snprintf(lock, sizeof lock, "%s.lock", path);
        raw_db(path, cases[i][1]);
        CHECK(chmod(path, 0644) == 0);
        int rc = store_open(path, 3, &s, err, sizeof err);
        CHECK(s == NULL);
        CHECK(rc == (i == 0 ? -ENOTSUP : -EILSEQ));
        CHECK(strstr(err, i == 0 ? "newer than this Pixie knows (3)" : "not a Pixie database"));
        unsigned char hdr[2];
        read_at(path, 18, hdr, 2);
        CHECK(hdr[0] == 1 && hdr[1] == 1); /* not switched to WAL */
        struct stat st;
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
        CHECK(!exists(wal) && !exists(lock));
        CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0); /* no check */
        store_release(s);
    }
    /* a user_version still in the WAL (page 1 of the file is stale) counts */
    path_in(path, sizeof path, dir, "wal.db");
    struct store *a;
    CHECK(store_open(path, 3, &a, err, sizeof err) == 0);
    if (!a) {
        return;
    }
    CHECK(store_exec(a, "CREATE TABLE t (x); PRAGMA user_version = 7") == 0);
    unsigned char v[4];
    read_at(path, 60, v, 4);
    CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0); /* the file still says 0 */
    CHECK(store_open(path, 3, &s, err, sizeof err) == -ENOTSUP && s == NULL);
    CHECK(strstr(err, "schema version 7") != NULL);
    CHECK(store_open(path, 7, &s, err, sizeof err) == 0 && s == a);
    store_release(s);
    store_release(a);
}

struct worker {
    struct store *s;
    int id;
    int n;
    int failures;
    int busy;
};

/* Records a failure (and whether it was SQLITE_BUSY). */
static void failed(struct worker *w, int rc)
{
    w->failures++;
    if (rc == -EBUSY) {
        w->busy++;
    }
}

/* n runs: a transaction (insert + update) and an autocommit insert each. */
static void *writer(void *arg)
{
    struct worker *w = arg;
    char sql[200], err[512];
    for (int i = 0; i < w->n; i++) {
        int rc = store_begin(w->s, err, sizeof err);
        if (rc != 0) {
            failed(w, rc);
            continue;
        }
        int id = w->id * 100000 + i;
        snprintf(sql, sizeof sql, "INSERT INTO runs VALUES (%d, 'w%d', 'running')", id, w->id);
        if ((rc = store_exec(w->s, sql)) == 0) {
            snprintf(sql, sizeof sql, "UPDATE runs SET status = 'ok' WHERE id = %d", id);
            rc = store_exec(w->s, sql);
        }
        if (rc != 0) {
            store_rollback(w->s);
            failed(w, rc);
        } else if ((rc = store_commit(w->s, err, sizeof err)) != 0) {
            failed(w, rc);
        }
        snprintf(sql, sizeof sql, "INSERT INTO runs VALUES (%d, 'a%d', 'ok')", id + 50000, w->id);
        if ((rc = store_exec(w->s, sql)) != 0) {
            failed(w, rc);
        }
    }
    return NULL;
}

/* n spawn_log rows through the queue (as the launcher's I/O thread). */
static void *queuer(void *arg)
{
    struct worker *w = arg;
    char tool[16];
    snprintf(tool, sizeof tool, "q%d", w->id);
    for (int i = 0; i < w->n; i++) {
        int rc = store_spawn_log_queue(w->s, tool, "stdout", "queued output line\n", 19);
        if (rc != 0) {
            failed(w, rc);
        }
    }
    return NULL;
}

/* n spawn_log rows written at once (as Lua's st:spawn_log_append). */
static void *appender(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        int rc = store_spawn_log_append(w->s, "direct", "stderr", "direct line", 11);
        if (rc != 0) {
            failed(w, rc);
        }
    }
    return NULL;
}

static void test_many_threads_write_and_append_at_once(void)
{
    setenv("PIXIE_SPAWN_LOG_MAX_ROWS", "1000000", 1);
    char path[4200];
    struct store *s = fresh("writers-threads", path, sizeof path);
    unsetenv("PIXIE_SPAWN_LOG_MAX_ROWS");
    if (!s) {
        return;
    }
    enum { WRITERS = 4, QUEUERS = 2, APPENDERS = 2, N = 150 };
    pthread_t th[WRITERS + QUEUERS + APPENDERS];
    struct worker w[WRITERS + QUEUERS + APPENDERS];
    for (int i = 0; i < WRITERS + QUEUERS + APPENDERS; i++) {
        w[i] = (struct worker){.s = s, .id = i, .n = N};
        void *(*fn)(void *) = i < WRITERS ? writer : i < WRITERS + QUEUERS ? queuer : appender;
        CHECK(pthread_create(&th[i], NULL, fn, &w[i]) == 0);
    }
    int failures = 0, busy = 0;
    for (int i = 0; i < WRITERS + QUEUERS + APPENDERS; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
        busy += w[i].busy;
    }
    CHECK(failures == 0);
    CHECK(busy == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM runs WHERE status = 'ok'") ==
          WRITERS * N * 2);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log WHERE tool_id LIKE 'q%'") ==
          QUEUERS * N);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log WHERE tool_id = 'direct'") ==
          APPENDERS * N);
    char err[512];
    CHECK(store_check(s, 1, err, sizeof err) == 0);
    store_release(s);
}

struct queue_during_tx {
    struct store *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int failures;
};

static void *queue_some(void *arg)
{
    struct queue_during_tx *q = arg;
    for (int i = 0; i < 50; i++) {
        if (store_spawn_log_queue(q->s, "io", "stderr", "line\n", 5) != 0) {
            q->failures++;
        }
    }
    pthread_mutex_lock(&q->mu);
    q->done = 1;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* The launcher's I/O thread queues while a long transaction holds the
 * connection: it returns at once, and the rows appear once the
 * transaction is over. */
static void test_queue_never_waits_for_a_transaction(void)
{
    char path[4200], err[512];
    struct store *s = fresh("writers-queue", path, sizeof path);
    if (!s) {
        return;
    }
    struct queue_during_tx q = {
        .s = s, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    CHECK(store_begin(s, err, sizeof err) == 0);
    CHECK(store_exec(s, "INSERT INTO runs VALUES (1, 'long', 'running')") == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, queue_some, &q) == 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30; /* a generous bound: a blocked queue never ends */
    pthread_mutex_lock(&q.mu);
    while (!q.done && pthread_cond_timedwait(&q.cv, &q.mu, &until) == 0) {
    }
    int done = q.done;
    pthread_mutex_unlock(&q.mu);
    CHECK(done); /* queued while we still hold the transaction */
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log") ==
          0); /* not inside our transaction */
    CHECK(store_commit(s, err, sizeof err) == 0);
    pthread_join(th, NULL);
    CHECK(q.failures == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log WHERE tool_id = 'io'") == 50);
    store_release(s);
}

struct lone_queue {
    struct store *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int rc;
};

static void *queue_one(void *arg)
{
    struct lone_queue *q = arg;
    int rc = store_spawn_log_queue(q->s, "io", "stdout", "while busy\n", 11);
    pthread_mutex_lock(&q->mu);
    q->rc = rc;
    q->done = 1;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* Another process holds pixie.db.lock: the I/O thread's queue call still
 * returns at once (no spinning until the lock is free), and the row is
 * written by the next user of the connection once the lock is free. */
static void test_queue_returns_while_another_process_writes(void)
{
    char path[4200], lock[4300];
    struct store *s = fresh("writers-queue-busy", path, sizeof path);
    if (!s) {
        return;
    }
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    struct lone_queue q = {.s = s, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, queue_one, &q) == 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&q.mu);
    while (!q.done && pthread_cond_timedwait(&q.cv, &q.mu, &until) == 0) {
    }
    int done = q.done;
    pthread_mutex_unlock(&q.mu);
    CHECK(done);
    flock(fd, LOCK_UN);
    close(fd);
    pthread_join(th, NULL);
    CHECK(q.rc == 0);
    CHECK(store_check_scalar(
              s, "SELECT count(*) FROM spawn_log WHERE text = 'while busy' || char(10)") == 1);
    store_release(s);
}

struct waiting_write {
    struct store *s;
    int rc;
    volatile int done;
};

static void *write_one(void *arg)
{
    struct waiting_write *ww = arg;
    ww->rc = store_exec(ww->s, "INSERT INTO runs VALUES (7, 'late', 'ok')");
    ww->done = 1;
    return NULL;
}

/* 1 when another open file description can take the lock file now. */
static int lock_free(const char *lock)
{
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    int got = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return got;
}

static void test_write_lock_file_only_for_write_transactions(void)
{
    char path[4200], lock[4300], err[512];
    struct store *s = fresh("writers-lockfile", path, sizeof path);
    if (!s) {
        return;
    }
    snprintf(lock, sizeof lock, "%s.lock", path);
    struct stat st;
    CHECK(lstat(lock, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(lock_free(lock));
    CHECK(store_check_scalar(s, "SELECT count(*) FROM runs") == 0);
    CHECK(store_begin(s, err, sizeof err) == 0);
    CHECK(!lock_free(lock)); /* held by the write transaction */
    CHECK(store_commit(s, err, sizeof err) == 0);
    CHECK(lock_free(lock));

    /* another process holding it: our write waits, then lands */
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    struct waiting_write ww = {.s = s};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, write_one, &ww) == 0);
    usleep(300 * 1000);
    CHECK(!ww.done); /* still waiting for the lock */
    flock(fd, LOCK_UN);
    close(fd);
    pthread_join(th, NULL);
    CHECK(ww.rc == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM runs WHERE id = 7") == 1);
    store_release(s);

    /* a symlink in its place is refused, never followed */
    char dir2[4200], path2[4300], lock2[4400];
    snprintf(dir2, sizeof dir2, "%s", check_tmpdir("writers-lock-symlink"));
    path_in(path2, sizeof path2, dir2, "pixie.db");
    snprintf(lock2, sizeof lock2, "%s.lock", path2);
    CHECK(symlink("/tmp/pixie-elsewhere.lock", lock2) == 0);
    struct store *bad = NULL;
    CHECK(store_open(path2, STORE_ANY_SCHEMA, &bad, err, sizeof err) == -ELOOP);
    CHECK(bad == NULL && strstr(err, lock2) != NULL && strstr(err, "is a symbolic link") != NULL);
    CHECK(!exists("/tmp/pixie-elsewhere.lock"));

    /* a FIFO in its place (or the -wal's) is refused at once, never opened */
    CHECK(unlink(lock2) == 0 && mkfifo(lock2, 0600) == 0);
    CHECK(store_open(path2, STORE_ANY_SCHEMA, &bad, err, sizeof err) == -EINVAL);
    CHECK(bad == NULL && strstr(err, "is a FIFO, not a regular file") != NULL);
    char wal2[4400];
    snprintf(wal2, sizeof wal2, "%s-wal", path2);
    CHECK(unlink(lock2) == 0 && mkfifo(wal2, 0600) == 0);
    CHECK(store_open(path2, STORE_ANY_SCHEMA, &bad, err, sizeof err) == -EINVAL);
    CHECK(bad == NULL && strstr(err, wal2) != NULL);
}

int main(void)
{
    test_one_store_per_file();
    test_schema_check_on_the_connection();
    test_many_threads_write_and_append_at_once();
    test_queue_never_waits_for_a_transaction();
    test_queue_returns_while_another_process_writes();
    test_write_lock_file_only_for_write_transactions();
    return check_exit();
}
