/* The growable byte buffer; see buf.h for the ownership contract. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

int buf_reserve(struct buf *b, size_t extra)
{
    if (b->err) {
        return b->err;
    }
    if (extra > SIZE_MAX - 1 - b->len) {
        b->err = -EOVERFLOW;
        return b->err;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->err = -ENOMEM;
        return b->err;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != 0) {
        return rc;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_byte(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

void buf_clear(struct buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

int buf_fail(struct buf *err, int rc, const char *fmt, ...)
{
    if (err) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        buf_append(err, msg, strlen(msg));
    }
    return rc;
}

int buf_take(struct buf *b, char **out, size_t *out_len)
{
    int rc = buf_append(b, NULL, 0);
    if (rc != 0) {
        buf_free(b);
        return rc;
    }
    *out = b->data;
    *out_len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

int buf_grow_array(void **arr, size_t *cap, size_t need, size_t elem_size)
{
    if (elem_size == 0) {
        return -EINVAL;
    }
    if (need <= *cap) {
        return 0;
    }
    size_t max = SIZE_MAX / elem_size;
    if (need > max) {
        return -EOVERFLOW;
    }
    size_t ncap = *cap >= BUF_ARRAY_MIN_CAP ? *cap : BUF_ARRAY_MIN_CAP;
    while (ncap < need) {
        ncap = ncap > max / 2 ? need : ncap * 2;
    }
    if (ncap > max) {
        ncap = need;
    }
    /* the caller's pointer is read and written as bytes: it may be any
     * object pointer type (no access through a void * lvalue) */
    void *old, *nv;
    memcpy(&old, arr, sizeof old);
    nv = realloc(old, ncap * elem_size);
    if (!nv) {
        return -ENOMEM;
    }
    memcpy(arr, &nv, sizeof nv);
    *cap = ncap;
    return 0;
}

int buf_strv_dup(const char *const *src, size_t max, char ***out, size_t *n)
{
    *out = NULL;
    size_t count = 0;
    while (src && src[count] && count < max) {
        count++;
    }
    if (n) {
        *n = count;
    }
    if (!src) {
        return 0;
    }
    char **v = calloc(count + 1, sizeof *v);
    for (size_t i = 0; v && i < count; i++) {
        v[i] = strdup(src[i]);
        if (!v[i]) {
            buf_strv_free(v);
            v = NULL;
        }
    }
    if (!v) {
        return -ENOMEM;
    }
    *out = v;
    return 0;
}

void buf_strv_free(char **v)
{
    for (char **p = v; p && *p; p++) {
        free(*p);
    }
    free(v);
}
