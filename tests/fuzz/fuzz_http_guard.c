/* Fuzz target for the request guard (src/core/http_guard.h).
 * The input is split at '\n' into fields: method, host, origin,
 * sec-fetch-site, token, content-type, transfer-encoding; the first byte
 * picks the header counts and the body length. Invariants, any broken one
 * aborts:
 *   1. no input crashes or reads out of bounds (values are not
 *      NUL-terminated copies: each field is exactly its bytes);
 *   2. http_guard_check returns 0 or one of 400, 403, 405, 413, 415, 501, with a
 *      message exactly when it is not 0;
 *   3. a request it lets through has one Host that http_guard_host accepts,
 *      at most one "chunked" Transfer-Encoding and then no Content-Length,
 *      and, for an unsafe method, the exact token and a matching Origin;
 *   4. the host and origin checks agree with a naive reference. */
#include "fuzz.h"
#include "http_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PORT 8080
static const char token[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

/* Reference: the value equals one of the allowed strings (name case-insensitive). */
static int naive_host(const char *v, size_t n)
{
    return (n == 14 && memcmp(v, "127.0.0.1:8080", 14) == 0) ||
           (n == 14 && strncasecmp(v, "localhost:8080", 14) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    unsigned char knobs = data[0];
    const char *fields[7] = {0};
    size_t lens[7] = {0};
    char *copies[7] = {0};
    size_t start = 1, f = 0;
    for (size_t i = 1; i <= size && f < 7; i++) {
        if (i == size || data[i] == '\n') {
            /* an exact-size heap copy: reading past it is caught */
            copies[f] = malloc(i - start + 1);
            memcpy(copies[f], data + start, i - start);
            fields[f] = copies[f];
            lens[f] = i - start;
            f++;
            start = i + 1;
        }
    }
    char method[16] = "GET";
    if (fields[0]) {
        snprintf(method, sizeof method, "%.*s", (int)lens[0], fields[0]);
    }
    struct http_guard_request r = {
        .method = method,
        .host = fields[1],
        .host_len = lens[1],
        .host_count = fields[1] ? 1 + (knobs & 1) : 0,
        .content_length_count = (knobs >> 1) & 3,
        .content_length = (knobs & 8) ? HTTP_GUARD_BODY_MAX + 1 : (knobs >> 4),
        .origin = fields[2],
        .origin_len = lens[2],
        .origin_count = fields[2] ? 1 : 0,
        .fetch_site = fields[3],
        .fetch_site_len = lens[3],
        .token = fields[4],
        .token_len = lens[4],
        .token_count = fields[4] ? 1 : 0,
        .content_type = fields[5],
        .content_type_len = lens[5],
        .transfer_encoding = fields[6],
        .transfer_encoding_len = lens[6],
        .transfer_encoding_count = fields[6] ? 1 + (knobs >> 7) : 0,
    };
    const char *why = NULL;
    int st = http_guard_check(&r, PORT, token, 64, &why);
    require(st == 0 || st == 400 || st == 403 || st == 405 || st == 413 || st == 415 || st == 501);
    require((st == 0) == (why == NULL));
    if (fields[1]) {
        require((http_guard_host(fields[1], lens[1], PORT) != HTTP_GUARD_HOST_BAD) ==
                naive_host(fields[1], lens[1]));
    }
    if (st == 0) {
        require(r.host_count == 1 && naive_host(r.host, r.host_len));
        require(r.transfer_encoding_count == 0 ||
                (r.transfer_encoding_count == 1 && r.content_length_count == 0 &&
                 http_guard_chunked(r.transfer_encoding, r.transfer_encoding_len)));
        if (http_guard_unsafe_method(method)) {
            require(r.token_len == 64 && memcmp(r.token, token, 64) == 0);
            require(r.origin_len == 21 && strncasecmp(r.origin, "http://", 7) == 0 &&
                    naive_host(r.origin + 7, 14));
        }
    }
    if (fields[5]) {
        http_guard_json_type(fields[5], lens[5]);
    }
    for (int i = 0; i < 7; i++) {
        free(copies[i]);
    }
    return 0;
}
