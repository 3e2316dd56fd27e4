/* Private to spawn.c and spawn_tree.c. */
#ifndef PIXIE_SPAWN_TREE_H
#define PIXIE_SPAWN_TREE_H

#include "spawn.h"

/* Registers a leader we spawned (until it is reaped). */
void spawn_track_add(pid_t pid);

/* Tells the watchdog about a new process group. */
void spawn_guard_add_group(pid_t pgid);

/* Reaps c's leader if it has exited (waitpid flags, e.g. WNOHANG); closes
 * its pidfd and forgets it. Returns 1 when reaped (now or before), else 0. */
int spawn_reap_leader(struct spawn_child *c, int flags);

/* Sleeps ms milliseconds (EINTR-safe). */
void spawn_sleep_ms(int ms);

#endif
