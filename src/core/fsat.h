/* File operations relative to a folder descriptor that never follow a
 * symlink and never leave that folder: the mechanisms zip extraction,
 * export and the staging/rename dance of import-tool are built on.
 * All functions return 0 (or a descriptor) on success, a negative errno
 * value on failure; they never print and never exit. */
#ifndef PIXIE_FSAT_H
#define PIXIE_FSAT_H

#include <dirent.h>
#include <sys/types.h>

/* Opens `rel` (relative, '/'-separated, no empty component) beneath the
 * folder open as `dirfd` like openat(dirfd, rel, flags | O_NOFOLLOW, mode),
 * except that no component may be a symlink (-ELOOP) and the result may
 * not lie outside dirfd (-EXDEV for "..", an absolute path or an escape).
 * Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS); where the kernel lacks it (ENOSYS) or a seccomp
 * filter refuses it (EPERM), walks the components with O_NOFOLLOW and
 * refuses any ".." component. "" and "." open dirfd's folder itself.
 * Returns the new descriptor (the caller closes it) or a negative errno. */
int fsat_open(int dirfd, const char *rel, int flags, mode_t mode);

/* The fallback of fsat_open, callable on its own (tests use it): walks the
 * components of `rel` with openat(O_NOFOLLOW), a symlink component fails
 * with -ELOOP, a ".." component or an absolute path with -EXDEV. */
int fsat_open_walk(int dirfd, const char *rel, int flags, mode_t mode);

/* Removes the entry `name` of the folder open as `dirfd` and, when it is a
 * real folder (not a symlink to one), everything inside it first. Symlinks
 * are removed, never followed. A missing entry is not an error. */
int fsat_remove_tree(int dirfd, const char *name);

/* Removes everything inside the folder open as `dirfd` (fsat_remove_tree
 * on each entry) and leaves the folder itself. */
int fsat_clear(int dirfd);

/* A fresh DIR stream over the folder `dirfd` (which stays open and owned
 * by the caller; its own read position is untouched): closedir frees it.
 * NULL with errno set on failure. */
DIR *fsat_opendir(int dirfd);

/* Returns 1 when the folder open as `dirfd` has no entry besides "." and
 * "..", 0 when it has one, or a negative errno. */
int fsat_is_empty(int dirfd);

/* renameat2(olddirfd, oldname, newdirfd, newname, RENAME_NOREPLACE):
 * moves the entry into place only when `newname` does not exist (-EEXIST
 * otherwise), atomically. -EINVAL when the filesystem cannot do it. */
int fsat_rename_noreplace(int olddirfd, const char *oldname, int newdirfd, const char *newname);

#endif
