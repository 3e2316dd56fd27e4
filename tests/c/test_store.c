/* Tests of src/core/store: safe opening, refusal of foreign and corrupt
 * files (bytes unchanged), WAL, 0600 modes whatever the umask, the
 * statement API and the thread-safe, capped spawn_log append. */
#include "check.h"
#include "store.h"
#include "store_check.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char spawn_log_schema[] =
    "CREATE TABLE spawn_log (id INTEGER PRIMARY KEY AUTOINCREMENT, tool_id TEXT NOT NULL,"
    " ts TEXT NOT NULL, stream TEXT NOT NULL CHECK (stream IN ('stdout','stderr','pixie')),"
    " text TEXT NOT NULL)";

/* Reads a whole file into a malloc'd buffer (NULL when missing). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* Returns the first column of the first row as a malloc'd string. */
static char *text_of(struct store *s, const char *sql)
{
    struct store_stmt *st;
    size_t used, len;
    char *v = NULL;
    if (store_prepare(s, sql, strlen(sql), &st, &used) == 0 && st && store_step(st) == 1) {
        const char *p = store_column_bytes(st, 0, &len);
        v = strndup(p, len);
    }
    store_finalize(st);
    return v;
}

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void test_create_wal_and_modes_0600_under_umask_000(void)
{
    const char *dir = check_tmpdir("store-create");
    char path[4200], wal[4300], shm[4300];
    path_in(path, sizeof path, dir, "pixie.db");
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    mode_t old = umask(0);
    struct store *s = NULL;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    CHECK(s != NULL);
    if (!s) {
        umask(old);
        return;
    }
    CHECK(store_exec(s, "CREATE TABLE t (x); INSERT INTO t VALUES (1)") == 0);
    char *mode = text_of(s, "PRAGMA journal_mode");
    CHECK(mode && strcmp(mode, "wal") == 0);
    free(mode);
    CHECK(store_check_scalar(s, "PRAGMA synchronous") == 2); /* FULL */
    CHECK(store_check_scalar(s, "PRAGMA busy_timeout") == 5000);
    CHECK(store_check_scalar(s, "PRAGMA foreign_keys") == 1);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(wal) == 0600);
    CHECK(mode_of(shm) == 0600);
    store_release(s);
    umask(old);

    /* an existing database with loose modes is tightened */
    CHECK(chmod(path, 0666) == 0);
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    CHECK(mode_of(path) == 0600);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM t") == 1);
    store_release(s);
}

static void test_refuses_non_sqlite_file_bytes_unchanged(void)
{
    const char *dir = check_tmpdir("store-foreign");
    const char *cases[] = {
        "name,value\nthis is a CSV file, not a database\n", "SQLite format 2\0 almost",
        "SQLite", /* shorter than the header */
    };
    size_t lens[] = {strlen(cases[0]), 24, 6};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[4200], wal[4300], shm[4300];
        snprintf(path, sizeof path, "%s/db%zu", dir, i);
        snprintf(wal, sizeof wal, "%s-wal", path);
        snprintf(shm, sizeof shm, "%s-shm", path);
        spit(path, cases[i], lens[i]);
        CHECK(chmod(path, 0644) == 0);
        struct store *s = (struct store *)1;
        char err[512] = "";
        CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == -EILSEQ);
        CHECK(s == NULL);
        CHECK(strstr(err, "is not a SQLite database") != NULL);
        CHECK(strstr(err, path) != NULL);
        size_t len;
        char *after = slurp(path, &len);
        CHECK(after && len == lens[i] && memcmp(after, cases[i], len) == 0);
        free(after);
        CHECK(mode_of(path) == 0644); /* not even the mode changed */
        CHECK(!exists(wal) && !exists(shm));
    }
    /* a folder is refused too */
    struct store *s;
    char err[512];
    CHECK(store_open(dir, STORE_ANY_SCHEMA, &s, err, sizeof err) == -EINVAL);
    CHECK(strstr(err, "not a regular file") != NULL);
}

static void test_refuses_corrupt_database_bytes_unchanged(void)
{
    const char *dir = check_tmpdir("store-corrupt");
    char path[4200];
    path_in(path, sizeof path, dir, "pixie.db");
    struct store *s;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (!s) {
        return;
    }
    CHECK(store_exec(s, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);"
                        "CREATE INDEX tv ON t (v);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                        "WHERE i < 2000) INSERT INTO t SELECT i, printf('%0100d', i) FROM c") == 0);
    store_release(s); /* last connection: checkpoint, WAL removed */
    size_t len;
    char *good = slurp(path, &len);
    CHECK(good && len > 4096 * 8);
    if (!good || len <= 4096 * 8) {
        free(good);
        return;
    }
    /* page 3 onwards: scribble over a b-tree page header and cells */
    memset(good + 4096 * 2, 0x5a, 64);
    memset(good + 4096 * 5 + 8, 0xff, 32);
    spit(path, good, len);
    err[0] = '\0';
    int rc = store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err);
    CHECK(rc == -EBADMSG);
    CHECK(s == NULL);
    CHECK(strstr(err, "failed the database integrity check") != NULL);
    CHECK(strstr(err, "refusing") != NULL);
    size_t len2;
    char *after = slurp(path, &len2);
    CHECK(after && len2 == len && memcmp(after, good, len) == 0);
    free(after);
    free(good);
}

static void test_statement_api(void)
{
    const char *dir = check_tmpdir("store-stmt");
    char path[4200];
    path_in(path, sizeof path, dir, "pixie.db");
    struct store *s;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (!s) {
        return;
    }
    const char *sql = "CREATE TABLE t (a, b); INSERT INTO t VALUES (?1, ?2);  -- end";
    struct store_stmt *st;
    size_t used;
    CHECK(store_prepare(s, sql, strlen(sql), &st, &used) == 0 && st);
    CHECK(store_step(st) == 0);
    store_finalize(st);
    size_t pos = used;
    CHECK(store_prepare(s, sql + pos, strlen(sql) - pos, &st, &used) == 0 && st);
    CHECK(store_param_count(st) == 2);
    CHECK(store_bind_text(st, 1, "it's\0x", 6) == 0);
    CHECK(store_bind_double(st, 2, 2.5) == 0);
    CHECK(store_bind_null(st, 3) == -ERANGE);
    CHECK(store_step(st) == 0);
    store_finalize(st);
    pos += used;
    CHECK(store_prepare(s, sql + pos, strlen(sql) - pos, &st, &used) == 0 && st == NULL);
    CHECK(store_last_insert_rowid(s) == 1);
    CHECK(store_total_changes(s) == 1);

    const char *q = "SELECT a, b, NULL AS n FROM t";
    CHECK(store_prepare(s, q, strlen(q), &st, &used) == 0 && st);
    CHECK(store_column_count(st) == 3);
    CHECK(strcmp(store_column_name(st, 2), "n") == 0);
    CHECK(store_step(st) == 1);
    size_t len;
    const char *a = store_column_bytes(st, 0, &len);
    CHECK(store_column_type(st, 0) == STORE_TEXT && len == 6 && memcmp(a, "it's\0x", 6) == 0);
    CHECK(store_column_type(st, 1) == STORE_FLOAT && store_column_double(st, 1) == 2.5);
    CHECK(store_column_type(st, 2) == STORE_NULL);
    CHECK(store_step(st) == 0);
    store_finalize(st);

    CHECK(store_prepare(s, "SELEC 1", 7, &st, &used) == -EINVAL && st == NULL);
    CHECK(strstr(store_errmsg(s), "syntax error") != NULL);
    CHECK(store_check(s, 1, err, sizeof err) == 0);
    CHECK(store_in_transaction(s) == 0);
    CHECK(store_begin(s, err, sizeof err) == 0);
    CHECK(store_in_transaction(s) == 1);
    CHECK(store_exec(s, "INSERT INTO t VALUES (3, 4)") == 0);
    store_rollback(s);
    CHECK(store_in_transaction(s) == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM t") == 1);
    /* transaction statements in caller SQL are refused: store_begin owns them */
    CHECK(store_prepare(s, "BEGIN", 5, &st, &used) == -EPERM && st == NULL);
    CHECK(store_exec(s, "SAVEPOINT x") == -EPERM);
    CHECK(store_exec(s, "COMMIT") == -EPERM);
    store_release(s);
}

static void test_spawn_log_cap_and_errors(void)
{
    const char *dir = check_tmpdir("store-log");
    char path[4200];
    path_in(path, sizeof path, dir, "pixie.db");
    setenv("PIXIE_SPAWN_LOG_MAX_ROWS", "5", 1);
    struct store *s;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    unsetenv("PIXIE_SPAWN_LOG_MAX_ROWS");
    if (!s) {
        return;
    }
    CHECK(store_spawn_log_cap(s) == 5);
    CHECK(store_spawn_log_append(s, "a", "stdout", "x", 1) == -ENOENT); /* no table yet */
    CHECK(store_exec(s, spawn_log_schema) == 0);
    for (int i = 1; i <= 12; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d", i);
        CHECK(store_spawn_log_append(s, "a", i % 2 ? "stdout" : "stderr", line, (size_t)n) == 0);
    }
    for (int i = 1; i <= 3; i++) {
        CHECK(store_spawn_log_append(s, "b", "pixie", "b", 1) == 0);
    }
    CHECK(store_spawn_log_append(s, "a", "stdin", "x", 1) == -EINVAL);
    CHECK(store_spawn_log_append(s, "a", "stdout", "bin\0ary", 7) == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log WHERE tool_id = 'a'") == 5);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log WHERE tool_id = 'b'") == 3);
    char *oldest = text_of(s, "SELECT text FROM spawn_log WHERE tool_id = 'a' ORDER BY id LIMIT 1");
    CHECK(oldest && strcmp(oldest, "line 9") == 0); /* 9..12 + the binary one */
    free(oldest);
    CHECK(store_check_scalar(
              s, "SELECT length(CAST(text AS BLOB)) FROM spawn_log ORDER BY id DESC LIMIT 1") == 7);
    /* long text: split into rows of at most 16 KiB, never inside a UTF-8
     * sequence, concatenating back to the original */
    size_t big_len = 1 + 2 * 20000;
    char *big = malloc(big_len);
    big[0] = 'a';
    for (size_t i = 1; i < big_len; i += 2) {
        big[i] = (char)0xc3; /* é */
        big[i + 1] = (char)0xa9;
    }
    CHECK(store_spawn_log_append(s, "big", "stderr", big, big_len) == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log WHERE tool_id = 'big'") == 3);
    CHECK(store_check_scalar(s, "SELECT max(length(CAST(text AS BLOB))) FROM spawn_log "
                                "WHERE tool_id = 'big'") <= STORE_SPAWN_LOG_MAX_ROW_BYTES);
    CHECK(store_check_scalar(s,
                             "SELECT count(*) FROM spawn_log WHERE tool_id = 'big' "
                             "AND substr(CAST(text AS BLOB), 1, 1) BETWEEN x'80' AND x'bf'") == 0);
    char *joined = text_of(s, "SELECT group_concat(text, '') FROM "
                              "(SELECT text FROM spawn_log WHERE tool_id = 'big' ORDER BY id)");
    CHECK(joined && strlen(joined) == big_len && memcmp(joined, big, big_len) == 0);
    free(joined);
    free(big);
    char *ts = text_of(s, "SELECT ts FROM spawn_log LIMIT 1");
    CHECK(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z');
    free(ts);
    store_release(s);
}

struct appender {
    struct store *s;
    char tool[16];
    int failures;
};

static void *append_many(void *arg)
{
    struct appender *a = arg;
    for (int i = 0; i < 150; i++) {
        if (store_spawn_log_append(a->s, a->tool, "stderr", "chunk of output", 15) != 0) {
            a->failures++;
        }
    }
    store_release(a->s);
    return NULL;
}

static void test_spawn_log_append_from_threads_during_transactions(void)
{
    const char *dir = check_tmpdir("store-threads");
    char path[4200];
    path_in(path, sizeof path, dir, "pixie.db");
    struct store *s;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (!s) {
        return;
    }
    CHECK(store_exec(s, spawn_log_schema) == 0);
    CHECK(store_exec(s, "CREATE TABLE runs (x)") == 0);
    pthread_t th[4];
    struct appender ap[4];
    for (int i = 0; i < 4; i++) {
        ap[i].s = s;
        ap[i].failures = 0;
        snprintf(ap[i].tool, sizeof ap[i].tool, "tool%d", i % 2);
        store_retain(s);
        CHECK(pthread_create(&th[i], NULL, append_many, &ap[i]) == 0);
    }
    int main_failures = 0;
    for (int i = 0; i < 150; i++) {
        if (store_begin(s, err, sizeof err) != 0 ||
            store_exec(s, "INSERT INTO runs VALUES (1)") != 0 ||
            store_commit(s, err, sizeof err) != 0) {
            main_failures++;
        }
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(ap[i].failures == 0);
    }
    CHECK(main_failures == 0);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM spawn_log") == 600);
    CHECK(store_check_scalar(s, "SELECT count(*) FROM runs") == 150);
    store_release(s);
}

/* Random damage (deterministic seed) to a good database, and truncation:
 * every open either refuses with a message, leaving the bytes as they were,
 * or succeeds on a file that passes quick_check; nothing crashes (run it
 * under the sanitizers). */
static void test_random_damage_refused_or_harmless(void)
{
    const char *dir = check_tmpdir("store-damage");
    char good_path[4200], path[4200];
    path_in(good_path, sizeof good_path, dir, "good.db");
    path_in(path, sizeof path, dir, "pixie.db");
    struct store *s;
    char err[512];
    CHECK(store_open(good_path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (!s) {
        return;
    }
    CHECK(store_exec(s, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT UNIQUE);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                        "WHERE i < 600) INSERT INTO t SELECT i, printf('%050d', i) FROM c") == 0);
    store_release(s);
    size_t len;
    char *good = slurp(good_path, &len);
    CHECK(good && len > 4096);
    if (!good || len <= 4096) {
        free(good);
        return;
    }
    unsigned seed = 12345;
    int refused = 0, opened = 0;
    for (int round = 0; round < 120; round++) {
        char *bad = malloc(len);
        memcpy(bad, good, len);
        size_t blen = len;
        if (round % 10 == 9) {
            blen = (size_t)(rand_r(&seed) % (int)len); /* truncated */
        } else {
            int hits = 1 + rand_r(&seed) % 8;
            for (int h = 0; h < hits; h++) {
                size_t at = (size_t)rand_r(&seed) % len;
                bad[at] = (char)(rand_r(&seed) & 0xff);
            }
        }
        char wal[4300], shm[4300];
        snprintf(wal, sizeof wal, "%s-wal", path);
        snprintf(shm, sizeof shm, "%s-shm", path);
        unlink(wal);
        unlink(shm);
        spit(path, bad, blen);
        err[0] = '\0';
        int rc = store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err);
        if (rc == 0) {
            opened++;
            /* whatever quick_check let through must not crash a full scan */
            store_exec(s, "SELECT count(*), max(v) FROM t");
            store_release(s);
        } else {
            refused++;
            CHECK(strstr(err, path) != NULL);
            size_t alen;
            char *after = slurp(path, &alen);
            CHECK(alen == blen && (blen == 0 || memcmp(after, bad, blen) == 0));
            free(after);
        }
        free(bad);
    }
    CHECK(refused > 0);
    printf("random damage: %d refused, %d opened\n", refused, opened);
    free(good);
}

/* A second open in the same process shares the first one's connection
 * (one store per file) and must not drop its locks: if it did, another
 * process closing its connection would think it was the last one and
 * checkpoint and delete the WAL under our feet. */
static void test_second_open_keeps_first_connection_locks(void)
{
    const char *dir = check_tmpdir("store-locks");
    char path[4200], wal[4300];
    path_in(path, sizeof path, dir, "pixie.db");
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct store *a, *b;
    char err[512];
    CHECK(store_open(path, STORE_ANY_SCHEMA, &a, err, sizeof err) == 0);
    if (!a) {
        return;
    }
    CHECK(store_exec(a, "CREATE TABLE t (x); INSERT INTO t VALUES (1)") == 0);
    CHECK(store_open(path, STORE_ANY_SCHEMA, &b, err, sizeof err) == 0);
    CHECK(b == a);
    store_release(b);
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
             "c.execute(\"select count(*) from t\").fetchone(); c.close()' '%s'",
             path);
    CHECK(system(cmd) == 0);
    CHECK(exists(wal)); /* the other process did not take the database over */
    CHECK(store_check_scalar(a, "SELECT count(*) FROM t") == 1);
    store_release(a);
}

int main(void)
{
    test_create_wal_and_modes_0600_under_umask_000();
    test_refuses_non_sqlite_file_bytes_unchanged();
    test_refuses_corrupt_database_bytes_unchanged();
    test_statement_api();
    test_spawn_log_cap_and_errors();
    test_spawn_log_append_from_threads_during_transactions();
    test_second_open_keeps_first_connection_locks();
    test_random_damage_refused_or_harmless();
    return check_exit();
}
