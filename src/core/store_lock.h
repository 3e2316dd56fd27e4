/* The write lock file beside a database (pixie.db.lock): an exclusive
 * flock(2) that serialises the write transactions of different processes
 * (`pixie serve` and a CLI command on the same home). Only store*.c use it.
 * flock locks belong to the open file description, so closing another
 * descriptor of the lock file (or of the database) never drops it. */
#ifndef PIXIE_STORE_LOCK_H
#define PIXIE_STORE_LOCK_H

#include <stddef.h>

/* Opens (creating, mode 0600 whatever the umask) `<db_path>.lock` without
 * following a symbolic link, close-on-exec. Returns the descriptor (the
 * caller closes it) or a negative errno with a message naming the file in
 * err. The file is never deleted: a process waiting on it would lock a
 * name that no longer exists. */
int store_lockfile_open(const char *db_path, char *err, size_t errlen);

/* Takes the exclusive lock on fd, waiting at most wait_ms (0: one try;
 * polling with a short, growing sleep so any thread may give up). Returns
 * 0, -EBUSY when another process still holds it, or another negative
 * errno. */
int store_lockfile_acquire(int fd, long wait_ms);

/* Releases the lock taken by store_lockfile_acquire. */
void store_lockfile_release(int fd);

#endif
