/* Phase 2 of importing a .zip: extract an inspected archive into a staging
 * folder (reference: shared/reference/security-anchors.md §2.5, rules 9-11).
 *
 * The archive's single top folder is stripped: `top/a/b.txt` becomes
 * `a/b.txt` inside the staging folder, which becomes the tool folder when
 * the caller renames it into place (fsat_rename_noreplace). Creating the
 * staging folder, that rename and removing the staging folder are the
 * caller's.
 *
 * Every folder and file is created relative to the staging folder's
 * descriptor with fsat_open (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
 * files with O_CREAT | O_EXCL, so nothing is written outside it, through a
 * symlink or over an existing file. Bytes are counted while copying: an
 * entry that yields more or fewer bytes than it declares, or a running
 * total over max_total_bytes, fails the extraction; libzip's CRC check at
 * the end of each entry fails it too. Every file and folder is fsync'd
 * (files in batches: writeback starts as each file is closed, the fsyncs
 * come per batch of 64, each through the descriptor that wrote it).
 *
 * Modes: files 0644, or 0755 when the entry's Unix mode has the
 * owner-execute bit; folders 0755 (what zip_pack writes, so a round trip
 * keeps modes). Files are 0600 while being written. The staging folder's
 * own mode is left as the caller made it. Times are not restored. */
#ifndef PIXIE_ZIP_EXTRACT_H
#define PIXIE_ZIP_EXTRACT_H

#include "zip_inspect.h"

#include <stddef.h>

/* Extracts the entries of `plan` (made by zip_inspect_archive on za with
 * the same limits) into the folder open as dirfd. Returns 0 and sets
 * rep's files, dirs and bytes (bytes written); or a negative errno
 * (-EBADMSG for a refused archive) with rep saying why, in which case
 * whatever was written stays: the caller removes it. */
int zip_extract_archive(zip_t *za, const struct zip_plan *plan, int dirfd,
                        const struct zip_limits *l, struct zip_report *rep);

/* Opens the archive at `path` or in data[0..len), inspects it
 * (zip_inspect_archive) and extracts it into the folder open as dirfd,
 * which must be empty (ZIP_REASON_NOT_EMPTY otherwise). l NULL: defaults.
 * Returns 0 with rep's summary (top folder, counts, bytes written), or a
 * negative errno (-EBADMSG for a refused archive) with rep saying why; on
 * failure the folder is emptied again. */
int zip_extract_path(const char *path, int dirfd, const struct zip_limits *l,
                     struct zip_report *rep);
int zip_extract_buffer(const void *data, size_t len, int dirfd, const struct zip_limits *l,
                       struct zip_report *rep);

#endif
