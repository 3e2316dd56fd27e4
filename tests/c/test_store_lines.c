/* spawn_log rows are lines (store.h, store_spawn_log_queue): fragments of a
 * line are joined, a line waits for its newline, the end of its stream or
 * the row cap, and the tools' streams are assembled apart. */
#include "check.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
    "CREATE TABLE spawn_log (id INTEGER PRIMARY KEY AUTOINCREMENT, tool_id TEXT NOT NULL,"
    " ts TEXT NOT NULL, stream TEXT NOT NULL, text TEXT NOT NULL);";

/* A fresh store with spawn_log in a new folder named `name`. */
static struct store *fresh(const char *name)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/pixie.db", check_tmpdir(name));
    struct store *s = NULL;
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (s) {
        CHECK(store_exec(s, schema) == 0);
    }
    return s;
}

/* The rows of (tool, stream), oldest first, as one string: each row's text
 * followed by '|'. Caller frees. */
static char *rows(struct store *s, const char *tool, const char *stream)
{
    static const char sql[] =
        "SELECT text FROM spawn_log WHERE tool_id = ?1 AND stream = ?2 ORDER BY id";
    struct store_stmt *st = NULL;
    size_t used, len = 0;
    char *all = calloc(1, 1);
    CHECK(store_prepare(s, sql, sizeof sql - 1, &st, &used) == 0 && st);
    CHECK(store_bind_text(st, 1, tool, strlen(tool)) == 0);
    CHECK(store_bind_text(st, 2, stream, strlen(stream)) == 0);
    while (st && store_step(st) == 1) {
        size_t n;
        const char *t = store_column_bytes(st, 0, &n);
        all = realloc(all, len + n + 2);
        memcpy(all + len, t, n);
        len += n;
        all[len++] = '|';
        all[len] = '\0';
    }
    store_finalize(st);
    return all;
}

/* True when the rows of (tool, stream) are exactly `want`. */
static int rows_are(struct store *s, const char *tool, const char *stream, const char *want)
{
    char *got = rows(s, tool, stream);
    int ok = strcmp(got, want) == 0;
    if (!ok) {
        fprintf(stderr, "rows of %s/%s: got \"%s\" want \"%s\"\n", tool, stream, got, want);
    }
    free(got);
    return ok;
}

static int queue(struct store *s, const char *tool, const char *stream, const char *text)
{
    return store_spawn_log_queue(s, tool, stream, text, strlen(text));
}

static void test_fragments_become_one_row_per_line(void)
{
    struct store *s = fresh("lines-fragments");
    if (!s) {
        return;
    }
    CHECK(queue(s, "t", "stdout", "RAW:***") == 0);
    CHECK(rows_are(s, "t", "stdout", "")); /* a partial line waits */
    CHECK(queue(s, "t", "stdout", "\n") == 0);
    CHECK(rows_are(s, "t", "stdout", "RAW:***\n|"));
    CHECK(queue(s, "t", "stdout", "a\nb\n\nc") == 0);
    CHECK(queue(s, "t", "stdout", "d") == 0);
    CHECK(queue(s, "t", "stdout", "") == 0);
    CHECK(rows_are(s, "t", "stdout", "RAW:***\n|a\n|b\n|\n|"));
    CHECK(queue(s, "t", "stdout", "e\nf") == 0);
    CHECK(rows_are(s, "t", "stdout", "RAW:***\n|a\n|b\n|\n|cde\n|"));
    CHECK(store_spawn_log_end(s, "t", "stdout") == 0); /* the stream ended: its last line */
    CHECK(rows_are(s, "t", "stdout", "RAW:***\n|a\n|b\n|\n|cde\n|f|"));
    CHECK(store_spawn_log_end(s, "t", "stdout") == 0); /* nothing left: no empty row */
    CHECK(store_spawn_log_end(s, "never", "stderr") == 0);
    CHECK(store_spawn_log_end(s, "t", "stdin") == -EINVAL);
    CHECK(rows_are(s, "t", "stdout", "RAW:***\n|a\n|b\n|\n|cde\n|f|"));
    store_release(s);
}

static void test_tools_and_streams_are_assembled_apart(void)
{
    struct store *s = fresh("lines-interleaved");
    if (!s) {
        return;
    }
    CHECK(queue(s, "a", "stdout", "a-out ") == 0);
    CHECK(queue(s, "a", "stderr", "a-err ") == 0);
    CHECK(queue(s, "b", "stdout", "b-out ") == 0);
    CHECK(queue(s, "a", "stdout", "one\na-out two") == 0);
    CHECK(queue(s, "b", "stdout", "one\n") == 0);
    CHECK(queue(s, "a", "stderr", "one\n") == 0);
    CHECK(store_spawn_log_end(s, "b", "stdout") == 0); /* ends b's stream only */
    CHECK(rows_are(s, "a", "stdout", "a-out one\n|"));
    CHECK(rows_are(s, "a", "stderr", "a-err one\n|"));
    CHECK(rows_are(s, "b", "stdout", "b-out one\n|"));
    CHECK(queue(s, "a", "stdout", "\n") == 0);
    CHECK(rows_are(s, "a", "stdout", "a-out one\n|a-out two\n|"));
    store_release(s);
}

/* A line longer than the cap is cut into rows of at most the cap, never
 * inside a UTF-8 sequence nor inside "***"; joined they are the line. */
static void test_long_lines_are_cut_at_the_cap(void)
{
    struct store *s = fresh("lines-cap");
    if (!s) {
        return;
    }
    enum { CAP = STORE_SPAWN_LOG_MAX_ROW_BYTES };
    size_t n = 2 * CAP + 100;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    memcpy(big + CAP - 2, "***", 3);              /* a cut at CAP would split it */
    memcpy(big + 2 * CAP - 3, "\xe2\x82\xac", 3); /* "€": the second cut falls inside */
    big[n] = '\0';
    /* fed in small fragments, with no newline: rows appear at the cap */
    for (size_t pos = 0; pos < n; pos += 1000) {
        CHECK(store_spawn_log_queue(s, "big", "stdout", big + pos,
                                    n - pos < 1000 ? n - pos : 1000) == 0);
    }
    char *got = rows(s, "big", "stdout");
    size_t rows_len = strlen(got);
    CHECK(rows_len > 0 && rows_len < n); /* two rows so far; the rest waits */
    free(got);
    CHECK(store_spawn_log_end(s, "big", "stdout") == 0);
    got = rows(s, "big", "stdout");
    char *bar1 = strchr(got, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    char *bar3 = bar2 ? strchr(bar2 + 1, '|') : NULL;
    CHECK(bar1 && bar2 && bar3 && !strchr(bar3 + 1, '|'));
    if (bar3) {
        CHECK(bar1 - got == CAP - 2); /* before the stars */
        CHECK(strncmp(bar1 + 1, "***", 3) == 0);
        CHECK(bar2 - (bar1 + 1) == CAP - 1 && (unsigned char)bar2[1] == 0xe2); /* whole "€" */
        memmove(bar2, bar2 + 1, strlen(bar2 + 1) + 1);
        memmove(bar1, bar1 + 1, strlen(bar1 + 1) + 1);
        CHECK(strlen(got) == n + 1 && memcmp(got, big, n) == 0);
    }
    free(got);
    /* a whole line longer than the cap given at once: cut the same way */
    big[n - 1] = '\n';
    CHECK(store_spawn_log_queue(s, "once", "stdout", big, n) == 0);
    char *once = rows(s, "once", "stdout");
    CHECK(strchr(once, '|') && (size_t)(strchr(once, '|') - once) == CAP - 2);
    free(once);
    free(big);
    store_release(s);
}

/* The last release ends every unfinished line (the streams end with the
 * store): it is written, not lost. */
static void test_last_release_writes_unfinished_lines(void)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/pixie.db", check_tmpdir("lines-release"));
    struct store *s = NULL;
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (!s) {
        return;
    }
    CHECK(store_exec(s, schema) == 0);
    CHECK(queue(s, "t", "stderr", "done\nno newline yet") == 0);
    store_release(s);
    CHECK(store_open(path, STORE_ANY_SCHEMA, &s, err, sizeof err) == 0);
    if (s) {
        CHECK(rows_are(s, "t", "stderr", "done\n|no newline yet|"));
        store_release(s);
    }
}

int main(void)
{
    test_fragments_become_one_row_per_line();
    test_tools_and_streams_are_assembled_apart();
    test_long_lines_are_cut_at_the_cap();
    test_last_release_writes_unfinished_lines();
    return check_exit();
}
