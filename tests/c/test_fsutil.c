/* fsutil: atomic write keeps the mode whatever the umask, refuses symlinks,
 * bounded reads refuse oversize files. */
#include "buf.h"
#include "check.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_write_atomic_mode_ignores_umask(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    mode_t old = umask(0);
    CHECK(fsutil_write_atomic(path, "hello", 5, 0600) == 0);
    umask(old);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    struct buf b = {0};
    CHECK(fsutil_read(path, 100, 1, &b) == 0 && b.len == 5 && memcmp(b.data, "hello", 5) == 0);
    CHECK(fsutil_read(path, 4, 1, &b) == -EFBIG &&
          b.len == 5); /* appends; a failure adds nothing */
    CHECK(fsutil_read(path, 5, 1, &b) == 0 && b.len == 10 && strcmp(b.data, "hellohello") == 0);
    buf_free(&b);
}

static void test_write_atomic_refuses_symlink(const char *dir)
{
    char target[4200], link[4200];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    CHECK(fsutil_write_atomic(target, "old", 3, 0600) == 0);
    CHECK(symlink(target, link) == 0);
    CHECK(fsutil_write_atomic(link, "new", 3, 0600) == -ELOOP);
    struct buf b = {0};
    CHECK(fsutil_read(target, 100, 1, &b) == 0 && b.len == 3 && memcmp(b.data, "old", 3) == 0);
    CHECK(fsutil_read(link, 100, 1, &b) == -ELOOP && b.len == 3);
    buf_free(&b);
}

static void test_read_fd_is_bounded(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/big", dir);
    char big[10000];
    memset(big, 'x', sizeof big);
    CHECK(fsutil_write_atomic(path, big, sizeof big, 0600) == 0);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) {
        return;
    }
    struct buf b = {0};
    buf_append(&b, "head", 4);
    CHECK(fsutil_read_fd(fileno(f), sizeof big, &b) == 0 && b.len == 4 + sizeof big &&
          memcmp(b.data, "head", 4) == 0 && b.data[b.len] == '\0');
    lseek(fileno(f), 0, SEEK_SET);
    CHECK(fsutil_read_fd(fileno(f), sizeof big - 1, &b) == -EFBIG && b.len == 4 + sizeof big);
    buf_free(&b);
    fclose(f);
}

static void test_clean_temps_removes_leftovers(const char *dir)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/.env", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-deadbeef", path);
    FILE *f = fopen(tmp, "w");
    CHECK(f != NULL);
    if (f) {
        fclose(f);
    }
    CHECK(fsutil_clean_temps(path) == 1);
    CHECK(access(tmp, F_OK) != 0);
}

int main(void)
{
    const char *dir = check_tmpdir("fsutil");
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", dir);
    test_write_atomic_mode_ignores_umask(copy);
    test_write_atomic_refuses_symlink(copy);
    test_read_fd_is_bounded(copy);
    test_clean_temps_removes_leftovers(copy);
    return check_exit();
}
