/* Private to spawn.c and spawn_tree.c: the registry of spawned leaders and
 * the watchdog, which spawn.c needs when it starts and waits for a child. */
#ifndef PIXIE_SPAWN_TREE_H
#define PIXIE_SPAWN_TREE_H

#include "spawn.h"

/* fork() with the child's pid registered as a leader before any other
 * thread can see the child, so no sweep or tree kill reaps it and its exit
 * status stays for its spawn_child. Returns the pid in the parent, 0 in the
 * child (which may then only make system calls and exec), or -errno when
 * nothing was forked. */
pid_t spawn_fork_tracked(void);

/* Reaps (blocking) a registered child that failed before its exec, and
 * forgets it. */
void spawn_reap_failed(pid_t pid);

/* Tells the watchdog about a new leader (pid and start time), whose tree
 * it kills if Pixie dies. */
void spawn_guard_add_leader(pid_t pid);

/* Reaps c's leader if it has exited (waitpid flags: 0 or WNOHANG), closes
 * its pidfd and forgets it. Returns 1 when it is reaped (now or before;
 * c->status set), 0 while it runs, -ECHILD when it is gone but someone
 * else took its status (now or before; c->reaped is 1 and c->status is
 * SPAWN_STATUS_UNKNOWN), or another -errno from waitpid. */
int spawn_reap_leader(struct spawn_child *c, int flags);

#endif
