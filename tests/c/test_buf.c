/* buf: appends keep the bytes and a NUL, growth keeps earlier content,
 * take moves ownership out, a failure is sticky, overflow is refused. */
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

int main(void)
{
    test_append_and_take();
    test_take_empty_gives_empty_string();
    test_growth_keeps_bytes_including_nul_bytes();
    test_clear_keeps_memory();
    test_overflow_is_refused_and_sticky();
    return check_exit();
}
