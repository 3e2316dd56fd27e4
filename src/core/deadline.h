/* Absolute times for pthread_cond_timedwait: now on a clock plus a delay.
 * Any thread. */
#ifndef PIXIE_DEADLINE_H
#define PIXIE_DEADLINE_H

#include <time.h>

/* The time `ms` milliseconds (>= 0) from now on `clock` (CLOCK_REALTIME for a
 * condition variable with default attributes, CLOCK_MONOTONIC for one set
 * to it with pthread_condattr_setclock). */
struct timespec deadline_after_ms(clockid_t clock, long ms);

#endif
