/* Safe .env file operations (SPEC §3.2). Every operation opens the folder
 * holding the .env once and works relative to that descriptor:
 *   - a .env that is a symlink is refused (-ELOOP) and its target is
 *     neither read nor written; a .env that is not a regular file is
 *     refused (-EINVAL); files above ENVFILE_MAX_BYTES are refused (-EFBIG);
 *   - when `tools_root` is given, the .env's folder, symlinks resolved, must
 *     lie strictly inside the tools root, symlinks resolved (-EXDEV when it
 *     escapes);
 *   - set/unset are read-modify-write under an exclusive flock(2) on the
 *     folder's own descriptor (no lock file is created), so concurrent
 *     writers in any process never lose an update;
 *   - the new content is written with fsutil_write_atomic_at: temp file
 *     "<name>.tmp-XXXXXXXX" (O_EXCL|O_NOFOLLOW), fchmod 0600, fsync, rename,
 *     fsync of the folder; the result is mode 0600 whatever the umask or the
 *     old mode; stray temp files of earlier interrupted writes are removed.
 * Functions return 0 or a negative errno (or a dotenv.h error for values);
 * they never print. */
#ifndef PIXIE_ENVFILE_H
#define PIXIE_ENVFILE_H

#include <stddef.h>

struct buf;

#define ENVFILE_MAX_BYTES (1024u * 1024u)

/* Appends the .env at `path` (tools_root may be NULL) to the caller's
 * buffer `out`. Returns 0, or -ENOENT when it does not exist, -ELOOP,
 * -EINVAL, -EFBIG, -EXDEV, out's error (-ENOMEM) or another negative errno;
 * on failure out keeps its old length as with fsutil_read. */
int envfile_read(const char *path, const char *tools_root, struct buf *out);

/* Binds key to value[0..value_len) in the .env at `path` (created when
 * missing), see dotenv_set for the rewrite. *interp_warning (may be NULL)
 * is set when the value contains "${". Returns 0, a dotenv_set error
 * (-EINVAL bad key or NUL in value, -EILSEQ invalid UTF-8 in the value or
 * the file, -EDOM a value python-dotenv could not read back, -EBADMSG) or
 * a file error as above. */
int envfile_set(const char *path, const char *tools_root, const char *key, const char *value,
                size_t value_len, int *interp_warning);

/* Removes every binding of key from the .env at `path`. *removed (may be
 * NULL) is the number of bindings removed; the file is rewritten only when
 * it is > 0, and a missing file is not an error (nothing removed). Returns 0
 * or a negative errno as for envfile_set. */
int envfile_unset(const char *path, const char *tools_root, const char *key, int *removed);

#endif
