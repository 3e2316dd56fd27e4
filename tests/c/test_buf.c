/* buf: appends keep the bytes and a NUL, growth keeps earlier content,
 * take moves ownership out, a failure is sticky, overflow is refused.
 * buf_grow_array: an array grows by doubling and keeps its elements; an
 * impossible size is refused and leaves the array as it was. */
#include "buf.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_append_and_take(void)
{
    struct buf b = {0};
    CHECK(buf_append(&b, "ab", 2) == 0);
    CHECK(buf_append_byte(&b, 'c') == 0);
    CHECK(buf_append(&b, NULL, 0) == 0);
    CHECK(b.len == 3 && memcmp(b.data, "abc", 4) == 0);
    char *out = NULL;
    size_t len = 99;
    CHECK(buf_take(&b, &out, &len) == 0);
    CHECK(out && len == 3 && strcmp(out, "abc") == 0);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    free(out);
}

static void test_take_empty_gives_empty_string(void)
{
    struct buf b = {0};
    char *out = NULL;
    size_t len = 99;
    CHECK(buf_take(&b, &out, &len) == 0);
    CHECK(out && len == 0 && out[0] == '\0');
    free(out);
}

static void test_growth_keeps_bytes_including_nul_bytes(void)
{
    struct buf b = {0};
    for (int i = 0; i < 10000; i++) {
        CHECK(buf_append_byte(&b, (char)(i % 251)) == 0);
    }
    CHECK(b.len == 10000 && b.cap > b.len && b.data[b.len] == '\0');
    int same = 1;
    for (int i = 0; i < 10000; i++) {
        same &= b.data[i] == (char)(i % 251);
    }
    CHECK(same);
    buf_free(&b);
    CHECK(b.data == NULL && b.len == 0);
    buf_free(&b); /* idempotent */
}

static void test_clear_keeps_memory(void)
{
    struct buf b = {0};
    CHECK(buf_append(&b, "hello", 5) == 0);
    char *mem = b.data;
    buf_clear(&b);
    CHECK(b.len == 0 && b.data == mem && b.data[0] == '\0');
    CHECK(buf_append(&b, "x", 1) == 0 && strcmp(b.data, "x") == 0);
    buf_free(&b);
}

static void test_overflow_is_refused_and_sticky(void)
{
    struct buf b = {0};
    CHECK(buf_append(&b, "abc", 3) == 0);
    CHECK(buf_reserve(&b, SIZE_MAX - 3) == -EOVERFLOW);
    CHECK(buf_reserve(&b, SIZE_MAX) == -EOVERFLOW);
    CHECK(b.err == -EOVERFLOW && b.len == 3 && strcmp(b.data, "abc") == 0);
    CHECK(buf_append(&b, "d", 1) == -EOVERFLOW && b.len == 3);
    char *out = NULL;
    size_t len = 7;
    CHECK(buf_take(&b, &out, &len) == -EOVERFLOW);
    CHECK(out == NULL && len == 7 && b.data == NULL && b.err == 0);
    CHECK(buf_append(&b, "e", 1) == 0 && strcmp(b.data, "e") == 0);
    CHECK(buf_reserve(&b, SIZE_MAX) == -EOVERFLOW);
    buf_clear(&b); /* clears the error too */
    CHECK(b.err == 0 && buf_append_byte(&b, 'z') == 0 && strcmp(b.data, "z") == 0);
    buf_free(&b);
}

static void test_grow_array_keeps_elements_and_doubles(void)
{
    long *v = NULL;
    size_t cap = 0;
    CHECK(buf_grow_array((void **)&v, &cap, 0, sizeof *v) == 0 && v == NULL && cap == 0);
    CHECK(buf_grow_array((void **)&v, &cap, 1, sizeof *v) == 0);
    CHECK(v != NULL && cap == BUF_ARRAY_MIN_CAP);
    size_t n = 0;
    for (long i = 0; i < 1000; i++) {
        CHECK(buf_grow_array((void **)&v, &cap, n + 1, sizeof *v) == 0);
        v[n++] = i * 7;
    }
    CHECK(cap >= 1000 && cap < 2000 && (cap & (cap - 1)) == 0); /* 16 doubled */
    int same = 1;
    for (size_t i = 0; i < n; i++) {
        same &= v[i] == (long)i * 7;
    }
    CHECK(same);
    long *before = v;
    CHECK(buf_grow_array((void **)&v, &cap, 5, sizeof *v) == 0 && v == before); /* no-op */
    CHECK(buf_grow_array((void **)&v, &cap, cap + 1, sizeof *v) == 0 && v[999] == 999 * 7);
    free(v);
}

static void test_grow_array_refuses_overflow_and_keeps_the_array(void)
{
    long *v = NULL;
    size_t cap = 0;
    CHECK(buf_grow_array((void **)&v, &cap, 3, sizeof *v) == 0);
    v[0] = 42;
    long *before = v;
    size_t cap_before = cap;
    CHECK(buf_grow_array((void **)&v, &cap, SIZE_MAX / sizeof *v + 1, sizeof *v) == -EOVERFLOW);
    CHECK(buf_grow_array((void **)&v, &cap, SIZE_MAX, sizeof *v) == -EOVERFLOW);
    CHECK(v == before && cap == cap_before && v[0] == 42);
    CHECK(buf_grow_array((void **)&v, &cap, 1, 0) == -EINVAL);
    free(v);
    char *big = NULL; /* huge elements: the count overflows long before SIZE_MAX */
    size_t bcap = 0;
    CHECK(buf_grow_array((void **)&big, &bcap, 3, SIZE_MAX / 2) == -EOVERFLOW);
    CHECK(big == NULL && bcap == 0);
}

static void test_strv_dup_copies_up_to_max(void)
{
    const char *const src[] = {"a", "", "ccc", NULL};
    char **v = NULL;
    size_t n = 9;
    CHECK(buf_strv_dup(src, 10, &v, &n) == 0);
    CHECK(n == 3 && v && strcmp(v[0], "a") == 0 && strcmp(v[1], "") == 0 &&
          strcmp(v[2], "ccc") == 0 && v[3] == NULL && v[0] != src[0]);
    buf_strv_free(v);
    CHECK(buf_strv_dup(src, 2, &v, &n) == 0);
    CHECK(n == 2 && v[2] == NULL);
    buf_strv_free(v);
    CHECK(buf_strv_dup(NULL, 10, &v, &n) == 0);
    CHECK(v == NULL && n == 0);
    buf_strv_free(NULL);
}

int main(void)
{
    test_append_and_take();
    test_take_empty_gives_empty_string();
    test_growth_keeps_bytes_including_nul_bytes();
    test_clear_keeps_memory();
    test_overflow_is_refused_and_sticky();
    test_grow_array_keeps_elements_and_doubles();
    test_grow_array_refuses_overflow_and_keeps_the_array();
    test_strv_dup_copies_up_to_max();
    return check_exit();
}
