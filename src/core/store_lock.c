/* The write lock file beside a database (contracts in store_lock.h). */
#include "store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FIRST_SLEEP_US 50
#define LONGEST_SLEEP_US 2000

int store_lockfile_open(const char *db_path, char *err, size_t errlen)
{
    size_t n = strlen(db_path) + sizeof ".lock";
    char *path = malloc(n);
    if (!path) {
        snprintf(err, errlen, "%s.lock: out of memory", db_path);
        return -ENOMEM;
    }
    snprintf(path, n, "%s.lock", db_path);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    int rc = fd;
    if (fd < 0) {
        rc = -errno;
    } else {
        struct stat st;
        if (fstat(fd, &st) != 0) {
            rc = -errno;
        } else if (!S_ISREG(st.st_mode)) {
            rc = -EINVAL;
        } else if ((st.st_mode & 0777) != 0600 && fchmod(fd, 0600) != 0) {
            rc = -errno;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot open the write lock file: %s", path,
                 rc == -EINVAL ? "not a regular file" : strerror(-rc));
        if (fd >= 0) {
            close(fd);
        }
    }
    free(path);
    return rc;
}

/* Microseconds elapsed since *start (CLOCK_MONOTONIC). */
static long long elapsed_us(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - start->tv_sec) * 1000000 +
           (now.tv_nsec - start->tv_nsec) / 1000;
}

int store_lockfile_acquire(int fd, long wait_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long sleep_us = FIRST_SLEEP_US;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            return -errno;
        }
        if (elapsed_us(&start) >= (long long)wait_ms * 1000) {
            return -EBUSY;
        }
        struct timespec ts = {0, sleep_us * 1000};
        nanosleep(&ts, NULL);
        sleep_us = sleep_us * 2 > LONGEST_SLEEP_US ? LONGEST_SLEEP_US : sleep_us * 2;
    }
}

void store_lockfile_release(int fd)
{
    while (flock(fd, LOCK_UN) != 0 && errno == EINTR) {
    }
}
