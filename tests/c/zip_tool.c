/* Test driver of the zip core for tests/e2e/test_zip_core.py and the
 * hostile corpus. Not a test itself.
 *
 *   zip_tool [LIMITS] inspect ZIP
 *   zip_tool [LIMITS] extract ZIP STAGING   (STAGING is created 0700 if missing)
 *   zip_tool [LIMITS] pack DIR OUT TOP [--exclude NAME]...
 * LIMITS: --max-archive N --max-entries N --max-file N --max-total N
 *         --max-ratio N --ratio-min N   (default: the ZIP_DEFAULT_* values)
 * pack excludes any file or folder whose last component is a NAME.
 *
 * stdout: for pack one line "skipped <symlink|special|excluded> <path>" per
 * skipped path, then for every command the lines
 *   reason <code>\n entry <n>\n errno <n>\n message <text>\n
 *   top <name>\n files <n>\n dirs <n>\n bytes <n>\n
 * Exit status 0 when accepted / done, 1 when refused or failed, 2 on usage
 * error. */
#include "zip_extract.h"
#include "zip_pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *usage = "usage: zip_tool [LIMITS] inspect ZIP | extract ZIP STAGING | pack "
                           "DIR OUT TOP [--exclude NAME]...\n";

struct excludes {
    char **names;
    int count;
};

/* Excludes paths whose last component is one of the --exclude names. */
static int exclude_cb(const char *relpath, int is_dir, void *ctx)
{
    (void)is_dir;
    const struct excludes *ex = ctx;
    const char *base = strrchr(relpath, '/');
    base = base ? base + 1 : relpath;
    for (int i = 0; i < ex->count; i++) {
        if (strcmp(base, ex->names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Prints one "skipped" line per path left out. */
static int skipped_cb(const char *relpath, enum zip_skip why, void *ctx)
{
    (void)ctx;
    static const char *const names[] = {"excluded", "symlink", "special"};
    printf("skipped %s %s\n", names[why], relpath);
    return 0;
}

/* Prints the report lines (see the top comment). */
static void print_report(const struct zip_report *rep)
{
    printf("reason %s\nentry %lld\nerrno %d\nmessage %s\ntop %s\nfiles %llu\ndirs %llu\n"
           "bytes %llu\n",
           zip_reason_code(rep->reason), (long long)rep->entry, rep->err, rep->message, rep->top,
           (unsigned long long)rep->files, (unsigned long long)rep->dirs,
           (unsigned long long)rep->bytes);
}

/* Parses the LIMITS options at argv[*i...]; returns -1 on a bad option. */
static int parse_limits(int argc, char **argv, int *i, struct zip_limits *l)
{
    static const struct {
        const char *flag;
        size_t offset;
    } opts[] = {
        {"--max-archive", offsetof(struct zip_limits, max_archive_bytes)},
        {"--max-entries", offsetof(struct zip_limits, max_entries)},
        {"--max-file", offsetof(struct zip_limits, max_file_bytes)},
        {"--max-total", offsetof(struct zip_limits, max_total_bytes)},
        {"--max-ratio", offsetof(struct zip_limits, max_ratio)},
        {"--ratio-min", offsetof(struct zip_limits, ratio_min_bytes)},
    };
    while (*i < argc && strncmp(argv[*i], "--", 2) == 0) {
        size_t k = 0;
        while (k < sizeof opts / sizeof opts[0] && strcmp(argv[*i], opts[k].flag) != 0) {
            k++;
        }
        if (k == sizeof opts / sizeof opts[0] || *i + 1 >= argc) {
            return -1;
        }
        *(uint64_t *)((char *)l + opts[k].offset) = strtoull(argv[*i + 1], NULL, 0);
        *i += 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct zip_limits lim;
    zip_limits_init(&lim);
    int i = 1;
    if (parse_limits(argc, argv, &i, &lim) != 0 || i >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[i++];
    struct zip_report rep;
    int rc;
    if (strcmp(cmd, "inspect") == 0 && argc - i == 1) {
        rc = zip_inspect_path(argv[i], &lim, &rep);
    } else if (strcmp(cmd, "extract") == 0 && argc - i == 2) {
        if (mkdir(argv[i + 1], 0700) != 0 && errno != EEXIST) {
            perror(argv[i + 1]);
            return 1;
        }
        int dfd = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            perror(argv[i + 1]);
            return 1;
        }
        rc = zip_extract_path(argv[i], dfd, &lim, &rep);
        close(dfd);
    } else if (strcmp(cmd, "pack") == 0 && argc - i >= 3) {
        struct excludes ex = {calloc((size_t)argc, sizeof(char *)), 0};
        for (int k = i + 3; k < argc; k += 2) {
            if (strcmp(argv[k], "--exclude") != 0 || k + 1 >= argc) {
                fputs(usage, stderr);
                return 2;
            }
            ex.names[ex.count++] = argv[k + 1];
        }
        int dfd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            perror(argv[i]);
            return 1;
        }
        struct zip_pack_opts o = {argv[i + 2], exclude_cb, skipped_cb, &ex, &lim};
        rc = zip_pack(dfd, argv[i + 1], &o, &rep);
        close(dfd);
        free(ex.names);
    } else {
        fputs(usage, stderr);
        return 2;
    }
    print_report(&rep);
    return rc == 0 ? 0 : 1;
}
