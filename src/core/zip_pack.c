/* Packing a folder into a .zip (zip_pack.h). */
#include "zip_pack.h"

#include "buf.h"
#include "fsat.h"
#include "fsutil.h"
#include "zip_name.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOWN 200
#define DOS_DIRECTORY 0x10u /* MS-DOS attribute bit, set by Info-ZIP too */
#define DEFLATE_LEVEL 6     /* zlib and Info-ZIP zip default; libzip 1.7 defaults to 9 */

struct packer {
    zip_t *za;
    int root;
    const struct zip_pack_opts *o;
    struct zip_limits lim;
    struct zip_report *rep;
    struct buf path; /* "top/rel" of the entry being visited */
    size_t top_len;
    uint64_t entries;
    dev_t tmp_dev; /* the temporary archive, never packed into itself */
    ino_t tmp_ino;
    int src_err;          /* first failure inside a file source (negative errno) */
    char src_name[SHOWN]; /* its entry, escaped */
};

/* One file's data, read lazily while zip_close writes the archive. */
struct pack_src {
    struct packer *p;
    char *rel; /* path relative to the packed folder */
    dev_t dev;
    ino_t ino;
    uint64_t size, done;
    time_t mtime;
    int fd;
    zip_error_t err;
};

/* Records a failure e (negative errno) of source s; returns -1 for libzip. */
static zip_int64_t src_fail(struct pack_src *s, int e)
{
    zip_error_set(&s->err, ZIP_ER_READ, -e);
    if (s->p->src_err == 0) {
        s->p->src_err = e;
        zip_name_escape(s->rel, strlen(s->rel), s->p->src_name, sizeof s->p->src_name);
    }
    return -1;
}

/* Opens the file again, beneath the root and without following anything,
 * and checks it is still the file the walk saw. */
static zip_int64_t src_open(struct pack_src *s)
{
    int fd = fsat_open(s->p->root, s->rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0) {
        return src_fail(s, fd);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return src_fail(s, -e);
    }
    if (!S_ISREG(st.st_mode) || st.st_dev != s->dev || st.st_ino != s->ino ||
        (uint64_t)st.st_size != s->size) {
        close(fd);
        return src_fail(s, -ESTALE);
    }
    s->fd = fd;
    s->done = 0;
    return 0;
}

/* Reads at most the size the walk saw; a file that shrank or grew fails. */
static zip_int64_t src_read(struct pack_src *s, void *data, zip_uint64_t len)
{
    uint64_t want = s->size - s->done < len ? s->size - s->done : len;
    if (want == 0) {
        struct stat st;
        if (fstat(s->fd, &st) != 0 || (uint64_t)st.st_size != s->size) {
            return src_fail(s, -ESTALE);
        }
        return 0;
    }
    ssize_t n;
    do {
        n = read(s->fd, data, (size_t)want);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return src_fail(s, n < 0 ? -errno : -ESTALE);
    }
    s->done += (uint64_t)n;
    return n;
}

/* The zip_source_callback of a packed file. */
static zip_int64_t src_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct pack_src *s = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        return src_open(s);
    case ZIP_SOURCE_READ:
        return src_read(s, data, len);
    case ZIP_SOURCE_CLOSE:
        if (s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
        return 0;
    case ZIP_SOURCE_STAT: {
        if (len < sizeof(zip_stat_t)) {
            zip_error_set(&s->err, ZIP_ER_INVAL, 0);
            return -1;
        }
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = s->size;
        st->mtime = s->mtime;
        st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&s->err, data, len);
    case ZIP_SOURCE_FREE:
        if (s->fd >= 0) {
            close(s->fd);
        }
        zip_error_fini(&s->err);
        free(s->rel);
        free(s);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
    default:
        zip_error_set(&s->err, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* Fails the pack on the current path with reason r (not io). */
static int fail_path(struct packer *p, enum zip_reason r, const char *what)
{
    char s[SHOWN];
    zip_name_escape(p->path.data, p->path.len, s, sizeof s);
    return zip_report_fail(p->rep, r, -1, 0, "%s: %s (import would refuse it)", s, what);
}

/* Fails the pack on the current path with the system error e (> 0). */
static int fail_io(struct packer *p, const char *what, int e)
{
    char s[SHOWN];
    zip_name_escape(p->path.data, p->path.len, s, sizeof s);
    return zip_report_fail(p->rep, ZIP_REASON_IO, -1, e, "%s: %s: %s", s, what, strerror(e));
}

/* Fails the pack with libzip's error on the archive. */
static int fail_zip(struct packer *p)
{
    char s[SHOWN];
    zip_name_escape(p->path.data, p->path.len, s, sizeof s);
    return zip_report_fail(p->rep, ZIP_REASON_IO, -1, EIO, "%s: %s", s, zip_strerror(p->za));
}

/* Checks the current path as an entry name and counts the entry. */
static int check_entry(struct packer *p)
{
    enum zip_reason r = zip_name_check(p->path.data, p->path.len, 1);
    if (r != ZIP_REASON_OK) {
        return fail_path(p, r, zip_name_phrase(r));
    }
    if (++p->entries > p->lim.max_entries) {
        return zip_report_fail(p->rep, ZIP_REASON_TOO_MANY_ENTRIES, -1, 0,
                               "more than %llu entries (import would refuse it)",
                               (unsigned long long)p->lim.max_entries);
    }
    return 0;
}

/* Sets entry idx's Unix mode and, for files, deflate. */
static int set_entry(struct packer *p, zip_int64_t idx, mode_t mode, int is_dir)
{
    zip_uint32_t attr = ((zip_uint32_t)mode << 16) | (is_dir ? DOS_DIRECTORY : 0);
    if (zip_file_set_external_attributes(p->za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, attr) != 0 ||
        (!is_dir &&
         zip_set_file_compression(p->za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, DEFLATE_LEVEL) != 0)) {
        return fail_zip(p);
    }
    return 0;
}

/* Adds the current path (a folder) as an entry. */
static int add_dir(struct packer *p)
{
    int rc = check_entry(p);
    if (rc != 0) {
        return rc;
    }
    zip_int64_t idx = zip_dir_add(p->za, p->path.data, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        return fail_zip(p);
    }
    p->rep->dirs += p->path.len > p->top_len;
    return set_entry(p, idx, S_IFDIR | 0755, 1);
}

/* Adds the current path, the regular file st, as an entry. */
static int add_file(struct packer *p, const struct stat *st)
{
    int rc = check_entry(p);
    if (rc != 0) {
        return rc;
    }
    uint64_t size = (uint64_t)st->st_size;
    if (size > p->lim.max_file_bytes) {
        return fail_path(p, ZIP_REASON_FILE_TOO_BIG, "over the per-file size limit");
    }
    if (size > p->lim.max_total_bytes - p->rep->bytes) {
        return fail_path(p, ZIP_REASON_TOTAL_TOO_BIG, "the files pass the total size limit");
    }
    struct pack_src *s = calloc(1, sizeof *s);
    char *rel = strdup(p->path.data + p->top_len + 1);
    zip_source_t *src = NULL;
    if (s && rel) {
        *s = (struct pack_src){p, rel, st->st_dev, st->st_ino, size, 0, st->st_mtime, -1, {0}};
        zip_error_init(&s->err);
        src = zip_source_function(p->za, src_cb, s);
    }
    if (!src) {
        free(s);
        free(rel);
        return fail_io(p, "out of memory", ENOMEM);
    }
    zip_int64_t idx = zip_file_add(p->za, p->path.data, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return fail_zip(p);
    }
    p->rep->files++;
    p->rep->bytes += size;
    return set_entry(p, idx, S_IFREG | ((st->st_mode & S_IXUSR) ? 0755 : 0644), 0);
}

/* qsort order of names: byte order (strcmp). */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in the folder open as dfd, sorted; *names is a malloc'd array
 * of *count pointers into *store (the caller frees both). */
static int list_dir(int dfd, struct buf *store, char ***names, size_t *count)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return -e;
    }
    size_t n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            buf_append(store, e->d_name, strlen(e->d_name) + 1);
            n++;
        }
    }
    int rc = errno ? -errno : store->err;
    closedir(d);
    *names = rc == 0 ? malloc((n + 1) * sizeof **names) : NULL;
    if (rc == 0 && !*names) {
        rc = -ENOMEM;
    }
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0, o = 0; i < n; i++, o += strlen(store->data + o) + 1) {
        (*names)[i] = store->data + o;
    }
    qsort(*names, n, sizeof **names, cmp_names);
    *count = n;
    return 0;
}

/* Reports the current path as skipped; returns the callback's verdict. */
static int skip(struct packer *p, enum zip_skip why)
{
    if (!p->o->skipped) {
        return 0;
    }
    int rc = p->o->skipped(p->path.data + p->top_len + 1, why, p->o->ctx);
    return rc < 0 ? fail_io(p, "stopped by the caller", -rc) : 0;
}

static int walk(struct packer *p, int dfd);

/* Visits the entry `name` of the folder dfd (p->path already names it). */
static int visit(struct packer *p, int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return fail_io(p, "cannot examine", errno);
    }
    if (st.st_dev == p->tmp_dev && st.st_ino == p->tmp_ino) {
        return 0; /* the archive being written, when `out` is inside the folder */
    }
    if (S_ISLNK(st.st_mode)) {
        return skip(p, ZIP_SKIP_SYMLINK);
    }
    int is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && !S_ISREG(st.st_mode)) {
        return skip(p, ZIP_SKIP_SPECIAL);
    }
    if (p->o->exclude) {
        int ex = p->o->exclude(p->path.data + p->top_len + 1, is_dir, p->o->ctx);
        if (ex < 0) {
            return fail_io(p, "stopped by the caller", -ex);
        }
        if (ex > 0) {
            return skip(p, ZIP_SKIP_EXCLUDED);
        }
    }
    if (!is_dir) {
        return add_file(p, &st);
    }
    int rc = add_dir(p);
    if (rc != 0) {
        return rc;
    }
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        return fail_io(p, "cannot open", errno);
    }
    rc = walk(p, sub);
    close(sub);
    return rc;
}

/* Packs the contents of the folder dfd, whose entry name is p->path. */
static int walk(struct packer *p, int dfd)
{
    struct buf store = {0};
    char **names = NULL;
    size_t count = 0;
    int rc = list_dir(dfd, &store, &names, &count);
    if (rc != 0) {
        buf_free(&store);
        return fail_io(p, "cannot list", -rc);
    }
    size_t base = p->path.len;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        p->path.len = base;
        buf_append_byte(&p->path, '/');
        buf_append(&p->path, names[i], strlen(names[i]));
        rc = p->path.err ? fail_io(p, "out of memory", ENOMEM) : visit(p, dfd, names[i]);
    }
    p->path.len = base;
    if (p->path.data) {
        p->path.data[base] = '\0';
    }
    free(names);
    buf_free(&store);
    return rc;
}

/* Writes the archive to the temporary file tmp (walk, then zip_close). */
static int write_archive(struct packer *p, const char *tmp)
{
    int ze = 0;
    p->za = zip_open(tmp, ZIP_TRUNCATE, &ze);
    if (!p->za) {
        zip_error_t e;
        zip_error_init_with_code(&e, ze);
        int rc = zip_report_fail(p->rep, ZIP_REASON_IO, -1, EIO, "cannot create %s: %s", tmp,
                                 zip_error_strerror(&e));
        zip_error_fini(&e);
        return rc;
    }
    int rc = add_dir(p);
    if (rc == 0) {
        rc = walk(p, p->root);
    }
    if (rc == 0 && zip_close(p->za) == 0) {
        return 0;
    }
    if (rc == 0 && p->src_err != 0) {
        rc = zip_report_fail(p->rep, ZIP_REASON_IO, -1, -p->src_err, "%s: %s", p->src_name,
                             p->src_err == -ESTALE ? "changed while being packed"
                                                   : strerror(-p->src_err));
    } else if (rc == 0) {
        rc = zip_report_fail(p->rep, ZIP_REASON_IO, -1, EIO, "cannot write the archive: %s",
                             zip_strerror(p->za));
    }
    zip_discard(p->za);
    return rc;
}

/* fsyncs the file at path. */
static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Self-check, then rename tmp onto out and sync the folder. */
static int publish(struct packer *p, const char *tmp, const char *out)
{
    int rc = sync_file(tmp);
    if (rc != 0) {
        return zip_report_fail(p->rep, ZIP_REASON_IO, -1, -rc, "cannot sync %s: %s", tmp,
                               strerror(-rc));
    }
    struct zip_report check;
    rc = zip_inspect_path(tmp, &p->lim, &check);
    if (rc != 0) {
        return zip_report_fail(p->rep, check.reason, check.entry, check.err,
                               "the archive fails import's checks: %s", check.message);
    }
    if (rename(tmp, out) != 0) {
        return zip_report_fail(p->rep, ZIP_REASON_IO, -1, errno, "cannot rename onto %s: %s", out,
                               strerror(errno));
    }
    rc = fsutil_sync_parent(out);
    if (rc != 0) {
        return zip_report_fail(p->rep, ZIP_REASON_IO, -1, -rc, "cannot sync the folder of %s: %s",
                               out, strerror(-rc));
    }
    return 0;
}

int zip_pack(int dirfd, const char *out, const struct zip_pack_opts *opts, struct zip_report *rep)
{
    zip_report_init(rep);
    const char *top = opts->top ? opts->top : "";
    size_t top_len = strlen(top);
    if (top_len == 0 || top_len > ZIP_NAME_MAX_COMPONENT || strchr(top, '/') ||
        zip_name_check(top, top_len, 1) != ZIP_REASON_OK) {
        return zip_report_fail(rep, ZIP_REASON_TOP_FOLDER, -1, 0,
                               "the top folder name is not a valid single path component");
    }
    struct packer p = {.o = opts, .rep = rep, .top_len = top_len};
    if (opts->limits) {
        p.lim = *opts->limits;
    } else {
        zip_limits_init(&p.lim);
    }
    size_t out_len = strlen(out);
    char *tmp = malloc(out_len + sizeof ".tmp-XXXXXX");
    p.root = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    int tfd = -1;
    if (tmp) {
        memcpy(tmp, out, out_len);
        memcpy(tmp + out_len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
        tfd = mkostemp(tmp, O_CLOEXEC);
    }
    struct stat tst;
    if (tfd >= 0 && fstat(tfd, &tst) == 0) {
        p.tmp_dev = tst.st_dev;
        p.tmp_ino = tst.st_ino;
    }
    int rc;
    if (!tmp || p.root < 0 || tfd < 0) {
        int e = tmp ? errno : ENOMEM;
        rc = zip_report_fail(rep, ZIP_REASON_IO, -1, e, "cannot create a file next to %s: %s", out,
                             strerror(e));
    } else {
        close(tfd);
        buf_append(&p.path, top, top_len);
        rc = p.path.err ? zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "out of memory")
                        : write_archive(&p, tmp);
        if (rc == 0) {
            rc = publish(&p, tmp, out);
        }
        if (rc != 0) {
            unlink(tmp);
        }
    }
    if (rc == 0) {
        memcpy(rep->top, top, top_len + 1);
    }
    if (p.root >= 0) {
        close(p.root);
    }
    buf_free(&p.path);
    free(tmp);
    return rc;
}
