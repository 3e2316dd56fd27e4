#include "check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int check_failures;

void check_fail(const char *file, int line, const char *expr)
{
    check_failures++;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
}

const char *check_tmpdir(const char *name)
{
    static char path[4096];
    const char *base = getenv("PIXIE_TEST_TMP");
    snprintf(path, sizeof path, "%s/c-%s-%d", base ? base : "/tmp", name, (int)getpid());
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(1);
    }
    return path;
}

int check_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d)) {
        n++;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

int check_exit(void)
{
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
