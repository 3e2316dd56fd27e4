/* The direct side of the stream benchmark: reads the stream-bench tool's
 * /stream with libcurl (httpc_get_stream), no Pixie in between, and
 * measures per event the time from the tool's stamp (CLOCK_MONOTONIC ns)
 * to the event's line arriving; then a burst's events/s.
 * Usage: bench_stream PORT N BURST */
#include "httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct reader {
    char line[4096];
    size_t len;
    double *lat;
    size_t n;
    double first, last;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Takes the "stamp" of each complete data line. */
static int on_data(void *ctx, const char *data, size_t len)
{
    struct reader *r = ctx;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') {
            if (r->len + 1 < sizeof r->line) {
                r->line[r->len++] = data[i];
            }
            continue;
        }
        r->line[r->len] = '\0';
        const char *s = strstr(r->line, "\"stamp\": ");
        if (s) {
            double t = now_ms(), stamp = strtod(s + 9, NULL) / 1e6;
            r->lat[r->n++] = t - stamp;
            if (r->first == 0) {
                r->first = stamp;
            }
            r->last = t;
        }
        r->len = 0;
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads /stream?run_id=direct-N-PACE into r. */
static void read_stream(int port, long n, long pace, struct reader *r)
{
    char path[128];
    snprintf(path, sizeof path, "/stream?run_id=direct-%ld-%ld", n, pace);
    memset(r, 0, sizeof *r);
    r->lat = calloc((size_t)n + 1, sizeof *r->lat);
    struct httpc_response res;
    if (!r->lat || httpc_get_stream(port, path, 600000, on_data, r, &res) != 0) {
        fprintf(stderr, "bench_stream: %s\n", r->lat ? res.error : "out of memory");
        exit(1);
    }
    httpc_response_free(&res);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_stream PORT N BURST\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long n = atol(argv[2]), burst = atol(argv[3]);
    struct reader r;
    read_stream(port, 5, 0, &r); /* warm-up */
    free(r.lat);
    read_stream(port, n, 1000, &r);
    qsort(r.lat, r.n, sizeof *r.lat, cmp);
    printf("direct latency over %zu events: median %.3f ms, p99 %.3f ms\n", r.n, r.lat[r.n / 2],
           r.lat[(size_t)((double)r.n * 0.99)]);
    free(r.lat);
    read_stream(port, burst, 0, &r);
    printf("direct burst of %zu events: %.0f events/s (libcurl, no parsing beyond lines)\n", r.n,
           (double)r.n / ((r.last - r.first) / 1000));
    free(r.lat);
    return 0;
}
