/* File-system mechanisms: bounded reads, atomic replace, mkdir -p. */
#include "fsutil.h"
#include "buf.h"
#include "fsat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int fsutil_read_fd(int fd, size_t limit, struct buf *out)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return -errno;
    }
    if (S_ISDIR(st.st_mode)) {
        return -EISDIR;
    }
    size_t start = out->len;
    size_t chunk =
        (S_ISREG(st.st_mode) && (size_t)st.st_size < limit) ? (size_t)st.st_size + 1 : 4096;
    int rc = 0;
    for (;;) {
        if (out->len - start > limit) {
            rc = -EFBIG;
            break;
        }
        if ((rc = buf_reserve(out, chunk)) != 0) {
            break;
        }
        ssize_t r = read(fd, out->data + out->len, out->cap - 1 - out->len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = r < 0 ? -errno : 0;
            break;
        }
        out->len += (size_t)r;
        chunk = 4096; /* buf_reserve doubles the capacity when it must grow */
    }
    if (rc != 0 && !out->err) {
        out->len = start; /* a read failure leaves out as it was */
    }
    if (out->data) {
        out->data[out->len] = '\0';
    }
    return rc;
}

int fsutil_read(const char *path, size_t limit, int nofollow, struct buf *out)
{
    /* O_NONBLOCK: opening a FIFO nobody writes to must not hang; reads
     * block again once it is open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        return -errno;
    }
    int rc = 0;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        rc = -errno;
    } else {
        rc = fsutil_read_fd(fd, limit, out);
    }
    close(fd);
    return rc;
}

int fsutil_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Splits path into its folder (written to dir, "." when none) and returns
 * the last component; NULL when the folder does not fit in dir. */
static const char *split_path(const char *path, char *dir, size_t dirsize)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
        return path;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= dirsize) {
        return NULL;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return slash + 1;
}

/* Opens the folder holding path; *base gets its last component. Returns
 * the folder fd or a negative errno. */
static int open_parent(const char *path, const char **base)
{
    char dir[4096];
    *base = split_path(path, dir, sizeof dir);
    if (!*base) {
        return -ENAMETOOLONG;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int fsutil_sync_parent(const char *path)
{
    const char *base;
    int fd = open_parent(path, &base);
    if (fd < 0) {
        return fd;
    }
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    const char *base;
    int dirfd = open_parent(path, &base);
    if (dirfd < 0) {
        return dirfd;
    }
    int rc = fsutil_write_atomic_at(dirfd, base, data, len, mode);
    close(dirfd);
    return rc;
}

int fsutil_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return -ELOOP;
    }
    char tmp[4096];
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        unsigned int r = 0;
        if (getrandom(&r, sizeof r, 0) != sizeof r) {
            r = (unsigned int)getpid() ^ (unsigned int)attempt * 2654435761u;
        }
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%08x", name, r) >= sizeof tmp) {
            return -ENAMETOOLONG;
        }
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
        if (fd < 0 && errno != EEXIST) {
            return -errno;
        }
    }
    if (fd < 0) {
        return -EEXIST;
    }
    int rc = 0;
    if (fd <= 2) { /* never hold data on a standard stream's descriptor */
        int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        rc = hi < 0 ? -errno : 0;
        close(fd);
        fd = hi;
    }
    if (rc == 0 && fchmod(fd, mode & 07777) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        rc = fsutil_write_all(fd, data, len);
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        unlinkat(dirfd, tmp, 0);
        return rc;
    }
    return fsync(dirfd) == 0 ? 0 : -errno;
}

int fsutil_clean_temps(const char *path)
{
    const char *base;
    int dirfd = open_parent(path, &base);
    if (dirfd < 0) {
        return dirfd;
    }
    int rc = fsutil_clean_temps_at(dirfd, base);
    close(dirfd);
    return rc;
}

int fsutil_clean_temps_at(int dirfd, const char *name)
{
    DIR *d = fsat_opendir(dirfd);
    if (!d) {
        return -errno;
    }
    size_t blen = strlen(name);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, name, blen) == 0 && strncmp(e->d_name + blen, ".tmp-", 5) == 0) {
            if (unlinkat(dirfd, e->d_name, 0) == 0) {
                removed++;
            }
        }
    }
    closedir(d);
    return removed;
}

int fsutil_mkdirs(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0) {
        return -ENOENT;
    }
    if (n >= sizeof buf) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST) {
                return -errno;
            }
            buf[i] = saved;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        return -errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
