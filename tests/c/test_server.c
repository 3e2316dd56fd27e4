/* server: the core server with a C API callback, over real sockets.
 * An SSE reply streams a board entry (every event, then final, then the
 * end) while the connection is suspended between events; many more
 * streams than workers wait at once (no worker is held); an await reply
 * answers with the finish's status and body; a chunked body over 1 MiB
 * gets 413 and 1 MiB passes; headers the API may not set are dropped;
 * stopping the server ends suspended streams. An upload route takes a
 * body up to its own cap (others keep 1 MiB); route patterns match one
 * segment per '*'; a silent stream gets a keepalive comment every
 * heartbeat. */
#include "board.h"
#include "buf.h"
#include "check.h"
#include "server.h"
#include "sse_events.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned port;

/* The test API: /api/sse/<key>, /api/await/<key>, /api/echo. */
static void api(void *ctx, const struct server_request *req, struct server_reply *rep)
{
    (void)ctx;
    if (strncmp(req->path, "/api/sse/", 9) == 0) {
        rep->kind = SERVER_REPLY_SSE;
        buf_append(&rep->key, req->path + 9, strlen(req->path + 9));
    } else if (strncmp(req->path, "/api/await/", 11) == 0) {
        rep->kind = SERVER_REPLY_AWAIT;
        buf_append(&rep->key, req->path + 11, strlen(req->path + 11));
    } else {
        rep->status = 200;
        char n[32];
        snprintf(n, sizeof n, "%zu", req->body_len);
        buf_append(&rep->body, n, strlen(n));
        buf_append(&rep->headers, "X-Extra\0yes\0", 12);
        buf_append(&rep->headers, "Access-Control-Allow-Origin\0*\0", 30);
        buf_append(&rep->headers, "X-Frame-Options\0ALLOW\0", 22);
    }
}

/* Sends `req` (text) plus body to the server and reads until it closes. */
static void exchange(const char *req, const char *body, size_t blen, struct buf *resp)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    size_t off = 0;
    while (off < blen) {
        ssize_t n = write(fd, body + off, blen - off);
        if (n <= 0) {
            break; /* the server may answer and close early */
        }
        off += (size_t)n;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        buf_append(resp, chunk, (size_t)n);
    }
    close(fd);
}

/* GET path over HTTP/1.0 (the body ends at the close). */
static void get(const char *path, struct buf *resp)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n", path, port);
    exchange(req, NULL, 0, resp);
}

/* The body of a response (after the blank line), or "". */
static const char *body_of(const struct buf *resp)
{
    const char *p = resp->data ? strstr(resp->data, "\r\n\r\n") : NULL;
    return p ? p + 4 : "";
}

struct client {
    char path[128];
    struct buf resp;
};

static void *client_main(void *p)
{
    struct client *c = p;
    get(c->path, &c->resp);
    return NULL;
}

static void test_sse_streams(void)
{
    enum { CLIENTS = 12, EVENTS = 50 };
    CHECK(board_open("run1", NULL) == 0);
    struct client cs[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        snprintf(cs[i].path, sizeof cs[i].path, "/api/sse/run1");
        pthread_create(&t[i], NULL, client_main, &cs[i]);
    }
    usleep(200 * 1000); /* let the streams start and suspend (not a check) */
    /* all streams wait, yet the workers still answer */
    struct buf other = {0};
    get("/api/echo", &other);
    CHECK(strncmp(other.data, "HTTP/1.0 200", 12) == 0 ||
          strncmp(other.data, "HTTP/1.1 200", 12) == 0);
    buf_free(&other);
    struct buf want = {0};
    char data[64];
    for (int i = 0; i < EVENTS; i++) {
        int n = snprintf(data, sizeof data, "{\"i\":%d}\nsecond line", i);
        CHECK(board_publish("run1", "update", data, (size_t)n, NULL) == 0);
        sse_record(&want, "update", data, (size_t)n);
        if (i % 10 == 0) {
            usleep(20 * 1000);
        }
    }
    CHECK(board_finish("run1", 200, "{\"status\":\"ok\"}", 15, NULL) == 0);
    sse_record(&want, "final", "{\"status\":\"ok\"}", 15);
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        CHECK(strstr(cs[i].resp.data, "Content-Type: text/event-stream") != NULL);
        CHECK(strstr(cs[i].resp.data, "X-Frame-Options: DENY") != NULL);
        const char *b = body_of(&cs[i].resp);
        struct buf got = {0};
        CHECK(sse_parse_in_steps(b, strlen(b), 0, &got) == 0);
        CHECK(got.len == want.len && memcmp(got.data, want.data, want.len) == 0);
        buf_free(&got);
        buf_free(&cs[i].resp);
    }
    buf_free(&want);
    /* unknown key: 404 */
    struct buf r = {0};
    get("/api/sse/nope", &r);
    CHECK(strstr(r.data, " 404 ") != NULL);
    buf_free(&r);
}

static void test_await(void)
{
    CHECK(board_open("val", NULL) == 0);
    struct client c = {0};
    snprintf(c.path, sizeof c.path, "/api/await/val");
    pthread_t t;
    pthread_create(&t, NULL, client_main, &c);
    usleep(100 * 1000);
    CHECK(board_publish("val", "update", "x", 1, NULL) == 0); /* not the finish */
    usleep(50 * 1000);
    CHECK(board_finish("val", 202, "{\"started\":true}", 16, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(strstr(c.resp.data, " 202 ") != NULL);
    CHECK(strcmp(body_of(&c.resp), "{\"started\":true}") == 0);
    CHECK(strstr(c.resp.data, "Cache-Control: no-store") != NULL);
    buf_free(&c.resp);
    /* finished already: at once */
    get("/api/await/val", &c.resp);
    CHECK(strstr(c.resp.data, " 202 ") != NULL);
    buf_free(&c.resp);
}

static void test_bodies_and_headers(void)
{
    size_t max = 1024 * 1024;
    char *body = malloc(max + 1);
    memset(body, 'a', max + 1);
    char req[512];
    /* chunked: no length up front; the cap applies as the body arrives */
    struct buf chunked = {0};
    char head[32];
    int hn = snprintf(head, sizeof head, "%zx\r\n", max + 1);
    buf_append(&chunked, head, (size_t)hn);
    buf_append(&chunked, body, max + 1);
    buf_append(&chunked, "\r\n0\r\n\r\n", 7);
    snprintf(req, sizeof req,
             "POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: http://127.0.0.1:%u\r\n"
             "Content-Type: application/json\r\nX-Pixie-Token: wrong\r\n"
             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
             port, port);
    struct buf r = {0};
    exchange(req, chunked.data, chunked.len, &r);
    CHECK(strstr(r.data, " 403 ") != NULL); /* the token is checked first */
    buf_free(&r);
    buf_free(&chunked);
    /* GET bodies are capped too */
    buf_append(&chunked, head, (size_t)hn);
    buf_append(&chunked, body, max + 1);
    buf_append(&chunked, "\r\n0\r\n\r\n", 7);
    snprintf(req, sizeof req,
             "GET /api/echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
             port);
    exchange(req, chunked.data, chunked.len, &r);
    CHECK(strstr(r.data, " 413 ") != NULL);
    CHECK(strstr(r.data, "X-Content-Type-Options: nosniff") != NULL);
    buf_free(&r);
    buf_free(&chunked);
    snprintf(req, sizeof req,
             "GET /api/echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             port, max);
    exchange(req, body, max, &r);
    CHECK(strstr(r.data, " 200 ") != NULL);
    CHECK(strcmp(body_of(&r), "1048576") == 0);
    /* the API's own headers pass; reserved and Access-Control-* do not */
    CHECK(strstr(r.data, "X-Extra: yes") != NULL);
    CHECK(strstr(r.data, "Access-Control") == NULL);
    CHECK(strstr(r.data, "ALLOW") == NULL);
    buf_free(&r);
    free(body);
}

static void test_route_match(void)
{
    CHECK(server_route_match("/api/tools/*/run", "/api/tools/x/run"));
    CHECK(server_route_match("/api/tools/*/run", "/api/tools/a.b-c_d/run"));
    CHECK(!server_route_match("/api/tools/*/run", "/api/tools//run"));
    CHECK(!server_route_match("/api/tools/*/run", "/api/tools/a/b/run"));
    CHECK(!server_route_match("/api/tools/*/run", "/api/tools/x/run/"));
    CHECK(!server_route_match("/api/tools/*/run", "/api/tools/x/runs"));
    CHECK(!server_route_match("/api/tools/*/run", "/api/tools/x"));
    CHECK(server_route_match("/api/echo", "/api/echo"));
    CHECK(!server_route_match("/api/echo", "/api/ech"));
    CHECK(server_route_match("*", "abc"));
    CHECK(!server_route_match("/a*c", "/abc")); /* * takes the whole segment */
    CHECK(!server_route_match("*", ""));
}

/* A second server with /api/big as an upload route (3 MiB) and a 50 ms
 * heartbeat. */
static void test_upload_route_and_heartbeat(void)
{
    static const struct server_file files[] = {{NULL, NULL, 0}};
    static const char *const routes[] = {"/api/big", "/api/*/up", NULL};
    struct server_config cfg = {.port = 0,
                                .workers = 1,
                                .api = api,
                                .files = files,
                                .upload_max = 3 * 1024 * 1024,
                                .upload_routes = routes,
                                .heartbeat_ms = 50};
    int rc;
    struct buf err = {0};
    struct server *s = server_start(&cfg, &rc, &err);
    CHECK(s != NULL);
    if (!s) {
        return;
    }
    unsigned saved = port;
    port = server_port(s);
    size_t n = 2 * 1024 * 1024;
    char *body = malloc(n);
    memset(body, 'a', n);
    const char *paths[] = {"/api/big", "/api/x/up", "/api/echo", "/api/bag/x"};
    const char *want[] = {" 200 ", " 200 ", " 413 ", " 413 "};
    for (int i = 0; i < 4; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 paths[i], port, n);
        struct buf r = {0};
        exchange(req, body, n, &r);
        CHECK(r.data && strstr(r.data, want[i]) != NULL);
        if (i == 0) {
            CHECK(strcmp(body_of(&r), "2097152") == 0);
        }
        buf_free(&r);
    }
    free(body);
    /* a silent stream hears keepalives, then its final event */
    CHECK(board_open("quiet", NULL) == 0);
    struct client c = {0};
    snprintf(c.path, sizeof c.path, "/api/sse/quiet");
    pthread_t t;
    pthread_create(&t, NULL, client_main, &c);
    usleep(400 * 1000);
    CHECK(board_finish("quiet", 200, "{}", 2, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(c.resp.data && strstr(c.resp.data, ": keepalive\n\n") != NULL);
    CHECK(c.resp.data && strstr(c.resp.data, "event: final\ndata: {}\n\n") != NULL);
    buf_free(&c.resp);
    server_stop(s);
    port = saved;
    /* a heartbeat under 10 ms is refused */
    cfg.heartbeat_ms = 5;
    CHECK(server_start(&cfg, &rc, &err) == NULL && rc == -EINVAL);
    buf_free(&err);
}

static void test_stop_ends_streams(struct server *s)
{
    CHECK(board_open("forever", NULL) == 0);
    struct client c = {0};
    snprintf(c.path, sizeof c.path, "/api/sse/forever");
    pthread_t t;
    pthread_create(&t, NULL, client_main, &c);
    usleep(100 * 1000);
    server_stop(s);
    pthread_join(t, NULL); /* the stream ended */
    CHECK(strstr(c.resp.data, "text/event-stream") != NULL);
    buf_free(&c.resp);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the server may close before a body is sent */
    static const struct server_file files[] = {{NULL, NULL, 0}};
    struct server_config cfg = {.port = 0, .workers = 2, .api = api, .files = files};
    int rc;
    struct buf err = {0};
    struct server *s = server_start(&cfg, &rc, &err);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "%s\n", err.data ? err.data : "");
        return 1;
    }
    port = server_port(s);
    /* the port is taken: a second server says so */
    struct server_config again = cfg;
    again.port = port;
    CHECK(server_start(&again, &rc, &err) == NULL && rc == -EADDRINUSE);
    CHECK(err.data && strstr(err.data, "in use") != NULL);
    buf_free(&err);
    test_sse_streams();
    test_await();
    test_bodies_and_headers();
    test_route_match();
    test_upload_route_and_heartbeat();
    test_stop_ends_streams(s);
    board_reset();
    return check_exit();
}
