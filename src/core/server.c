/* The dashboard's HTTP server on libmicrohttpd; see server.h. */
#include "server.h"

#include "board.h"
#include "buf.h"
#include "deadline.h"
#include "http_guard.h"
#include "log.h"
#include "reply_cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTION_LIMIT 256
#define PER_IP_LIMIT 256 /* every client is on 127.0.0.1 */
#define CONNECTION_TIMEOUT_S 60
#define CONNECTION_MEMORY 65536 /* request line and headers */
#define TOKEN_MARKER "__PIXIE_TOKEN__"
#define SSE_CHUNK 65536
#define KEEPALIVE ": keepalive\n\n"
/* After an early 413, at most this much more of the body is read (and
 * dropped) so that the client can read the answer before the close; past
 * it the connection is closed at once. */
#define DRAIN_MAX (4u * 1024 * 1024)

static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
    {"X-Frame-Options", "DENY"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

/* Header names an /api/ handler may not set: the server's own. */
static const char *const reserved_headers[] = {
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-resource-policy",
    "cache-control",
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
    "keep-alive",
    "upgrade",
};

/* A file served from the table: its response is made once. */
struct served {
    const char *url; /* "/static/..." or "/vendor/..." or the page's name */
    struct MHD_Response *resp;
};

struct server {
    struct MHD_Daemon *daemon;
    int listen_fd;
    unsigned port;
    char token[65];
    server_api_fn api;
    void *api_ctx;
    uint64_t (*generation)(void *ctx);
    void *generation_ctx;
    struct reply_cache cache;
    struct served *files; /* sorted by url */
    size_t nfiles;
    struct MHD_Response *pages[5]; /* index, tool, settings, logs, chat; may be NULL */
    char *page_bytes[5];
    size_t body_max, upload_max;
    char **upload_routes; /* NULL-terminated copies; may be NULL */
    unsigned heartbeat_ms;
    pthread_t heartbeat;
    int heartbeat_started, heartbeat_stop;
    pthread_mutex_t heartbeat_lock;
    pthread_cond_t heartbeat_cond;
};

static const char *const page_names[5] = {"web/index.html", "web/tool.html", "web/settings.html",
                                          "web/logs.html", "web/chat.html"};

/* Per-request state (MHD's con_cls). */
struct conn {
    struct server *s;
    struct MHD_Connection *c;
    int api;        /* an /api/ request, past the guard */
    int file;       /* a page or file request, past the guard */
    size_t cap;     /* this request's body cap */
    int refused;    /* the body passed cap: 413 written, the rest dropped */
    size_t drained; /* bytes dropped since */
    struct buf body;
    char *await_key; /* waiting for this board entry */
    struct board_waiter w;
};

/* A streamed board entry (the response's content reader state). */
struct sse {
    struct MHD_Connection *c;
    struct board_reader *r;
    struct board_waiter w;
    struct buf pending;
    size_t off;
    int ended;
};

const char *server_content_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".ttf", "font/ttf"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcasecmp(dot, types[i][0]) == 0) {
                return types[i][1];
            }
        }
    }
    return "application/octet-stream";
}

/* Adds the headers every response carries, and no-store when asked. */
static void add_common_headers(struct MHD_Response *r, int no_store)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        MHD_add_response_header(r, security_headers[i][0], security_headers[i][1]);
    }
    if (no_store) {
        MHD_add_response_header(r, "Cache-Control", "no-store");
    }
}

/* Queues a response made of a copy of body; returns MHD's answer. */
static enum MHD_Result queue_bytes(struct MHD_Connection *c, unsigned status, const char *body,
                                   size_t len, const char *type, int no_store)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        return MHD_NO;
    }
    add_common_headers(r, no_store);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Queues {"error": why} with status. `why` is plain ASCII without quotes. */
static enum MHD_Result queue_error(struct MHD_Connection *c, unsigned status, const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\": \"%s\"}", why);
    if (n < 0 || (size_t)n >= sizeof body) {
        n = snprintf(body, sizeof body, "{\"error\": \"error\"}");
    }
    return queue_bytes(c, status, body, (size_t)n, "application/json", 1);
}

/* ---- the guard's view of the headers ---------------------------------------------- */

/* MHD_KeyValueIterator filling a struct http_guard_request. */
static enum MHD_Result collect_guard(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct http_guard_request *g = cls;
    size_t len = value ? strlen(value) : 0;
    if (strcasecmp(key, "Host") == 0) {
        g->host_count++;
        g->host = value;
        g->host_len = len;
    } else if (strcasecmp(key, "Content-Length") == 0) {
        g->content_length_count++;
        char *end = NULL;
        errno = 0;
        unsigned long long n = value ? strtoull(value, &end, 10) : 0;
        if (!value || end == value || *end || errno || value[0] == '-') {
            n = ~0ULL;
        }
        g->content_length = n;
    } else if (strcasecmp(key, "Origin") == 0) {
        g->origin_count++;
        g->origin = value;
        g->origin_len = len;
    } else if (strcasecmp(key, "Sec-Fetch-Site") == 0) {
        g->fetch_site = value;
        g->fetch_site_len = len;
    } else if (strcasecmp(key, "X-Pixie-Token") == 0) {
        g->token_count++;
        g->token = value;
        g->token_len = len;
    } else if (strcasecmp(key, "Content-Type") == 0) {
        g->content_type = value;
        g->content_type_len = len;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        g->transfer_encoding_count++;
        g->transfer_encoding = value;
        g->transfer_encoding_len = len;
    }
    return MHD_YES;
}

/* ---- pages and files ---------------------------------------------------------------- */

/* 1 when s is one id segment [A-Za-z0-9._-]{1,128}. */
static int id_ok(const char *s, size_t n)
{
    if (n < 1 || n > 128) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

/* The page index (page_names) for a URL, or -1. */
static int page_of(const char *url)
{
    if (strcmp(url, "/") == 0) {
        return 0;
    }
    if (strncmp(url, "/tool/", 6) != 0) {
        return -1;
    }
    const char *id = url + 6;
    const char *slash = strchr(id, '/');
    size_t n = slash ? (size_t)(slash - id) : strlen(id);
    if (!id_ok(id, n)) {
        return -1;
    }
    if (!slash) {
        return 1;
    }
    static const char *const subs[] = {"settings", "logs", "chat"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(slash + 1, subs[i]) == 0) {
            return 2 + i;
        }
    }
    return -1;
}

static int served_cmp(const void *a, const void *b)
{
    return strcmp(((const struct served *)a)->url, ((const struct served *)b)->url);
}

/* The prepared response of a /static/ or /vendor/ URL, or NULL. */
static struct MHD_Response *file_of(const struct server *s, const char *url)
{
    struct served key = {.url = url};
    struct served *f = bsearch(&key, s->files, s->nfiles, sizeof *s->files, served_cmp);
    return f ? f->resp : NULL;
}

/* A copy of data with every TOKEN_MARKER replaced by token. */
static char *substitute_token(const char *data, size_t len, const char *token, size_t *out_len)
{
    struct buf b = {0};
    size_t ml = strlen(TOKEN_MARKER);
    size_t i = 0;
    while (i < len) {
        const char *hit = len - i >= ml ? memmem(data + i, len - i, TOKEN_MARKER, ml) : NULL;
        if (!hit) {
            buf_append(&b, data + i, len - i);
            break;
        }
        buf_append(&b, data + i, (size_t)(hit - (data + i)));
        buf_append(&b, token, strlen(token));
        i = (size_t)(hit - data) + ml;
    }
    char *out = NULL;
    if (buf_take(&b, &out, out_len) != 0) {
        return NULL;
    }
    return out;
}

/* Builds the page and file responses from cfg->files. Returns 0 or -ENOMEM. */
static int prepare_files(struct server *s, const struct server_file *files)
{
    size_t n = 0;
    for (const struct server_file *f = files; f && f->name; f++) {
        n++;
    }
    s->files = calloc(n ? n : 1, sizeof *s->files);
    if (!s->files) {
        return -ENOMEM;
    }
    for (const struct server_file *f = files; f && f->name; f++) {
        int page = -1;
        for (int i = 0; i < 5; i++) {
            if (strcmp(f->name, page_names[i]) == 0) {
                page = i;
            }
        }
        const char *url = NULL;
        if (strncmp(f->name, "web/static/", 11) == 0) {
            url = f->name + 3; /* "/static/..." */
        } else if (strncmp(f->name, "vendor/", 7) == 0) {
            url = f->name; /* "vendor/...": looked up without the leading '/' */
        }
        if (page < 0 && !url) {
            continue;
        }
        struct MHD_Response *r;
        if (page >= 0) {
            size_t len = 0;
            s->page_bytes[page] = substitute_token(f->data, f->len, s->token, &len);
            if (!s->page_bytes[page]) {
                return -ENOMEM;
            }
            r = MHD_create_response_from_buffer(len, s->page_bytes[page], MHD_RESPMEM_PERSISTENT);
        } else {
            r = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
        }
        if (!r) {
            return -ENOMEM;
        }
        add_common_headers(r, page >= 0);
        MHD_add_response_header(r, "Content-Type", server_content_type(f->name));
        if (page >= 0) {
            s->pages[page] = r;
        } else {
            s->files[s->nfiles].url = url;
            s->files[s->nfiles++].resp = r;
        }
    }
    qsort(s->files, s->nfiles, sizeof *s->files, served_cmp);
    return 0;
}

/* Answers a GET/HEAD of a page or a file. */
static enum MHD_Result serve_static(struct server *s, struct MHD_Connection *c, const char *method,
                                    const char *url)
{
    int page = page_of(url);
    struct MHD_Response *r = NULL;
    if (page >= 0) {
        r = s->pages[page];
    } else if (strncmp(url, "/static/", 8) == 0) {
        r = file_of(s, url);
    } else if (strncmp(url, "/vendor/", 8) == 0) {
        r = file_of(s, url + 1);
    }
    if (!r) {
        return queue_error(c, MHD_HTTP_NOT_FOUND, "not found");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return queue_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    }
    return MHD_queue_response(c, MHD_HTTP_OK, r);
}

/* ---- /api/ ----------------------------------------------------------------------------- */

/* MHD_KeyValueIterator appending "name\0value\0" (names lower-cased). */
static enum MHD_Result collect_pairs(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct buf *b = cls;
    for (const char *p = key; *p; p++) {
        char ch = *p;
        buf_append_byte(b, kind == MHD_HEADER_KIND && ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    buf_append_byte(b, '\0');
    buf_append(b, value ? value : "", value ? strlen(value) : 0);
    buf_append_byte(b, '\0');
    return MHD_YES;
}

/* Turns "a\0b\0c\0d\0" (len bytes) into a NULL-terminated array pointing
 * into it; for headers, repeated names are joined into `joined`. NULL on
 * ENOMEM. */
static const char **pairs_array(const struct buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++) {
        n += b->data[i] == '\0';
    }
    const char **v = calloc(n + 1, sizeof *v);
    if (!v) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < b->len && k < n; k++) {
        v[k] = b->data + i;
        i += strlen(b->data + i) + 1;
    }
    return v;
}

/* Joins repeated header names in the pairs of src into dst ("a, b"). */
static void join_headers(const struct buf *src, struct buf *dst)
{
    const char **v = pairs_array(src);
    if (!v) {
        buf_reserve(dst, (size_t)-1);
        return;
    }
    for (size_t i = 0; v[i] && v[i + 1]; i += 2) {
        int seen = 0;
        for (size_t j = 0; j < i; j += 2) {
            seen |= strcmp(v[i], v[j]) == 0;
        }
        if (seen) {
            continue;
        }
        buf_append(dst, v[i], strlen(v[i]) + 1);
        int first = 1;
        for (size_t j = i; v[j] && v[j + 1]; j += 2) {
            if (strcmp(v[i], v[j]) == 0) {
                if (!first) {
                    buf_append(dst, ", ", 2);
                }
                buf_append(dst, v[j + 1], strlen(v[j + 1]));
                first = 0;
            }
        }
        buf_append_byte(dst, '\0');
    }
    free(v);
}

/* 1 when an /api/ handler may set header `name`. */
static int header_allowed(const char *name)
{
    if (strncasecmp(name, "access-control-", 15) == 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof reserved_headers / sizeof reserved_headers[0]; i++) {
        if (strcasecmp(name, reserved_headers[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

static void free_reply(struct server_reply *r)
{
    buf_free(&r->body);
    buf_free(&r->content_type);
    buf_free(&r->headers);
    buf_free(&r->key);
}

/* The waiter hooks: suspend on arm, resume on wake (both under the
 * board's lock, so a wake always follows its arm). */
static void waiter_arm(void *ctx)
{
    MHD_suspend_connection(ctx);
}

static void waiter_wake(void *ctx)
{
    MHD_resume_connection(ctx);
}

/* MHD_ContentReaderCallback of an SSE stream. */
static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct sse *st = cls;
    if (st->off == st->pending.len) {
        buf_clear(&st->pending);
        st->off = 0;
        if (st->ended) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        int rc;
        if (st->w.idled) { /* woken by the heartbeat: a comment, then wait again */
            st->w.idled = 0;
            rc = buf_append(&st->pending, KEEPALIVE, strlen(KEEPALIVE)) ? st->pending.err
                                                                        : BOARD_READ_DATA;
        } else {
            rc = board_reader_read(st->r, &st->pending, &st->w);
        }
        if (rc == BOARD_READ_WAIT) {
            return 0; /* suspended by the waiter's arm */
        }
        if (rc == BOARD_READ_END) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (rc < 0) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = st->pending.len - st->off;
    if (n > max) {
        n = max;
    }
    memcpy(out, st->pending.data + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse *st = cls;
    board_reader_free(st->r, &st->w);
    buf_free(&st->pending);
    free(st);
}

/* Starts streaming board entry key (404 when there is none). */
static enum MHD_Result reply_sse(struct MHD_Connection *c, const char *key)
{
    struct sse *st = calloc(1, sizeof *st);
    if (!st) {
        return queue_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    int rc = 0;
    st->c = c;
    st->r = board_reader_new(key, &rc);
    if (!st->r) {
        free(st);
        return rc == -ENOENT ? queue_error(c, MHD_HTTP_NOT_FOUND, "not found")
                             : queue_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    st->w.arm = waiter_arm;
    st->w.wake = waiter_wake;
    st->w.ctx = c;
    st->w.idle_wake = 1;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_CHUNK, sse_read, st, sse_free);
    if (!r) {
        sse_free(st);
        return MHD_NO;
    }
    add_common_headers(r, 1);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* The await reply: answers when key is finished, else suspends. */
static enum MHD_Result reply_await(struct conn *cn)
{
    struct buf body = {0};
    int status = 0;
    int rc = board_await(cn->await_key, &status, &body, &cn->w);
    enum MHD_Result ok = MHD_YES;
    if (rc == BOARD_FINISHED) {
        ok = queue_bytes(cn->c, (unsigned)status, body.data ? body.data : "", body.len,
                         "application/json", 1);
    } else if (rc == BOARD_NONE) {
        ok = queue_error(cn->c, MHD_HTTP_SERVICE_UNAVAILABLE, "no longer available");
    } else if (rc < 0) {
        ok = queue_error(cn->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    } /* BOARD_RUNNING: suspended until the finish */
    buf_free(&body);
    return ok;
}

/* Calls the API callback for a complete request and queues its reply;
 * a cacheable GET is answered from the reply cache while it is current. */
static enum MHD_Result handle_api(struct conn *cn, const char *url, const char *method)
{
    struct server *s = cn->s;
    enum MHD_Result ok;
    int cacheable = s->generation && strcmp(method, "GET") == 0 &&
                    MHD_get_connection_values(cn->c, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0;
    uint64_t gen = cacheable ? s->generation(s->generation_ctx) : 0; /* before computing */
    if (cacheable && reply_cache_queue(&s->cache, url, gen, cn->c, &ok)) {
        buf_free(&cn->body);
        return ok;
    }
    struct buf q = {0}, raw = {0}, h = {0};
    MHD_get_connection_values(cn->c, MHD_GET_ARGUMENT_KIND, collect_pairs, &q);
    MHD_get_connection_values(cn->c, MHD_HEADER_KIND, collect_pairs, &raw);
    join_headers(&raw, &h);
    buf_append(&cn->body, "", 0);
    const char **qv = q.err ? NULL : pairs_array(&q);
    const char **hv = h.err ? NULL : pairs_array(&h);
    if (!qv || !hv || cn->body.err) {
        ok = queue_error(cn->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    } else {
        struct server_request req = {
            .method = method,
            .path = url,
            .query = qv,
            .headers = hv,
            .body = cn->body.data ? cn->body.data : "",
            .body_len = cn->body.len,
        };
        struct server_reply rep = {.status = 500};
        s->api(s->api_ctx, &req, &rep);
        if (rep.kind == SERVER_REPLY_SSE && !rep.key.err && rep.key.len) {
            ok = reply_sse(cn->c, rep.key.data);
        } else if (rep.kind == SERVER_REPLY_AWAIT && !rep.key.err && rep.key.len) {
            cn->await_key = strdup(rep.key.data);
            ok = cn->await_key
                     ? reply_await(cn)
                     : queue_error(cn->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        } else if (rep.kind != SERVER_REPLY_BODY || rep.body.err || rep.headers.err ||
                   rep.content_type.err || rep.status < 100 || rep.status > 599) {
            ok = queue_error(cn->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        } else {
            struct MHD_Response *r = MHD_create_response_from_buffer(
                rep.body.len, rep.body.data ? rep.body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
            if (!r) {
                ok = MHD_NO;
            } else {
                add_common_headers(r, 1);
                MHD_add_response_header(r, "Content-Type",
                                        rep.content_type.len ? rep.content_type.data
                                                             : "application/json");
                for (size_t i = 0; i < rep.headers.len;) {
                    const char *name = rep.headers.data + i;
                    const char *value = name + strlen(name) + 1;
                    if ((size_t)(value - rep.headers.data) >= rep.headers.len) {
                        break;
                    }
                    if (header_allowed(name)) {
                        MHD_add_response_header(r, name, value);
                    } else {
                        log_write(LOG_LEVEL_WARN, "server", "refused header %s from %s", name, url);
                    }
                    i = (size_t)(value - rep.headers.data) + strlen(value) + 1;
                }
                ok = MHD_queue_response(cn->c, (unsigned)rep.status, r);
                if (!(cacheable && rep.cacheable && rep.status == 200 &&
                      reply_cache_put(&s->cache, url, gen, 200, r))) {
                    MHD_destroy_response(r);
                }
            }
        }
        free_reply(&rep);
    }
    free(qv);
    free(hv);
    buf_free(&q);
    buf_free(&raw);
    buf_free(&h);
    buf_free(&cn->body);
    return ok;
}

/* ---- body caps ----------------------------------------------------------------------------- */

int server_route_match(const char *pattern, const char *path)
{
    while (*pattern) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0) {
                return 0;
            }
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

/* The body cap of a request for url: upload_max on an upload route, else
 * body_max. */
static size_t body_cap(const struct server *s, const char *url)
{
    for (char **p = s->upload_routes; p && *p; p++) {
        if (server_route_match(*p, url)) {
            return s->upload_max;
        }
    }
    return s->body_max;
}

/* "request body too large (N MiB at most)" for cap, in out. */
static const char *too_large_text(size_t cap, char *out, size_t size)
{
    if (cap % (1024 * 1024) == 0) {
        snprintf(out, size, "request body too large (%zu MiB at most)", cap / (1024 * 1024));
    } else if (cap % 1024 == 0) {
        snprintf(out, size, "request body too large (%zu KiB at most)", cap / 1024);
    } else {
        snprintf(out, size, "request body too large (%zu bytes at most)", cap);
    }
    return out;
}

/* A body passed its cap while it arrives. libmicrohttpd 0.9.75 refuses a
 * response queued before the whole body is in (MHD_queue_response fails
 * while upload data flows, suspended or not), and reading a 50 MiB body to
 * its end to say 413 wastes it all. So the 413 (JSON error, the security
 * headers, Connection: close) is written to the socket here, where nothing
 * else of this request has been sent (at most a "100 Continue"), the
 * writing side is shut, and the rest of the body is dropped unread: up to
 * DRAIN_MAX more bytes (so that the client reads the answer before the
 * close), then the connection is closed. Returns MHD_YES to drain, MHD_NO
 * to close at once (the answer could not be written whole). */
static enum MHD_Result refuse_upload(struct conn *cn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(cn->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) {
        return MHD_NO;
    }
    char msg[64], body[128];
    int blen = snprintf(body, sizeof body, "{\"error\": \"%s\"}",
                        too_large_text(cn->cap, msg, sizeof msg));
    char resp[1024];
    size_t len = 0;
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n"
                     "Cache-Control: no-store\r\n",
                     blen);
    for (size_t i = 0; n > 0 && (size_t)n < sizeof resp - len &&
                       i < sizeof security_headers / sizeof security_headers[0];
         i++) {
        len += (size_t)n;
        n = snprintf(resp + len, sizeof resp - len, "%s: %s\r\n", security_headers[i][0],
                     security_headers[i][1]);
    }
    if (n > 0 && (size_t)n < sizeof resp - len) {
        len += (size_t)n;
        n = snprintf(resp + len, sizeof resp - len, "\r\n%s", body);
    }
    if (n < 0 || (size_t)n >= sizeof resp - len) {
        return MHD_NO;
    }
    len += (size_t)n;
    int fd = info->connect_fd;
    ssize_t sent = send(fd, resp, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 || (size_t)sent != len) {
        return MHD_NO;
    }
    shutdown(fd, SHUT_WR);
    return MHD_YES;
}

/* Set on a worker thread that closes a connection after its early 413, so
 * that libmicrohttpd's log line for that close (it calls any close the
 * handler asks for an internal error) is not logged as a warning. */
static _Thread_local int closing_refused;

/* MHD_NO for a connection whose body was refused: closes it, quietly. */
static enum MHD_Result close_refused(void)
{
    closing_refused = 1;
    return MHD_NO;
}

/* ---- the access handler ----------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct server *s = cls;
    struct conn *cn = *con_cls;
    closing_refused = 0; /* only the close this call asks for is expected */
    if (!cn) {
        cn = calloc(1, sizeof *cn);
        if (!cn) {
            return MHD_NO;
        }
        cn->s = s;
        cn->c = c;
        cn->w.arm = waiter_arm;
        cn->w.wake = waiter_wake;
        cn->w.ctx = c;
        *con_cls = cn;
        cn->cap = body_cap(s, url);
        struct http_guard_request g = {.method = method, .body_max = cn->cap};
        MHD_get_connection_values(c, MHD_HEADER_KIND, collect_guard, &g);
        const char *why = NULL;
        int status = http_guard_check(&g, s->port, s->token, strlen(s->token), &why);
        if (status == MHD_HTTP_CONTENT_TOO_LARGE) {
            char msg[64];
            return queue_error(c, (unsigned)status, too_large_text(cn->cap, msg, sizeof msg));
        }
        if (status) {
            return queue_error(c, (unsigned)status, why);
        }
        /* answered once the request is in, so the connection stays open */
        cn->api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0;
        cn->file = !cn->api;
        return MHD_YES;
    }
    if (cn->await_key) {
        return reply_await(cn); /* resumed: the entry changed */
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cn->refused) {
            cn->drained += n;
            return cn->drained > DRAIN_MAX ? close_refused() : MHD_YES;
        }
        if (n > cn->cap - cn->body.len) {
            buf_free(&cn->body);
            cn->refused = 1;
            return refuse_upload(cn);
        }
        buf_append(&cn->body, upload_data, n);
        return MHD_YES;
    }
    if (cn->refused) {
        return close_refused(); /* the 413 went out already */
    }
    if (cn->file) {
        return serve_static(s, c, method, url);
    }
    return handle_api(cn, url, method);
}

/* MHD_RequestCompletedCallback: frees the request's state. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn *cn = *con_cls;
    if (!cn) {
        return;
    }
    board_waiter_drop(&cn->w);
    buf_free(&cn->body);
    free(cn->await_key);
    free(cn);
    *con_cls = NULL;
}

/* MHD's error log into Pixie's log (the close after an early 413 at debug level). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int expected = closing_refused && strstr(msg, "internal error") != NULL;
    log_write(expected ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "server", "libmicrohttpd: %s", msg);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

/* A listening TCP socket on 127.0.0.1:port; returns the fd or -errno. */
static int listen_loopback(unsigned port, unsigned *bound, struct buf *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        return buf_fail(err, -e, "cannot make a socket: %s", strerror(e));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE) {
            return buf_fail(err, -e, "port %u is in use on 127.0.0.1", port);
        }
        return buf_fail(err, -e, "cannot listen on 127.0.0.1:%u: %s", port, strerror(e));
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *bound = ntohs(sa.sin_port);
    return fd;
}

/* The heartbeat thread: a few times per period, wakes the SSE streams
 * that waited a whole period (board_wake_idle); each then writes
 * KEEPALIVE, and a write to a client that left makes libmicrohttpd close
 * the connection and free it. Ends when heartbeat_stop is set. */
static void *heartbeat_main(void *arg)
{
    struct server *s = arg;
    unsigned tick_ms = s->heartbeat_ms / 4 > 10 ? s->heartbeat_ms / 4 : 10;
    pthread_mutex_lock(&s->heartbeat_lock);
    while (!s->heartbeat_stop) {
        struct timespec until = deadline_after_ms(CLOCK_MONOTONIC, tick_ms);
        pthread_cond_timedwait(&s->heartbeat_cond, &s->heartbeat_lock, &until);
        if (s->heartbeat_stop) {
            break;
        }
        pthread_mutex_unlock(&s->heartbeat_lock);
        board_wake_idle((double)s->heartbeat_ms / 1000.0);
        pthread_mutex_lock(&s->heartbeat_lock);
    }
    pthread_mutex_unlock(&s->heartbeat_lock);
    return NULL;
}

/* Starts the heartbeat thread (signals blocked: the caller's mask). Returns
 * 0 or a negative errno. */
static int heartbeat_start(struct server *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->heartbeat_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        return -rc;
    }
    rc = pthread_mutex_init(&s->heartbeat_lock, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&s->heartbeat_cond);
        return -rc;
    }
    rc = pthread_create(&s->heartbeat, NULL, heartbeat_main, s);
    if (rc != 0) {
        pthread_mutex_destroy(&s->heartbeat_lock);
        pthread_cond_destroy(&s->heartbeat_cond);
        return -rc;
    }
    s->heartbeat_started = 1;
    return 0;
}

/* Stops and joins the heartbeat thread when it runs. */
static void heartbeat_stop(struct server *s)
{
    if (!s->heartbeat_started) {
        return;
    }
    pthread_mutex_lock(&s->heartbeat_lock);
    s->heartbeat_stop = 1;
    pthread_cond_signal(&s->heartbeat_cond);
    pthread_mutex_unlock(&s->heartbeat_lock);
    pthread_join(s->heartbeat, NULL);
    pthread_mutex_destroy(&s->heartbeat_lock);
    pthread_cond_destroy(&s->heartbeat_cond);
    s->heartbeat_started = 0;
}

/* Frees everything of s but the daemon. */
static void server_free(struct server *s)
{
    heartbeat_stop(s);
    buf_strv_free(s->upload_routes);
    for (size_t i = 0; i < s->nfiles; i++) {
        MHD_destroy_response(s->files[i].resp);
    }
    free(s->files);
    for (int i = 0; i < 5; i++) {
        if (s->pages[i]) {
            MHD_destroy_response(s->pages[i]);
        }
        free(s->page_bytes[i]);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    reply_cache_free(&s->cache);
    explicit_bzero(s->token, sizeof s->token);
    free(s);
}

struct server *server_start(const struct server_config *cfg, int *rc, struct buf *err)
{
    if (!cfg->api || cfg->workers < 1 || cfg->workers > 64 || cfg->port > 65535 ||
        (cfg->heartbeat_ms && cfg->heartbeat_ms < 10)) {
        *rc =
            buf_fail(err, -EINVAL,
                     "bad server configuration (workers 1..64, port 0..65535, heartbeat >= 10 ms)");
        return NULL;
    }
    struct server *s = calloc(1, sizeof *s);
    if (!s) {
        *rc = buf_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    s->listen_fd = -1;
    s->api = cfg->api;
    s->api_ctx = cfg->api_ctx;
    s->generation = cfg->generation;
    s->generation_ctx = cfg->generation_ctx;
    reply_cache_init(&s->cache);
    s->body_max = cfg->body_max ? cfg->body_max : HTTP_GUARD_BODY_MAX;
    s->upload_max = cfg->upload_max ? cfg->upload_max : s->body_max;
    s->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : SERVER_HEARTBEAT_MS;
    if (buf_strv_dup(cfg->upload_routes, SIZE_MAX, &s->upload_routes, NULL) != 0) {
        server_free(s);
        *rc = buf_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    unsigned char raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        int e = errno;
        server_free(s);
        *rc = buf_fail(err, -e, "cannot get random bytes: %s", strerror(e));
        return NULL;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf(s->token + 2 * i, 3, "%02x", raw[i]);
    }
    explicit_bzero(raw, sizeof raw);
    if (prepare_files(s, cfg->files) != 0) {
        server_free(s);
        *rc = buf_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    int fd = listen_loopback(cfg->port, &s->port, err);
    if (fd < 0) {
        server_free(s);
        *rc = fd;
        return NULL;
    }
    s->listen_fd = fd;
    /* the workers inherit a mask that blocks every signal */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->workers, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                                 on_mhd_log, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    int hb = s->daemon ? heartbeat_start(s) : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!s->daemon) {
        server_free(s);
        *rc = buf_fail(err, -EIO, "the HTTP server did not start (libmicrohttpd)");
        return NULL;
    }
    if (hb != 0) {
        MHD_stop_daemon(s->daemon);
        s->listen_fd = -1; /* closed by the daemon */
        server_free(s);
        *rc = buf_fail(err, hb, "cannot start the heartbeat thread");
        return NULL;
    }
    s->listen_fd = -1; /* the daemon owns it now */
    *rc = 0;
    return s;
}

unsigned server_port(const struct server *s)
{
    return s->port;
}

void server_stop(struct server *s)
{
    if (!s) {
        return;
    }
    heartbeat_stop(s);
    board_set_closing(1);
    MHD_stop_daemon(s->daemon); /* closes the listening socket too */
    board_set_closing(0);
    server_free(s);
}

/* ---- signals ----------------------------------------------------------------------------- */

static int sig_pipe[2] = {-1, -1};
static struct sigaction old_int, old_term;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(sig_pipe[1], &b, 1);
    (void)n;
    errno = saved;
}

int server_signals_install(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        return -errno;
    }
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &old_int) != 0 || sigaction(SIGTERM, &sa, &old_term) != 0) {
        int e = errno;
        server_signals_restore();
        return -e;
    }
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGINT);
    sigaddset(&two, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &two, NULL);
    return 0;
}

int server_signals_wait(void)
{
    for (;;) {
        struct pollfd p = {.fd = sig_pipe[0], .events = POLLIN};
        int n = poll(&p, 1, -1);
        if (n < 0 && errno != EINTR) {
            return -errno;
        }
        unsigned char b;
        if (n > 0 && read(sig_pipe[0], &b, 1) == 1) {
            return b;
        }
    }
}

void server_signals_restore(void)
{
    if (sig_pipe[0] < 0) {
        return;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
}
