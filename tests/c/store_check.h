/* Helpers for the C tests of the run store (test_store*.c). */
#ifndef PIXIE_STORE_CHECK_H
#define PIXIE_STORE_CHECK_H

#include "store.h"

#include <string.h>

/* First column of the first row of sql, one statement, as an integer (-1
 * on failure). */
static inline long long store_check_scalar(struct store *s, const char *sql)
{
    struct store_stmt *st;
    size_t used;
    long long v = -1;
    if (store_prepare(s, sql, strlen(sql), &st, &used) == 0 && st && store_step(st) == 1) {
        v = store_column_int64(st, 0);
    }
    store_finalize(st);
    return v;
}

#endif
