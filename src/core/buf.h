/* A growable byte buffer: the one way the core accumulates output.
 *
 * Ownership: a struct buf owns `data` (malloc'd, or NULL while nothing was
 * appended). A zeroed struct (`struct buf b = {0};`) is an empty buffer.
 * After any append that succeeded, data[len] is '\0'. The first failure
 * (-ENOMEM or -EOVERFLOW) is kept in `err`: later appends do nothing and
 * return it, so a caller may append many pieces and check once. The owner
 * releases the memory with buf_free, or moves it out with buf_take. */
#ifndef PIXIE_BUF_H
#define PIXIE_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len, cap;
    int err; /* 0, or the first failure as a negative errno */
};

/* Makes room for `extra` more bytes plus a terminating NUL, growing the
 * capacity by doubling (at least 64 bytes). Returns 0, -EOVERFLOW when the
 * size would not fit in size_t, -ENOMEM, or b->err if b already failed. */
int buf_reserve(struct buf *b, size_t extra);

/* Appends `n` bytes of `p` (p may be NULL when n is 0) and keeps the data
 * NUL-terminated. Returns 0 or the buffer's (possibly new) error. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends one byte; like buf_append. */
int buf_append_byte(struct buf *b, char c);

/* The core's failure idiom: appends the printf of fmt (at most 511 bytes)
 * to err when err is not NULL, and returns rc. */
int buf_fail(struct buf *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Empties b (len 0, error cleared), keeping its memory for reuse. */
void buf_clear(struct buf *b);

/* Moves the bytes out: on success *out is a malloc'd NUL-terminated string
 * (never NULL, "" for an empty buffer) the caller frees, *out_len its length
 * without the NUL, and returns 0. When b failed, frees the bytes, leaves
 * *out and *out_len untouched and returns b's error. Either way b is left
 * empty and may be reused. */
int buf_take(struct buf *b, char **out, size_t *out_len);

/* Frees the bytes and leaves b empty; idempotent. */
void buf_free(struct buf *b);

/* Growth of any malloc'd array (the one way the core grows one): *arr
 * points to *cap elements of elem_size (> 0) bytes, or is NULL with *cap
 * 0. Makes room for at least `need` elements, doubling the capacity (at
 * least BUF_ARRAY_MIN_CAP elements) when need > *cap; elements already
 * there keep their values, new ones are uninitialised. arr is the address
 * of the caller's typed pointer, passed as `(void **)&v`. Returns 0 (then
 * *cap >= need), -EINVAL when elem_size is 0, -EOVERFLOW when need *
 * elem_size does not fit in size_t, or -ENOMEM; on failure *arr and *cap
 * are unchanged and still owned by the caller. */
#define BUF_ARRAY_MIN_CAP 16
int buf_grow_array(void **arr, size_t *cap, size_t need, size_t elem_size);

/* A heap copy of the NULL-terminated string array src, at most max strings
 * (NULL gives NULL). Returns 0 with *out (NULL-terminated) and *n (its
 * length; n may be NULL), or -ENOMEM with nothing allocated. */
int buf_strv_dup(const char *const *src, size_t max, char ***out, size_t *n);

/* Frees what buf_strv_dup made; NULL is allowed. */
void buf_strv_free(char **v);

#endif
