/* A process-wide "interrupted" flag for Ctrl-C during a run: while armed, a
 * SIGINT handler sets the flag instead of ending the process; blocking
 * calls that can be interrupted (httpc transfers) poll it and give up. */
#ifndef PIXIE_INTERRUPT_H
#define PIXIE_INTERRUPT_H

/* Installs the SIGINT handler (the previous one kept) and clears the flag.
 * Returns 0 or -errno. Arming twice is a no-op. Not thread-safe against a
 * concurrent arm/disarm (the CLI's main thread does both). */
int interrupt_arm(void);

/* Restores the SIGINT handler that arm replaced and clears the flag. */
void interrupt_disarm(void);

/* 1 when SIGINT arrived since arm (or the last clear), else 0.
 * Async-signal-safe and thread-safe. */
int interrupt_pending(void);

/* Clears the flag (a second Ctrl-C sets it again). */
void interrupt_clear(void);

#endif
