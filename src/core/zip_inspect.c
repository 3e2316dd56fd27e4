/* Phase-1 validation of a .zip (see zip_inspect.h for the rules). */
#include "zip_inspect.h"

#include "buf.h"
#include "zip_name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const reason_codes[ZIP_REASON_COUNT] = {
    [ZIP_REASON_OK] = "ok",
    [ZIP_REASON_IO] = "io",
    [ZIP_REASON_ARCHIVE_TOO_BIG] = "archive_too_big",
    [ZIP_REASON_BAD_ARCHIVE] = "bad_archive",
    [ZIP_REASON_INCONSISTENT] = "inconsistent",
    [ZIP_REASON_EMPTY] = "empty",
    [ZIP_REASON_TOO_MANY_ENTRIES] = "too_many_entries",
    [ZIP_REASON_TOTAL_TOO_BIG] = "total_too_big",
    [ZIP_REASON_NAME_ENCODING] = "name_encoding",
    [ZIP_REASON_NAME_CONTROL] = "name_control",
    [ZIP_REASON_NAME_BACKSLASH] = "name_backslash",
    [ZIP_REASON_NAME_COLON] = "name_colon",
    [ZIP_REASON_NAME_ABSOLUTE] = "name_absolute",
    [ZIP_REASON_NAME_TRAVERSAL] = "name_traversal",
    [ZIP_REASON_NAME_COMPONENT] = "name_component",
    [ZIP_REASON_NAME_TOO_LONG] = "name_too_long",
    [ZIP_REASON_NAME_TOO_DEEP] = "name_too_deep",
    [ZIP_REASON_DOTENV] = "dotenv",
    [ZIP_REASON_GIT] = "git",
    [ZIP_REASON_VENV] = "venv",
    [ZIP_REASON_SYMLINK] = "symlink",
    [ZIP_REASON_SPECIAL_FILE] = "special_file",
    [ZIP_REASON_SETID_MODE] = "setid_mode",
    [ZIP_REASON_BAD_ENTRY] = "bad_entry",
    [ZIP_REASON_ENCRYPTED] = "encrypted",
    [ZIP_REASON_METHOD] = "method",
    [ZIP_REASON_FILE_TOO_BIG] = "file_too_big",
    [ZIP_REASON_RATIO] = "ratio",
    [ZIP_REASON_DUPLICATE] = "duplicate",
    [ZIP_REASON_CONFLICT] = "conflict",
    [ZIP_REASON_TOP_FOLDER] = "top_folder",
    [ZIP_REASON_SIZE_MISMATCH] = "size_mismatch",
    [ZIP_REASON_CRC] = "crc",
    [ZIP_REASON_NOT_EMPTY] = "not_empty",
};

void zip_limits_init(struct zip_limits *l)
{
    l->max_archive_bytes = ZIP_DEFAULT_MAX_ARCHIVE_BYTES;
    l->max_entries = ZIP_DEFAULT_MAX_ENTRIES;
    l->max_file_bytes = ZIP_DEFAULT_MAX_FILE_BYTES;
    l->max_total_bytes = ZIP_DEFAULT_MAX_TOTAL_BYTES;
    l->max_ratio = ZIP_DEFAULT_MAX_RATIO;
    l->ratio_min_bytes = ZIP_DEFAULT_RATIO_MIN_BYTES;
}

const char *zip_reason_code(enum zip_reason r)
{
    if ((int)r < 0 || r >= ZIP_REASON_COUNT) {
        return "unknown";
    }
    return reason_codes[r];
}

void zip_report_init(struct zip_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->reason = ZIP_REASON_OK;
    rep->entry = -1;
}

int zip_report_fail(struct zip_report *rep, enum zip_reason reason, int64_t entry, int err,
                    const char *fmt, ...)
{
    rep->reason = reason;
    rep->entry = entry;
    rep->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->message, sizeof rep->message, fmt, ap);
    va_end(ap);
    return zip_report_status(rep);
}

int zip_report_status(const struct zip_report *rep)
{
    if (rep->reason == ZIP_REASON_OK) {
        return 0;
    }
    return rep->reason == ZIP_REASON_IO ? -(rep->err ? rep->err : EIO) : -EBADMSG;
}

/* The limits to apply: l, or the defaults when l is NULL. */
static struct zip_limits limits_or_default(const struct zip_limits *l)
{
    struct zip_limits d;
    if (l) {
        return *l;
    }
    zip_limits_init(&d);
    return d;
}

/* Opens src as an archive; on failure frees src and fills rep. */
static zip_t *open_source(zip_source_t *src, struct zip_report *rep)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (za) {
        zip_error_fini(&ze);
        return za;
    }
    int code = zip_error_code_zip(&ze);
    int sys = zip_error_code_system(&ze);
    const char *what = zip_error_strerror(&ze);
    if (code == ZIP_ER_EXISTS) {
        zip_report_fail(rep, ZIP_REASON_DUPLICATE, -1, 0,
                        "two entries have the same name (libzip: %s)", what);
    } else if (code == ZIP_ER_INCONS) {
        zip_report_fail(rep, ZIP_REASON_INCONSISTENT, -1, 0,
                        "the archive's headers disagree (libzip: %s); overlapping entries "
                        "(a zip bomb) or a name flagged UTF-8 that is not",
                        what);
    } else if (code == ZIP_ER_MEMORY) {
        zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "out of memory opening the archive");
    } else if ((code == ZIP_ER_READ || code == ZIP_ER_SEEK) && sys != 0) {
        zip_report_fail(rep, ZIP_REASON_IO, -1, sys, "cannot read the archive: %s", what);
    } else {
        zip_report_fail(rep, ZIP_REASON_BAD_ARCHIVE, -1, 0, "not a readable zip archive (%s)",
                        what);
    }
    zip_error_fini(&ze);
    zip_source_free(src);
    return NULL;
}

/* The archive's bytes for the entry-count pre-check: a file or a buffer. */
struct raw {
    int fd;                    /* when data is NULL */
    const unsigned char *data; /* a buffer */
    uint64_t size;
};

#define EOCD_LEN 22
#define EOCD_SEARCH (EOCD_LEN + 65535) /* a record ends the file or its comment */
#define ZIP64_LOCATOR_LEN 20
#define ZIP64_EOCD_LEN 56

/* Reads n bytes at off. Returns 0, or -1 when they are not all there. */
static int raw_read(const struct raw *r, uint64_t off, void *buf, size_t n)
{
    if (off > r->size || n > r->size - off) {
        return -1;
    }
    if (r->data) {
        memcpy(buf, r->data + off, n);
        return 0;
    }
    return pread(r->fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0) {
        v = (v << 8) | p[n];
    }
    return v;
}

/* The largest entry count claimed by any end-of-central-directory record
 * in the archive's last 64 KiB, or by the Zip64 record its locator points
 * to. libzip builds its name table (a djb2 hash in 1.7.3, which crafted
 * names flood) from one of them before we can count entries, so a claim
 * over the limit is refused first. 0 when nothing can be read. */
static uint64_t claimed_entries(const struct raw *r)
{
    size_t n = r->size < EOCD_SEARCH ? (size_t)r->size : EOCD_SEARCH;
    uint64_t start = r->size - n;
    unsigned char *tail = malloc(n ? n : 1);
    uint64_t max = 0;
    if (!tail || raw_read(r, start, tail, n) != 0) {
        free(tail);
        return 0;
    }
    for (size_t i = 0; i + EOCD_LEN <= n; i++) {
        if (memcmp(tail + i, "PK\5\6", 4) != 0) {
            continue;
        }
        uint64_t c = le(tail + i + 10, 2);
        max = c > max ? c : max;
        unsigned char loc[ZIP64_LOCATOR_LEN], z[ZIP64_EOCD_LEN];
        if (start + i >= ZIP64_LOCATOR_LEN &&
            raw_read(r, start + i - ZIP64_LOCATOR_LEN, loc, sizeof loc) == 0 &&
            memcmp(loc, "PK\6\7", 4) == 0 && raw_read(r, le(loc + 8, 8), z, sizeof z) == 0 &&
            memcmp(z, "PK\6\6", 4) == 0) {
            c = le(z + 24, 8) > le(z + 32, 8) ? le(z + 24, 8) : le(z + 32, 8);
            max = c > max ? c : max;
        }
    }
    free(tail);
    return max;
}

/* Refuses (rep, -EBADMSG) an archive claiming more than lim's entries. */
static int check_claimed(const struct raw *r, const struct zip_limits *lim, struct zip_report *rep)
{
    uint64_t claimed = claimed_entries(r);
    if (claimed > lim->max_entries) {
        return zip_report_fail(rep, ZIP_REASON_TOO_MANY_ENTRIES, -1, 0,
                               "the archive claims %llu entries, over the limit of %llu",
                               (unsigned long long)claimed, (unsigned long long)lim->max_entries);
    }
    return 0;
}

zip_t *zip_inspect_open_path(const char *path, const struct zip_limits *l, struct zip_report *rep)
{
    struct zip_limits lim = limits_or_default(l);
    zip_report_init(rep);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        zip_report_fail(rep, ZIP_REASON_IO, -1, e, "cannot open the archive: %s", strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        zip_report_fail(rep, ZIP_REASON_BAD_ARCHIVE, -1, 0, "the archive is not a regular file");
        return NULL;
    }
    if ((uint64_t)st.st_size > lim.max_archive_bytes) {
        close(fd);
        zip_report_fail(rep, ZIP_REASON_ARCHIVE_TOO_BIG, -1, 0,
                        "the archive is %llu bytes, over the limit of %llu",
                        (unsigned long long)st.st_size, (unsigned long long)lim.max_archive_bytes);
        return NULL;
    }
    struct raw r = {fd, NULL, (uint64_t)st.st_size};
    if (check_claimed(&r, &lim, rep) != 0) {
        close(fd);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *fp = NULL;
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || !(fp = fdopen(fd, "rb"))) {
        int e = errno;
        close(fd);
        zip_report_fail(rep, ZIP_REASON_IO, -1, e, "cannot open the archive: %s", strerror(e));
        return NULL;
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_filep_create(fp, 0, -1, &ze);
    zip_error_fini(&ze);
    if (!src) {
        fclose(fp);
        zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "cannot open the archive");
        return NULL;
    }
    return open_source(src, rep);
}

zip_t *zip_inspect_open_buffer(const void *data, size_t len, const struct zip_limits *l,
                               struct zip_report *rep)
{
    struct zip_limits lim = limits_or_default(l);
    zip_report_init(rep);
    if ((uint64_t)len > lim.max_archive_bytes) {
        zip_report_fail(rep, ZIP_REASON_ARCHIVE_TOO_BIG, -1, 0,
                        "the archive is %zu bytes, over the limit of %llu", len,
                        (unsigned long long)lim.max_archive_bytes);
        return NULL;
    }
    struct raw r = {-1, data, len};
    if (check_claimed(&r, &lim, rep) != 0) {
        return NULL;
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(len ? data : "", len, 0, &ze);
    zip_error_fini(&ze);
    if (!src) {
        zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "out of memory opening the archive");
        return NULL;
    }
    return open_source(src, rep);
}

/* Escapes name[0..len) for a message into out (ZIP_NAME_SHOWN bytes). */
#define ZIP_NAME_SHOWN 200
static const char *shown(const char *name, size_t len, char out[ZIP_NAME_SHOWN])
{
    zip_name_escape(name, len, out, ZIP_NAME_SHOWN);
    return out;
}

/* Classifies a Unix mode of entry i (named name, a folder when is_dir).
 * Returns 0 and sets *exec, or a refusal in rep. */
static int check_mode(zip_uint64_t i, const char *name, size_t len, int is_dir, unsigned mode,
                      int *exec, struct zip_report *rep)
{
    char s[ZIP_NAME_SHOWN];
    unsigned type = mode & S_IFMT;
    *exec = (mode & S_IXUSR) != 0;
    if (type == S_IFLNK) {
        return zip_report_fail(rep, ZIP_REASON_SYMLINK, (int64_t)i, 0,
                               "%s: symbolic link (links are never extracted)",
                               shown(name, len, s));
    }
    if (type != 0 && type != S_IFREG && type != S_IFDIR) {
        const char *kind = type == S_IFIFO    ? "FIFO"
                           : type == S_IFCHR  ? "character device"
                           : type == S_IFBLK  ? "block device"
                           : type == S_IFSOCK ? "socket"
                                              : "unknown file type";
        return zip_report_fail(rep, ZIP_REASON_SPECIAL_FILE, (int64_t)i, 0,
                               "%s: special file (%s, mode %06o)", shown(name, len, s), kind, mode);
    }
    if (mode & (S_ISUID | S_ISGID | S_ISVTX)) {
        return zip_report_fail(rep, ZIP_REASON_SETID_MODE, (int64_t)i, 0,
                               "%s: setuid, setgid or sticky mode %06o", shown(name, len, s), mode);
    }
    if ((type == S_IFDIR && !is_dir) || (type == S_IFREG && is_dir)) {
        return zip_report_fail(rep, ZIP_REASON_BAD_ENTRY, (int64_t)i, 0,
                               "%s: the mode says %s but the name says %s", shown(name, len, s),
                               type == S_IFDIR ? "folder" : "file", is_dir ? "folder" : "file");
    }
    return 0;
}

/* Per-entry checks of entry i with raw name `name`; fills *pe. */
static int check_entry(zip_t *za, zip_uint64_t i, const struct zip_limits *lim,
                       struct zip_plan_entry *pe, const char **top, size_t *top_len,
                       struct zip_report *rep)
{
    char s[ZIP_NAME_SHOWN];
    const char *name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    const char *strict = zip_get_name(za, i, ZIP_FL_ENC_STRICT);
    zip_stat_t st;
    if (!name || !strict || zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0) {
        return zip_report_fail(rep, ZIP_REASON_BAD_ENTRY, (int64_t)i, 0,
                               "entry %llu: unreadable header (%s)", (unsigned long long)i,
                               zip_strerror(za));
    }
    size_t len = strlen(name);
    /* libzip converts an unflagged non-ASCII name from CP437 for STRICT and
     * leaves a name flagged UTF-8 (bit 11 or the Info-ZIP Unicode path
     * field) as it is. */
    int utf8 = strcmp(strict, name) == 0;
    enum zip_reason r = zip_name_check(name, len, utf8);
    if (r != ZIP_REASON_OK) {
        return zip_report_fail(rep, r, (int64_t)i, 0, "%s: %s", shown(name, len, s),
                               zip_name_phrase(r));
    }
    int is_dir = name[len - 1] == '/';
    size_t bare = is_dir ? len - 1 : len;
    const char *slash = memchr(name, '/', bare);
    size_t first = slash ? (size_t)(slash - name) : bare;
    if (!slash && !is_dir) {
        return zip_report_fail(rep, ZIP_REASON_TOP_FOLDER, (int64_t)i, 0,
                               "%s: a file at the top level (every entry must be inside one "
                               "folder)",
                               shown(name, len, s));
    }
    if (!*top) {
        *top = name;
        *top_len = first;
    } else if (first != *top_len || memcmp(name, *top, first) != 0) {
        char t[ZIP_NAME_SHOWN];
        return zip_report_fail(rep, ZIP_REASON_TOP_FOLDER, (int64_t)i, 0,
                               "%s: a second top folder besides %s (every entry must be inside "
                               "one folder)",
                               shown(name, len, s), shown(*top, *top_len, t));
    }
    zip_uint8_t opsys;
    zip_uint32_t attr;
    int exec = 0;
    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) == 0 &&
        (opsys == ZIP_OPSYS_UNIX || opsys == ZIP_OPSYS_OS_X) &&
        check_mode(i, name, len, is_dir, attr >> 16, &exec, rep) != 0) {
        return -EBADMSG;
    }
    if (!(st.valid & ZIP_STAT_ENCRYPTION_METHOD) || st.encryption_method != ZIP_EM_NONE) {
        return zip_report_fail(rep, ZIP_REASON_ENCRYPTED, (int64_t)i, 0,
                               "%s: encrypted entry (cannot be checked)", shown(name, len, s));
    }
    if (!(st.valid & ZIP_STAT_COMP_METHOD) ||
        (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)) {
        return zip_report_fail(rep, ZIP_REASON_METHOD, (int64_t)i, 0,
                               "%s: compression method %d (only stored and deflated are "
                               "accepted)",
                               shown(name, len, s), (int)st.comp_method);
    }
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE)) {
        return zip_report_fail(rep, ZIP_REASON_BAD_ENTRY, (int64_t)i, 0, "%s: no size recorded",
                               shown(name, len, s));
    }
    if (is_dir && st.size > 0) {
        return zip_report_fail(rep, ZIP_REASON_BAD_ENTRY, (int64_t)i, 0,
                               "%s: a folder entry holding %llu bytes of data", shown(name, len, s),
                               (unsigned long long)st.size);
    }
    if (st.size > lim->max_file_bytes) {
        return zip_report_fail(rep, ZIP_REASON_FILE_TOO_BIG, (int64_t)i, 0,
                               "%s: %llu bytes, over the per-file limit of %llu",
                               shown(name, len, s), (unsigned long long)st.size,
                               (unsigned long long)lim->max_file_bytes);
    }
    if (st.size > lim->ratio_min_bytes &&
        (st.comp_size == 0 ||
         ((lim->max_ratio == 0 || st.comp_size <= UINT64_MAX / lim->max_ratio) &&
          st.size > st.comp_size * lim->max_ratio))) {
        return zip_report_fail(rep, ZIP_REASON_RATIO, (int64_t)i, 0,
                               "%s: %llu bytes from %llu compressed, a ratio over the limit of "
                               "%llu (a zip bomb?)",
                               shown(name, len, s), (unsigned long long)st.size,
                               (unsigned long long)st.comp_size,
                               (unsigned long long)lim->max_ratio);
    }
    pe->index = i;
    pe->name = name;
    pe->len = bare;
    pe->size = st.size;
    pe->is_dir = (unsigned)is_dir;
    pe->exec = (unsigned)(exec && !is_dir);
    return 0;
}

/* Archive-wide checks: entry count and the sum of declared sizes. */
static int check_totals(zip_t *za, zip_int64_t n, const struct zip_limits *lim, uint64_t *total,
                        struct zip_report *rep)
{
    if (n < 0) {
        return zip_report_fail(rep, ZIP_REASON_BAD_ARCHIVE, -1, 0, "cannot count the entries");
    }
    if (n == 0) {
        return zip_report_fail(rep, ZIP_REASON_EMPTY, -1, 0, "the archive has no entries");
    }
    if ((uint64_t)n > lim->max_entries) {
        return zip_report_fail(rep, ZIP_REASON_TOO_MANY_ENTRIES, -1, 0,
                               "%lld entries, over the limit of %llu", (long long)n,
                               (unsigned long long)lim->max_entries);
    }
    *total = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        if (zip_stat_index(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &st) != 0 ||
            !(st.valid & ZIP_STAT_SIZE)) {
            return zip_report_fail(rep, ZIP_REASON_BAD_ENTRY, i, 0, "entry %lld: unreadable header",
                                   (long long)i);
        }
        if (st.size > lim->max_total_bytes - *total) {
            return zip_report_fail(rep, ZIP_REASON_TOTAL_TOO_BIG, i, 0,
                                   "the entries declare more than the total limit of %llu "
                                   "bytes (a zip bomb?)",
                                   (unsigned long long)lim->max_total_bytes);
        }
        *total += st.size;
    }
    return 0;
}

/* One name in the cross-entry check: an entry's full name, or one of the
 * parent folders it implies. */
struct keyed {
    const char *key, *raw;
    size_t key_len, raw_len;
    size_t entry; /* index into the plan */
    int kind;     /* KIND_* */
};
enum { KIND_IMPLIED, KIND_DIR, KIND_FILE };

/* qsort order: by key; in a group, files, then folders, then implied
 * folders, each by entry. */
static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c != 0) {
        return c;
    }
    if (x->key_len != y->key_len) {
        return x->key_len < y->key_len ? -1 : 1;
    }
    if (x->kind != y->kind) {
        return x->kind > y->kind ? -1 : 1; /* files, then folders, then implied */
    }
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Appends to *out the keyed names of plan entry e (key: its folded key). */
static void add_keyed(struct keyed *out, size_t *n, const struct zip_plan_entry *pe, size_t e,
                      const char *key, size_t key_len)
{
    size_t r = 0, k = 0;
    for (;;) {
        while (r < pe->len && pe->name[r] != '/') {
            r++;
        }
        while (k < key_len && key[k] != '/') {
            k++;
        }
        int last = r >= pe->len;
        out[*n] = (struct keyed){
            key, pe->name, k, r, e, last ? (pe->is_dir ? KIND_DIR : KIND_FILE) : KIND_IMPLIED};
        (*n)++;
        if (last) {
            return;
        }
        r++;
        k++;
    }
}

/* Cross-entry checks: duplicate folded keys, files used as folders. Counts
 * the folders below the top one in *dirs. */
static int check_keys(const struct zip_plan *plan, uint64_t *dirs, struct zip_report *rep)
{
    struct buf keys = {0};
    size_t *off = malloc((plan->count + 1) * sizeof *off);
    size_t total = 0;
    for (size_t e = 0; off && e < plan->count; e++) {
        off[e] = keys.len;
        zip_name_key(plan->entries[e].name, plan->entries[e].len, &keys);
        for (size_t i = 0; i < plan->entries[e].len; i++) {
            total += plan->entries[e].name[i] == '/';
        }
        total++;
    }
    struct keyed *ks = off && keys.err == 0 ? malloc(total * sizeof *ks) : NULL;
    if (!ks) {
        free(off);
        buf_free(&keys);
        return zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "out of memory checking names");
    }
    off[plan->count] = keys.len;
    size_t n = 0;
    for (size_t e = 0; e < plan->count; e++) {
        add_keyed(ks, &n, &plan->entries[e], e, keys.data + off[e], off[e + 1] - off[e]);
    }
    qsort(ks, n, sizeof *ks, keyed_cmp);
    int rc = 0;
    *dirs = 0;
    for (size_t a = 0, b; rc == 0 && a < n; a = b) {
        for (b = a + 1; b < n && ks[b].key_len == ks[a].key_len &&
                        memcmp(ks[a].key, ks[b].key, ks[a].key_len) == 0;
             b++) {
        }
        /* ks[a] is the group's file, else its explicit folder, else implied. */
        const struct keyed *x = &ks[a], *y = b > a + 1 ? &ks[a + 1] : NULL;
        char s1[ZIP_NAME_SHOWN], s2[ZIP_NAME_SHOWN];
        if (y && y->kind != KIND_IMPLIED) {
            const struct keyed *p = x->entry < y->entry ? x : y, *q = p == x ? y : x;
            rc = zip_report_fail(rep, ZIP_REASON_DUPLICATE, (int64_t)plan->entries[q->entry].index,
                                 0, "%s and %s: the same name (after case folding)",
                                 shown(p->raw, p->raw_len, s1), shown(q->raw, q->raw_len, s2));
        } else if (y && x->kind == KIND_FILE) {
            rc = zip_report_fail(rep, ZIP_REASON_CONFLICT, (int64_t)plan->entries[x->entry].index,
                                 0, "%s is a file but %s needs it as a folder",
                                 shown(x->raw, x->raw_len, s1),
                                 shown(y->raw, plan->entries[y->entry].len, s2));
        }
        for (size_t i = a + 1; rc == 0 && i < b; i++) {
            if (ks[i].raw_len != x->raw_len || memcmp(ks[i].raw, x->raw, x->raw_len) != 0) {
                rc = zip_report_fail(
                    rep, ZIP_REASON_DUPLICATE, (int64_t)plan->entries[ks[i].entry].index, 0,
                    "%s and %s: folders whose names differ only in case or "
                    "invisible characters",
                    shown(x->raw, x->raw_len, s1), shown(ks[i].raw, ks[i].raw_len, s2));
            }
        }
        if (x->kind != KIND_FILE && memchr(x->key, '/', x->key_len)) {
            (*dirs)++;
        }
    }
    free(ks);
    free(off);
    buf_free(&keys);
    return rc;
}

int zip_inspect_archive(zip_t *za, const struct zip_limits *l, struct zip_plan *plan,
                        struct zip_report *rep)
{
    struct zip_limits lim = limits_or_default(l);
    zip_report_init(rep);
    if (plan) {
        plan->entries = NULL;
        plan->count = 0;
    }
    zip_int64_t n = zip_get_num_entries(za, 0);
    uint64_t total = 0;
    int rc = check_totals(za, n, &lim, &total, rep);
    if (rc != 0) {
        return rc;
    }
    struct zip_plan p = {calloc((size_t)n, sizeof *p.entries), 0};
    if (!p.entries) {
        return zip_report_fail(rep, ZIP_REASON_IO, -1, ENOMEM, "out of memory");
    }
    const char *top = NULL;
    size_t top_len = 0;
    uint64_t files = 0;
    for (zip_int64_t i = 0; rc == 0 && i < n; i++) {
        rc = check_entry(za, (zip_uint64_t)i, &lim, &p.entries[p.count], &top, &top_len, rep);
        if (rc == 0) {
            files += !p.entries[p.count].is_dir;
            p.count++;
        }
    }
    uint64_t dirs = 0;
    if (rc == 0) {
        rc = check_keys(&p, &dirs, rep);
    }
    if (rc != 0) {
        zip_plan_free(&p);
        return rc;
    }
    memcpy(rep->top, top, top_len);
    rep->top[top_len] = '\0';
    rep->files = files;
    rep->dirs = dirs;
    rep->bytes = total;
    if (plan) {
        *plan = p;
    } else {
        zip_plan_free(&p);
    }
    return 0;
}

/* Inspects and closes za (NULL: the open failed, rep already says why). */
static int inspect_and_close(zip_t *za, const struct zip_limits *l, struct zip_report *rep)
{
    if (!za) {
        return zip_report_status(rep);
    }
    int rc = zip_inspect_archive(za, l, NULL, rep);
    zip_discard(za);
    return rc;
}

int zip_inspect_path(const char *path, const struct zip_limits *l, struct zip_report *rep)
{
    return inspect_and_close(zip_inspect_open_path(path, l, rep), l, rep);
}

int zip_inspect_buffer(const void *data, size_t len, const struct zip_limits *l,
                       struct zip_report *rep)
{
    return inspect_and_close(zip_inspect_open_buffer(data, len, l, rep), l, rep);
}

void zip_plan_free(struct zip_plan *plan)
{
    free(plan->entries);
    plan->entries = NULL;
    plan->count = 0;
}
