/* The request guard of the dashboard server (SPEC §5.3, docs/dashboard-api.md §2): pure
 * functions over header values, no I/O, no allocation; any thread.
 *
 * A request is checked once its headers are in (http_guard_check); the
 * body size is checked against HTTP_GUARD_BODY_MAX separately, while it
 * arrives. A rejected request never reaches the API handler. */
#ifndef PIXIE_HTTP_GUARD_H
#define PIXIE_HTTP_GUARD_H

#include <stddef.h>

/* Largest request body accepted (1 MiB); larger ones get 413. */
#define HTTP_GUARD_BODY_MAX (1024 * 1024)

/* Which loopback name a Host or Origin used. */
enum http_guard_host {
    HTTP_GUARD_HOST_BAD = 0,
    HTTP_GUARD_HOST_IP = 1,        /* 127.0.0.1 */
    HTTP_GUARD_HOST_LOCALHOST = 2, /* localhost, any case */
};

/* The Host header value `host` (len bytes, not NUL-terminated) against
 * `127.0.0.1:PORT` or `localhost:PORT` (the name case-insensitive, the port
 * exactly the decimal form of `port`, no leading zero, nothing else).
 * Returns the name used, or HTTP_GUARD_HOST_BAD. */
enum http_guard_host http_guard_host(const char *host, size_t len, unsigned port);

/* The Origin header value against `http://<the name kind>:PORT` (scheme
 * and name case-insensitive, nothing after the port). Returns 1 when it
 * matches, else 0 ("null", another port, another name, https, a path). */
int http_guard_origin(const char *origin, size_t len, enum http_guard_host kind, unsigned port);

/* Sec-Fetch-Site: 1 when absent (NULL) or exactly "same-origin" (any case),
 * else 0. */
int http_guard_fetch_site(const char *value, size_t len);

/* Content-Type: 1 when the media type is application/json (any case, with
 * optional parameters after ';' and optional spaces/tabs around it), else 0
 * (NULL included). */
int http_guard_json_type(const char *value, size_t len);

/* Compares a[0, alen) with b[0, blen) in time that depends only on the
 * lengths, never on where they differ. Returns 1 when equal, else 0. */
int http_guard_token_equal(const char *a, size_t alen, const char *b, size_t blen);

/* 1 for methods that change state (POST, PUT, PATCH, DELETE), else 0. */
int http_guard_unsafe_method(const char *method);

/* What the guard knows of one request: each header's value (NULL when
 * absent) and how many times it appeared. */
struct http_guard_request {
    const char *method; /* as received, e.g. "GET" */
    const char *host;
    size_t host_len;
    int host_count;
    int content_length_count;
    unsigned long long content_length; /* meaningful when the count is 1 */
    const char *origin;
    size_t origin_len;
    int origin_count;
    const char *fetch_site;
    size_t fetch_site_len;
    const char *token; /* X-Pixie-Token */
    size_t token_len;
    int token_count;
    const char *content_type;
    size_t content_type_len;
    const char *transfer_encoding; /* a body of unknown length; only "chunked" is served */
    size_t transfer_encoding_len;
    int transfer_encoding_count;
    unsigned long long body_max; /* this route's body cap; 0: HTTP_GUARD_BODY_MAX */
};

/* Transfer-Encoding: 1 when the value is exactly "chunked" (any case, with
 * optional spaces/tabs around it), else 0 (NULL included). */
int http_guard_chunked(const char *value, size_t len);

/* Every rule of docs/dashboard-api.md §2 that headers decide, in this order: Host (403),
 * duplicate Content-Length (400), Transfer-Encoding with a Content-Length (400) or other
 * than one "chunked" (501), OPTIONS (405), for unsafe methods Origin,
 * Sec-Fetch-Site and the token (403) and the content type of a non-empty
 * body (415), and a declared length over the route's cap (r->body_max, or
 * HTTP_GUARD_BODY_MAX when 0) (413).
 * `token` is the server's token (tlen bytes), `port` its port. Returns 0
 * when the request may go on, else the HTTP status, with *why set to a
 * static message for the error body. */
int http_guard_check(const struct http_guard_request *r, unsigned port, const char *token,
                     size_t tlen, const char **why);

#endif
