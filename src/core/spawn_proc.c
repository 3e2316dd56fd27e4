/* Reading /proc for spawn_tree.c and spawn_guard.c; see spawn_proc.h.
 * Async-signal-safe throughout: the watchdog (a fork of a multi-threaded
 * process) uses it, so no allocation, no stdio, no locale. */
#include "spawn_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Parses the decimal number at *s (skipping spaces and a minus sign; only
 * non-negative values are used), advancing *s. */
uint64_t spawn_proc_num(const char **s)
{
    while (**s == ' ' || **s == '-') {
        (*s)++;
    }
    uint64_t v = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++) {
        v = v * 10 + (uint64_t)(**s - '0');
    }
    return v;
}

/* Reads /proc/<pid>/stat into *p (pid, ppid, pgid, state, start time).
 * Returns 0, or -1 when the process is gone or the text is unexpected. */
int spawn_proc_read(pid_t pid, struct pinfo *p)
{
    char path[40] = "/proc/", digits[16], buf[1024];
    int nd = 0, k = 6;
    for (unsigned x = (unsigned)pid; nd == 0 || x; x /= 10) {
        digits[nd++] = (char)('0' + x % 10);
    }
    while (nd) {
        path[k++] = digits[--nd];
    }
    memcpy(path + k, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) {
        return -1;
    }
    buf[len] = '\0';
    const char *r = NULL;
    for (ssize_t i = 0; i < len; i++) {
        r = buf[i] == ')' ? buf + i : r;
    }
    if (!r || r[1] != ' ' || !r[2]) {
        return -1;
    }
    /* fields after the name: state(3) ppid(4) pgrp(5) ... starttime(22) */
    p->pid = pid;
    p->state = r[2];
    const char *s = r + 3;
    p->ppid = (pid_t)spawn_proc_num(&s);
    p->pgid = (pid_t)spawn_proc_num(&s);
    for (int field = 6; field < 22; field++) {
        spawn_proc_num(&s);
    }
    p->start = spawn_proc_num(&s);
    p->mark = 0;
    return 0;
}

/* Calls fn(ctx, &info) for every process of /proc. Returns 0 or -errno. */
int spawn_proc_each(void (*fn)(void *, const struct pinfo *), void *ctx)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    _Alignas(8) char buf[8192];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            off += reclen;
            pid_t pid = 0;
            for (; *name >= '0' && *name <= '9'; name++) {
                pid = pid * 10 + (*name - '0');
            }
            struct pinfo p;
            if (*name == '\0' && pid > 0 && spawn_proc_read(pid, &p) == 0) {
                fn(ctx, &p);
            }
        }
    }
    close(fd);
    return 0;
}

int spawn_proc_is_dead(const struct pinfo *p)
{
    return p->state == 'Z' || p->state == 'X' || p->state == 'x';
}

/* Marks (mark = 1) every unmarked (0) process below a member, by ppid. */
void spawn_proc_mark_descendants(struct pinfo *v, int n)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n && v[i].mark == 0; j++) {
                if (v[j].mark == 1 && v[j].pid == v[i].ppid) {
                    v[i].mark = changed = 1;
                }
            }
        }
    }
}
