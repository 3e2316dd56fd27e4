/* The dashboard's HTTP server (SPEC §5, docs/dashboard-api.md §1-§2) on libmicrohttpd:
 * bound to 127.0.0.1 only, a pool of worker threads, every request guarded
 * (http_guard.h) before routing, pages and assets from a fixed table given
 * by the caller (never a file path built from the URL), /api/ requests
 * handed to a callback, and responses that stream an event-board entry
 * (SSE) or wait for its finish without holding a worker (board.h).
 *
 * Threads: server_start's caller owns the server; the callback runs on
 * the worker threads, which take no signals. */
#ifndef PIXIE_SERVER_H
#define PIXIE_SERVER_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* One embedded file the server may serve. `name` is its path in the
 * source tree: "web/index.html", "web/static/js/app.js",
 * "vendor/chart.js/chart.min.js". Only web/ and vendor/ names are used. */
struct server_file {
    const char *name;
    const char *data;
    size_t len;
};

/* An /api/ request as the callback sees it. query and headers are
 * NULL-terminated arrays of name, value pairs (header names lower-case;
 * a repeated header's values joined with ", "). body is NUL-terminated. */
struct server_request {
    const char *method;
    const char *path;
    const char *const *query;
    const char *const *headers;
    const char *body;
    size_t body_len;
};

enum server_reply_kind {
    SERVER_REPLY_BODY = 0,  /* status, body, content type, headers */
    SERVER_REPLY_SSE = 1,   /* stream board entry `key` */
    SERVER_REPLY_AWAIT = 2, /* wait for board entry `key`, answer its finish */
};

/* The callback's answer; the server zeroes it before the call and frees
 * its buffers after. */
struct server_reply {
    enum server_reply_kind kind;
    int status;              /* 100..599 */
    struct buf body;         /* response body */
    struct buf content_type; /* empty: application/json */
    struct buf headers;      /* extra headers "Name\0Value\0"... */
    struct buf key;          /* board key of SSE / AWAIT */
    int cacheable;           /* a 200 BODY to a GET: may be given again (see below) */
};

/* Handles one /api/ request on a worker thread. A failure is a reply like
 * any other (the callback sets 500 and a JSON body itself). */
typedef void (*server_api_fn)(void *ctx, const struct server_request *req,
                              struct server_reply *reply);

/* Default seconds between two comments (": keepalive") on an SSE stream
 * that has nothing to say: each lets the server notice a client gone. */
#define SERVER_HEARTBEAT_MS 15000

struct server_config {
    unsigned port;    /* 0: any free port */
    unsigned workers; /* worker threads, 1..64 */
    server_api_fn api;
    void *api_ctx;
    const struct server_file *files; /* table ending with name NULL */
    /* NULL, or a counter that moves whenever a cacheable answer may change:
     * a GET without query arguments whose reply was marked cacheable is then
     * given again, without calling api, while the counter stays (any thread). */
    uint64_t (*generation)(void *ctx);
    void *generation_ctx;
    /* Body caps (413 past them, docs/dashboard-api.md §2): body_max for every
     * request (0: HTTP_GUARD_BODY_MAX), upload_max for a path matching one of
     * upload_routes (NULL-terminated patterns, see server_route_match; NULL:
     * none). upload_max 0: the upload routes get body_max too. */
    size_t body_max;
    size_t upload_max;
    const char *const *upload_routes;
    unsigned heartbeat_ms; /* 0: SERVER_HEARTBEAT_MS; at least 10 */
};

/* 1 when path matches pattern: bytes compared as they are, except that
 * '*' matches the rest of a path segment (one or more bytes up to the next
 * '/' or the end; so "/a*c" never matches: use '*' for a whole segment). E.g. the
 * pattern "/api/tools/" "*" "/run" matches "/api/tools/x/run" but neither
 * "/api/tools/a/b/run" nor "/api/tools//run". */
int server_route_match(const char *pattern, const char *path);

struct server;

/* Listens on 127.0.0.1:port and starts the workers. Returns the server, or
 * NULL with *rc a negative errno and a message in err: -EADDRINUSE ("port
 * N is in use"), -EACCES, -EINVAL (bad config), -ENOMEM, -EIO (the daemon
 * did not start). Pages get a fresh 256-bit token. */
struct server *server_start(const struct server_config *cfg, int *rc, struct buf *err);

/* The port listened on. */
unsigned server_port(const struct server *s);

/* Ends every stream and await (board_set_closing), stops the daemon and
 * its threads, frees s. NULL is allowed. */
void server_stop(struct server *s);

/* The Content-Type served for a file name, by its extension. */
const char *server_content_type(const char *name);

/* Signal handling for the serving thread: SIGINT and SIGTERM write to a
 * self-pipe from a handler (so whichever thread takes them, the waiter
 * learns of it). install returns 0 or -errno; wait blocks until one
 * arrived and returns its number (or -errno); restore puts the previous
 * handlers back and closes the pipe. */
int server_signals_install(void);
int server_signals_wait(void);
void server_signals_restore(void);

#endif
