/* The dashboard's request guard; see http_guard.h. */
#include "http_guard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 1 when s[0, len) equals the NUL-terminated lit, ignoring ASCII case. */
static int equal_nocase(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* 1 when s[0, len) is exactly the decimal form of port. */
static int is_port(const char *s, size_t len, unsigned port)
{
    char want[16];
    int n = snprintf(want, sizeof want, "%u", port);
    return n > 0 && (size_t)n == len && memcmp(s, want, len) == 0;
}

/* "<name>:PORT" with name 127.0.0.1 or localhost: the kind, or BAD. */
static enum http_guard_host name_port(const char *s, size_t len, unsigned port)
{
    const char *colon = s ? memchr(s, ':', len) : NULL;
    if (!colon) {
        return HTTP_GUARD_HOST_BAD;
    }
    size_t nlen = (size_t)(colon - s);
    if (!is_port(colon + 1, len - nlen - 1, port)) {
        return HTTP_GUARD_HOST_BAD;
    }
    if (nlen == 9 && memcmp(s, "127.0.0.1", 9) == 0) {
        return HTTP_GUARD_HOST_IP;
    }
    if (equal_nocase(s, nlen, "localhost")) {
        return HTTP_GUARD_HOST_LOCALHOST;
    }
    return HTTP_GUARD_HOST_BAD;
}

enum http_guard_host http_guard_host(const char *host, size_t len, unsigned port)
{
    return name_port(host, len, port);
}

int http_guard_origin(const char *origin, size_t len, enum http_guard_host kind, unsigned port)
{
    if (!origin || kind == HTTP_GUARD_HOST_BAD || len < 7 || strncasecmp(origin, "http://", 7)) {
        return 0;
    }
    return name_port(origin + 7, len - 7, port) == kind;
}

int http_guard_fetch_site(const char *value, size_t len)
{
    return !value || equal_nocase(value, len, "same-origin");
}

int http_guard_json_type(const char *value, size_t len)
{
    if (!value) {
        return 0;
    }
    size_t i = 0;
    while (i < len && (value[i] == ' ' || value[i] == '\t')) {
        i++;
    }
    static const char type[] = "application/json";
    size_t tl = sizeof type - 1;
    if (len - i < tl || strncasecmp(value + i, type, tl) != 0) {
        return 0;
    }
    i += tl;
    while (i < len && (value[i] == ' ' || value[i] == '\t')) {
        i++;
    }
    return i == len || value[i] == ';';
}

int http_guard_token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen) {
        return 0;
    }
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < alen; i++) {
        diff |= (unsigned char)(a[i] ^ b[i]);
    }
    return diff == 0;
}

int http_guard_unsafe_method(const char *method)
{
    return method && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                      strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0);
}

int http_guard_chunked(const char *value, size_t len)
{
    if (!value) {
        return 0;
    }
    while (len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }
    return len == 7 && strncasecmp(value, "chunked", 7) == 0;
}

int http_guard_check(const struct http_guard_request *r, unsigned port, const char *token,
                     size_t tlen, const char **why)
{
    *why = NULL;
    enum http_guard_host kind = HTTP_GUARD_HOST_BAD;
    if (r->host_count == 1) {
        kind = http_guard_host(r->host, r->host_len, port);
    }
    if (kind == HTTP_GUARD_HOST_BAD) {
        *why = r->host_count == 0  ? "missing Host header"
               : r->host_count > 1 ? "more than one Host header"
                                   : "Host must be 127.0.0.1:PORT or localhost:PORT";
        return 403;
    }
    if (r->content_length_count > 1) {
        *why = "more than one Content-Length header";
        return 400;
    }
    if (r->transfer_encoding_count && r->content_length_count) {
        *why = "both Transfer-Encoding and Content-Length";
        return 400;
    }
    if (r->transfer_encoding_count > 1 ||
        (r->transfer_encoding_count &&
         !http_guard_chunked(r->transfer_encoding, r->transfer_encoding_len))) {
        *why = "only Transfer-Encoding: chunked is supported";
        return 501;
    }
    if (!r->method || strcmp(r->method, "OPTIONS") == 0) {
        *why = "method not allowed";
        return 405;
    }
    if (http_guard_unsafe_method(r->method)) {
        if (r->origin_count != 1 || !http_guard_origin(r->origin, r->origin_len, kind, port)) {
            *why = "Origin must be this dashboard";
            return 403;
        }
        if (!http_guard_fetch_site(r->fetch_site, r->fetch_site_len)) {
            *why = "Sec-Fetch-Site must be same-origin";
            return 403;
        }
        if (r->token_count != 1 || !token ||
            !http_guard_token_equal(r->token ? r->token : "", r->token ? r->token_len : 0, token,
                                    tlen)) {
            *why = "missing or wrong X-Pixie-Token";
            return 403;
        }
        int has_body =
            r->transfer_encoding_count || (r->content_length_count == 1 && r->content_length > 0);
        if (has_body && !http_guard_json_type(r->content_type, r->content_type_len)) {
            *why = "the body must be application/json";
            return 415;
        }
    }
    unsigned long long max = r->body_max ? r->body_max : HTTP_GUARD_BODY_MAX;
    if (r->content_length_count == 1 && r->content_length > max) {
        *why = max == HTTP_GUARD_BODY_MAX ? "request body too large (1 MiB at most)"
                                          : "request body too large";
        return 413;
    }
    return 0;
}
