/* watch: the generation moves for every change a cached answer depends on
 * (a watched name in a root, any entry of a root without a filter, a
 * filtered name in a subdirectory, a subdirectory made, renamed or
 * removed later), stays put for everything else, and moves on every call
 * while the watch cannot be trusted (a missing or replaced root, a
 * watched name that is a symlink). Many threads asking while files
 * change: after each change returns, every later call reflects it. */
#include "buf.h"
#include "check.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home[512], tools[600];

/* Writes text to dir/name (created or replaced in place). */
static void put(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Replaces dir/name atomically, the way Pixie writes a .env. */
static void put_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[256], from[1024], to[1024];
    snprintf(tmp, sizeof tmp, ".%s.tmp", name);
    put(dir, tmp, text);
    snprintf(from, sizeof from, "%s/%s", dir, tmp);
    snprintf(to, sizeof to, "%s/%s", dir, name);
    CHECK(rename(from, to) == 0);
}

/* The path dir/name in a static buffer. */
static const char *at(const char *dir, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Returns 1 when the generation moved since *last (and updates it). */
static int moved(struct watch *w, uint64_t *last)
{
    uint64_t g = watch_generation(w);
    int m = g != *last;
    *last = g;
    return m;
}

/* Two calls in a row agree: the watch is trusted now. */
static int steady(struct watch *w)
{
    return watch_generation(w) == watch_generation(w);
}

static struct watch *fresh_watch(void)
{
    struct buf err = {0};
    struct watch *w = watch_new(&err);
    CHECK(w != NULL);
    static const char *const db[] = {"pixie.db", "pixie.db-wal", NULL};
    static const char *const files[] = {"tool.json", ".env", NULL};
    CHECK(watch_add(w, home, db, NULL) == 0);
    CHECK(watch_add(w, tools, NULL, files) == 0);
    buf_free(&err);
    return w;
}

static void test_changes(void)
{
    snprintf(home, sizeof home, "%s", check_tmpdir("watch"));
    snprintf(tools, sizeof tools, "%s/tools", home);
    CHECK(mkdir(tools, 0700) == 0);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/a", tools);
    snprintf(b, sizeof b, "%s/b", tools);
    CHECK(mkdir(a, 0700) == 0);
    put(a, "tool.json", "{}");
    struct watch *w = fresh_watch();
    uint64_t g = watch_generation(w);
    CHECK(steady(w));
    CHECK(!moved(w, &g));

    put(a, "tool.json", "{\"id\": \"a\"}"); /* a filtered name in a subdirectory */
    CHECK(moved(w, &g));
    CHECK(!moved(w, &g));
    put_atomic(a, ".env", "K=v\n");
    CHECK(moved(w, &g));
    put(a, "main.py", "print(1)\n"); /* not a name the answer depends on */
    put(a, "output.log", "x\n");
    CHECK(!moved(w, &g));
    put(home, "pixie.db-wal", "x"); /* the store */
    CHECK(moved(w, &g));
    put(home, "notes.txt", "x"); /* another file of the home */
    CHECK(!moved(w, &g));

    CHECK(mkdir(b, 0700) == 0); /* a subdirectory made later is watched */
    CHECK(moved(w, &g));
    put(b, "tool.json", "{}");
    CHECK(moved(w, &g));
    put(b, "other.txt", "x");
    CHECK(!moved(w, &g));
    char c[700];
    snprintf(c, sizeof c, "%s/c", tools);
    CHECK(rename(b, c) == 0); /* renamed: still watched under its new name */
    CHECK(moved(w, &g));
    put(c, ".env", "K=w\n");
    CHECK(moved(w, &g));
    CHECK(unlink(at(c, ".env")) == 0 && unlink(at(c, "tool.json")) == 0 &&
          unlink(at(c, "other.txt")) == 0 && rmdir(c) == 0);
    CHECK(moved(w, &g));
    CHECK(steady(w));
    put(tools, "README", "x"); /* any entry of the tools folder */
    CHECK(moved(w, &g));

    /* a symlinked tool.json: its target can change unseen, so never trusted */
    put(home, "target.json", "{}");
    CHECK(unlink(at(a, "tool.json")) == 0);
    char target[1024];
    snprintf(target, sizeof target, "%s", at(home, "target.json"));
    CHECK(symlink(target, at(a, "tool.json")) == 0);
    CHECK(moved(w, &g));
    CHECK(!steady(w));
    CHECK(unlink(at(a, "tool.json")) == 0);
    put(a, "tool.json", "{}");
    CHECK(moved(w, &g));
    CHECK(steady(w));
    watch_free(w);
}

static void test_missing_and_replaced_root(void)
{
    snprintf(home, sizeof home, "%s", check_tmpdir("watch_root"));
    snprintf(tools, sizeof tools, "%s/tools", home);
    struct watch *w = fresh_watch(); /* no tools folder yet */
    CHECK(!steady(w));
    uint64_t g = watch_generation(w);
    CHECK(mkdir(tools, 0700) == 0); /* found by the next call, which must move */
    CHECK(moved(w, &g));
    CHECK(steady(w));
    char a[700], old[700];
    snprintf(a, sizeof a, "%s/a", tools);
    CHECK(mkdir(a, 0700) == 0);
    CHECK(moved(w, &g));
    /* the tools folder moved away and a new one made in its place */
    snprintf(old, sizeof old, "%s/tools.old", home);
    CHECK(rename(tools, old) == 0);
    CHECK(moved(w, &g));
    CHECK(mkdir(tools, 0700) == 0);
    CHECK(mkdir(a, 0700) == 0);
    g = watch_generation(w);
    CHECK(steady(w));
    put(a, "tool.json", "{}"); /* seen in the new folder */
    CHECK(moved(w, &g));
    put(at(old, "a"), "tool.json", "{}"); /* the old one may still move it: harmless */
    g = watch_generation(w);
    CHECK(steady(w));
    watch_free(w);
}

/* More events than the kernel queues (max_queued_events, 16384 by
 * default) are lost: a folder made meanwhile must still be watched. */
static void test_overflow(void)
{
    snprintf(home, sizeof home, "%s", check_tmpdir("watch_overflow"));
    snprintf(tools, sizeof tools, "%s/tools", home);
    CHECK(mkdir(tools, 0700) == 0);
    char a[700], late[700];
    snprintf(a, sizeof a, "%s/a", tools);
    snprintf(late, sizeof late, "%s/late", tools);
    CHECK(mkdir(a, 0700) == 0);
    struct watch *w = fresh_watch();
    uint64_t g = watch_generation(w);
    for (int i = 0; i < 12000; i++) { /* two names in turn: never merged */
        put(a, i % 2 ? "tool.json" : ".env", "x");
    }
    CHECK(mkdir(late, 0700) == 0); /* its IN_CREATE is lost with the overflow */
    CHECK(moved(w, &g));
    put(late, "tool.json", "{}");
    CHECK(moved(w, &g));
    CHECK(steady(w));
    watch_free(w);
}

struct race {
    struct watch *w;
    atomic_int started; /* changes begun so far */
    atomic_int written; /* changes made so far */
    atomic_int stop;
    atomic_int stale; /* a call after a change that did not reflect it */
};

/* Reader: takes a generation, then waits for a change that began after
 * it to complete; a call then must give a different generation. */
static void *race_reader(void *p)
{
    struct race *r = p;
    while (!atomic_load(&r->stop)) {
        uint64_t g1 = watch_generation(r->w);
        int after = atomic_load(&r->started) + 1; /* begins after g1 */
        while (atomic_load(&r->written) < after && !atomic_load(&r->stop)) {
        }
        if (atomic_load(&r->stop)) {
            break;
        }
        if (watch_generation(r->w) == g1) {
            atomic_fetch_add(&r->stale, 1);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    snprintf(home, sizeof home, "%s", check_tmpdir("watch_threads"));
    snprintf(tools, sizeof tools, "%s/tools", home);
    CHECK(mkdir(tools, 0700) == 0);
    struct race r = {.w = fresh_watch()};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_create(&th[i], NULL, race_reader, &r) == 0);
    }
    char dir[700];
    for (int i = 0; i < 7; i++) {
        snprintf(dir, sizeof dir, "%s/t%d", tools, i);
        CHECK(mkdir(dir, 0700) == 0);
    }
    for (int i = 0; i < 300; i++) {
        atomic_fetch_add(&r.started, 1);
        snprintf(dir, sizeof dir, "%s/t%d", tools, i % 7);
        if (i % 3 == 0) {
            snprintf(dir, sizeof dir, "%s/new%d", tools, i);
            CHECK(mkdir(dir, 0700) == 0);
        } else if (i % 3 == 1) {
            put_atomic(dir, ".env", i % 2 ? "K=1\n" : "K=22\n");
        } else {
            put(dir, "tool.json", "{}");
        }
        atomic_fetch_add(&r.written, 1);
        usleep(200);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    CHECK(atomic_load(&r.stale) == 0);
    watch_free(r.w);
}

int main(void)
{
    test_changes();
    test_missing_and_replaced_root();
    test_overflow();
    test_threads();
    return check_exit();
}
