/* Store benchmark (bench/store/run.sh): the cost of the one-writer design.
 *
 * "old" replays the previous design with raw SQLite: a main connection
 * (synchronous=FULL) for run rows and a second, dedicated connection
 * (synchronous=NORMAL) for spawn_log, each statement prepared per call as
 * the binding does. "new" is src/core/store: one connection per process
 * behind a mutex, pixie.db.lock taken for every write transaction, and
 * spawn_log rows queued by the I/O thread and flushed in batches.
 *
 * 1. run_start + run_finish: an INSERT and an UPDATE (two autocommit
 *    transactions, each synced), pairs per second.
 * 2. spawn_log appends written at once (Lua's st:spawn_log_append), rows/s.
 * 3. Tool output from an "I/O thread" (old: the dedicated connection; new:
 *    store_spawn_log_queue) while the main thread records runs: rows/s of
 *    each side until every row is committed.
 * Rounds alternate old and new; medians are printed with new/old ratios.
 *
 * Usage: bench_store DIR [PAIRS] [APPENDS] [ROUNDS] */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, tool_id TEXT NOT NULL,"
    " started_at TEXT NOT NULL, finished_at TEXT, inputs_json TEXT, outputs_json TEXT,"
    " status TEXT NOT NULL DEFAULT 'running');"
    "CREATE TABLE IF NOT EXISTS spawn_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " tool_id TEXT NOT NULL, ts TEXT NOT NULL, stream TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS spawn_log_tool ON spawn_log (tool_id, id);";
static const char sql_start[] = "INSERT INTO runs (id, tool_id, started_at, inputs_json) VALUES "
                                "(?, 'bench', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?)";
static const char sql_finish[] =
    "UPDATE runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), status = 'ok',"
    " outputs_json = ? WHERE id = ? AND status = 'running'";
static const char sql_log_insert[] = "INSERT INTO spawn_log (tool_id, ts, stream, text) "
                                     "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2, ?3)";
static const char sql_log_prune[] =
    "DELETE FROM spawn_log WHERE tool_id = ?1 AND id <= "
    "(SELECT id FROM spawn_log WHERE tool_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char line[] = "INFO:     127.0.0.1:40000 - \"POST /run HTTP/1.1\" 200 OK\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_store: %s\n", what);
    exit(1);
}

/* ---- old: two raw connections -------------------------------------------- */

struct old {
    sqlite3 *main, *log;
    sqlite3_stmt *ins, *prune;
};

static sqlite3 *old_connect(const char *path, const char *sync)
{
    sqlite3 *db;
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;"
             "PRAGMA secure_delete=ON; PRAGMA journal_size_limit=67108864;"
             "PRAGMA journal_mode=WAL;",
             sync);
    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
        sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        die(sqlite3_errmsg(db));
    }
    return db;
}

static void old_open(struct old *o, const char *path)
{
    o->main = old_connect(path, "FULL");
    o->log = old_connect(path, "NORMAL");
    if (sqlite3_prepare_v2(o->log, sql_log_insert, -1, &o->ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->log, sql_log_prune, -1, &o->prune, NULL) != SQLITE_OK) {
        die(sqlite3_errmsg(o->log));
    }
}

static void old_close(struct old *o)
{
    sqlite3_finalize(o->ins);
    sqlite3_finalize(o->prune);
    sqlite3_close(o->log);
    sqlite3_close(o->main);
}

/* One statement with two text parameters, prepared per call. */
static void old_write(sqlite3 *db, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        die(sqlite3_errmsg(db));
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        die(sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
}

static void old_run_pair(struct old *o, int i)
{
    char id[32];
    snprintf(id, sizeof id, "run-%d-%ld", i, (long)random());
    old_write(o->main, sql_start, id, "{\"text\":\"hello\"}");
    old_write(o->main, sql_finish, "{\"echo\":\"hello\"}", id);
}

/* The previous store_spawn_log_append: BEGIN IMMEDIATE, insert, prune,
 * COMMIT on the dedicated connection. */
static void old_append(struct old *o)
{
    if (sqlite3_exec(o->log, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        die(sqlite3_errmsg(o->log));
    }
    sqlite3_bind_text(o->ins, 1, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_text(o->ins, 2, "stdout", -1, SQLITE_STATIC);
    sqlite3_bind_text(o->ins, 3, line, -1, SQLITE_STATIC);
    int rc = sqlite3_step(o->ins);
    sqlite3_reset(o->ins);
    sqlite3_bind_text(o->prune, 1, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_int64(o->prune, 2, 1000000);
    if (rc == SQLITE_DONE) {
        rc = sqlite3_step(o->prune);
    }
    sqlite3_reset(o->prune);
    if (rc != SQLITE_DONE || sqlite3_exec(o->log, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        die(sqlite3_errmsg(o->log));
    }
}

/* ---- new: the store --------------------------------------------------------- */

static struct store *new_open(const char *path)
{
    struct store *s;
    char err[512];
    if (store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) != 0) {
        die(err);
    }
    if (store_exec(s, schema) != 0) {
        die(store_errmsg(s));
    }
    return s;
}

/* One statement as the binding runs it: connection held around it. */
static void new_write(struct store *s, const char *sql, const char *a, const char *b)
{
    struct store_stmt *st;
    size_t used;
    store_lock(s);
    if (store_prepare(s, sql, strlen(sql), &st, &used) != 0 || !st ||
        store_bind_text(st, 1, a, strlen(a)) != 0 || store_bind_text(st, 2, b, strlen(b)) != 0 ||
        store_step(st) != 0) {
        die(store_errmsg(s));
    }
    store_finalize(st);
    store_unlock(s);
}

static void new_run_pair(struct store *s, int i)
{
    char id[32];
    snprintf(id, sizeof id, "run-%d-%ld", i, (long)random());
    new_write(s, sql_start, id, "{\"text\":\"hello\"}");
    new_write(s, sql_finish, "{\"echo\":\"hello\"}", id);
}

/* ---- the measurements --------------------------------------------------------- */

struct io_side {
    struct old *o;
    struct store *s;
    int n;
    double seconds;
};

static void *io_thread(void *arg)
{
    struct io_side *io = arg;
    double t0 = now_s();
    for (int i = 0; i < io->n; i++) {
        if (io->o) {
            old_append(io->o);
        } else if (store_spawn_log_queue(io->s, "bench", "stdout", line, sizeof line - 1) != 0) {
            die("queue full");
        }
    }
    io->seconds = now_s() - t0;
    return NULL;
}

/* Scenario 3 for one side; *io_rate and *run_rate get rows/s and pairs/s
 * (new: until the queue is flushed, i.e. every row is committed). */
static void mixed(struct old *o, struct store *s, int pairs, int rows, double *io_rate,
                  double *run_rate)
{
    struct io_side io = {.o = o, .s = s, .n = rows};
    pthread_t th;
    double t0 = now_s();
    pthread_create(&th, NULL, io_thread, &io);
    for (int i = 0; i < pairs; i++) {
        if (o) {
            old_run_pair(o, i);
        } else {
            new_run_pair(s, i);
        }
    }
    double runs_done = now_s() - t0;
    pthread_join(th, NULL);
    if (s) {
        store_lock(s); /* writes what is still queued */
        store_unlock(s);
    }
    double all_done = now_s() - t0;
    *run_rate = pairs / runs_done;
    *io_rate = rows / (s ? all_done : io.seconds);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        die("usage: bench_store DIR [PAIRS] [APPENDS] [ROUNDS]");
    }
    const char *dir = argv[1];
    int pairs = argc > 2 ? atoi(argv[2]) : 200;
    int appends = argc > 3 ? atoi(argv[3]) : 1000;
    int rounds = argc > 4 ? atoi(argv[4]) : 3;
    if (pairs < 1 || appends < 1 || rounds < 1 || rounds > 50) {
        die("bad counts");
    }
    double r_old[50], r_new[50], a_old[50], a_new[50];
    double m_io_old[50], m_io_new[50], m_run_old[50], m_run_new[50];
    for (int r = 0; r < rounds; r++) {
        char po[4200], pn[4200];
        snprintf(po, sizeof po, "%s/old-%d.db", dir, r);
        snprintf(pn, sizeof pn, "%s/new-%d.db", dir, r);
        struct old o;
        old_open(&o, po);
        struct store *s = new_open(pn);

        double t0 = now_s();
        for (int i = 0; i < pairs; i++) {
            old_run_pair(&o, i);
        }
        r_old[r] = pairs / (now_s() - t0);
        t0 = now_s();
        for (int i = 0; i < pairs; i++) {
            new_run_pair(s, i);
        }
        r_new[r] = pairs / (now_s() - t0);

        t0 = now_s();
        for (int i = 0; i < appends; i++) {
            old_append(&o);
        }
        a_old[r] = appends / (now_s() - t0);
        t0 = now_s();
        for (int i = 0; i < appends; i++) {
            if (store_spawn_log_append(s, "bench", "stdout", line, sizeof line - 1) != 0) {
                die(store_errmsg(s));
            }
        }
        a_new[r] = appends / (now_s() - t0);

        mixed(&o, NULL, pairs, appends, &m_io_old[r], &m_run_old[r]);
        mixed(NULL, s, pairs, appends, &m_io_new[r], &m_run_new[r]);
        old_close(&o);
        store_release(s);
    }
    struct {
        const char *what;
        double *old, *new;
    } rows[] = {
        {"run_start+run_finish (pairs/s)", r_old, r_new},
        {"spawn_log append, written at once (rows/s)", a_old, a_new},
        {"mixed: tool output from I/O thread (rows/s)", m_io_old, m_io_new},
        {"mixed: runs recorded meanwhile (pairs/s)", m_run_old, m_run_new},
    };
    printf("%d pairs, %d log rows, %d rounds, median of rounds\n", pairs, appends, rounds);
    printf("%-46s %12s %12s %8s\n", "", "old (2 conn)", "new (1 conn)", "new/old");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double o = median(rows[i].old, rounds), n = median(rows[i].new, rounds);
        printf("%-46s %12.0f %12.0f %8.2f\n", rows[i].what, o, n, n / o);
    }
    return 0;
}
