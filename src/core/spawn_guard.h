/* Private to spawn_tree.c: the watchdog, a process forked once by
 * spawn_init that kills every registered leader's whole tree when Pixie
 * dies (its socket reaches EOF) or when it gets SIGTERM. Pixie talks to it
 * with guard_msg datagrams on a SOCK_SEQPACKET pair. */
#ifndef PIXIE_SPAWN_GUARD_H
#define PIXIE_SPAWN_GUARD_H

#include <stdint.h>

#define GUARD_SLOTS 4096 /* leaders the watchdog can hold */

enum { GUARD_ADD_LEADER = 1, GUARD_DEL_LEADER, GUARD_QUIT };

struct guard_msg {
    int32_t op; /* GUARD_ADD_LEADER / GUARD_DEL_LEADER: pid; GUARD_QUIT: exit, kill nothing */
    int32_t pid;
    uint64_t start; /* the leader's /proc start time, to refuse a recycled pid */
};

/* The watchdog's body, in the forked child, with `sock` its end of the
 * pair: names itself pixie-watchdog (comm and command line), reads
 * messages until EOF or SIGTERM, waits for Pixie's exit to complete, then
 * freezes (SIGSTOP) and kills (SIGKILL) every registered leader's tree.
 * Never returns. */
_Noreturn void spawn_guard_main(int sock);

#endif
