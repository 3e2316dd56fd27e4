/* The masking stream's release rule (mask.h): a byte leaves a stream only
 * when it can no longer be part of a secret, however long the writer
 * pauses, and an unfinished secret at the end of the stream is masked. */
#include "buf.h"
#include "check.h"
#include "mask.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char SECRET[] = "CANARY-stream-51c3-SECRET";

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* 1 when out[0, len) holds any 4-byte piece of SECRET. */
static int holds_piece(const char *out, size_t len)
{
    size_t n = strlen(SECRET);
    for (size_t i = 0; i + 4 <= n; i++) {
        for (size_t j = 0; j + 4 <= len; j++) {
            if (memcmp(out + j, SECRET + i, 4) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* A line holding the secret fed in two pieces cut at every point, with a
 * pause between the pieces at a few cuts: the output so far is always a
 * prefix of the masked line, so no piece of the secret is ever released. */
static void test_secret_in_pieces_is_never_released_in_pieces(void)
{
    mask_reset();
    CHECK(mask_add(SECRET, strlen(SECRET)) == 1);
    char line[128];
    snprintf(line, sizeof line, "token=%s end\n", SECRET);
    const char *want = "token=*** end\n";
    size_t n = strlen(line);
    for (size_t cut = 0; cut <= n; cut++) {
        struct mask_stream *s = mask_stream_new();
        struct buf out = {0};
        CHECK(s && mask_stream_feed_to(s, line, cut, &out) == 0);
        CHECK(!holds_piece(out.data ? out.data : "", out.len));
        CHECK(strncmp(want, out.data ? out.data : "", out.len) == 0);
        if (cut == 6 || cut == 6 + strlen(SECRET) / 2 || cut == n - 5) {
            pause_ms(250); /* a writer's pause changes nothing */
        }
        CHECK(mask_stream_feed_to(s, line + cut, n - cut, &out) == 0);
        CHECK(out.len == strlen(want) && strcmp(out.data, want) == 0);
        CHECK(mask_stream_pending(s) == 0);
        mask_stream_free(s);
        buf_free(&out);
    }
}

/* The secret fed byte by byte: nothing of it comes out before its end. */
static void test_secret_byte_by_byte_is_held_until_complete(void)
{
    mask_reset();
    CHECK(mask_add(SECRET, strlen(SECRET)) == 1);
    struct mask_stream *s = mask_stream_new();
    struct buf out = {0};
    CHECK(s && mask_stream_feed_to(s, "a ", 2, &out) == 0);
    for (size_t i = 0; i + 1 < strlen(SECRET); i++) {
        CHECK(mask_stream_feed_to(s, SECRET + i, 1, &out) == 0);
        CHECK(out.len == 2 && mask_stream_pending(s) == i + 1);
    }
    CHECK(mask_stream_feed_to(s, SECRET + strlen(SECRET) - 1, 1, &out) == 0);
    CHECK(mask_stream_feed_to(s, " b", 2, &out) == 0);
    CHECK(strcmp(out.data, "a *** b") == 0);
    mask_stream_free(s);
    buf_free(&out);
}

/* The end of the stream: a held tail of 4 bytes or more that begins a
 * secret is masked (one token with a match it touches); a shorter one, or
 * one that begins no secret, is released as it is. */
static void test_end_of_stream_masks_an_unfinished_secret(void)
{
    mask_reset();
    CHECK(mask_add(SECRET, strlen(SECRET)) == 1);
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"x CANARY-stream-51", "x ***"},
        {"x CANA", "x ***"},
        {"x CAN", "x CAN"},
        {"x CANARY-other", "x CANARY-other"},
        {"CANARY-stream-51c3-SECRETCANARY-str", "***"},
        {"", ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct mask_stream *s = mask_stream_new();
        struct buf out = {0};
        CHECK(s && mask_stream_feed_to(s, cases[k].in, strlen(cases[k].in), &out) == 0);
        CHECK(mask_stream_flush_to(s, &out) == 0);
        CHECK(mask_stream_pending(s) == 0);
        CHECK(strcmp(out.data ? out.data : "", cases[k].want) == 0);
        /* what follows the end is a new stream */
        buf_clear(&out);
        CHECK(mask_stream_feed_to(s, "next\n", 5, &out) == 0);
        CHECK(strcmp(out.data, "next\n") == 0);
        mask_stream_free(s);
        buf_free(&out);
    }
}

int main(void)
{
    test_secret_in_pieces_is_never_released_in_pieces();
    test_secret_byte_by_byte_is_held_until_complete();
    test_end_of_stream_masks_an_unfinished_secret();
    mask_reset();
    return check_exit();
}
