/* Fuzz target for zip inspection and extraction (src/core/zip_inspect.h,
 * zip_extract.h) on archives in memory. Invariants, any broken one aborts:
 *   1. inspecting arbitrary bytes never crashes; the return value matches
 *      the report, a refusal has a reason and a message free of control
 *      bytes;
 *   2. when inspection accepts, extraction into a staging folder (inside a
 *      sandbox folder) either succeeds or fails only for what needs the
 *      data (sizes, CRC, unreadable stream); afterwards the sandbox holds
 *      nothing but the staging folder, which holds only folders (0755) and
 *      regular files (0644/0755), no symlink, at most the caps' bytes and
 *      as many files as reported; after a failure it is empty. */
#include "fsat.h"
#include "fuzz.h"
#include "zip_extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Aborts unless cond holds. */
static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

static char sandbox[4096];
static int sandbox_fd = -1, stage_fd = -1;

static void remove_sandbox(void)
{
    if (stage_fd >= 0) {
        close(stage_fd);
    }
    if (sandbox_fd >= 0) {
        fsat_clear(sandbox_fd);
        close(sandbox_fd);
        rmdir(sandbox);
    }
}

/* Creates <TMPDIR>/pixie-fuzz-zip-XXXXXX/stage once per process. */
static void make_sandbox(void)
{
    if (sandbox_fd >= 0) {
        return;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(sandbox, sizeof sandbox, "%s/pixie-fuzz-zip-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    require(mkdtemp(sandbox) != NULL);
    sandbox_fd = open(sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    require(sandbox_fd >= 0 && mkdirat(sandbox_fd, "stage", 0700) == 0);
    stage_fd = openat(sandbox_fd, "stage", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    require(stage_fd >= 0);
    atexit(remove_sandbox);
}

struct census {
    uint64_t files, bytes;
};

/* Checks every entry below the folder dfd (see invariant 2). */
static void walk(int dfd, struct census *c, int depth)
{
    require(depth <= ZIP_NAME_MAX_DEPTH);
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    require(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        struct stat st;
        require(fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
        if (S_ISDIR(st.st_mode)) {
            require((st.st_mode & 07777) == 0755);
            int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            require(sub >= 0);
            walk(sub, c, depth + 1);
            close(sub);
        } else {
            require(S_ISREG(st.st_mode));
            require((st.st_mode & 07777) == 0644 || (st.st_mode & 07777) == 0755);
            c->files++;
            c->bytes += (uint64_t)st.st_size;
        }
    }
    closedir(d);
}

/* Invariant 1 for a report. */
static void check_report(int rc, const struct zip_report *rep)
{
    require(rc == zip_report_status(rep));
    require((rc == 0) == (rep->reason == ZIP_REASON_OK));
    require(memchr(rep->message, '\0', sizeof rep->message) != NULL);
    for (const unsigned char *p = (const unsigned char *)rep->message; *p; p++) {
        require(*p >= 0x20 && *p != 0x7f);
    }
    require(rc == 0 || rep->message[0] != '\0');
}

/* 1 when the sandbox holds exactly the staging folder. */
static int sandbox_clean(void)
{
    int fd = openat(sandbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    require(d != NULL);
    int others = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        others += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                  strcmp(e->d_name, "stage") != 0;
    }
    closedir(d);
    return others == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zip_limits lim;
    zip_limits_init(&lim);
    lim.max_entries = 512;
    lim.max_file_bytes = 1 << 20;
    lim.max_total_bytes = 4 << 20;
    struct zip_report rep;
    int rc = zip_inspect_buffer(data, size, &lim, &rep);
    check_report(rc, &rep);
    if (rc != 0) {
        return 0;
    }
    make_sandbox();
    struct zip_report xrep;
    rc = zip_extract_buffer(data, size, stage_fd, &lim, &xrep);
    check_report(rc, &xrep);
    require(sandbox_clean());
    struct census c = {0, 0};
    walk(stage_fd, &c, 0);
    if (rc == 0) {
        require(strcmp(xrep.top, rep.top) == 0);
        require(c.files == xrep.files && c.files == rep.files);
        require(c.bytes == xrep.bytes && c.bytes <= rep.bytes && c.bytes <= lim.max_total_bytes);
    } else {
        require(xrep.reason == ZIP_REASON_SIZE_MISMATCH || xrep.reason == ZIP_REASON_CRC ||
                xrep.reason == ZIP_REASON_BAD_ARCHIVE || xrep.reason == ZIP_REASON_IO ||
                xrep.reason == ZIP_REASON_TOTAL_TOO_BIG);
        require(c.files == 0 && fsat_is_empty(stage_fd) == 1);
    }
    require(fsat_clear(stage_fd) == 0);
    return 0;
}
