/* Minimal assertion helpers for the C unit tests. A failed check prints
 * file:line and the expression and marks the test failed; check_exit()
 * returns the process exit code. */
#ifndef PIXIE_CHECK_H
#define PIXIE_CHECK_H

#include <stddef.h>

extern int check_failures;

void check_fail(const char *file, int line, const char *expr);
/* Makes a fresh empty temporary folder for this test and returns its path
 * (static storage). */
const char *check_tmpdir(const char *name);
/* Counts the entries of /proc/self/fd (this process's open descriptors plus
 * the one the count itself opens), for before/after leak checks; 0 when the
 * folder cannot be read. */
int check_count_fds(void);
int check_exit(void);

#define CHECK(expr) ((expr) ? (void)0 : check_fail(__FILE__, __LINE__, #expr))

#endif
