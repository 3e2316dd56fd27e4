/* Extraction of an inspected .zip into a staging folder (zip_extract.h). */
#include "zip_extract.h"

#include "buf.h"
#include "fsat.h"
#include "fsutil.h"
#include "zip_name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define SHOWN 200
#define SYNC_BATCH 64 /* files written back together, then fsync'd */

struct extractor {
    zip_t *za;
    int root;
    struct zip_limits lim;
    struct zip_report *rep;
    struct buf made;  /* folders created, each relative path NUL-terminated */
    uint64_t dirs;    /* how many */
    struct buf last;  /* the folder ensured last (a cache) */
    uint64_t written; /* bytes written so far */
    char *chunk;
    struct {
        int fd;
        const struct zip_plan_entry *pe;
    } pending[SYNC_BATCH]; /* written, writeback started, not yet fsync'd */
    size_t npending;
};

/* Fails the extraction of entry pe: `what` failed with errno e. */
static int io_fail(struct extractor *x, const struct zip_plan_entry *pe, const char *what, int e)
{
    char s[SHOWN];
    zip_name_escape(pe->name, pe->len, s, sizeof s);
    return zip_report_fail(x->rep, ZIP_REASON_IO, (int64_t)pe->index, e, "%s: %s: %s", s, what,
                           strerror(e));
}

/* Creates the folder rel[0..len) (its parent exists) unless it exists as
 * a real folder. Returns 0 or a negative errno. */
static int make_dir(struct extractor *x, const char *rel, size_t len)
{
    char path[ZIP_NAME_MAX_BYTES + 1];
    memcpy(path, rel, len);
    path[len] = '\0';
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash) {
        *slash = '\0';
    }
    int pfd = fsat_open(x->root, slash ? path : "", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (pfd < 0) {
        return pfd;
    }
    int rc = 0;
    if (mkdirat(pfd, base, 0700) == 0) {
        buf_append(&x->made, rel, len);
        buf_append_byte(&x->made, '\0');
        rc = x->made.err;
        x->dirs++;
    } else if (errno == EEXIST) {
        struct stat st;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = -errno;
        } else if (!S_ISDIR(st.st_mode)) {
            rc = S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
        }
    } else {
        rc = -errno;
    }
    close(pfd);
    return rc;
}

/* Makes sure the folder rel[0..len) and its parents exist ("" is root). */
static int ensure_dir(struct extractor *x, const char *rel, size_t len)
{
    if (len == 0 || (x->last.len >= len && memcmp(x->last.data, rel, len) == 0 &&
                     (x->last.len == len || x->last.data[len] == '/'))) {
        return 0;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i == len || rel[i] == '/') {
            int rc = make_dir(x, rel, i);
            if (rc != 0) {
                return rc;
            }
        }
    }
    buf_clear(&x->last);
    return buf_append(&x->last, rel, len);
}

/* Copies the data of entry pe into fd, counting bytes. */
static int copy_entry(struct extractor *x, const struct zip_plan_entry *pe, int fd)
{
    char s[SHOWN];
    zip_name_escape(pe->name, pe->len, s, sizeof s);
    zip_file_t *zf = zip_fopen_index(x->za, pe->index, 0);
    if (!zf) {
        return zip_report_fail(x->rep, ZIP_REASON_BAD_ARCHIVE, (int64_t)pe->index, 0,
                               "%s: cannot read the entry (%s)", s, zip_strerror(x->za));
    }
    uint64_t produced = 0;
    int rc = 0;
    for (;;) {
        zip_int64_t n = zip_fread(zf, x->chunk, CHUNK);
        if (n < 0) {
            zip_error_t *ze = zip_file_get_error(zf);
            int code = zip_error_code_zip(ze);
            rc = zip_report_fail(x->rep,
                                 code == ZIP_ER_CRC      ? ZIP_REASON_CRC
                                 : code == ZIP_ER_INCONS ? ZIP_REASON_SIZE_MISMATCH
                                                         : ZIP_REASON_BAD_ARCHIVE,
                                 (int64_t)pe->index, 0, "%s: %s", s, zip_error_strerror(ze));
            break;
        }
        if (n == 0) {
            if (produced != pe->size) {
                rc = zip_report_fail(x->rep, ZIP_REASON_SIZE_MISMATCH, (int64_t)pe->index, 0,
                                     "%s: %llu bytes of data, but %llu declared", s,
                                     (unsigned long long)produced, (unsigned long long)pe->size);
            }
            break;
        }
        produced += (uint64_t)n;
        if (produced > pe->size) {
            rc = zip_report_fail(x->rep, ZIP_REASON_SIZE_MISMATCH, (int64_t)pe->index, 0,
                                 "%s: yields more than the %llu bytes it declares", s,
                                 (unsigned long long)pe->size);
            break;
        }
        if ((uint64_t)n > x->lim.max_total_bytes - x->written) {
            rc = zip_report_fail(x->rep, ZIP_REASON_TOTAL_TOO_BIG, (int64_t)pe->index, 0,
                                 "%s: extraction passes the total limit of %llu bytes", s,
                                 (unsigned long long)x->lim.max_total_bytes);
            break;
        }
        x->written += (uint64_t)n;
        int w = fsutil_write_all(fd, x->chunk, (size_t)n);
        if (w != 0) {
            rc = io_fail(x, pe, "write", -w);
            break;
        }
    }
    zip_fclose(zf);
    return rc;
}

/* fsyncs and closes the pending files. One fsync (one journal commit)
 * then covers many files whose writeback already ran: far cheaper than a
 * write-then-fsync per file, and each file is still fsync'd through the
 * descriptor that wrote it. Returns 0 or the first failure. */
static int flush_pending(struct extractor *x)
{
    int rc = 0;
    for (size_t i = 0; i < x->npending; i++) {
        if (rc == 0 && fsync(x->pending[i].fd) != 0) {
            rc = io_fail(x, x->pending[i].pe, "cannot sync", errno);
        }
        close(x->pending[i].fd);
    }
    x->npending = 0;
    return rc;
}

/* Extracts one regular file to rel[0..len). */
static int extract_file(struct extractor *x, const struct zip_plan_entry *pe, const char *rel,
                        size_t len)
{
    const char *slash = memrchr(rel, '/', len);
    int rc = ensure_dir(x, rel, slash ? (size_t)(slash - rel) : 0);
    if (rc != 0) {
        return io_fail(x, pe, "cannot create its folder", -rc);
    }
    char path[ZIP_NAME_MAX_BYTES + 1];
    memcpy(path, rel, len);
    path[len] = '\0';
    int fd = fsat_open(x->root, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return io_fail(x, pe, "cannot create", -fd);
    }
    rc = copy_entry(x, pe, fd);
    if (rc == 0 && fchmod(fd, pe->exec ? 0755 : 0644) != 0) {
        rc = io_fail(x, pe, "cannot set the mode of", errno);
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* start writeback; a hint */
    x->pending[x->npending].fd = fd;
    x->pending[x->npending].pe = pe;
    return ++x->npending == SYNC_BATCH ? flush_pending(x) : 0;
}

/* Sets every created folder to 0755 and fsyncs it, then the root. */
static int sync_dirs(struct extractor *x)
{
    for (size_t o = 0; o < x->made.len; o += strlen(x->made.data + o) + 1) {
        int fd = fsat_open(x->root, x->made.data + o, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) {
            return zip_report_fail(x->rep, ZIP_REASON_IO, -1, -fd, "cannot open a folder: %s",
                                   strerror(-fd));
        }
        int ok = fchmod(fd, 0755) == 0 && fsync(fd) == 0;
        int e = errno;
        close(fd);
        if (!ok) {
            return zip_report_fail(x->rep, ZIP_REASON_IO, -1, e, "cannot sync a folder: %s",
                                   strerror(e));
        }
    }
    if (fsync(x->root) != 0) {
        return zip_report_fail(x->rep, ZIP_REASON_IO, -1, errno,
                               "cannot sync the staging folder: %s", strerror(errno));
    }
    return 0;
}

int zip_extract_archive(zip_t *za, const struct zip_plan *plan, int dirfd,
                        const struct zip_limits *l, struct zip_report *rep)
{
    struct extractor x = {.za = za, .root = dirfd, .rep = rep};
    if (l) {
        x.lim = *l;
    } else {
        zip_limits_init(&x.lim);
    }
    x.chunk = malloc(CHUNK);
    if (!x.chunk) {
        return zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "out of memory");
    }
    size_t top_len = strlen(rep->top);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < plan->count; i++) {
        const struct zip_plan_entry *pe = &plan->entries[i];
        if (pe->len <= top_len) {
            continue; /* the top folder itself */
        }
        const char *rel = pe->name + top_len + 1;
        size_t len = pe->len - top_len - 1;
        if (pe->is_dir) {
            int e = ensure_dir(&x, rel, len);
            rc = e ? io_fail(&x, pe, "cannot create the folder", -e) : 0;
        } else {
            rc = extract_file(&x, pe, rel, len);
        }
    }
    int flushed = flush_pending(&x);
    if (rc == 0) {
        rc = flushed;
    }
    if (rc == 0) {
        rc = sync_dirs(&x);
    }
    if (rc == 0) {
        rep->dirs = x.dirs;
        rep->bytes = x.written;
    }
    free(x.chunk);
    buf_free(&x.made);
    buf_free(&x.last);
    return rc;
}

/* Inspects and extracts za (NULL: opening failed, rep says why) into
 * dirfd, emptying dirfd again on failure; closes za. */
static int extract_and_close(zip_t *za, int dirfd, const struct zip_limits *l,
                             struct zip_report *rep)
{
    if (!za) {
        return zip_report_status(rep);
    }
    struct zip_plan plan;
    int rc = zip_inspect_archive(za, l, &plan, rep);
    if (rc == 0) {
        int empty = fsat_is_empty(dirfd);
        if (empty < 0) {
            rc = zip_report_fail(rep, ZIP_REASON_IO, -1, -empty,
                                 "cannot read the staging folder: %s", strerror(-empty));
        } else if (!empty) {
            rc = zip_report_fail(rep, ZIP_REASON_NOT_EMPTY, -1, 0,
                                 "the staging folder is not empty");
        } else {
            rc = zip_extract_archive(za, &plan, dirfd, l, rep);
            if (rc != 0) {
                fsat_clear(dirfd);
            }
        }
        zip_plan_free(&plan);
    }
    zip_discard(za);
    return rc;
}

int zip_extract_path(const char *path, int dirfd, const struct zip_limits *l,
                     struct zip_report *rep)
{
    return extract_and_close(zip_inspect_open_path(path, l, rep), dirfd, l, rep);
}

int zip_extract_buffer(const void *data, size_t len, int dirfd, const struct zip_limits *l,
                       struct zip_report *rep)
{
    return extract_and_close(zip_inspect_open_buffer(data, len, l, rep), dirfd, l, rep);
}
