/* mask: the automaton agrees with a naive reference on random registries and
 * inputs (text and binary); streams equal one-shot scrubs for every split of
 * every secret and random chunkings; overlapping and adjacent secrets give
 * one "***"; short values are ignored; derived forms (expected encodings
 * written out independently, from Python) are masked; scrubbing from 4
 * threads while another adds values never shows a registered value. */
#include "buf.h"
#include "check.h"
#include "mask.h"
#include "mask_naive.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static uint32_t rnd_below(uint32_t n)
{
    return rnd() % n;
}

/* Fills p[0, n) with random bytes from alphabet (NULL: any byte). */
static void rnd_fill(char *p, size_t n, const char *alphabet)
{
    size_t an = alphabet ? strlen(alphabet) : 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = alphabet ? alphabet[rnd_below((uint32_t)an)] : (char)rnd_below(256);
    }
}

/* The one-shot scrub of in[0, n) in a new buffer (the caller frees it). */
static struct buf scrub(const char *in, size_t n)
{
    struct buf o = {0};
    CHECK(mask_scrub_to(&o, in, n) == 0 && o.data != NULL);
    return o;
}

static int scrubs_to(const char *in, const char *want)
{
    struct buf o = scrub(in, strlen(in));
    int ok = o.data && strcmp(o.data, want) == 0;
    if (!ok) {
        fprintf(stderr, "scrub mismatch (lengths in %zu want %zu got %zu)\n", strlen(in),
                strlen(want), o.len);
    }
    buf_free(&o);
    return ok;
}

/* 1 when b holds exactly p[0, n). */
static int holds(const struct buf *b, const char *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

/* Streams in[0, n) cut at the given offsets (ascending, < n), then flushes;
 * returns the concatenated output (the caller frees it). */
static struct buf stream_chunks(const char *in, size_t n, const size_t *cuts, size_t ncuts)
{
    struct mask_stream *s = mask_stream_new();
    CHECK(s != NULL);
    struct buf all = {0};
    size_t pos = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        CHECK(mask_stream_feed_to(s, in + pos, end - pos, &all) == 0);
        CHECK(mask_stream_pending(s) <= all.len + n); /* sanity: bounded */
        pos = end;
    }
    CHECK(mask_stream_flush_to(s, &all) == 0);
    CHECK(mask_stream_pending(s) == 0);
    mask_stream_free(s);
    return all;
}

static void test_short_values_are_ignored(void)
{
    mask_reset();
    CHECK(mask_add("abc", 3) == 0);
    CHECK(mask_add("", 0) == 0);
    CHECK(mask_count() == 0);
    CHECK(scrubs_to("abc abc", "abc abc"));
    CHECK(mask_add("abcd", 4) == 1);
    CHECK(scrubs_to("abc abcd", "abc ***"));
    CHECK(mask_add("abcd", 4) == 1); /* known: still registered, count unchanged */
    CHECK(mask_count() == 1);        /* 4 bytes: every derived form is < 8 */
}

static void test_overlaps_collapse_to_one_token(void)
{
    mask_reset();
    CHECK(mask_add("CANARY-PREFIX", 13) == 1);
    CHECK(mask_add("CANARY-PREFIX-SECRET", 20) == 1); /* the first is its prefix */
    CHECK(mask_add("FIX-SECRET-TAIL", 15) == 1);      /* overlaps the second */
    CHECK(mask_add("NESTED", 6) == 1);
    CHECK(mask_add("xNESTEDx-CANARY", 15) == 1); /* contains another */
    CHECK(scrubs_to("a CANARY-PREFIX b", "a *** b"));
    CHECK(scrubs_to("a CANARY-PREFIX-SECRET b", "a *** b"));
    CHECK(scrubs_to("a CANARY-PREFIX-SECRET-TAIL b", "a *** b"));
    CHECK(scrubs_to("CANARY-PREFIXCANARY-PREFIX", "***"));         /* adjacent */
    CHECK(scrubs_to("CANARY-PREFIXNESTEDFIX-SECRET-TAIL", "***")); /* chain */
    CHECK(scrubs_to("CANARY-PREFIX NESTED", "*** ***"));
    CHECK(scrubs_to("yxNESTEDx-CANARY-PREFIXz", "y***z"));
    CHECK(scrubs_to("CANARY-PREFI", "CANARY-PREFI"));
}

/* Expected forms computed with Python (urllib.parse, json, base64) for
 * the value below; the e2e test checks the same against Python live. */
static void test_derived_forms_are_masked(void)
{
    static const char value[] = "CANARY-FORMS \"q\"\\ /p+q \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\tX";
    static const char *const forms[] = {
        "CANARY-FORMS%20%22q%22%5C%20%2Fp%2Bq%20%C3%A9%E2%82%AC%F0%9F%98%80%09X",
        "CANARY-FORMS%20%22q%22%5C%20/p%2Bq%20%C3%A9%E2%82%AC%F0%9F%98%80%09X",
        "CANARY-FORMS+%22q%22%5C+%2Fp%2Bq+%C3%A9%E2%82%AC%F0%9F%98%80%09X",
        "CANARY-FORMS \\\"q\\\"\\\\ /p+q \\u00e9\\u20ac\\ud83d\\ude00\\tX",
        "CANARY-FORMS \\\"q\\\"\\\\ /p+q \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\tX",
        "Q0FOQVJZLUZPUk1TICJxIlwgL3ArcSDDqeKCrPCfmIAJW",
        "NBTkFSWS1GT1JNUyAicSJcIC9wK3Egw6nigqzwn5iACV",
        "DQU5BUlktRk9STVMgInEiXCAvcCtxIMOp4oKs8J+YgAlY",
        "DQU5BUlktRk9STVMgInEiXCAvcCtxIMOp4oKs8J-YgAlY",
    };
    mask_reset();
    CHECK(mask_add(value, strlen(value)) == 1);
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        char in[512];
        snprintf(in, sizeof in, "<%s>", forms[k]);
        if (!scrubs_to(in, "<***>")) {
            fprintf(stderr, "derived form %zu not masked\n", k);
        }
    }
    CHECK(scrubs_to("base64 of user:value: dXNlcjpDQU5BUlktRk9STVMgInEiXCAvcCtxIMOp4oKs8J+YgAlY",
                    "base64 of user:value: dXNlcjp***"));
}

static void test_multiline_value_masks_each_line(void)
{
    static const char value[] = "-----BEGIN KEY-----\n  CANARYLINEONE  \nAB\r\nCANARYLINETWO";
    mask_reset();
    CHECK(mask_add(value, strlen(value)) == 1);
    CHECK(scrubs_to("x CANARYLINETWO y", "x *** y"));
    CHECK(scrubs_to("x CANARYLINEONE y", "x *** y"));
    CHECK(scrubs_to("AB", "AB")); /* a 2-byte line is not registered */
    CHECK(scrubs_to("-----BEGIN KEY-----\r\n  CANARYLINEONE  \r\nAB\r\nCANARYLINETWO!", "***!"));
}

/* One round: n random values over a small alphabet (to force overlaps) or
 * all bytes, random text with values planted, engine vs naive. */
static void property_round(int binary)
{
    const char *alpha = binary ? NULL : (rnd_below(2) ? "ab" : "abcd-");
    struct naive_set ns = {0};
    mask_reset();
    size_t nvals = 1 + rnd_below(12);
    char vals[12][24];
    size_t vlen[12];
    for (size_t k = 0; k < nvals; k++) {
        vlen[k] = 3 + rnd_below(18);
        rnd_fill(vals[k], vlen[k], alpha);
        CHECK(mask_add(vals[k], vlen[k]) == (vlen[k] >= 4));
        naive_add(&ns, vals[k], vlen[k]);
    }
    size_t n = rnd_below(400);
    char *in = malloc(n + 1);
    rnd_fill(in, n, alpha);
    for (size_t plant = rnd_below(6); plant > 0 && n > 24; plant--) {
        size_t k = rnd_below((uint32_t)nvals);
        memcpy(in + rnd_below((uint32_t)(n - vlen[k])), vals[k], vlen[k]);
    }
    size_t want_len;
    char *want = naive_scrub(&ns, in, n, &want_len);
    struct buf got = scrub(in, n);
    CHECK(holds(&got, want, want_len));
    size_t cuts[8], ncuts = n ? rnd_below(8) : 0;
    for (size_t k = 0; k < ncuts; k++) {
        cuts[k] = rnd_below((uint32_t)n);
    }
    for (size_t a = 1; a < ncuts; a++) { /* insertion sort */
        for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
            size_t t = cuts[b];
            cuts[b] = cuts[b - 1];
            cuts[b - 1] = t;
        }
    }
    size_t swant_len;
    char *swant = naive_scrub_as(&ns, in, n, 1, &swant_len);
    struct buf streamed = stream_chunks(in, n, cuts, ncuts);
    CHECK(holds(&streamed, swant, swant_len));
    buf_free(&streamed);
    buf_free(&got);
    free(swant);
    free(want);
    free(in);
    naive_free(&ns);
}

static void test_engine_matches_naive_reference(void)
{
    for (int round = 0; round < 3000; round++) {
        int before = check_failures;
        property_round(round % 3 == 0);
        if (check_failures != before) {
            fprintf(stderr, "property round %d failed\n", round);
            break;
        }
    }
}

/* Values registered one at a time between scrubs (the registry's second
 * automaton level, then its folding into one) agree with the naive
 * reference, one-shot and streamed. */
static void test_incremental_registry_matches_naive(void)
{
    struct naive_set ns = {0};
    mask_reset();
    for (int k = 0; k < 400; k++) {
        char v[24], in[300];
        size_t vl = 4 + rnd_below(16), n = 50 + rnd_below(250);
        rnd_fill(v, vl, k % 2 ? "abcdefgh" : "ab-");
        CHECK(mask_add(v, vl) == 1);
        naive_add(&ns, v, vl);
        for (int rep = 0; rep < (k == 120 || k == 399 ? 300 : 1); rep++) { /* 300: the fold */
            rnd_fill(in, n, k % 2 ? "abcdefgh" : "ab-");
            memcpy(in + rnd_below((uint32_t)(n - vl)), v, vl);
            size_t want_len, swant_len, cut = rnd_below((uint32_t)n);
            char *want = naive_scrub(&ns, in, n, &want_len);
            char *swant = naive_scrub_as(&ns, in, n, 1, &swant_len);
            struct buf got = scrub(in, n);
            struct buf streamed = stream_chunks(in, n, &cut, 1);
            CHECK(holds(&got, want, want_len));
            CHECK(holds(&streamed, swant, swant_len));
            buf_free(&streamed);
            buf_free(&got);
            free(swant);
            free(want);
        }
    }
    naive_free(&ns);
}

static void test_every_split_point_is_masked(void)
{
    static const char *const secrets[] = {"CANARY-SPLIT-SECRET-0001", "ssecret-CANARY",
                                          "aab-CANARY-aab"};
    mask_reset();
    for (size_t k = 0; k < 3; k++) {
        CHECK(mask_add(secrets[k], strlen(secrets[k])) == 1);
    }
    for (size_t k = 0; k < 3; k++) {
        char in[128];
        /* a repeated first byte before the secret: gitlab-runner#16705, #39933 */
        snprintf(in, sizeof in, "log: %c%.*s%s end", secrets[k][0], 2, secrets[k], secrets[k]);
        size_t n = strlen(in);
        struct buf want = scrub(in, n);
        CHECK(want.data && !strstr(want.data, secrets[k]) && strstr(want.data, "***"));
        for (size_t cut = 0; cut <= n; cut++) {
            struct buf got = stream_chunks(in, n, &cut, 1);
            CHECK(holds(&got, want.data, want.len));
            buf_free(&got);
        }
        buf_free(&want);
    }
}

static void test_stream_holds_back_only_a_possible_prefix(void)
{
    mask_reset();
    CHECK(mask_add("CANARY-HOLD-SECRET", 18) == 1);
    struct mask_stream *s = mask_stream_new();
    struct buf o = {0};
    CHECK(mask_stream_feed_to(s, "hello world CANARY-HO", 21, &o) == 0);
    CHECK(holds(&o, "hello world ", 12));
    CHECK(mask_stream_pending(s) == 9);
    buf_clear(&o);
    CHECK(mask_stream_feed_to(s, "LD-SECRET tail", 14, &o) == 0);
    CHECK(holds(&o, "*** tail", 8));
    CHECK(mask_stream_pending(s) == 0);
    buf_clear(&o);
    CHECK(mask_stream_feed_to(s, "CANARY", 6, &o) == 0);
    CHECK(o.len == 0);
    CHECK(mask_stream_flush_to(s, &o) == 0); /* an unfinished secret ends masked */
    CHECK(holds(&o, "***", 3));
    buf_clear(&o);
    CHECK(mask_stream_feed_to(s, "CANARY-HOLD-SECRET", 18, &o) == 0);
    CHECK(o.len == 0 && mask_stream_pending(s) == 18);
    CHECK(mask_stream_flush_to(s, &o) == 0); /* a new run after a flush: its own token */
    CHECK(holds(&o, "***", 3));
    buf_free(&o);
    mask_stream_free(s);
}

static void test_stream_sees_values_added_mid_stream(void)
{
    mask_reset();
    struct mask_stream *s = mask_stream_new();
    struct buf o = {0};
    CHECK(mask_add("CANARY-FIRST-SECRET", 19) == 1);
    CHECK(mask_stream_feed_to(s, "x CANARY-", 9, &o) == 0);
    CHECK(holds(&o, "x ", 2)); /* "CANARY-" held: could begin the first */
    buf_clear(&o);
    CHECK(mask_add("CANARY-LATE-SECRET", 18) == 1);
    CHECK(mask_stream_feed_to(s, "LATE-SECRET y CANARY-LATE-SECRET", 32, &o) == 0);
    CHECK(holds(&o, "*** y ", 6));
    buf_clear(&o);
    CHECK(mask_stream_flush_to(s, &o) == 0);
    CHECK(holds(&o, "***", 3));
    buf_free(&o);
    mask_stream_free(s);
}

static void test_large_registry_and_binary_input(void)
{
    mask_reset();
    char vals[1000][33];
    for (int k = 0; k < 1000; k++) {
        snprintf(vals[k], sizeof vals[k], "CANARY-%05d-%08x-SECRET", k, rnd());
        CHECK(mask_add(vals[k], strlen(vals[k])) == 1);
    }
    CHECK(mask_count() > 3000);
    size_t n = 1 << 20;
    char *in = malloc(n);
    rnd_fill(in, n, NULL);
    for (int k = 0; k < 1000; k += 7) {
        memcpy(in + (size_t)k * 1000 + 17, vals[k], strlen(vals[k]));
    }
    struct buf o = scrub(in, n);
    for (int k = 0; o.data && k < 1000; k += 7) {
        CHECK(memmem(o.data, o.len, vals[k], strlen(vals[k])) == NULL);
    }
    buf_free(&o);
    free(in);
}

static atomic_int published;
static char thread_vals[200][40];

static void *adder(void *arg)
{
    (void)arg;
    for (int k = 0; k < 200; k++) {
        CHECK(mask_add(thread_vals[k], strlen(thread_vals[k])) == 1);
        atomic_store(&published, k + 1);
    }
    return NULL;
}

static void *scrubber(void *arg)
{
    (void)arg;
    char line[256];
    for (int it = 0; it < 3000; it++) {
        int k = atomic_load(&published);
        if (k == 0) {
            continue;
        }
        const char *v = thread_vals[it % k];
        snprintf(line, sizeof line, "GET /x?token=%s HTTP/1.1 200", v);
        struct buf o = scrub(line, strlen(line));
        CHECK(o.data && !strstr(o.data, v) && strstr(o.data, "token=***"));
        buf_free(&o);
    }
    return NULL;
}

static void test_concurrent_scrub_while_adding(void)
{
    mask_reset();
    for (int k = 0; k < 200; k++) {
        snprintf(thread_vals[k], sizeof thread_vals[k], "CANARY-THREAD-%04d-SECRET", k);
    }
    pthread_t t[5];
    CHECK(pthread_create(&t[0], NULL, adder, NULL) == 0);
    for (int i = 1; i < 5; i++) {
        CHECK(pthread_create(&t[i], NULL, scrubber, NULL) == 0);
    }
    for (int i = 0; i < 5; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(atomic_load(&published) == 200);
}

/* The buf variants append to what the caller's buffer holds, and a stream
 * fed piecewise into one buffer equals the one-shot scrub. */
static void test_scrub_and_stream_append_to_a_callers_buf(void)
{
    mask_reset();
    CHECK(mask_add("CANARY-BUF-SECRET", 17) == 1);
    struct buf b = {0};
    CHECK(buf_append(&b, "head|", 5) == 0);
    CHECK(mask_scrub_to(&b, "a CANARY-BUF-SECRET b", 21) == 0);
    CHECK(b.len == 12 && strcmp(b.data, "head|a *** b") == 0);
    buf_clear(&b);
    const char *in = "x CANARY-BUF-SECRET y CANARY-BUF-SEC";
    struct mask_stream *s = mask_stream_new();
    size_t total = strlen(in);
    for (size_t i = 0; i < total; i += 5) {
        CHECK(mask_stream_feed_to(s, in + i, total - i < 5 ? total - i : 5, &b) == 0);
    }
    CHECK(mask_stream_pending(s) > 0); /* "CANARY-BUF-SEC" may still become the secret */
    CHECK(mask_stream_flush_to(s, &b) == 0);
    CHECK(strcmp(b.data, "x *** y ***") == 0); /* the unfinished secret too */
    mask_stream_free(s);
    buf_free(&b);
}

int main(void)
{
    test_scrub_and_stream_append_to_a_callers_buf();
    test_short_values_are_ignored();
    test_overlaps_collapse_to_one_token();
    test_derived_forms_are_masked();
    test_multiline_value_masks_each_line();
    test_engine_matches_naive_reference();
    test_incremental_registry_matches_naive();
    test_every_split_point_is_masked();
    test_stream_holds_back_only_a_possible_prefix();
    test_stream_sees_values_added_mid_stream();
    test_large_registry_and_binary_input();
    test_concurrent_scrub_while_adding();
    mask_reset();
    return check_exit();
}
