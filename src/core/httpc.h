/* A small HTTP client for talking to tools on 127.0.0.1 (libcurl). Only the
 * loopback address and a port are accepted, never a URL, so no request can
 * leave the machine; proxies from the environment are ignored. One CURL
 * handle per thread is reused (keep-alive). Thread-safe. */
#ifndef PIXIE_HTTPC_H
#define PIXIE_HTTPC_H

#include <stddef.h>

#define HTTPC_BODY_CAP (16u * 1024u * 1024u)

struct httpc_response {
    long status; /* HTTP status code, 0 when no response */
    char *body;  /* malloc'd, NUL-terminated; the caller frees */
    size_t body_len;
    int timed_out;   /* 1 when the deadline passed */
    int refused;     /* 1 when nothing listens on the port */
    char error[256]; /* set when the call failed: what went wrong */
};

/* GET http://127.0.0.1:<port><path> with a total deadline (<= 0: none).
 * Returns 0 when a response arrived (whatever its status), else -ETIMEDOUT,
 * -ECONNREFUSED, -EFBIG (body over HTTPC_BODY_CAP), -EINTR (Ctrl-C during a
 * run: interrupt_pending(), checked when a signal or data wakes the
 * transfer, else about once a second), -EIO (other transport failure) with
 * res->error set. The caller frees res->body with
 * httpc_response_free in every case. */
int httpc_get(int port, const char *path, long timeout_ms, struct httpc_response *res);

/* POST of a JSON body (Content-Type: application/json). headers: NULL or a
 * NULL-terminated array of "Name: value" lines. Same returns as httpc_get. */
int httpc_post_json(int port, const char *path, const char *body, size_t len,
                    const char *const *headers, long timeout_ms, struct httpc_response *res);

/* Receives the body of a streaming GET as it arrives, in pieces of any
 * size. A non-zero return stops the transfer (the call then returns
 * -ECANCELED). */
typedef int (*httpc_data_fn)(void *ctx, const char *data, size_t len);

/* GET whose body is handed to fn as it arrives (a 2xx answer) instead of
 * being collected; a non-2xx answer's body is collected into res->body
 * (for its error message) and fn is never called. timeout_ms (<= 0: none)
 * bounds the whole transfer. Returns 0 when the body ended (the server
 * closed it, whatever the status: see res->status), -ECANCELED when fn
 * stopped it, or httpc_get's errors. The caller frees res->body with
 * httpc_response_free in every case. */
int httpc_get_stream(int port, const char *path, long timeout_ms, httpc_data_fn fn, void *ctx,
                     struct httpc_response *res);

/* Frees res->body (idempotent). */
void httpc_response_free(struct httpc_response *res);

/* 1 when something accepts TCP connections on 127.0.0.1:<port> (a cheap
 * probe before an HTTP request), 0 when refused. */
int httpc_port_open(int port);

/* Asks the kernel for a free loopback port. Returns it (> 0) or -errno. */
int httpc_free_port(void);

#endif
