/* Private to spawn_tree.c and spawn_guard.c: the processes of /proc as
 * trees are found in them. Every function is async-signal-safe (the
 * watchdog uses them): system calls only, no allocation. */
#ifndef PIXIE_SPAWN_PROC_H
#define PIXIE_SPAWN_PROC_H

#include <stdint.h>
#include <sys/types.h>

struct pinfo {
    pid_t pid, ppid, pgid;
    char state;     /* 'R', 'S', 'T', 'Z', ... */
    uint64_t start; /* start time (clock ticks after boot): a pid's identity */
    int mark;       /* the caller's: 1 member, 0 not (yet), -1 never */
};

/* Parses the decimal number at *s (skipping spaces and a minus sign; only
 * non-negative values are used), advancing *s. */
uint64_t spawn_proc_num(const char **s);

/* Reads /proc/<pid>/stat into *p (mark = 0). Returns 0, or -1 when the
 * process is gone or the text is unexpected. */
int spawn_proc_read(pid_t pid, struct pinfo *p);

/* Calls fn(ctx, &info) for every process of /proc. Returns 0 or -errno. */
int spawn_proc_each(void (*fn)(void *, const struct pinfo *), void *ctx);

/* 1 for a zombie (or a process being reaped). */
int spawn_proc_is_dead(const struct pinfo *p);

/* Marks (mark = 1) every unmarked (0) process of v[0..n) below a member
 * (mark 1), by ppid chains. O(n^2) per level, no allocation. */
void spawn_proc_mark_descendants(struct pinfo *v, int n);

#endif
