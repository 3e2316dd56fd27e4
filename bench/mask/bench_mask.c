/* Masking throughput: Pixie's engine (64 KiB stream feeds as for a child's
 * output, one-shot scrubs of 1 MiB blocks, and one scrub per log line as for
 * log lines) against a naive per-pattern memmem search-and-replace, on a
 * generated web/app log (64 MiB by default) with 10, 100 and 1,000
 * registered secrets (derived forms on). Single thread; MB/s are 10^6 bytes
 * per second of the thread's CPU time (the VM is shared), best of 3 runs.
 * The naive search runs on a slice of the log sized to take a few seconds.
 *
 *   bench_mask [--mb N]          prints the table and one RESULT line per N
 *   bench_mask --write DIR       writes DIR/log.txt and DIR/secrets-<N>.txt
 *                                (one raw value per line) for original.py */
#include "buf.h"
#include "mask.h"
#include "mask_naive.h" /* tests/c: the naive baseline */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *pick(const char *const *list, size_t n)
{
    return list[rnd() % n];
}

#define PICK(list) pick(list, sizeof list / sizeof list[0])

static void rnd_chars(char *p, size_t n, const char *alpha)
{
    size_t an = strlen(alpha);
    for (size_t i = 0; i < n; i++) {
        p[i] = alpha[rnd() % an];
    }
    p[n] = '\0';
}

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char HEX[] = "0123456789abcdef";

/* A secret in one of the shapes tools use. */
static void make_secret(char *out, size_t cap, unsigned k)
{
    char a[80], b[24];
    switch (k % 6) {
    case 0:
        rnd_chars(a, 48, ALNUM);
        snprintf(out, cap, "sk-%s", a);
        break;
    case 1:
        rnd_chars(a, 36, ALNUM);
        snprintf(out, cap, "ghp_%s", a);
        break;
    case 2:
        rnd_chars(a, 40, B64);
        snprintf(out, cap, "%s", a);
        break;
    case 3:
        rnd_chars(a, 64, HEX);
        snprintf(out, cap, "%s", a);
        break;
    case 4:
        rnd_chars(a, 12, ALNUM);
        rnd_chars(b, 20, ALNUM);
        snprintf(out, cap, "postgres://app_%u:%.12s@db-%u.internal:5432/%.20s", k, a, k % 7, b);
        break;
    default:
        rnd_chars(a, 32, B64);
        snprintf(out, cap, "%s==", a);
        break;
    }
}

/* Appends one generated log line to buf. */
static size_t log_line(char *p, const char secrets[][128], size_t nsecrets)
{
    static const char *const methods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
    static const char *const paths[] = {"/api/v1/users", "/api/v1/orders", "/static/app.js",
                                        "/healthz",      "/api/v1/search", "/login",
                                        "/metrics"};
    static const char *const agents[] = {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
        "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1"};
    static const char *const modules[] = {"db", "cache", "auth", "worker", "mailer", "scheduler"};
    static const char *const msgs[] = {"query finished",
                                       "cache miss, fetching from origin",
                                       "user logged in",
                                       "job completed successfully",
                                       "retrying request after timeout",
                                       "connection pool resized"};
    static const char *const levels[] = {"INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"};
    unsigned r = rnd() % 100;
    unsigned sec = rnd() % 60, ms = rnd() % 1000, id = rnd() % 100000;
    if (nsecrets && rnd() % 5000 == 0) {
        const char *s = secrets[rnd() % nsecrets];
        return (size_t)sprintf(p,
                               "2026-11-28T17:41:%02u.%03uZ DEBUG http.client: headers "
                               "{'Authorization': 'Bearer %s', 'Accept': '*/*'}\n",
                               sec, ms, s);
    }
    if (r < 40) {
        return (size_t)sprintf(p,
                               "10.%u.%u.%u - - [28/Nov/2026:17:41:%02u +0000] \"%s %s/%u?page=%u "
                               "HTTP/1.1\" %u %u \"-\" \"%s\" %u.%ums\n",
                               rnd() % 256, rnd() % 256, rnd() % 256, sec, PICK(methods),
                               PICK(paths), id, rnd() % 20, r < 36 ? 200 : 404, rnd() % 50000,
                               PICK(agents), rnd() % 300, rnd() % 10);
    }
    if (r < 75) {
        return (size_t)sprintf(p,
                               "2026-11-28T17:41:%02u.%03uZ %s app.%s: %s user_id=%u "
                               "duration=%ums rows=%u\n",
                               sec, ms, PICK(levels), PICK(modules), PICK(msgs), id, rnd() % 2000,
                               rnd() % 500);
    }
    if (r < 90) {
        char uuid[40];
        rnd_chars(uuid, 32, HEX);
        return (size_t)sprintf(p,
                               "{\"ts\":\"2026-11-28T17:41:%02u.%03uZ\",\"level\":\"info\","
                               "\"msg\":\"%s\",\"request_id\":\"%.8s-%.4s-%.4s-%.4s-%.12s\","
                               "\"user\":\"user%u\",\"duration_ms\":%u}\n",
                               sec, ms, PICK(msgs), uuid, uuid + 8, uuid + 12, uuid + 16, uuid + 20,
                               id, rnd() % 900);
    }
    char key[40];
    rnd_chars(key, 32, HEX);
    return (size_t)sprintf(p, "2026-11-28T17:41:%02u.%03uZ DEBUG cache: key=%s hit=%s size=%u\n",
                           sec, ms, key, rnd() % 2 ? "true" : "false", rnd() % 100000);
}

static char *make_log(size_t want, const char secrets[][128], size_t nsecrets, size_t *len)
{
    char *buf = malloc(want + 4096);
    size_t n = 0;
    while (n < want) {
        n += log_line(buf + n, secrets, nsecrets);
    }
    *len = n;
    return buf;
}

/* Best of 3 runs of a stream fed `chunk` bytes at a time (chunk = n: one
 * feed), or of one-shot scrubs of `chunk`-byte blocks when oneshot is set.
 * The output buffer is reused from chunk to chunk, as a sink does. */
static double engine_run(const char *log, size_t n, size_t chunk, int oneshot, size_t *out_len)
{
    double best = 1e9;
    struct buf o = {0};
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        struct mask_stream *s = oneshot ? NULL : mask_stream_new();
        size_t total = 0;
        for (size_t pos = 0; pos < n; pos += chunk) {
            size_t len = n - pos < chunk ? n - pos : chunk;
            buf_clear(&o);
            if (oneshot) {
                mask_scrub_to(&o, log + pos, len);
            } else {
                mask_stream_feed_to(s, log + pos, len, &o);
            }
            total += o.len;
        }
        if (!oneshot) {
            buf_clear(&o);
            mask_stream_flush_to(s, &o);
            total += o.len;
            mask_stream_free(s);
        }
        double t = now() - t0;
        *out_len = total;
        best = t < best ? t : best;
    }
    buf_free(&o);
    return best;
}

static double engine_lines(const char *log, size_t n)
{
    double t0 = now();
    struct buf o = {0};
    const char *p = log, *end = log + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        buf_clear(&o);
        mask_scrub_to(&o, p, len);
        p += len;
    }
    buf_free(&o);
    return now() - t0;
}

static int write_inputs(const char *dir, const char *log, size_t n, char secrets[][128])
{
    char path[4096];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(log, 1, n, f) != n || fclose(f) != 0) {
        return 1;
    }
    static const size_t counts[] = {10, 100, 1000};
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/secrets-%zu.txt", dir, counts[c]);
        f = fopen(path, "wb");
        if (!f) {
            return 1;
        }
        for (size_t k = 0; k < counts[c]; k++) {
            fprintf(f, "%s\n", secrets[k]);
        }
        fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t mb = 64;
    const char *write_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
            mb = (size_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--write") == 0 && i + 1 < argc) {
            write_dir = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_mask [--mb N] [--write DIR]\n");
            return 2;
        }
    }
    static char secrets[1000][128];
    for (unsigned k = 0; k < 1000; k++) {
        make_secret(secrets[k], sizeof secrets[k], k);
    }
    size_t n;
    /* the log mentions the first 10 secrets, so every run has real hits */
    char *log = make_log(mb << 20, secrets, 10, &n);
    if (write_dir) {
        return write_inputs(write_dir, log, n, secrets);
    }
    size_t lines = 0;
    for (const char *p = log; (p = memchr(p, '\n', (size_t)(log + n - p))) != NULL; p++) {
        lines++;
    }
    printf("log: %.1f MB, %zu lines (%zu bytes on average); MB = 10^6 bytes\n", (double)n / 1e6,
           lines, n / lines);
    printf("%-8s %-9s %13s %13s %13s %13s %13s\n", "secrets", "patterns", "stream-64K",
           "oneshot-1M", "per-line", "naive-memmem", "stream/naive");
    static const size_t counts[] = {10, 100, 1000};
    for (int c = 0; c < 3; c++) {
        size_t N = counts[c];
        mask_reset();
        struct naive_set ps = {0};
        double tb = now();
        for (size_t k = 0; k < N; k++) {
            mask_add(secrets[k], strlen(secrets[k]));
            naive_add(&ps, secrets[k], strlen(secrets[k]));
        }
        size_t ol1, ol2, ol3;
        struct buf eng = {0};
        mask_scrub_to(&eng, "warm", 4); /* builds the automaton */
        buf_clear(&eng);
        double build = now() - tb;
        double t_stream = engine_run(log, n, 65536, 0, &ol1);
        double t_block = engine_run(log, n, 1 << 20, 1, &ol2);
        double t_lines = engine_lines(log, n);
        size_t slice = n / N * 10 < n ? n / N * 10 : n;
        slice = slice < ((size_t)1 << 20) ? ((size_t)1 << 20) : slice;
        double t0 = now();
        char *naive = naive_scrub(&ps, log, slice, &ol3);
        double t_naive = now() - t0;
        mask_scrub_to(&eng, log, slice);
        int agree = !eng.err && eng.len == ol3 && memcmp(eng.data, naive, ol3) == 0;
        buf_free(&eng);
        free(naive);
        double mb_all = (double)n / 1e6, mb_slice = (double)slice / 1e6;
        printf("%-8zu %-9zu %8.0f MB/s %8.0f MB/s %8.0f MB/s %8.1f MB/s %12.0fx%s\n", N,
               mask_count(), mb_all / t_stream, mb_all / t_block, mb_all / t_lines,
               mb_slice / t_naive, (mb_all / t_stream) / (mb_slice / t_naive),
               agree ? "" : "  (NAIVE OUTPUT DIFFERS)");
        printf("RESULT n=%zu stream=%.1f oneshot=%.1f lines=%.1f naive=%.3f build_ms=%.1f "
               "same_as_naive=%d stream_len_equals_oneshot=%d\n",
               N, mb_all / t_stream, mb_all / t_block, mb_all / t_lines, mb_slice / t_naive,
               build * 1000, agree, ol1 == ol2);
        naive_free(&ps);
    }
    free(log);
    return 0;
}
