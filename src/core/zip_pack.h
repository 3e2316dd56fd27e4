/* Packing a folder into a .zip for sharing (reference:
 * shared/reference/security-anchors.md §2.6). Mechanism only: what to
 * leave out is the caller's policy, given as a callback.
 *
 * The walk starts at a folder descriptor and never follows a symlink:
 * entries are examined with fstatat(AT_SYMLINK_NOFOLLOW); symlinks and
 * special files (FIFOs, devices, sockets) are skipped and reported; files
 * are read through descriptors opened with fsat_open (no symlink in any
 * component, O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), one at a time while the
 * archive is written, and must still be the regular file the walk saw
 * (same device, inode and size) or the pack fails. Folders are visited in
 * byte order of their names, so the archive's order is stable.
 *
 * Every entry lies under one top folder named by the caller; names are
 * UTF-8 (ZIP_FL_ENC_UTF_8); external attributes are Unix 0644, 0755 for a
 * file with the owner-execute bit, 0755 for folders (which get their own
 * entries, so empty folders survive); data is deflated. Every name must
 * pass zip_name_check, so an entry import would refuse (a .env the
 * callback did not exclude, a name that is not UTF-8) fails the pack
 * instead of being written. Limits are checked while walking.
 *
 * The archive is written to "<out>.tmp-XXXXXX" next to `out`, closed,
 * fsync'd, inspected with zip_inspect_path (the round-trip self-check),
 * renamed onto `out`, and the folder fsync'd. On any failure `out` is
 * untouched and the temporary file removed. When `out` lies inside the
 * packed folder the temporary file is never packed into itself (an older
 * `out` there is an ordinary file: the caller's policy excludes it). An empty folder gives an
 * archive holding only the top folder's entry (libzip would otherwise
 * delete an archive with no entries). */
#ifndef PIXIE_ZIP_PACK_H
#define PIXIE_ZIP_PACK_H

#include "zip_inspect.h"

/* Why a path was left out. */
enum zip_skip {
    ZIP_SKIP_EXCLUDED, /* the exclude callback said so */
    ZIP_SKIP_SYMLINK,  /* a symbolic link (never followed) */
    ZIP_SKIP_SPECIAL,  /* a FIFO, device or socket */
};

struct zip_pack_opts {
    /* The single top folder's name (one path component, passing
     * zip_name_check). Required. */
    const char *top;
    /* Called for each regular file and folder before it is packed, with
     * its path relative to the packed folder ('/'-separated, no top
     * folder) and whether it is a folder. Returns 0 to pack it, 1 to leave
     * it out (a folder is then not entered), or a negative errno to stop
     * the pack: zip_pack then returns that value (rep: reason io, err).
     * NULL: pack everything. */
    int (*exclude)(const char *relpath, int is_dir, void *ctx);
    /* Called for every path left out (including everything excluded).
     * Returns 0, or a negative errno to stop the pack. NULL: not told. */
    int (*skipped)(const char *relpath, enum zip_skip why, void *ctx);
    void *ctx;
    /* Caps for the walk and the self-check; NULL: defaults. */
    const struct zip_limits *limits;
};

/* Packs the folder open as dirfd (the caller keeps it) into the archive
 * `out` per the rules above. Returns 0 with rep's top, files, dirs
 * (folders below the top) and bytes (uncompressed total) set; or a
 * negative errno with rep saying why: -EBADMSG when a name or size would
 * be refused by import (rep's reason is inspect's), a callback's negative
 * value, or the failed system call's errno (reason io). */
int zip_pack(int dirfd, const char *out, const struct zip_pack_opts *opts, struct zip_report *rep);

#endif
