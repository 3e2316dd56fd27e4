/* Loopback HTTP client on libcurl; see httpc.h. */
#include "httpc.h"

#include "buf.h"
#include "interrupt.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static int curl_ok;

static void handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void curl_init_once(void)
{
    curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK &&
              pthread_key_create(&handle_key, handle_free) == 0;
}

/* This thread's reusable handle (reset to defaults), or NULL. */
static CURL *thread_handle(void)
{
    pthread_once(&curl_once, curl_init_once);
    if (!curl_ok) {
        return NULL;
    }
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h && pthread_setspecific(handle_key, h) != 0) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

struct sink {
    struct buf body;
    int too_big;
    CURL *h;          /* the transfer (to read its status): streaming only */
    httpc_data_fn fn; /* NULL: collect the body */
    void *fn_ctx;
    int stopped; /* fn asked to stop */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * nmemb;
    if (s->fn) {
        long status = 0;
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status <= 299) {
            if (s->fn(s->fn_ctx, data, len) != 0) {
                s->stopped = 1;
                return 0;
            }
            return len;
        }
    }
    if (s->body.len + len > HTTPC_BODY_CAP) {
        s->too_big = 1;
        return 0;
    }
    if (buf_append(&s->body, data, len) != 0) {
        return 0;
    }
    return len;
}

/* libcurl's progress callback (about once a second, and whenever data
 * moves): non-zero aborts the transfer when Ctrl-C was pressed during a
 * run (interrupt.h). */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ctx, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return interrupt_pending();
}

/* Formats the response's error text; a message longer than the buffer is
 * cut (the text is for people, the code carries the meaning). */
__attribute__((format(printf, 2, 3))) static void set_error(struct httpc_response *res,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
}

/* Performs one request; body == NULL means GET. fn (may be NULL) takes a
 * 2xx body as it arrives (see httpc_get_stream). */
static int request(int port, const char *path, const char *body, size_t len,
                   const char *const *headers, long timeout_ms, httpc_data_fn fn, void *fn_ctx,
                   struct httpc_response *res)
{
    memset(res, 0, sizeof *res);
    if (port <= 0 || port > 65535 || !path || path[0] != '/') {
        set_error(res, "bad port or path");
        return -EINVAL;
    }
    CURL *h = thread_handle();
    if (!h) {
        set_error(res, "cannot initialise libcurl");
        return -ENOMEM;
    }
    char url[2048];
    if ((size_t)snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path) >= sizeof url) {
        set_error(res, "path too long");
        return -EINVAL;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct sink sink = {{0}, 0, h, fn, fn_ctx, 0};
    struct curl_slist *hdrs = NULL, *tmp;
    int rc = 0;
    if (body) {
        const char *fixed[] = {"Content-Type: application/json", "Expect:"};
        for (size_t i = 0; i < 2 && rc == 0; i++) {
            tmp = curl_slist_append(hdrs, fixed[i]);
            rc = tmp ? 0 : -ENOMEM;
            hdrs = tmp ? tmp : hdrs;
        }
        for (const char *const *p = headers; rc == 0 && p && *p; p++) {
            tmp = curl_slist_append(hdrs, *p);
            rc = tmp ? 0 : -ENOMEM;
            hdrs = tmp ? tmp : hdrs;
        }
    }
    if (rc != 0) {
        curl_slist_free_all(hdrs);
        set_error(res, "out of memory");
        return rc;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    res->body = sink.body.data; /* the caller frees it, whatever the outcome */
    res->body_len = sink.body.len;
    if (cc == CURLE_OK) {
        if (!res->body) {
            res->body = calloc(1, 1);
        }
        return 0;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        res->timed_out = 1;
        rc = -ETIMEDOUT;
        set_error(res, "no answer from 127.0.0.1:%d%s within %ld ms", port, path, timeout_ms);
    } else if (cc == CURLE_COULDNT_CONNECT) {
        res->refused = 1;
        rc = -ECONNREFUSED;
        set_error(res, "cannot connect to 127.0.0.1:%d", port);
    } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = -EINTR;
        set_error(res, "request to 127.0.0.1:%d%s interrupted", port, path);
    } else if (sink.stopped) {
        rc = -ECANCELED;
        set_error(res, "reading 127.0.0.1:%d%s was stopped", port, path);
    } else if (sink.too_big) {
        rc = -EFBIG;
        set_error(res, "response from 127.0.0.1:%d%s over %u bytes", port, path, HTTPC_BODY_CAP);
    } else {
        rc = -EIO;
        set_error(res, "request to 127.0.0.1:%d%s failed: %s", port, path,
                  errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    return rc;
}

int httpc_get(int port, const char *path, long timeout_ms, struct httpc_response *res)
{
    return request(port, path, NULL, 0, NULL, timeout_ms, NULL, NULL, res);
}

int httpc_get_stream(int port, const char *path, long timeout_ms, httpc_data_fn fn, void *ctx,
                     struct httpc_response *res)
{
    return request(port, path, NULL, 0, NULL, timeout_ms, fn, ctx, res);
}

int httpc_post_json(int port, const char *path, const char *body, size_t len,
                    const char *const *headers, long timeout_ms, struct httpc_response *res)
{
    return request(port, path, body ? body : "", body ? len : 0, headers, timeout_ms, NULL, NULL,
                   res);
}

void httpc_response_free(struct httpc_response *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int httpc_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return 0;
    }
    struct sockaddr_in a = loopback(port);
    int open = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        open = 1;
    } else if (errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t elen = sizeof err;
        open = poll(&p, 1, 100) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
               err == 0;
    }
    close(fd);
    return open;
}

int httpc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    struct sockaddr_in a = loopback(0);
    socklen_t alen = sizeof a;
    int rc;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        rc = -errno;
    } else {
        rc = ntohs(a.sin_port);
    }
    close(fd);
    return rc;
}
