/* http_guard: Host is exactly 127.0.0.1:PORT or localhost:PORT (name in
 * any case), Origin names the same host and port over http, Sec-Fetch-Site
 * absent or same-origin, JSON content types with parameters, token
 * comparison, and http_guard_check applies each rule alone (every other
 * rule satisfied) with the right status. */
#include "check.h"
#include "http_guard.h"

#include <string.h>

#define S(x) x, strlen(x)

static const char token[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_host(void)
{
    CHECK(http_guard_host(S("127.0.0.1:8080"), 8080) == HTTP_GUARD_HOST_IP);
    CHECK(http_guard_host(S("localhost:8080"), 8080) == HTTP_GUARD_HOST_LOCALHOST);
    CHECK(http_guard_host(S("LOCALHOST:8080"), 8080) == HTTP_GUARD_HOST_LOCALHOST);
    CHECK(http_guard_host(S("LocalHost:80"), 80) == HTTP_GUARD_HOST_LOCALHOST);
    const char *bad[] = {"127.0.0.1",       "127.0.0.1:",      "127.0.0.1:08080",
                         "127.0.0.1:8081",  "127.0.0.1:8080 ", " 127.0.0.1:8080",
                         "0.0.0.0:8080",    "evil.test:8080",  "localhost.evil:8080",
                         "127.0.0.2:8080",  "[::1]:8080",      "localhost:8080:8080",
                         "127.0.0.1:+8080", "localhos:8080",   "",
                         "127.0.0.1:80800", "xlocalhost:8080", "127.0.0.1.:8080"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(http_guard_host(bad[i], strlen(bad[i]), 8080) == HTTP_GUARD_HOST_BAD);
    }
    /* a NUL inside the value is not skipped */
    CHECK(http_guard_host("127.0.0.1:8080\0x", 16, 8080) == HTTP_GUARD_HOST_BAD);
    CHECK(http_guard_host(NULL, 0, 8080) == HTTP_GUARD_HOST_BAD);
}

static void test_origin(void)
{
    CHECK(http_guard_origin(S("http://127.0.0.1:8080"), HTTP_GUARD_HOST_IP, 8080));
    CHECK(http_guard_origin(S("http://localhost:8080"), HTTP_GUARD_HOST_LOCALHOST, 8080));
    CHECK(http_guard_origin(S("HTTP://LocalHost:8080"), HTTP_GUARD_HOST_LOCALHOST, 8080));
    /* the Origin must name the host the Host header named */
    CHECK(!http_guard_origin(S("http://localhost:8080"), HTTP_GUARD_HOST_IP, 8080));
    CHECK(!http_guard_origin(S("http://127.0.0.1:8080"), HTTP_GUARD_HOST_LOCALHOST, 8080));
    const char *bad[] = {"null",
                         "https://127.0.0.1:8080",
                         "http://127.0.0.1:8081",
                         "http://127.0.0.1",
                         "http://127.0.0.1:8080/",
                         "http://evil.test:8080",
                         "http://127.0.0.1:8080.evil.test",
                         "",
                         "http://"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!http_guard_origin(bad[i], strlen(bad[i]), HTTP_GUARD_HOST_IP, 8080));
    }
    CHECK(!http_guard_origin(NULL, 0, HTTP_GUARD_HOST_IP, 8080));
    CHECK(!http_guard_origin(S("http://127.0.0.1:8080"), HTTP_GUARD_HOST_BAD, 8080));
}

static void test_fetch_site_and_type(void)
{
    CHECK(http_guard_fetch_site(NULL, 0));
    CHECK(http_guard_fetch_site(S("same-origin")));
    CHECK(http_guard_fetch_site(S("Same-Origin")));
    CHECK(!http_guard_fetch_site(S("same-site")));
    CHECK(!http_guard_fetch_site(S("cross-site")));
    CHECK(!http_guard_fetch_site(S("none")));
    CHECK(!http_guard_fetch_site(S("")));
    CHECK(http_guard_json_type(S("application/json")));
    CHECK(http_guard_json_type(S("Application/JSON")));
    CHECK(http_guard_json_type(S("application/json; charset=utf-8")));
    CHECK(http_guard_json_type(S("application/json;charset=UTF-8")));
    CHECK(http_guard_json_type(S(" application/json ")));
    CHECK(!http_guard_json_type(S("text/plain")));
    CHECK(!http_guard_json_type(S("application/jsonx")));
    CHECK(!http_guard_json_type(S("application/json-patch+json")));
    CHECK(!http_guard_json_type(S("multipart/form-data")));
    CHECK(!http_guard_json_type(S("application/x-www-form-urlencoded")));
    CHECK(!http_guard_json_type(S("")));
    CHECK(!http_guard_json_type(NULL, 0));
    CHECK(http_guard_chunked(S("chunked")));
    CHECK(http_guard_chunked(S(" Chunked\t")));
    CHECK(!http_guard_chunked(S("gzip")));
    CHECK(!http_guard_chunked(S("gzip, chunked")));
    CHECK(!http_guard_chunked(S("chunked, gzip")));
    CHECK(!http_guard_chunked(S("chunkedx")));
    CHECK(!http_guard_chunked(S("")));
    CHECK(!http_guard_chunked(NULL, 0));
}

static void test_token_and_methods(void)
{
    CHECK(http_guard_token_equal(S(token), S(token)));
    char other[sizeof token];
    memcpy(other, token, sizeof token);
    other[63] = 'x';
    CHECK(!http_guard_token_equal(S(other), S(token)));
    other[63] = 'f';
    other[0] = 'x';
    CHECK(!http_guard_token_equal(S(other), S(token)));
    CHECK(!http_guard_token_equal(token, 63, S(token)));
    CHECK(!http_guard_token_equal("", 0, S(token)));
    CHECK(http_guard_unsafe_method("POST") && http_guard_unsafe_method("PUT") &&
          http_guard_unsafe_method("PATCH") && http_guard_unsafe_method("DELETE"));
    CHECK(!http_guard_unsafe_method("GET") && !http_guard_unsafe_method("HEAD") &&
          !http_guard_unsafe_method("post"));
}

/* A POST that passes every rule. */
static struct http_guard_request good_post(void)
{
    struct http_guard_request r = {
        .method = "POST",
        .host = "127.0.0.1:8080",
        .host_len = 14,
        .host_count = 1,
        .content_length_count = 1,
        .content_length = 2,
        .origin = "http://127.0.0.1:8080",
        .origin_len = 21,
        .origin_count = 1,
        .token = token,
        .token_len = 64,
        .token_count = 1,
        .content_type = "application/json",
        .content_type_len = 16,
    };
    return r;
}

static int check(const struct http_guard_request *r)
{
    const char *why = NULL;
    int status = http_guard_check(r, 8080, token, 64, &why);
    CHECK((status == 0) == (why == NULL));
    return status;
}

static void test_check_each_rule_alone(void)
{
    struct http_guard_request r = good_post();
    CHECK(check(&r) == 0);
    struct http_guard_request get = {
        .method = "GET", .host = "localhost:8080", .host_len = 14, .host_count = 1};
    CHECK(check(&get) == 0); /* GET needs no token, Origin, content type */

    r = good_post();
    r.host_count = 0;
    r.host = NULL;
    CHECK(check(&r) == 403);
    r = good_post();
    r.host_count = 2;
    CHECK(check(&r) == 403);
    r = good_post();
    r.host = "evil.test:8080";
    CHECK(check(&r) == 403);
    r = good_post();
    r.content_length_count = 2;
    CHECK(check(&r) == 400);
    r = good_post();
    r.method = "OPTIONS";
    CHECK(check(&r) == 405);
    r = good_post();
    r.origin = "null";
    r.origin_len = 4;
    CHECK(check(&r) == 403);
    r = good_post();
    r.origin_count = 0;
    r.origin = NULL;
    CHECK(check(&r) == 403);
    r = good_post();
    r.origin = "http://localhost:8080"; /* not the host the Host header named */
    r.origin_len = 21;
    CHECK(check(&r) == 403);
    r = good_post();
    r.fetch_site = "same-site";
    r.fetch_site_len = 9;
    CHECK(check(&r) == 403);
    r = good_post();
    r.fetch_site = "same-origin";
    r.fetch_site_len = 11;
    CHECK(check(&r) == 0);
    r = good_post();
    r.token = NULL;
    r.token_len = 0;
    r.token_count = 0;
    CHECK(check(&r) == 403);
    r = good_post();
    r.token_len = 63;
    CHECK(check(&r) == 403);
    r = good_post();
    r.token_count = 2;
    CHECK(check(&r) == 403);
    r = good_post();
    r.content_type = "text/plain";
    r.content_type_len = 10;
    CHECK(check(&r) == 415);
    r = good_post();
    r.content_type = NULL;
    r.content_type_len = 0;
    CHECK(check(&r) == 415);
    r.content_length = 0; /* an empty body needs no content type */
    CHECK(check(&r) == 0);
    r.content_length_count = 0;
    r.transfer_encoding = "chunked"; /* a chunked body may be non-empty */
    r.transfer_encoding_len = 7;
    r.transfer_encoding_count = 1;
    CHECK(check(&r) == 415);
    r = good_post();
    r.content_length = HTTP_GUARD_BODY_MAX;
    CHECK(check(&r) == 0);
    r.content_length = HTTP_GUARD_BODY_MAX + 1;
    CHECK(check(&r) == 413);
    /* a route's own cap (an upload route) replaces the default */
    r.body_max = 4 * HTTP_GUARD_BODY_MAX;
    CHECK(check(&r) == 0);
    r.content_length = 4 * HTTP_GUARD_BODY_MAX;
    CHECK(check(&r) == 0);
    r.content_length = 4 * HTTP_GUARD_BODY_MAX + 1;
    CHECK(check(&r) == 413);
    r.body_max = 1024; /* or lowers it */
    r.content_length = 1025;
    CHECK(check(&r) == 413);
    /* a transfer coding Pixie does not serve: 501, on any method; with a
     * Content-Length as well (a request-smuggling shape): 400 */
    r = good_post();
    r.content_length_count = 0;
    r.transfer_encoding = "gzip";
    r.transfer_encoding_len = 4;
    r.transfer_encoding_count = 1;
    CHECK(check(&r) == 501);
    r.method = "GET";
    CHECK(check(&r) == 501);
    r = good_post();
    r.content_length_count = 0;
    r.transfer_encoding = "chunked";
    r.transfer_encoding_len = 7;
    r.transfer_encoding_count = 2;
    CHECK(check(&r) == 501);
    r.transfer_encoding_count = 1;
    CHECK(check(&r) == 0);
    r.content_length_count = 1;
    CHECK(check(&r) == 400);
    /* DELETE, PUT and PATCH are guarded like POST */
    const char *methods[] = {"DELETE", "PUT", "PATCH"};
    for (int i = 0; i < 3; i++) {
        r = good_post();
        r.method = methods[i];
        r.token_count = 0;
        CHECK(check(&r) == 403);
    }
}

int main(void)
{
    test_host();
    test_origin();
    test_fetch_site_and_type();
    test_token_and_methods();
    test_check_each_rule_alone();
    return check_exit();
}
