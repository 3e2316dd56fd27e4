/* Folder-descriptor-relative file operations that never follow symlinks. */
#include "fsat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fsat_open_walk(int dirfd, const char *rel, int flags, mode_t mode)
{
    if (rel[0] == '/') {
        return -EXDEV;
    }
    int cur = dirfd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char comp[256];
        if (n >= sizeof comp) {
            if (cur != dirfd) {
                close(cur);
            }
            return -ENAMETOOLONG;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (strcmp(comp, "..") == 0 || (n == 0 && slash)) {
            if (cur != dirfd) {
                close(cur);
            }
            return n ? -EXDEV : -ENOENT;
        }
        int fd;
        if (!slash) {
            fd = openat(cur, n ? comp : ".", flags | O_NOFOLLOW, mode);
        } else {
            fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            int e = errno;
            /* O_DIRECTORY|O_NOFOLLOW on a symlink fails ENOTDIR: report
             * it as the symlink it is. */
            struct stat st;
            if (slash && e == ENOTDIR && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode)) {
                e = ELOOP;
            }
            if (cur != dirfd) {
                close(cur);
            }
            return -e;
        }
        if (cur != dirfd) {
            close(cur);
        }
        if (!slash) {
            return fd;
        }
        cur = fd;
        p = slash + 1;
    }
}

int fsat_open(int dirfd, const char *rel, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_NOFOLLOW);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how, sizeof how);
    if (fd >= 0) {
        return (int)fd;
    }
    if (errno != ENOSYS && errno != EPERM) {
        return -errno;
    }
    return fsat_open_walk(dirfd, rel, flags, mode);
}

DIR *fsat_opendir(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

int fsat_clear(int dirfd)
{
    DIR *d = fsat_opendir(dirfd);
    if (!d) {
        return -errno;
    }
    int rc = 0;
    struct dirent *e;
    /* Removing while reading may make readdir skip entries: repeat passes
     * until one removes nothing. */
    for (int removed = 1; removed && rc == 0;) {
        removed = 0;
        rewinddir(d);
        errno = 0;
        while (rc == 0 && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            rc = fsat_remove_tree(dirfd, e->d_name);
            removed = 1;
        }
        if (rc == 0 && errno != 0) {
            rc = -errno;
        }
    }
    closedir(d);
    return rc;
}

int fsat_remove_tree(int dirfd, const char *name)
{
    if (unlinkat(dirfd, name, 0) == 0) {
        return 0;
    }
    if (errno == ENOENT) {
        return 0;
    }
    if (errno != EISDIR && errno != EPERM) {
        return -errno;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int rc = fsat_clear(fd);
    close(fd);
    if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        rc = -errno;
    }
    return rc;
}

int fsat_is_empty(int dirfd)
{
    DIR *d = fsat_opendir(dirfd);
    if (!d) {
        return -errno;
    }
    int empty = 1;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    int rc = (empty && errno != 0) ? -errno : empty;
    closedir(d);
    return rc;
}

int fsat_rename_noreplace(int olddirfd, const char *oldname, int newdirfd, const char *newname)
{
    if (renameat2(olddirfd, oldname, newdirfd, newname, RENAME_NOREPLACE) != 0) {
        return -errno;
    }
    return 0;
}
