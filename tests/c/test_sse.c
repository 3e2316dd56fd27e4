/* sse: the Server-Sent Events parser gives the same events however the
 * bytes are cut into feeds; LF, CR and CRLF end lines (a CRLF split across
 * feeds counts once); data lines join with LF; one space after the colon
 * is dropped; comments, id and retry are ignored; a leading BOM is
 * skipped; an unfinished event at the end is dropped; the callback can
 * stop the parser; an over-long line is refused. */
#include "check.h"
#include "sse_events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Checks that text gives `want` for every feed size from 1 to len. */
static void expect_events(const char *text, const char *want)
{
    size_t len = strlen(text);
    for (size_t step = 0; step <= len; step++) {
        struct buf got = {0};
        CHECK(sse_parse_in_steps(text, len, step, &got) == 0);
        int same = got.len == strlen(want) && memcmp(got.data ? got.data : "", want, got.len) == 0;
        if (!same) {
            fprintf(stderr, "step %zu: got '%.*s'\n", step, (int)got.len, got.data ? got.data : "");
        }
        CHECK(same);
        buf_free(&got);
    }
}

static void test_plain_events(void)
{
    expect_events("data: {\"chunk\": \"a\"}\n\ndata:b\n\n", "\x1f{\"chunk\": \"a\"}\x1e\x1f"
                                                            "b\x1e");
}

static void test_line_ends(void)
{
    expect_events("data: a\r\n\r\ndata: b\r\rdata: c\n\n", "\x1f"
                                                           "a\x1e\x1f"
                                                           "b\x1e\x1f"
                                                           "c\x1e");
}

static void test_multi_line_data_and_names(void)
{
    expect_events("event: notes\ndata: one\ndata:  two\nid: 7\nretry: 10\n\n"
                  "event: x\nevent: progress\ndata: 0.5\n\n",
                  "notes\x1fone\n two\x1eprogress\x1f"
                  "0.5\x1e");
}

static void test_comments_and_empty_events(void)
{
    /* a comment, an event without data, a field without a colon */
    expect_events(": keep-alive\n\nevent: lonely\n\ndata\n\n", "\x1f\x1e");
}

static void test_bom_and_unfinished_end(void)
{
    expect_events("\xEF\xBB\xBF"
                  "data: a\n\ndata: never dispatched\n",
                  "\x1f"
                  "a\x1e");
    /* bytes that only start like a BOM are text */
    expect_events("\xEF"
                  "data: a\n\n",
                  "");
}

static int stop_at_first(void *ctx, const char *name, const char *data, size_t len)
{
    (void)name;
    (void)data;
    (void)len;
    ++*(int *)ctx;
    return 42;
}

static void test_callback_stops(void)
{
    struct sse_parser p;
    sse_init(&p);
    int calls = 0;
    const char *text = "data: a\n\ndata: b\n\n";
    CHECK(sse_feed(&p, text, strlen(text), stop_at_first, &calls) == 42);
    CHECK(calls == 1);
    sse_free(&p);
}

static void test_long_line_refused(void)
{
    static char big[SSE_EVENT_CAP + 16];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    struct sse_parser p;
    sse_init(&p);
    struct buf got = {0};
    CHECK(sse_feed(&p, big, sizeof big, sse_record, &got) == -EFBIG);
    CHECK(got.len == 0);
    sse_free(&p);
    buf_free(&got);
}

int main(void)
{
    test_plain_events();
    test_line_ends();
    test_multi_line_data_and_names();
    test_comments_and_empty_events();
    test_bom_and_unfinished_end();
    test_callback_stops();
    test_long_line_refused();
    return check_exit();
}
