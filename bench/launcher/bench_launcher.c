/* Launcher benchmark (bench/launcher/run.sh).
 *
 * 1. Spawn-to-ready: launcher_start (request -> healthy /healthz) against
 *    the same tool started bare: vfork + execve (output to /dev/null), then
 *    a tight loop of connect + GET /healthz every 0.25 ms until the first
 *    200 (a loop without any pause steals the CPU the interpreter needs on
 *    a small machine and slows the bare start). Runs are interleaved;
 *    medians and the overhead (Pixie - bare) are printed.
 * 2. Per-run overhead on a warm tool: launcher_run against POST /run with
 *    libcurl in the same process (one reused handle), interleaved blocks.
 *
 * Usage: bench_launcher TOOL_DIR PYTHON RUNS [RUN_CALLS] */
#include "buf.h"
#include "httpc.h"
#include "launcher.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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

/* One raw GET /healthz; 1 on a 200 answer. */
static int healthz_once(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        static const char req[] = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        char buf[64] = "";
        if (write(fd, req, sizeof req - 1) == (ssize_t)sizeof req - 1 &&
            read(fd, buf, sizeof buf - 1) > 12) {
            ok = strncmp(buf + 9, "200", 3) == 0;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Bare start: exec to first healthy answer, in ms. */
static double bare_start(const char *dir, const char *python, char *const envp[])
{
    int port = httpc_free_port();
    char port_s[16], main_py[4200];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(main_py, sizeof main_py, "%s/main.py", dir);
    char flag[] = "--port";
    char *argv[] = {(char *)python, main_py, flag, port_s, NULL};
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    double t0 = now_ms();
    pid_t pid = vfork();
    if (pid == 0) {
        dup2(null, 1);
        dup2(null, 2);
        if (chdir(dir) == 0) {
            execve(python, argv, envp);
        }
        _exit(127);
    }
    close(null);
    if (pid < 0) {
        return -1;
    }
    while (!healthz_once(port)) {
        usleep(250);
    }
    double t = now_ms() - t0;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return t;
}

static void report(const char *what, double pixie, double base, const char *base_name,
                   const char *unit)
{
    printf("  %-34s pixie %9.3f %s   %-14s %9.3f %s   overhead %+8.3f %s   ratio %.3f\n", what,
           pixie, unit, base_name, base, unit, pixie - base, unit, base > 0 ? pixie / base : 0);
}

static size_t sink(char *d, size_t s, size_t n, void *ctx)
{
    (void)d;
    (void)ctx;
    return s * n;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_launcher TOOL_DIR PYTHON RUNS [RUN_CALLS]\n");
        return 2;
    }
    const char *dir = argv[1], *python = argv[2];
    int runs = atoi(argv[3]), calls = argc > 4 ? atoi(argv[4]) : 500;
    const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    char marker[200];
    snprintf(marker, sizeof marker, "PIXIE_TOOL_ID=%s", id);
    char path[] = "PATH=/usr/bin:/bin", unbuf[] = "PYTHONUNBUFFERED=1", lang[] = "LANG=C.UTF-8";
    char *envp[] = {path, unbuf, lang, marker, NULL};
    struct launcher_tool t = {
        .id = id,
        .dir = dir,
        .python = python,
        .entrypoint = "main.py",
        .env = (const char *const *)envp,
        .max_memory_mb = 0,
        .max_runtime_seconds = 60,
        .warm_keep_seconds = 300,
        .concurrent = 1,
    };
    if (launcher_init() != 0) {
        return 1;
    }
    double *pix = calloc((size_t)runs, sizeof *pix), *bare = calloc((size_t)runs, sizeof *bare);
    int port = 0, started = 0;
    pid_t pid;
    struct buf err = {0}, out = {0};
    /* warm-up of both paths (first exec of the interpreter, page cache) */
    bare_start(dir, python, envp);
    if (launcher_start(&t, &port, &pid, &started, &err) != 0) {
        fprintf(stderr, "bench: %s\n", err.len ? err.data : "start failed");
        return 1;
    }
    launcher_stop(id, 0);
    for (int i = 0; i < runs; i++) {
        bare[i] = bare_start(dir, python, envp);
        double t0 = now_ms();
        int rc = launcher_start(&t, &port, &pid, &started, &err);
        pix[i] = now_ms() - t0;
        if (rc != 0 || bare[i] < 0) {
            fprintf(stderr, "bench: start failed\n");
            return 1;
        }
        launcher_stop(id, 0);
    }
    double *diff = calloc((size_t)runs, sizeof *diff);
    for (int i = 0; i < runs; i++) {
        diff[i] = pix[i] - bare[i];
    }
    printf("%s (%s), %d interleaved starts each:\n", id, python, runs);
    double dmed = median(diff, runs);
    report("spawn-to-ready, medians", median(pix, runs), median(bare, runs), "bare exec", "ms");
    report("spawn-to-ready, minima", pix[0], bare[0], "bare exec", "ms"); /* sorted by median() */
    printf("  %-34s %+.3f ms (target <= 10 ms)\n", "median of paired differences", dmed);
    free(diff);

    /* 2. per-run overhead on the warm tool */
    launcher_start(&t, &port, &pid, &started, &err);
    static const char body[] = "{\"inputs\": {\"text\": \"the quick brown fox\"}, \"text\": \"x\"}";
    CURL *h = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/run", port);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    double *pr = calloc((size_t)calls, sizeof *pr), *cr = calloc((size_t)calls, sizeof *cr);
    for (int i = 0; i < calls; i++) {
        double t0 = now_ms();
        curl_easy_perform(h);
        cr[i] = now_ms() - t0;
        struct launcher_result res;
        t0 = now_ms();
        buf_clear(&out);
        int rc = launcher_run(&t, body, sizeof body - 1, NULL, 0, &res, &out, &err);
        pr[i] = now_ms() - t0;
        if (rc != 0 || res.status != 200) {
            fprintf(stderr, "bench: run failed\n");
            return 1;
        }
    }
    printf("warm %s, %d interleaved POST /run calls each:\n", id, calls);
    report("per-run, medians (target <= 1 ms)", median(pr, calls), median(cr, calls),
           "libcurl direct", "ms");
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    launcher_shutdown();
    free(pix);
    free(bare);
    free(pr);
    free(cr);
    buf_free(&out);
    buf_free(&err);
    return 0;
}
