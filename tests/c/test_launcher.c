/* launcher: concurrent:false tools get one run at a time while concurrent
 * ones overlap (threads calling launcher_run at once against the overlap
 * fixture, a real Python tool); output reaches the callback; shutdown stops
 * every tool. */
#include "buf.h"
#include "check.h"
#include "launcher.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[4096];
static const char *const env[] = {"PATH=/usr/bin:/bin", "PIXIE_TOOL_ID=overlap",
                                  "PYTHONUNBUFFERED=1", NULL};

static struct launcher_tool overlap_tool(int concurrent)
{
    struct launcher_tool t = {
        .id = "overlap",
        .dir = dir,
        .python = "/usr/bin/python3",
        .entrypoint = "main.py",
        .env = env,
        .max_memory_mb = 512,
        .max_runtime_seconds = 30,
        .warm_keep_seconds = 300,
        .concurrent = concurrent,
    };
    return t;
}

struct call {
    struct launcher_tool tool;
    int rc;
    long status;
    char body[256];
    pthread_t th;
};

static void *do_run(void *arg)
{
    struct call *c = arg;
    struct launcher_result res;
    struct buf out = {0};
    c->rc = launcher_run(&c->tool, "{}", 2, NULL, 0, &res, &out, NULL);
    c->status = res.status;
    snprintf(c->body, sizeof c->body, "%s", out.data ? out.data : "");
    buf_free(&out);
    return NULL;
}

/* Runs the overlap tool twice at once; returns how many of the two saw the
 * other in flight. */
static int overlapping_runs(int concurrent)
{
    struct call calls[2];
    for (int i = 0; i < 2; i++) {
        memset(&calls[i], 0, sizeof calls[i]);
        calls[i].tool = overlap_tool(concurrent);
    }
    int port, started;
    pid_t pid;
    CHECK(launcher_start(&calls[0].tool, &port, &pid, &started, NULL) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&calls[i].th, NULL, do_run, &calls[i]) == 0);
    }
    int overlapped = 0;
    for (int i = 0; i < 2; i++) {
        pthread_join(calls[i].th, NULL);
        CHECK(calls[i].rc == 0 && calls[i].status == 200);
        overlapped += strstr(calls[i].body, "\"max_in_flight\": 2") != NULL;
        CHECK(strstr(calls[i].body, "max_in_flight") != NULL);
    }
    CHECK(launcher_stop("overlap", 1000) == 1);
    return overlapped;
}

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[4096];
static size_t seen_len;
static int seen_ends; /* ends of the stdout stream (text NULL) */

static void on_output(void *ctx, const char *tool_id, const char *stream, const char *text,
                      size_t len)
{
    (void)ctx;
    pthread_mutex_lock(&seen_lock);
    if (strcmp(tool_id, "overlap") == 0 && strcmp(stream, "stdout") == 0 && !text) {
        seen_ends++;
    } else if (strcmp(tool_id, "overlap") == 0 && strcmp(stream, "stdout") == 0 &&
               len < sizeof seen - seen_len) {
        memcpy(seen + seen_len, text, len); /* chunks may split lines */
        seen_len += len;
    }
    pthread_mutex_unlock(&seen_lock);
}

static void test_concurrent_tools_overlap_and_output_is_passed_on(void)
{
    CHECK(overlapping_runs(1) == 2);
    pthread_mutex_lock(&seen_lock);
    /* both runs printed "run" (their writes may interleave); the stop drained the pipes */
    const char *first = memmem(seen, seen_len, "run", 3);
    CHECK(first && memmem(first + 3, seen_len - (size_t)(first + 3 - seen), "run", 3));
    CHECK(seen_ends == 1); /* the stopped process's stdout ended, once */
    pthread_mutex_unlock(&seen_lock);
}

static void test_non_concurrent_tools_run_one_at_a_time(void)
{
    CHECK(overlapping_runs(0) == 0);
}

/* Start/run/stop cycles (and a failing start) leave no descriptor behind. */
static void test_no_fd_leak_over_cycles(void)
{
    struct launcher_tool t = overlap_tool(1), bad = overlap_tool(1);
    bad.id = "overlap-broken";
    bad.python = "/nonexistent/python";
    int port, started;
    pid_t pid;
    int before = -1;
    for (int i = 0; i < 4; i++) { /* each run waits 1 s for company */
        struct buf out = {0}, err = {0};
        struct launcher_result res;
        CHECK(launcher_run(&t, "{}", 2, NULL, 0, &res, &out, &err) == 0);
        CHECK(launcher_start(&bad, &port, &pid, &started, &err) == -ENOENT);
        buf_free(&out);
        buf_free(&err);
        CHECK(launcher_stop("overlap", 1000) == 1);
        if (i == 0) {
            before = check_count_fds(); /* after the first cycle: caches are warm */
        }
    }
    CHECK(check_count_fds() == before);
}

/* 1 when b starts with "pre|" and holds `part` after it. */
static int appended(const struct buf *b, const char *part)
{
    return b->len > 4 && memcmp(b->data, "pre|", 4) == 0 && strstr(b->data + 4, part) != NULL;
}

/* Bodies, the output tail and messages are appended to the caller's
 * buffers, and only a failure writes a message. */
static void test_results_append_to_the_callers_buffers(void)
{
    struct launcher_tool t = overlap_tool(1), bad = overlap_tool(1);
    bad.id = "overlap-broken";
    bad.python = "/nonexistent/python";
    struct buf out = {0}, err = {0};
    buf_append(&out, "pre|", 4);
    buf_append(&err, "pre|", 4);
    struct launcher_result res;
    CHECK(launcher_run(&t, "{}", 2, NULL, 0, &res, &out, &err) == 0 && res.status == 200);
    CHECK(appended(&out, "max_in_flight") && err.len == 4);
    long status = 0;
    buf_clear(&out);
    buf_append(&out, "pre|", 4);
    CHECK(launcher_get("overlap", "/healthz", 5000, &status, &out, &err) == 0 && status == 200);
    CHECK(out.len > 4 && err.len == 4);
    buf_clear(&out);
    buf_append(&out, "pre|", 4);
    CHECK(launcher_tail("overlap", &out) == 0 && appended(&out, "run"));
    CHECK(launcher_tail("no-such-tool", &out) == -ESRCH && appended(&out, "run"));
    int port, started;
    pid_t pid;
    CHECK(launcher_start(&bad, &port, &pid, &started, &err) == -ENOENT);
    CHECK(appended(&err, "cannot start tool 'overlap-broken'"));
    buf_clear(&err);
    buf_append(&err, "pre|", 4);
    CHECK(launcher_get("no-such-tool", "/healthz", 5000, &status, &out, &err) == -ESRCH);
    CHECK(appended(&err, "'no-such-tool' is not running"));
    CHECK(launcher_stop("overlap", 1000) == 1);
    buf_free(&out);
    buf_free(&err);
}

/* launcher_state_generation moves with what launcher_state shows: a tool
 * made warm, a run (busy up and down), a stop; not a start of a tool that
 * is already warm. */
static void test_state_generation_follows_the_state(void)
{
    struct call c = {.tool = overlap_tool(1)};
    int port, started;
    pid_t pid;
    uint64_t g = launcher_state_generation();
    CHECK(launcher_start(&c.tool, &port, &pid, &started, NULL) == 0 && started == 1);
    CHECK(launcher_state_generation() != g);
    g = launcher_state_generation();
    CHECK(launcher_start(&c.tool, &port, &pid, &started, NULL) == 0 && started == 0);
    CHECK(launcher_state_generation() == g);
    do_run(&c);
    CHECK(c.rc == 0 && c.status == 200);
    CHECK(launcher_state_generation() >= g + 2); /* busy 0 -> 1 -> 0 */
    g = launcher_state_generation();
    CHECK(launcher_stop("overlap", 1000) == 1);
    CHECK(launcher_state_generation() != g);
}

static void test_state_and_shutdown_stop_everything(void)
{
    struct launcher_tool t = overlap_tool(1);
    int port, started;
    pid_t pid;
    CHECK(launcher_start(&t, &port, &pid, &started, NULL) == 0);
    CHECK(started == 1);
    CHECK(launcher_start(&t, &port, &pid, &started, NULL) == 0);
    CHECK(started == 0);
    struct launcher_state_row *rows;
    size_t n;
    CHECK(launcher_state(&rows, &n) == 0);
    CHECK(n == 1 && rows[0].pid == pid && rows[0].port == port && rows[0].busy == 0);
    free(rows);
    launcher_shutdown();
    CHECK(kill(pid, 0) != 0);
}

int main(void)
{
    const char *src = getenv("PIXIE_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/tests/fixtures/tools/overlap", src ? src : ".");
    CHECK(launcher_init() == 0);
    launcher_set_output(on_output, NULL);
    test_concurrent_tools_overlap_and_output_is_passed_on();
    test_non_concurrent_tools_run_one_at_a_time();
    test_no_fd_leak_over_cycles();
    test_results_append_to_the_callers_buffers();
    test_state_generation_follows_the_state();
    test_state_and_shutdown_stop_everything();
    return check_exit();
}
