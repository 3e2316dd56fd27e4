/* Phase 1 of importing a .zip: validate the whole central directory before
 * anything is written (reference: shared/reference/security-anchors.md
 * §2.5). Mechanism only: which tool id the top folder must have and what
 * tool.json must say are the caller's policy.
 *
 * An archive is accepted only when all of these hold:
 *   * the file is at most max_archive_bytes and libzip opens it with
 *     ZIP_RDONLY | ZIP_CHECKCONS (local and central headers agree, no two
 *     entries with the same name);
 *   * at most max_entries entries (what the end-of-central-directory
 *     records claim is checked before libzip reads the directory: libzip
 *     1.7.3 hashes names with djb2, which crafted names flood), declared
 *     sizes summing to at most max_total_bytes;
 *   * every raw name (ZIP_FL_ENC_RAW) passes zip_name_check (zip_name.h):
 *     printable ASCII, or strict UTF-8 when general-purpose bit 11 says so;
 *     no control character, backslash or colon; relative; no empty, "." or
 *     ".." component; components <= 255 bytes, names <= 1024, depth <= 32;
 *     no .env / .env.* / .git / .venv component in any case or alias;
 *   * Unix modes (opsys Unix or OS X) are a regular file or a folder of the
 *     kind the name says, with no setuid, setgid or sticky bit; other
 *     opsys values: a name ending in '/' is a folder, anything else a file;
 *   * not encrypted; stored or deflated; size <= max_file_bytes; entries
 *     above ratio_min_bytes expand at most max_ratio times;
 *   * no two entries (nor implied parent folders) with the same folded key
 *     (zip_name_key), no file used as a folder;
 *   * every entry lies under one top folder (raw bytes equal).
 * The first failure in that order wins (archive-wide checks first, then the
 * entries in index order, then the cross-entry checks), so a hostile
 * archive with one flaw gets that flaw's reason.
 *
 * What libzip 1.7.3 decides for us (measured; tests/e2e/test_zip_core.py):
 *   * a name flagged UTF-8 that is not UTF-8, overlapping entries whose
 *     local names differ from the central ones, and local headers that
 *     disagree with the central directory fail the open: "inconsistent".
 *     That includes one legitimate kind: Info-ZIP zip writing to a pipe
 *     (data descriptors with a size in the local header) -- refused;
 *   * two entries with the same raw name fail the open: "duplicate";
 *   * the Info-ZIP Unicode path field, when present and matching, replaces
 *     the raw name; that is the name checked and extracted;
 *   * a name with a NUL byte is cut at the NUL (as Python does); the cut
 *     name is the one checked and extracted.
 * Unflagged names must be printable ASCII: Info-ZIP zip 3.0 on Linux
 * stores UTF-8 names without the flag, which readers decode differently
 * (CP437 by the spec and Python, UTF-8 by unzip), so they are refused. */
#ifndef PIXIE_ZIP_INSPECT_H
#define PIXIE_ZIP_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <zip.h>

/* Default limits; a caller raises them through struct zip_limits. */
#define ZIP_DEFAULT_MAX_ARCHIVE_BYTES (64ull << 20) /* the .zip file itself */
#define ZIP_DEFAULT_MAX_ENTRIES 10000ull
#define ZIP_DEFAULT_MAX_FILE_BYTES (64ull << 20)   /* one entry, uncompressed */
#define ZIP_DEFAULT_MAX_TOTAL_BYTES (256ull << 20) /* all entries, uncompressed */
#define ZIP_DEFAULT_MAX_RATIO 200ull               /* size / compressed size */
#define ZIP_DEFAULT_RATIO_MIN_BYTES (1ull << 20)   /* ratio checked above this */

/* Fixed name rules (not limits: they keep names valid on every platform). */
#define ZIP_NAME_MAX_BYTES 1024
#define ZIP_NAME_MAX_COMPONENT 255
#define ZIP_NAME_MAX_DEPTH 32

struct zip_limits {
    uint64_t max_archive_bytes;
    uint64_t max_entries;
    uint64_t max_file_bytes;
    uint64_t max_total_bytes;
    uint64_t max_ratio;
    uint64_t ratio_min_bytes;
};

/* Why an archive was refused. Each value has a stable machine-readable code
 * (zip_reason_code) that tests and the Lua layer match on. */
enum zip_reason {
    ZIP_REASON_OK = 0,
    ZIP_REASON_IO,               /* "io": a system call failed (see err) */
    ZIP_REASON_ARCHIVE_TOO_BIG,  /* "archive_too_big" */
    ZIP_REASON_BAD_ARCHIVE,      /* "bad_archive": not a zip, truncated, unreadable */
    ZIP_REASON_INCONSISTENT,     /* "inconsistent": headers disagree (overlap bombs) */
    ZIP_REASON_EMPTY,            /* "empty": no entry at all */
    ZIP_REASON_TOO_MANY_ENTRIES, /* "too_many_entries" */
    ZIP_REASON_TOTAL_TOO_BIG,    /* "total_too_big": declared or extracted sum */
    ZIP_REASON_NAME_ENCODING,    /* "name_encoding": not ASCII / strict UTF-8 */
    ZIP_REASON_NAME_CONTROL,     /* "name_control": control character */
    ZIP_REASON_NAME_BACKSLASH,   /* "name_backslash" */
    ZIP_REASON_NAME_COLON,       /* "name_colon": drive letters, NTFS streams */
    ZIP_REASON_NAME_ABSOLUTE,    /* "name_absolute": leading '/' */
    ZIP_REASON_NAME_TRAVERSAL,   /* "name_traversal": a ".." component */
    ZIP_REASON_NAME_COMPONENT,   /* "name_component": empty or "." component */
    ZIP_REASON_NAME_TOO_LONG,    /* "name_too_long": component or whole name */
    ZIP_REASON_NAME_TOO_DEEP,    /* "name_too_deep" */
    ZIP_REASON_DOTENV,           /* "dotenv": .env or .env.* (secrets) */
    ZIP_REASON_GIT,              /* "git": .git and its aliases */
    ZIP_REASON_VENV,             /* "venv": .venv */
    ZIP_REASON_SYMLINK,          /* "symlink" */
    ZIP_REASON_SPECIAL_FILE,     /* "special_file": FIFO, device, socket */
    ZIP_REASON_SETID_MODE,       /* "setid_mode": setuid, setgid, sticky */
    ZIP_REASON_BAD_ENTRY,        /* "bad_entry": folder with data, kind mismatch */
    ZIP_REASON_ENCRYPTED,        /* "encrypted" */
    ZIP_REASON_METHOD,           /* "method": neither stored nor deflated */
    ZIP_REASON_FILE_TOO_BIG,     /* "file_too_big" */
    ZIP_REASON_RATIO,            /* "ratio": compression ratio over the cap */
    ZIP_REASON_DUPLICATE,        /* "duplicate": same folded name twice */
    ZIP_REASON_CONFLICT,         /* "conflict": a file is also a folder */
    ZIP_REASON_TOP_FOLDER,       /* "top_folder": not exactly one top folder */
    ZIP_REASON_SIZE_MISMATCH,    /* "size_mismatch": data disagrees with declared size */
    ZIP_REASON_CRC,              /* "crc": checksum mismatch while extracting */
    ZIP_REASON_NOT_EMPTY,        /* "not_empty": extraction folder not empty */
    ZIP_REASON_COUNT
};

/* The outcome of inspect, extract or pack. On success reason is OK and the
 * summary fields are set; on failure reason, entry and message say why. */
struct zip_report {
    enum zip_reason reason;
    int64_t entry;     /* index of the entry at fault, or -1 */
    int err;           /* errno for ZIP_REASON_IO (and libzip system errors), else 0 */
    char message[768]; /* one line for humans; names escaped (zip_name_escape) */
    char top[ZIP_NAME_MAX_COMPONENT + 1]; /* the top folder's name */
    uint64_t files, dirs; /* regular files; folders (explicit or implied) below top */
    uint64_t bytes;       /* inspect: declared total; extract/pack: bytes written */
};

/* One validated entry, in archive order. `name` points into the zip_t the
 * plan was made from (valid until the archive is closed). */
struct zip_plan_entry {
    zip_uint64_t index;
    const char *name; /* raw name, with the top folder and any trailing '/' */
    size_t len;       /* length of name without a trailing '/' */
    uint64_t size;    /* declared uncompressed size */
    unsigned is_dir : 1;
    unsigned exec : 1; /* owner-execute bit set in a Unix mode */
};

struct zip_plan {
    struct zip_plan_entry *entries; /* malloc'd; zip_plan_free releases */
    size_t count;
};

/* Fills l with the ZIP_DEFAULT_* values. */
void zip_limits_init(struct zip_limits *l);

/* The stable machine-readable code of r ("name_traversal"); "unknown" for
 * a value out of range. Never NULL. */
const char *zip_reason_code(enum zip_reason r);

/* Resets rep to "accepted, nothing counted" (reason OK, entry -1). */
void zip_report_init(struct zip_report *rep);

/* Records a failure in rep: reason, entry (-1 for none), err, and the
 * message printf-formatted from fmt. Returns the value inspect/extract
 * return for it: -EBADMSG for a refusal, -err for ZIP_REASON_IO. */
int zip_report_fail(struct zip_report *rep, enum zip_reason reason, int64_t entry, int err,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The return value matching rep: 0 when accepted, -EBADMSG for a
 * refusal, -err (or -EIO) for ZIP_REASON_IO. */
int zip_report_status(const struct zip_report *rep);

/* Opens the archive at `path` (a symlink to it is followed: the path is the
 * caller's choice) or held in data[0..len) (which must outlive the
 * archive), read-only with ZIP_CHECKCONS, after checking its size against
 * l->max_archive_bytes (l NULL: defaults). Returns the archive (close it
 * with zip_discard) or NULL with rep filled. */
zip_t *zip_inspect_open_path(const char *path, const struct zip_limits *l, struct zip_report *rep);
zip_t *zip_inspect_open_buffer(const void *data, size_t len, const struct zip_limits *l,
                               struct zip_report *rep);

/* Runs every check above on an open archive. On success returns 0, fills
 * the summary of rep and, when plan is not NULL, *plan (the caller frees it
 * with zip_plan_free). On failure returns -EBADMSG (refused) or another
 * negative errno (-ENOMEM), rep says why and *plan is left empty. */
int zip_inspect_archive(zip_t *za, const struct zip_limits *l, struct zip_plan *plan,
                        struct zip_report *rep);

/* Opens and inspects in one call (no plan kept). Returns as
 * zip_inspect_archive; opening failures return -EBADMSG (a bad archive)
 * or the negative errno of the failed system call. */
int zip_inspect_path(const char *path, const struct zip_limits *l, struct zip_report *rep);
int zip_inspect_buffer(const void *data, size_t len, const struct zip_limits *l,
                       struct zip_report *rep);

/* Frees plan's entries and leaves it empty; idempotent. */
void zip_plan_free(struct zip_plan *plan);

#endif
