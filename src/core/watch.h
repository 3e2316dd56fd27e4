/* Change watch (inotify): a generation number that moves whenever a
 * watched file may have changed, so an answer computed from those files
 * can be reused until it moves (the dashboard's cached GET /api/tools).
 *
 * Roots are directories. A change of one of a root's entries whose name
 * is in its `names` (any entry when NULL) moves the generation; with
 * `child_names`, every subdirectory of the root (those there now and those
 * made later) is watched too, and a change of one of its entries named in
 * `child_names` moves it.
 *
 * Read-your-writes: the kernel queues an event before the write that
 * caused it returns, and watch_generation reads the queue, so a change
 * made (by any process) before the call is always reflected in its result.
 *
 * When the watch cannot be trusted it says so by moving on every call,
 * which turns caching off rather than serving stale answers: a root that
 * does not exist (yet) or was deleted or moved (re-added by path on each
 * call), a watch the kernel refused (the inotify limit), and a watched
 * name that is a symlink (its target may change without an event here).
 * A lost event queue (overflow) moves it once and the roots' subdirectories
 * are looked for again, so one made meanwhile is watched.
 *
 * Threads: every function may be called from any thread; calls are
 * serialised by the watch's own lock. */
#ifndef PIXIE_WATCH_H
#define PIXIE_WATCH_H

#include "buf.h"

#include <stdint.h>

struct watch;

/* A new watch with no roots, or NULL with a message in err (no inotify). */
struct watch *watch_new(struct buf *err);

/* Adds the root dir (absolute path). names and child_names are
 * NULL-terminated arrays (copied), or NULL. Returns 0 or -errno (-ENOMEM
 * only: a root that cannot be watched now is retried on each call). */
int watch_add(struct watch *w, const char *dir, const char *const *names,
              const char *const *child_names);

/* Reads every queued event and returns the generation: equal results of
 * two calls mean no watched file changed between them. */
uint64_t watch_generation(struct watch *w);

/* Closes the inotify descriptor and frees w. NULL is allowed. */
void watch_free(struct watch *w);

#endif
