/* board: open/publish/finish/cancel/state rules; readers get every event
 * once, in order, then `final`; a reader that finds nothing registers its
 * waiter and is woken by the next publish or finish; history over the cap
 * drops the oldest events and a late reader gets `gap`; finished entries
 * expire and make room; many threads publishing and reading at once lose
 * nothing (each reader's parsed stream equals what was published). */
#include "board.h"
#include "buf.h"
#include "check.h"
#include "sse_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a reader's SSE text into "name\x1fdata\x1e" records. */
static void parse(const struct buf *text, struct buf *events)
{
    CHECK(sse_parse_in_steps(text->data ? text->data : "", text->len, 0, events) == 0);
}

static void test_rules(void)
{
    board_reset();
    struct buf err = {0};
    CHECK(board_state("a") == BOARD_NONE);
    CHECK(board_open("", &err) == -EINVAL);
    CHECK(board_open("a", NULL) == 0);
    CHECK(board_open("a", &err) == -EEXIST);
    CHECK(err.len > 0);
    CHECK(board_state("a") == BOARD_RUNNING);
    CHECK(board_publish("a", "Bad", "x", 1, NULL) == -EINVAL);
    CHECK(board_publish("a", "abcdefghijklmnopqrstuvwxyz_abcdef", "x", 1, NULL) == -EINVAL);
    CHECK(board_publish("nope", "update", "x", 1, NULL) == -ENOENT);
    CHECK(board_publish("a", "update", "x", 1, NULL) == 0);
    CHECK(board_cancelled("a") == 0);
    CHECK(board_cancel("a") == 1);
    CHECK(board_cancelled("a") == 1);
    CHECK(board_cancel("nope") == 0);
    CHECK(board_finish("a", 99, "", 0, NULL) == -EINVAL);
    CHECK(board_finish("a", 200, "{}", 2, NULL) == 0);
    CHECK(board_finish("a", 200, "{}", 2, NULL) == -EALREADY);
    CHECK(board_publish("a", "update", "x", 1, NULL) == -EALREADY);
    CHECK(board_cancel("a") == 0);
    CHECK(board_state("a") == BOARD_FINISHED);
    /* a finished key may be opened again: a fresh entry */
    CHECK(board_open("a", NULL) == 0);
    CHECK(board_state("a") == BOARD_RUNNING && board_cancelled("a") == 0);
    buf_free(&err);
}

static void test_read_format(void)
{
    board_reset();
    CHECK(board_open("k", NULL) == 0);
    CHECK(board_publish("k", "update", "one\ntwo\r\nthree\rfour", 19, NULL) == 0);
    CHECK(board_publish("k", "log", "", 0, NULL) == 0);
    int rc = 0;
    struct board_reader *r = board_reader_new("k", &rc);
    CHECK(r && rc == 0);
    CHECK(board_reader_new("missing", &rc) == NULL && rc == -ENOENT);
    struct buf text = {0}, ev = {0};
    CHECK(board_reader_read(r, &text, NULL) == BOARD_READ_DATA);
    CHECK(strcmp(text.data, "event: update\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
                            "event: log\ndata: \n\n") == 0);
    buf_clear(&text);
    CHECK(board_reader_read(r, &text, NULL) == BOARD_READ_WAIT);
    CHECK(text.len == 0);
    CHECK(board_finish("k", 201, "{\"a\":1}", 7, NULL) == 0);
    CHECK(board_reader_read(r, &text, NULL) == BOARD_READ_DATA);
    parse(&text, &ev);
    CHECK(strcmp(ev.data, "final\x1f{\"a\":1}\x1e") == 0);
    buf_clear(&text);
    CHECK(board_reader_read(r, &text, NULL) == BOARD_READ_END);
    board_reader_free(r, NULL);
    /* a reader that comes after the finish gets everything, then final */
    r = board_reader_new("k", &rc);
    buf_clear(&text);
    buf_clear(&ev);
    CHECK(board_reader_read(r, &text, NULL) == BOARD_READ_DATA);
    parse(&text, &ev);
    CHECK(strcmp(ev.data, "update\x1fone\ntwo\nthree\nfour\x1elog\x1f\x1e"
                          "final\x1f{\"a\":1}\x1e") == 0);
    board_reader_free(r, NULL);
    buf_free(&text);
    buf_free(&ev);
}

/* A waiter that counts its hooks. */
struct counts {
    int armed, woken;
};

static void count_arm(void *ctx)
{
    ((struct counts *)ctx)->armed++;
}

static void count_wake(void *ctx)
{
    ((struct counts *)ctx)->woken++;
}

static void test_waiters(void)
{
    board_reset();
    CHECK(board_open("w", NULL) == 0);
    int rc;
    struct board_reader *r = board_reader_new("w", &rc);
    struct counts c = {0};
    struct board_waiter w = {.arm = count_arm, .wake = count_wake, .ctx = &c};
    struct buf text = {0};
    CHECK(board_reader_read(r, &text, &w) == BOARD_READ_WAIT);
    CHECK(c.armed == 1 && c.woken == 0);
    CHECK(board_publish("w", "update", "x", 1, NULL) == 0);
    CHECK(c.woken == 1);
    CHECK(board_publish("w", "update", "y", 1, NULL) == 0);
    CHECK(c.woken == 1); /* woken once per registration */
    CHECK(board_reader_read(r, &text, &w) == BOARD_READ_DATA);
    CHECK(board_reader_read(r, &text, &w) == BOARD_READ_WAIT);
    board_waiter_drop(&w);
    CHECK(board_finish("w", 200, "", 0, NULL) == 0);
    CHECK(c.woken == 1); /* dropped: not woken */
    /* await */
    CHECK(board_open("aw", NULL) == 0);
    struct counts a = {0};
    struct board_waiter aw = {.arm = count_arm, .wake = count_wake, .ctx = &a};
    int status = 0;
    struct buf body = {0};
    CHECK(board_await("aw", &status, &body, &aw) == BOARD_RUNNING);
    CHECK(a.armed == 1);
    CHECK(board_finish("aw", 409, "{\"e\":1}", 7, NULL) == 0);
    CHECK(a.woken == 1);
    CHECK(board_await("aw", &status, &body, &aw) == BOARD_FINISHED);
    CHECK(status == 409 && strcmp(body.data, "{\"e\":1}") == 0);
    CHECK(board_await("none", &status, &body, &aw) == BOARD_NONE);
    /* closing wakes everybody and ends reads */
    CHECK(board_open("c", NULL) == 0);
    struct board_reader *rc2 = board_reader_new("c", &rc);
    struct counts cc = {0};
    struct board_waiter cw = {.arm = count_arm, .wake = count_wake, .ctx = &cc};
    CHECK(board_reader_read(rc2, &text, &cw) == BOARD_READ_WAIT);
    board_set_closing(1);
    CHECK(cc.woken == 1);
    CHECK(board_reader_read(rc2, &text, &cw) == BOARD_READ_END);
    CHECK(board_await("c", &status, &body, &aw) == BOARD_NONE);
    board_set_closing(0);
    board_reader_free(rc2, &cw);
    board_reader_free(r, &w);
    buf_free(&text);
    buf_free(&body);
}

/* board_wake_idle wakes only opted-in waiters that waited long enough,
 * and flags them. */
static void test_wake_idle(void)
{
    board_reset();
    board_set_clock(100.0);
    CHECK(board_open("i", NULL) == 0);
    int rc;
    struct board_reader *r1 = board_reader_new("i", &rc);
    struct board_reader *r2 = board_reader_new("i", &rc);
    struct counts c1 = {0}, c2 = {0};
    struct board_waiter w1 = {.arm = count_arm, .wake = count_wake, .ctx = &c1, .idle_wake = 1};
    struct board_waiter w2 = {.arm = count_arm, .wake = count_wake, .ctx = &c2};
    struct buf text = {0};
    CHECK(board_reader_read(r1, &text, &w1) == BOARD_READ_WAIT);
    CHECK(board_reader_read(r2, &text, &w2) == BOARD_READ_WAIT);
    board_set_clock(100.5);
    CHECK(board_wake_idle(1.0) == 0);
    CHECK(c1.woken == 0 && !w1.idled);
    board_set_clock(101.0);
    CHECK(board_wake_idle(1.0) == 1);
    CHECK(c1.woken == 1 && w1.idled == 1);
    CHECK(c2.woken == 0 && !w2.idled); /* not opted in */
    CHECK(board_wake_idle(1.0) == 0);  /* unregistered by the wake */
    w1.idled = 0;
    CHECK(board_reader_read(r1, &text, &w1) == BOARD_READ_WAIT); /* waits again */
    CHECK(board_publish("i", "update", "x", 1, NULL) == 0);
    CHECK(c1.woken == 2 && !w1.idled && c2.woken == 1);
    board_reader_free(r1, &w1);
    board_reader_free(r2, &w2);
    buf_free(&text);
    board_reset();
}

static void test_history_cap_and_gap(void)
{
    board_reset();
    CHECK(board_open("h", NULL) == 0);
    int rc;
    struct board_reader *early = board_reader_new("h", &rc);
    size_t chunk = 1024 * 1024;
    char *big = malloc(chunk);
    memset(big, 'x', chunk);
    for (int i = 0; i < 6; i++) {
        big[0] = (char)('0' + i);
        CHECK(board_publish("h", "update", big, chunk, NULL) == 0);
    }
    free(big);
    struct board_reader *late = board_reader_new("h", &rc);
    struct buf text = {0}, ev = {0};
    CHECK(board_reader_read(late, &text, NULL) == BOARD_READ_DATA);
    parse(&text, &ev);
    /* 4 MiB kept: events 2..5, and the first event is the gap of 2 */
    CHECK(strncmp(ev.data,
                  "gap\x1f"
                  "2\x1e"
                  "update\x1f"
                  "2",
                  12) == 0);
    size_t n = 0;
    for (size_t i = 0; i < ev.len; i++) {
        n += ev.data[i] == '\x1e';
    }
    CHECK(n == 5);
    board_reader_free(late, NULL);
    board_reader_free(early, NULL);
    buf_free(&text);
    buf_free(&ev);
}

static void test_expiry_and_key_limit(void)
{
    board_reset();
    board_set_clock(1000);
    char key[32];
    for (int i = 0; i < BOARD_KEYS_MAX; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(board_open(key, NULL) == 0);
    }
    struct buf err = {0};
    CHECK(board_open("one-more", &err) == -ENOSPC);
    /* finishing some makes room: the oldest finished goes first */
    CHECK(board_finish("k5", 200, "", 0, NULL) == 0);
    board_set_clock(1001);
    CHECK(board_finish("k3", 200, "", 0, NULL) == 0);
    int rc;
    struct board_reader *keep = board_reader_new("k5", &rc);
    CHECK(board_open("one-more", NULL) == 0);
    CHECK(board_state("k5") == BOARD_NONE && board_state("k3") == BOARD_FINISHED);
    /* a reader keeps its entry after it left the table */
    struct buf text = {0};
    CHECK(board_reader_read(keep, &text, NULL) == BOARD_READ_DATA);
    board_reader_free(keep, NULL);
    buf_free(&err);
    buf_free(&text);
    /* finished entries expire after BOARD_KEEP_SECONDS, room or not */
    board_reset();
    board_set_clock(1000);
    CHECK(board_open("e", NULL) == 0);
    CHECK(board_finish("e", 200, "", 0, NULL) == 0);
    board_set_clock(1000 + BOARD_KEEP_SECONDS - 1);
    CHECK(board_state("e") == BOARD_FINISHED);
    board_set_clock(1000 + BOARD_KEEP_SECONDS);
    CHECK(board_state("e") == BOARD_NONE);
    CHECK(board_reader_new("e", &rc) == NULL);
    CHECK(board_open("e", NULL) == 0 && board_state("e") == BOARD_RUNNING);
    board_reset();
}

/* ---- threads ---------------------------------------------------------------------- */

#define KEYS 4
#define EVENTS 2000
#define READERS 3

/* A reader thread: waits with a condition variable woken by the board. */
struct reader_ctx {
    int key;
    pthread_mutex_t m;
    pthread_cond_t cv;
    int flag;
    struct buf events;
};

static void thread_arm(void *ctx)
{
    (void)ctx;
}

static void thread_wake(void *ctx)
{
    struct reader_ctx *rc = ctx;
    pthread_mutex_lock(&rc->m);
    rc->flag = 1;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->m);
}

static void *reader_main(void *p)
{
    struct reader_ctx *ctx = p;
    char key[16];
    snprintf(key, sizeof key, "t%d", ctx->key);
    int rc;
    struct board_reader *r = board_reader_new(key, &rc);
    struct board_waiter w = {.arm = thread_arm, .wake = thread_wake, .ctx = ctx};
    struct buf text = {0};
    for (;;) {
        pthread_mutex_lock(&ctx->m);
        ctx->flag = 0;
        pthread_mutex_unlock(&ctx->m);
        int got = board_reader_read(r, &text, &w);
        if (got == BOARD_READ_END) {
            break;
        }
        if (got == BOARD_READ_WAIT) {
            pthread_mutex_lock(&ctx->m);
            while (!ctx->flag) {
                pthread_cond_wait(&ctx->cv, &ctx->m);
            }
            pthread_mutex_unlock(&ctx->m);
        }
    }
    board_reader_free(r, &w);
    parse(&text, &ctx->events);
    buf_free(&text);
    return NULL;
}

static void *publisher_main(void *p)
{
    int k = *(int *)p;
    char key[16], data[32];
    snprintf(key, sizeof key, "t%d", k);
    for (int i = 0; i < EVENTS; i++) {
        int n = snprintf(data, sizeof data, "%d:%d", k, i);
        CHECK(board_publish(key, "update", data, (size_t)n, NULL) == 0);
    }
    CHECK(board_finish(key, 200, "done", 4, NULL) == 0);
    return NULL;
}

static void test_threads(void)
{
    board_reset();
    char key[16];
    for (int k = 0; k < KEYS; k++) {
        snprintf(key, sizeof key, "t%d", k);
        CHECK(board_open(key, NULL) == 0);
    }
    struct reader_ctx readers[KEYS * READERS];
    pthread_t rt[KEYS * READERS], pt[KEYS];
    int ks[KEYS];
    for (int i = 0; i < KEYS * READERS; i++) {
        readers[i] = (struct reader_ctx){.key = i % KEYS};
        pthread_mutex_init(&readers[i].m, NULL);
        pthread_cond_init(&readers[i].cv, NULL);
        pthread_create(&rt[i], NULL, reader_main, &readers[i]);
    }
    for (int k = 0; k < KEYS; k++) {
        ks[k] = k;
        pthread_create(&pt[k], NULL, publisher_main, &ks[k]);
    }
    for (int k = 0; k < KEYS; k++) {
        pthread_join(pt[k], NULL);
    }
    for (int k = 0; k < KEYS; k++) {
        struct buf want = {0};
        char data[32];
        for (int i = 0; i < EVENTS; i++) {
            int n = snprintf(data, sizeof data, "%d:%d", k, i);
            sse_record(&want, "update", data, (size_t)n);
        }
        sse_record(&want, "final", "done", 4);
        for (int i = k; i < KEYS * READERS; i += KEYS) {
            pthread_join(rt[i], NULL);
            CHECK(readers[i].events.len == want.len &&
                  memcmp(readers[i].events.data, want.data, want.len) == 0);
            buf_free(&readers[i].events);
            pthread_mutex_destroy(&readers[i].m);
            pthread_cond_destroy(&readers[i].cv);
        }
        buf_free(&want);
    }
    board_reset();
}

int main(void)
{
    test_rules();
    test_read_format();
    test_waiters();
    test_wake_idle();
    test_history_cap_and_gap();
    test_expiry_and_key_limit();
    test_threads();
    return check_exit();
}
