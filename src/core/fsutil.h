/* File-system mechanisms shared by the core: bounded reads, atomic
 * replacement, directory creation. All functions return 0 on success or a
 * negative errno value; they never print and never exit. */
#ifndef PIXIE_FSUTIL_H
#define PIXIE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Appends the whole file `path` (not a folder; following no symlink when
 * `nofollow` is set) to the caller's buffer `out`. Fails with -EFBIG when
 * it is larger than `limit` bytes; on any failure out keeps its old length
 * (its error sticks when growing it failed). A FIFO with no writer reads as
 * empty instead of blocking the open. */
int fsutil_read(const char *path, size_t limit, int nofollow, struct buf *out);

/* Appends the rest of the file open as `fd` (not a folder) to `out`, like
 * fsutil_read; the caller keeps and closes fd. */
int fsutil_read_fd(int fd, size_t limit, struct buf *out);

/* Writes all `len` bytes of `data` to the blocking descriptor fd, retrying
 * on EINTR and short writes. Returns 0 or a negative errno. */
int fsutil_write_all(int fd, const void *data, size_t len);

/* Replaces `path` atomically with `len` bytes of `data` and permission
 * `mode` whatever the umask: a temp file "<path>.tmp-XXXX" created with
 * O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC in the same folder, fchmod, write,
 * fsync, rename over `path`, fsync of the folder. Refuses (-ELOOP) when
 * `path` is a symlink. On failure the temp file is removed and `path` is
 * untouched. */
int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* fsutil_write_atomic for the entry `name` of the folder open as `dirfd`
 * (temp file, rename and folder fsync all relative to dirfd, so a swapped
 * path cannot redirect the write). A temp descriptor <= 2 is moved higher. */
int fsutil_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* Removes leftover "<path>.tmp-*" files from interrupted atomic writes.
 * Returns the number removed or a negative errno. */
int fsutil_clean_temps(const char *path);

/* fsutil_clean_temps for the entry `name` of the folder open as `dirfd`. */
int fsutil_clean_temps_at(int dirfd, const char *name);

/* mkdir -p with `mode` for created folders. */
int fsutil_mkdirs(const char *path, mode_t mode);

/* fsyncs the folder containing `path`. */
int fsutil_sync_parent(const char *path);

#endif
