/* The C side of the HTTP benchmark (bench/http/run.sh).
 *   bench_http baseline SIZE   a minimal libmicrohttpd server on 127.0.0.1
 *                              answering every request with SIZE constant
 *                              bytes (same thread pool size as pixie serve's
 *                              default); prints its port, serves until stdin
 *                              closes.
 *   bench_http load PORT PATH N CONC   N GETs of PATH over CONC keep-alive
 *                              connections (one thread each); prints
 *                              requests/s, p50 and p99 latency in ms. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- baseline server ---------------------------------------------------------------- */

static struct MHD_Response *constant;

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    static int first_call_mark;
    if (!*con_cls) { /* answer once the request is in, as pixie serve does (keep-alive) */
        *con_cls = &first_call_mark;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, constant);
}

static int baseline(size_t size)
{
    char *body = malloc(size + 1);
    memset(body, 'x', size);
    constant = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_PERSISTENT);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL,
                                            NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                            MHD_OPTION_THREAD_POOL_SIZE, 4, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "baseline: the daemon did not start\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    char b[64];
    while (fread(b, 1, sizeof b, stdin) > 0) {
    }
    MHD_stop_daemon(d);
    MHD_destroy_response(constant);
    free(body);
    return 0;
}

/* ---- load --------------------------------------------------------------------------- */

struct worker {
    unsigned port;
    const char *path;
    int n;
    double *lat;
    int failed;
};

/* Reads one response (headers, then Content-Length bytes). 0 or -1. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k <= 0) {
            return -1;
        }
        len += (size_t)k;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0) {
        return -1;
    }
    char *cl = strcasestr(buf, "\r\ncontent-length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t have = len - (size_t)(end + 4 - buf);
    while (have < want) {
        ssize_t k = read(fd, buf, cap - 1);
        if (k <= 0) {
            return -1;
        }
        have += (size_t)k;
    }
    return 0;
}

static void *load_main(void *p)
{
    struct worker *w = p;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        w->failed = 1;
        return NULL;
    }
    char req[512];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", w->path,
                      w->port);
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    for (int i = 0; i < w->n; i++) {
        double t0 = now_ms();
        if (write(fd, req, (size_t)rl) != rl || read_response(fd, buf, cap) != 0) {
            w->failed = 1;
            break;
        }
        w->lat[i] = now_ms() - t0;
    }
    free(buf);
    close(fd);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int load(unsigned port, const char *path, int n, int conc)
{
    struct worker *ws = calloc((size_t)conc, sizeof *ws);
    pthread_t *ts = calloc((size_t)conc, sizeof *ts);
    double *lat = calloc((size_t)n, sizeof *lat);
    int per = n / conc;
    double t0 = now_ms();
    for (int i = 0; i < conc; i++) {
        ws[i] = (struct worker){.port = port, .path = path, .n = per, .lat = lat + i * per};
        pthread_create(&ts[i], NULL, load_main, &ws[i]);
    }
    int failed = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(ts[i], NULL);
        failed |= ws[i].failed;
    }
    double secs = (now_ms() - t0) / 1e3;
    int total = per * conc;
    qsort(lat, (size_t)total, sizeof *lat, cmp_double);
    printf("%-40s %9.0f req/s   p50 %6.3f ms   p99 %6.3f ms%s\n", path, total / secs,
           lat[total / 2], lat[(int)(total * 0.99)], failed ? "   (FAILED requests)" : "");
    free(ws);
    free(ts);
    free(lat);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "baseline") == 0) {
        return baseline(strtoul(argv[2], NULL, 10));
    }
    if (argc == 6 && strcmp(argv[1], "load") == 0) {
        return load((unsigned)atoi(argv[2]), argv[3], atoi(argv[4]), atoi(argv[5]));
    }
    fprintf(stderr, "usage: bench_http baseline SIZE | load PORT PATH N CONC\n");
    return 2;
}
