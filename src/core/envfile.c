/* Safe .env file operations: folder-relative, symlink-refusing, locked,
 * atomic, always 0600 (see envfile.h). */
#include "envfile.h"

#include "buf.h"
#include "dotenv.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the folder holding `path` (checked to lie inside tools_root when
 * given) and points *base at the file name inside path. Returns the folder
 * descriptor or a negative errno. */
static int open_folder(const char *path, const char *tools_root, const char **base)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) {
        return -EINVAL;
    }
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir) {
        return -ENAMETOOLONG;
    }
    memcpy(dir, slash ? path : ".", slash ? n : 1);
    dir[slash ? n : 1] = '\0';
    if (tools_root) {
        char rdir[PATH_MAX], rroot[PATH_MAX];
        if (!realpath(dir, rdir) || !realpath(tools_root, rroot)) {
            return -errno;
        }
        size_t rl = strlen(rroot);
        int inside = strcmp(rroot, "/") == 0 ? strcmp(rdir, "/") != 0
                                             : strncmp(rdir, rroot, rl) == 0 && rdir[rl] == '/';
        if (!inside) {
            return -EXDEV;
        }
        memcpy(dir, rdir, strlen(rdir) + 1);
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (tools_root ? O_NOFOLLOW : 0));
    return fd < 0 ? -errno : fd;
}

/* Appends entry `name` of folder dirfd to out without following a
 * symlink. Returns 0 or a negative errno (-ENOENT when missing). */
static int read_at(int dirfd, const char *name, struct buf *out)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
    if (rc == 0) {
        rc = fsutil_read_fd(fd, ENVFILE_MAX_BYTES, out);
    }
    close(fd);
    return rc;
}

int envfile_read(const char *path, const char *tools_root, struct buf *out)
{
    const char *base;
    int dirfd = open_folder(path, tools_root, &base);
    if (dirfd < 0) {
        return dirfd;
    }
    int rc = read_at(dirfd, base, out);
    close(dirfd);
    return rc;
}

/* The read-modify-write of envfile_set (value non-NULL) and envfile_unset
 * (value NULL): under the folder lock, stray temps removed, the current
 * text rewritten by dotenv_set / dotenv_unset and written atomically with
 * mode 0600 (unset writes only when it removed something). *flag gets the
 * interpolation warning (set) or the number of bindings removed (unset).
 * Returns 0 or a negative errno. */
static int update(const char *path, const char *tools_root, const char *key, const char *value,
                  size_t value_len, int *flag)
{
    *flag = 0;
    if (!dotenv_key_valid(key, strlen(key))) {
        return -EINVAL;
    }
    int rc = value ? dotenv_check_value(value, value_len) : 0;
    if (rc != 0) {
        return rc;
    }
    const char *base;
    int dirfd = open_folder(path, tools_root, &base);
    if (dirfd < 0) {
        return dirfd;
    }
    while (flock(dirfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = -errno;
            close(dirfd);
            return rc;
        }
    }
    fsutil_clean_temps_at(dirfd, base);
    struct buf old = {0}, text = {0};
    rc = read_at(dirfd, base, &old);
    if (rc == -ENOENT) {
        rc = 0; /* a missing file reads as empty */
    }
    if (rc == 0) {
        rc = value
                 ? dotenv_set(old.data ? old.data : "", old.len, key, value, value_len, &text, flag)
                 : dotenv_unset(old.data ? old.data : "", old.len, key, &text, flag);
    }
    if (rc == 0 && (value || *flag > 0)) {
        rc = fsutil_write_atomic_at(dirfd, base, text.data, text.len, 0600);
    }
    if (rc != 0) {
        *flag = 0;
    }
    buf_free(&old);
    buf_free(&text);
    close(dirfd); /* releases the lock */
    return rc;
}

int envfile_set(const char *path, const char *tools_root, const char *key, const char *value,
                size_t value_len, int *interp_warning)
{
    int flag;
    int rc = update(path, tools_root, key, value, value_len, &flag);
    if (interp_warning) {
        *interp_warning = flag;
    }
    return rc;
}

int envfile_unset(const char *path, const char *tools_root, const char *key, int *removed)
{
    int count;
    int rc = update(path, tools_root, key, NULL, 0, &count);
    if (removed) {
        *removed = count;
    }
    return rc;
}
