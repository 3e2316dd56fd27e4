/* The zip core: name rules, folded keys and escaping; pack -> inspect ->
 * extract gives identical bytes and modes while symlinks and FIFOs are
 * skipped; the empty folder; in-memory archives; extraction never writes
 * through a symlink planted in the staging folder; fsat never follows a
 * symlink nor leaves its folder; pack's callbacks and limits. */
#include "check.h"
#include "fsat.h"
#include "zip_extract.h"
#include "zip_name.h"
#include "zip_pack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N(s) s, sizeof s - 1

static void write_file(const char *dir, const char *rel, const char *text, mode_t mode)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    CHECK(chmod(path, mode) == 0);
}

static void make_dir(const char *dir, const char *rel)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    CHECK(mkdir(path, 0755) == 0);
}

static void test_name_rules(void)
{
    static const struct {
        const char *name;
        int utf8;
        enum zip_reason want;
    } cases[] = {
        {"tool/a.txt", 0, ZIP_REASON_OK},
        {"tool/", 0, ZIP_REASON_OK},
        {"tool/caf\xc3\xa9.txt", 1, ZIP_REASON_OK},
        {"tool/caf\xc3\xa9.txt", 0, ZIP_REASON_NAME_ENCODING},
        {"tool/a\xc0\xae", 1, ZIP_REASON_NAME_ENCODING},
        {"tool/a\xc2\x85", 1, ZIP_REASON_NAME_CONTROL},
        {"tool/a\tb", 0, ZIP_REASON_NAME_CONTROL},
        {"tool/a\\b", 0, ZIP_REASON_NAME_BACKSLASH},
        {"C:/tool", 0, ZIP_REASON_NAME_COLON},
        {"/tool/a", 0, ZIP_REASON_NAME_ABSOLUTE},
        {"tool/../a", 0, ZIP_REASON_NAME_TRAVERSAL},
        {"tool/..", 0, ZIP_REASON_NAME_TRAVERSAL},
        {"tool/./a", 0, ZIP_REASON_NAME_COMPONENT},
        {"tool//a", 0, ZIP_REASON_NAME_COMPONENT},
        {"tool/a//", 0, ZIP_REASON_NAME_COMPONENT},
        {"", 0, ZIP_REASON_NAME_COMPONENT},
        {"tool/.env", 0, ZIP_REASON_DOTENV},
        {"tool/x/.ENV.Local", 0, ZIP_REASON_DOTENV},
        {"tool/.env..", 0, ZIP_REASON_DOTENV},
        {"tool/.e\xe2\x80\x8dnv", 1, ZIP_REASON_DOTENV},
        {"tool/.envrc", 0, ZIP_REASON_OK},
        {"tool/.environment", 0, ZIP_REASON_OK},
        {"tool/.Git/", 0, ZIP_REASON_GIT},
        {"tool/GIT~1/x", 0, ZIP_REASON_GIT},
        {"tool/.git /x", 0, ZIP_REASON_GIT},
        {"tool/.gitignore", 0, ZIP_REASON_OK},
        {"tool/.venv/", 0, ZIP_REASON_VENV},
        {"tool/venv/", 0, ZIP_REASON_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum zip_reason got = zip_name_check(cases[i].name, strlen(cases[i].name), cases[i].utf8);
        if (got != cases[i].want) {
            fprintf(stderr, "case %zu: got %s\n", i, zip_reason_code(got));
        }
        CHECK(got == cases[i].want);
    }
    char name[1100];
    memset(name, 'a', sizeof name);
    memcpy(name, "tool/", 5);
    CHECK(zip_name_check(name, 5 + 255, 0) == ZIP_REASON_OK);
    CHECK(zip_name_check(name, 5 + 256, 0) == ZIP_REASON_NAME_TOO_LONG);
    memset(name, 'a', sizeof name);
    for (size_t i = 0; i + 1 < sizeof name; i += 2) {
        name[i + 1] = '/';
    }
    CHECK(zip_name_check(name, 2 * 32 - 1, 0) == ZIP_REASON_OK);
    CHECK(zip_name_check(name, 2 * 33 - 1, 0) == ZIP_REASON_NAME_TOO_DEEP);
    CHECK(zip_name_check(name, 1025, 0) == ZIP_REASON_NAME_TOO_LONG);
}

/* 1 when a and b have the same folded key. */
static int same_key(const char *a, const char *b)
{
    struct buf ka = {0}, kb = {0};
    zip_name_key(a, strlen(a), &ka);
    zip_name_key(b, strlen(b), &kb);
    int same =
        ka.err == 0 && kb.err == 0 && ka.len == kb.len && memcmp(ka.data, kb.data, ka.len) == 0;
    buf_free(&ka);
    buf_free(&kb);
    return same;
}

static void test_name_key_folds_aliases(void)
{
    CHECK(same_key("Tool/README.md", "tool/readme.md"));
    CHECK(same_key("tool/caf\xc3\xa9", "TOOL/CAF\xc3\x89"));
    CHECK(same_key("tool/\xd0\x94", "tool/\xd0\xb4")); /* Cyrillic De */
    CHECK(same_key("tool/\xe2\x84\xaa", "tool/k"));    /* KELVIN SIGN */
    CHECK(same_key("tool/a\xe2\x80\x8b"
                   "b",
                   "tool/ab")); /* ZERO WIDTH SPACE */
    CHECK(same_key("tool/a. ", "tool/a"));
    CHECK(same_key("tool/sub/", "tool/sub"));
    CHECK(!same_key("tool/a", "tool/b"));
    CHECK(!same_key("tool/ab", "tool/a/b"));
}

static void test_escape_never_shows_raw_controls(void)
{
    char out[64];
    zip_name_escape(N("a\x1b[31m\\b\xff\xe2\x80\xae"
                      "c\xc3\xa9"),
                    out, sizeof out);
    CHECK(strcmp(out, "a\\x1b[31m\\\\b\\xff\\u{202e}c\xc3\xa9") == 0);
    char small[8];
    zip_name_escape(N("abcdefghij"), small, sizeof small);
    CHECK(strcmp(small, "abcd...") == 0);
    zip_name_escape(N("abc\xc3\xa9xyz"), small, sizeof small);
    CHECK(strcmp(small, "abc...") == 0); /* never half a character */
    CHECK(strcmp(zip_reason_code(ZIP_REASON_NAME_TRAVERSAL), "name_traversal") == 0);
    CHECK(strcmp(zip_reason_code(ZIP_REASON_COUNT), "unknown") == 0);
    for (int r = 0; r < ZIP_REASON_COUNT; r++) {
        CHECK(strcmp(zip_reason_code((enum zip_reason)r), "unknown") != 0);
    }
}

struct skips {
    int symlinks, specials, excluded;
};

static int count_skip(const char *relpath, enum zip_skip why, void *ctx)
{
    struct skips *s = ctx;
    (void)relpath;
    s->symlinks += why == ZIP_SKIP_SYMLINK;
    s->specials += why == ZIP_SKIP_SPECIAL;
    s->excluded += why == ZIP_SKIP_EXCLUDED;
    return 0;
}

static int exclude_skipme(const char *relpath, int is_dir, void *ctx)
{
    (void)ctx;
    (void)is_dir;
    const char *base = strrchr(relpath, '/');
    return strcmp(base ? base + 1 : relpath, "skipme") == 0;
}

/* Compares the trees a and b (kinds, modes, bytes); symlinks and FIFOs in
 * a (the skipped ones) are ignored. Returns the number of differences. */
static int compare_trees(const char *a, const char *b)
{
    int diffs = 0;
    DIR *d = opendir(a);
    if (!d) {
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "skipme") == 0) {
            continue;
        }
        char pa[4200], pb[4200];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        struct stat sa, sb;
        lstat(pa, &sa);
        if (!S_ISREG(sa.st_mode) && !S_ISDIR(sa.st_mode)) {
            diffs += lstat(pb, &sb) == 0; /* must be absent */
            continue;
        }
        if (lstat(pb, &sb) != 0 || (sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) ||
            (sa.st_mode & 07777) != (sb.st_mode & 07777)) {
            fprintf(stderr, "differs: %s\n", pb);
            diffs++;
            continue;
        }
        if (S_ISDIR(sa.st_mode)) {
            diffs += compare_trees(pa, pb);
            continue;
        }
        char *da = NULL, *db = NULL;
        size_t la = 0, lb = 0;
        FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
        if (fa && fb) {
            da = malloc((size_t)sa.st_size + 1);
            db = malloc((size_t)sb.st_size + 1);
            la = fread(da, 1, (size_t)sa.st_size, fa);
            lb = fread(db, 1, (size_t)sb.st_size, fb);
        }
        diffs += !fa || !fb || la != lb || memcmp(da, db, la) != 0;
        free(da);
        free(db);
        if (fa) {
            fclose(fa);
        }
        if (fb) {
            fclose(fb);
        }
    }
    closedir(d);
    return diffs;
}

/* Counts the entries of folder path (no . and ..). */
static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void test_round_trip_keeps_bytes_and_modes(const char *dir)
{
    char src[4200], out[4200], staging[4200];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(out, sizeof out, "%s/rt.zip", dir);
    snprintf(staging, sizeof staging, "%s/staging", dir);
    CHECK(mkdir(src, 0755) == 0 && mkdir(staging, 0700) == 0);
    write_file(src, "main.py", "print('hi')\n", 0644);
    write_file(src, "run.sh", "#!/bin/sh\n", 0755);
    make_dir(src, "lib");
    make_dir(src, "lib/empty");
    write_file(src, "lib/caf\xc3\xa9.txt", "d\xc3\xa9j\xc3\xa0\n", 0644);
    write_file(src, "lib/tool", "#!/usr/bin/env python3\n", 0755);
    write_file(src, "skipme", "left out\n", 0644);
    char path[4300];
    snprintf(path, sizeof path, "%s/link", src);
    CHECK(symlink("/etc/passwd", path) == 0);
    snprintf(path, sizeof path, "%s/lib/fifo", src);
    CHECK(mkfifo(path, 0644) == 0);

    int fds = check_count_fds();
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct skips skips = {0};
    struct zip_pack_opts o = {"mytool", exclude_skipme, count_skip, &skips, NULL};
    struct zip_report rep;
    CHECK(zip_pack(sfd, out, &o, &rep) == 0);
    close(sfd);
    CHECK(rep.reason == ZIP_REASON_OK && strcmp(rep.top, "mytool") == 0);
    CHECK(rep.files == 4 && rep.dirs == 2);
    CHECK(skips.symlinks == 1 && skips.specials == 1 && skips.excluded == 1);

    CHECK(zip_inspect_path(out, NULL, &rep) == 0);
    CHECK(rep.files == 4 && rep.dirs == 2 && strcmp(rep.top, "mytool") == 0);

    int dfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(zip_extract_path(out, dfd, NULL, &rep) == 0);
    close(dfd);
    CHECK(rep.files == 4 && rep.bytes == strlen("print('hi')\n#!/bin/sh\n"
                                                "d\xc3\xa9j\xc3\xa0\n#!/usr/bin/env python3\n"));
    CHECK(compare_trees(src, staging) == 0);
    CHECK(check_count_fds() == fds);
}

static void test_empty_folder_packs_and_extracts(const char *dir)
{
    char src[4200], out[4200], staging[4200];
    snprintf(src, sizeof src, "%s/empty-src", dir);
    snprintf(out, sizeof out, "%s/empty.zip", dir);
    snprintf(staging, sizeof staging, "%s/empty-staging", dir);
    CHECK(mkdir(src, 0755) == 0 && mkdir(staging, 0700) == 0);
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct zip_pack_opts o = {.top = "nothing"};
    struct zip_report rep;
    CHECK(zip_pack(sfd, out, &o, &rep) == 0);
    close(sfd);
    CHECK(access(out, F_OK) == 0);
    int dfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(zip_extract_path(out, dfd, NULL, &rep) == 0);
    close(dfd);
    CHECK(rep.files == 0 && count_entries(staging) == 0);
}

/* Reads the whole file at path (malloc'd, *len bytes). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = malloc(1 << 20);
    *len = f && data ? fread(data, 1, 1 << 20, f) : 0;
    if (f) {
        fclose(f);
    }
    return data;
}

static void test_in_memory_archives(const char *dir)
{
    char out[4200], staging[4200];
    snprintf(out, sizeof out, "%s/rt.zip", dir);
    snprintf(staging, sizeof staging, "%s/mem-staging", dir);
    size_t len;
    char *data = slurp(out, &len);
    struct zip_report rep;
    CHECK(zip_inspect_buffer(data, len, NULL, &rep) == 0 && rep.files == 4);
    CHECK(mkdir(staging, 0700) == 0);
    int dfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(zip_extract_buffer(data, len, dfd, NULL, &rep) == 0 && rep.files == 4);
    /* Not empty any more: refused, and what is there is kept. */
    CHECK(zip_extract_buffer(data, len, dfd, NULL, &rep) == -EBADMSG);
    CHECK(rep.reason == ZIP_REASON_NOT_EMPTY && count_entries(staging) > 0);
    close(dfd);
    CHECK(zip_inspect_buffer(data, len / 2, NULL, &rep) == -EBADMSG);
    CHECK(rep.reason == ZIP_REASON_BAD_ARCHIVE || rep.reason == ZIP_REASON_INCONSISTENT);
    struct zip_limits lim;
    zip_limits_init(&lim);
    lim.max_archive_bytes = len - 1;
    CHECK(zip_inspect_buffer(data, len, &lim, &rep) == -EBADMSG);
    CHECK(rep.reason == ZIP_REASON_ARCHIVE_TOO_BIG);
    zip_limits_init(&lim);
    lim.max_entries = 3;
    CHECK(zip_inspect_buffer(data, len, &lim, &rep) == -EBADMSG &&
          rep.reason == ZIP_REASON_TOO_MANY_ENTRIES);
    zip_limits_init(&lim);
    lim.max_total_bytes = 10;
    CHECK(zip_inspect_buffer(data, len, &lim, &rep) == -EBADMSG &&
          rep.reason == ZIP_REASON_TOTAL_TOO_BIG);
    zip_limits_init(&lim);
    lim.max_file_bytes = 12;
    CHECK(zip_inspect_buffer(data, len, &lim, &rep) == -EBADMSG &&
          rep.reason == ZIP_REASON_FILE_TOO_BIG);
    free(data);
}

static void test_extract_never_writes_through_a_planted_symlink(const char *dir)
{
    char out[4200], staging[4200], outside[4200], link[4300];
    snprintf(out, sizeof out, "%s/rt.zip", dir);
    snprintf(staging, sizeof staging, "%s/planted", dir);
    snprintf(outside, sizeof outside, "%s/outside", dir);
    snprintf(link, sizeof link, "%s/lib", staging);
    CHECK(mkdir(staging, 0700) == 0 && mkdir(outside, 0700) == 0);
    CHECK(symlink(outside, link) == 0);
    struct zip_report rep;
    zip_t *za = zip_inspect_open_path(out, NULL, &rep);
    struct zip_plan plan;
    CHECK(za && zip_inspect_archive(za, NULL, &plan, &rep) == 0);
    int dfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* The archive has lib/ and lib/... entries: creating them meets the
     * symlink and fails; nothing lands in `outside`. */
    CHECK(zip_extract_archive(za, &plan, dfd, NULL, &rep) != 0);
    CHECK(rep.reason == ZIP_REASON_IO);
    CHECK(count_entries(outside) == 0);
    zip_plan_free(&plan);
    zip_discard(za);
    /* fsat_clear removes the link, not what it points to. */
    write_file(outside, "keep", "x", 0644);
    CHECK(fsat_clear(dfd) == 0 && count_entries(staging) == 0 && count_entries(outside) == 1);
    close(dfd);
}

static void test_fsat_stays_beneath_without_symlinks(const char *dir)
{
    char root[4200], path[4300];
    snprintf(root, sizeof root, "%s/fsat", dir);
    CHECK(mkdir(root, 0700) == 0);
    make_dir(root, "sub");
    write_file(root, "sub/ok.txt", "ok", 0644);
    snprintf(path, sizeof path, "%s/lnk", root);
    CHECK(symlink("sub", path) == 0);
    snprintf(path, sizeof path, "%s/sub/file-link", root);
    CHECK(symlink("ok.txt", path) == 0);
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int (*const opens[])(int, const char *, int, mode_t) = {fsat_open, fsat_open_walk};
    for (size_t i = 0; i < 2; i++) {
        int fd = opens[i](dfd, "sub/ok.txt", O_RDONLY | O_CLOEXEC, 0);
        CHECK(fd >= 0);
        if (fd >= 0) {
            close(fd);
        }
        CHECK(opens[i](dfd, "lnk/ok.txt", O_RDONLY | O_CLOEXEC, 0) == -ELOOP);
        CHECK(opens[i](dfd, "sub/file-link", O_RDONLY | O_CLOEXEC, 0) == -ELOOP);
        CHECK(opens[i](dfd, "../fsat/sub/ok.txt", O_RDONLY | O_CLOEXEC, 0) == -EXDEV);
        CHECK(opens[i](dfd, "/etc/passwd", O_RDONLY | O_CLOEXEC, 0) == -EXDEV);
        fd = opens[i](dfd, "sub/new.txt", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        if (fd >= 0) {
            close(fd);
        }
        CHECK(opens[i](dfd, "sub/new.txt", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ==
              -EEXIST);
        CHECK(unlinkat(dfd, "sub/new.txt", 0) == 0);
    }
    write_file(root, "a", "a", 0644);
    write_file(root, "b", "b", 0644);
    CHECK(fsat_rename_noreplace(dfd, "a", dfd, "b") == -EEXIST);
    CHECK(fsat_rename_noreplace(dfd, "a", dfd, "c") == 0);
    CHECK(fsat_is_empty(dfd) == 0);
    CHECK(fsat_remove_tree(dfd, "sub") == 0 && fsat_remove_tree(dfd, "missing") == 0);
    CHECK(fsat_clear(dfd) == 0 && fsat_is_empty(dfd) == 1);
    close(dfd);
}

static int stop_at_second(const char *relpath, int is_dir, void *ctx)
{
    (void)relpath;
    (void)is_dir;
    return ++*(int *)ctx == 2 ? -EINTR : 0;
}

static void test_pack_stops_on_callbacks_and_limits(const char *dir)
{
    char src[4200], out[4200];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(out, sizeof out, "%s/stopped.zip", dir);
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int calls = 0;
    struct zip_pack_opts o = {"t", stop_at_second, NULL, &calls, NULL};
    struct zip_report rep;
    CHECK(zip_pack(sfd, out, &o, &rep) == -EINTR && rep.reason == ZIP_REASON_IO);
    CHECK(access(out, F_OK) != 0);

    struct zip_limits lim;
    zip_limits_init(&lim);
    lim.max_entries = 2;
    o = (struct zip_pack_opts){.top = "t", .limits = &lim};
    CHECK(zip_pack(sfd, out, &o, &rep) == -EBADMSG && rep.reason == ZIP_REASON_TOO_MANY_ENTRIES);
    zip_limits_init(&lim);
    lim.max_file_bytes = 5;
    CHECK(zip_pack(sfd, out, &o, &rep) == -EBADMSG && rep.reason == ZIP_REASON_FILE_TOO_BIG);
    o.limits = NULL;
    o.top = "a/b";
    CHECK(zip_pack(sfd, out, &o, &rep) == -EBADMSG && rep.reason == ZIP_REASON_TOP_FOLDER);
    o.top = ".git";
    CHECK(zip_pack(sfd, out, &o, &rep) == -EBADMSG && rep.reason == ZIP_REASON_TOP_FOLDER);
    CHECK(access(out, F_OK) != 0);
    /* No temporary file is left behind. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int temps = 0;
    while (d && (e = readdir(d)) != NULL) {
        temps += strstr(e->d_name, ".tmp-") != NULL;
    }
    if (d) {
        closedir(d);
    }
    CHECK(temps == 0);
    close(sfd);
}

/* Packs src into out with top "t" and default limits; returns zip_pack's
 * value and leaves the report in *rep. */
static int pack_dir(const char *src, const char *out, struct zip_report *rep)
{
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct zip_pack_opts o = {.top = "t"};
    int rc = zip_pack(sfd, out, &o, rep);
    close(sfd);
    return rc;
}

static void test_pack_refuses_what_import_refuses(const char *dir)
{
    char src[4200], out[4200];
    struct zip_report rep;
    snprintf(src, sizeof src, "%s/dup-src", dir);
    snprintf(out, sizeof out, "%s/dup.zip", dir);
    CHECK(mkdir(src, 0755) == 0);
    write_file(src, "README", "1", 0644);
    write_file(src, "readme", "2", 0644);
    /* Caught by the self-check (inspect on the written archive). */
    CHECK(pack_dir(src, out, &rep) == -EBADMSG && rep.reason == ZIP_REASON_DUPLICATE);
    CHECK(strstr(rep.message, "t/README") != NULL && access(out, F_OK) != 0);

    snprintf(src, sizeof src, "%s/latin1-src", dir);
    CHECK(mkdir(src, 0755) == 0);
    write_file(src, "caf\xe9", "1", 0644); /* a Latin-1 name: not UTF-8 */
    CHECK(pack_dir(src, out, &rep) == -EBADMSG && rep.reason == ZIP_REASON_NAME_ENCODING);
    CHECK(strstr(rep.message, "t/caf\\xe9") != NULL);
}

static void test_pack_into_the_packed_folder(const char *dir)
{
    char src[4200], out[4300];
    struct zip_report rep;
    snprintf(src, sizeof src, "%s/self-src", dir);
    snprintf(out, sizeof out, "%s/self.zip", src);
    CHECK(mkdir(src, 0755) == 0);
    write_file(src, "a.txt", "a", 0644);
    CHECK(pack_dir(src, out, &rep) == 0 && rep.files == 1);
    CHECK(zip_inspect_path(out, NULL, &rep) == 0 && rep.files == 1);
    CHECK(count_entries(src) == 2);
}

struct swap {
    const char *dir;
    int symlink; /* replace the file by a symlink instead of growing it */
};

/* Exclude callback that changes "victim" after the walk examined it and
 * before its data is read. */
static int change_victim(const char *relpath, int is_dir, void *ctx)
{
    const struct swap *sw = ctx;
    (void)is_dir;
    if (strcmp(relpath, "victim") == 0) {
        char path[4300];
        snprintf(path, sizeof path, "%s/victim", sw->dir);
        if (sw->symlink) {
            CHECK(unlink(path) == 0 && symlink("/etc/passwd", path) == 0);
        } else {
            write_file(sw->dir, "victim", "grown beyond what the walk saw\n", 0644);
        }
    }
    return 0;
}

static void test_pack_fails_when_a_file_changes_under_it(const char *dir)
{
    char src[4200], out[4300];
    snprintf(src, sizeof src, "%s/victim-src", dir);
    snprintf(out, sizeof out, "%s/victim.zip", dir);
    CHECK(mkdir(src, 0755) == 0);
    for (int symlink_it = 0; symlink_it < 2; symlink_it++) {
        write_file(src, "victim", "small\n", 0644);
        struct swap sw = {src, symlink_it};
        int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct zip_pack_opts o = {"t", change_victim, NULL, &sw, NULL};
        struct zip_report rep;
        int rc = zip_pack(sfd, out, &o, &rep);
        close(sfd);
        CHECK(rc == (symlink_it ? -ELOOP : -ESTALE) && rep.reason == ZIP_REASON_IO);
        CHECK(strstr(rep.message, "victim") != NULL && access(out, F_OK) != 0);
        char path[4300];
        snprintf(path, sizeof path, "%s/victim", src);
        unlink(path);
    }
}

int main(void)
{
    const char *tmp = check_tmpdir("zip");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp);
    test_name_rules();
    test_name_key_folds_aliases();
    test_escape_never_shows_raw_controls();
    test_round_trip_keeps_bytes_and_modes(dir);
    test_empty_folder_packs_and_extracts(dir);
    test_in_memory_archives(dir);
    test_extract_never_writes_through_a_planted_symlink(dir);
    test_fsat_stays_beneath_without_symlinks(dir);
    test_pack_stops_on_callbacks_and_limits(dir);
    test_pack_refuses_what_import_refuses(dir);
    test_pack_into_the_packed_folder(dir);
    test_pack_fails_when_a_file_changes_under_it(dir);
    return check_exit();
}
