/* Test driver for the .env engine, used by tests/e2e/test_dotenv_*.py and
 * test_env_crash.py to run many operations in one process. Not a test.
 *
 * stdin: a sequence of requests, each an op netstring followed by its
 * argument netstrings ("<len>:<bytes>,"). stdout: one reply per request,
 * a sequence of netstrings starting with the status ("0" or the negative
 * errno). Requests:
 *   parse  PATH                   -> rc, count, (key, has, value)*, nwarn, line*
 *   interp PATH OVERRIDE N (K V)* -> as parse, values interpolated
 *   memset PATH KEY VALUE         -> rc, expands   (dotenv_set on an in-memory
 *                                    copy of PATH, kept across requests)
 *   memunset PATH KEY             -> rc, removed
 *   flush  PATH                   -> rc            (writes the copy to PATH)
 *   set    PATH KEY VALUE         -> rc, expands   (envfile_set, real file)
 *   rootset PATH ROOT KEY VALUE   -> rc, expands   (envfile_set with tools_root)
 *   unset  PATH KEY               -> rc, removed   (envfile_unset)
 *   quote  VALUE                  -> rc, text
 * `dotenv_tool --loop PATH KEY FILE1 FILE2` sets KEY to the contents of
 * FILE1, FILE2, FILE1, ... with envfile_set forever (for kill -9 tests); it
 * prints "set N\n" after each completed set. */
#include "buf.h"
#include "dotenv.h"
#include "envfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads one netstring from stdin. Returns a malloc'd NUL-terminated buffer
 * (length in *len) or NULL at end of input / on malformed input. */
static char *read_ns(size_t *len)
{
    size_t n = 0;
    int c;
    int digits = 0;
    while ((c = getchar()) != EOF && c >= '0' && c <= '9') {
        n = n * 10 + (size_t)(c - '0');
        digits++;
    }
    if (c != ':' || !digits) {
        return NULL;
    }
    char *b = malloc(n + 1);
    if (!b || fread(b, 1, n, stdin) != n || getchar() != ',') {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

/* Writes one netstring to stdout. */
static void write_ns(const char *s, size_t len)
{
    printf("%zu:", len);
    fwrite(s, 1, len, stdout);
    putchar(',');
}

/* Writes an integer as a netstring. */
static void write_int(long v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%ld", v);
    write_ns(b, (size_t)n);
}

/* In-memory copies of files for memset/memunset/flush. */
typedef struct {
    char *path;
    struct buf text;
} mem_file;

static mem_file mem_files[1024];
static size_t mem_count;

/* The in-memory copy of path, loaded from disk (or empty) on first use. */
static mem_file *mem_get(const char *path)
{
    for (size_t i = 0; i < mem_count; i++) {
        if (strcmp(mem_files[i].path, path) == 0) {
            return &mem_files[i];
        }
    }
    if (mem_count == sizeof mem_files / sizeof mem_files[0]) {
        return NULL;
    }
    mem_file *m = &mem_files[mem_count++];
    m->path = strdup(path);
    if (envfile_read(path, NULL, &m->text) != 0) {
        buf_clear(&m->text); /* missing or unreadable: empty */
    }
    return m;
}

/* Replies with the parse (optionally interpolated) of the file at path. */
static void do_parse(const char *path, int interp, int override, const dotenv_pair *env, size_t n)
{
    struct buf text = {0};
    dotenv_doc doc;
    memset(&doc, 0, sizeof doc);
    int rc = envfile_read(path, NULL, &text);
    if (rc == 0) {
        rc = dotenv_parse(text.data, text.len, &doc);
    }
    if (rc == 0 && interp) {
        rc = dotenv_interpolate(&doc, env, n, override);
    }
    write_int(rc);
    if (rc == 0) {
        write_int((long)doc.count);
        for (size_t i = 0; i < doc.count; i++) {
            const dotenv_binding *b = &doc.bindings[i];
            write_ns(b->key, b->key_len);
            write_int(b->value != NULL);
            write_ns(b->value ? b->value : "", b->value ? b->value_len : 0);
        }
        write_int((long)doc.warning_count);
        for (size_t i = 0; i < doc.warning_count; i++) {
            write_int(doc.warning_lines[i]);
        }
    }
    dotenv_doc_free(&doc);
    buf_free(&text);
}

/* Handles the interp request (its arguments follow on stdin). */
static int do_interp(void)
{
    size_t len;
    char *path = read_ns(&len);
    char *ov = read_ns(&len);
    char *cnt = read_ns(&len);
    if (!path || !ov || !cnt) {
        return -1;
    }
    size_t n = (size_t)strtoul(cnt, NULL, 10);
    dotenv_pair *env = calloc(n ? n : 1, sizeof *env);
    char **bufs = calloc(2 * n + 1, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        bufs[2 * i] = read_ns(&env[i].key_len);
        bufs[2 * i + 1] = read_ns(&env[i].value_len);
        env[i].key = bufs[2 * i];
        env[i].value = bufs[2 * i + 1];
    }
    do_parse(path, 1, atoi(ov), env, n);
    for (size_t i = 0; i < 2 * n; i++) {
        free(bufs[i]);
    }
    free(bufs);
    free(env);
    free(path);
    free(ov);
    free(cnt);
    return 0;
}

/* Handles the rootset request (its arguments follow on stdin). */
static int do_rootset(void)
{
    size_t l[4] = {0, 0, 0, 0};
    char *a[4] = {NULL, NULL, NULL, NULL};
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++) {
        ok = (a[i] = read_ns(&l[i])) != NULL;
    }
    int flag = 0;
    if (ok) {
        write_int(envfile_set(a[0], a[1], a[2], a[3], l[3], &flag));
        write_int(flag);
    }
    for (int i = 0; i < 4; i++) {
        free(a[i]);
    }
    return ok ? 0 : -1;
}

/* Handles one request whose op is `op`. Returns 0, or -1 on bad input. */
static int handle(const char *op)
{
    size_t l1 = 0, l2 = 0, l3 = 0;
    if (strcmp(op, "interp") == 0) {
        return do_interp();
    }
    if (strcmp(op, "rootset") == 0) {
        return do_rootset();
    }
    char *a = read_ns(&l1);
    if (!a) {
        return -1;
    }
    char *b = NULL, *c = NULL;
    int two = strcmp(op, "memunset") == 0 || strcmp(op, "unset") == 0;
    int three = strcmp(op, "memset") == 0 || strcmp(op, "set") == 0;
    if ((two || three) && !(b = read_ns(&l2))) {
        free(a);
        return -1;
    }
    if (three && !(c = read_ns(&l3))) {
        free(a);
        free(b);
        return -1;
    }
    int rc = 0, flag = 0;
    if (strcmp(op, "parse") == 0) {
        do_parse(a, 0, 0, NULL, 0);
    } else if (strcmp(op, "quote") == 0) {
        struct buf out = {0};
        rc = dotenv_quote(a, l1, &out, &flag);
        write_int(rc);
        write_ns(out.data ? out.data : "", out.len);
        buf_free(&out);
    } else if (strcmp(op, "memset") == 0 || strcmp(op, "memunset") == 0) {
        mem_file *m = mem_get(a);
        struct buf out = {0};
        const char *text = m && m->text.data ? m->text.data : "";
        rc = !m      ? -ENOMEM
             : three ? dotenv_set(text, m->text.len, b, c, l3, &out, &flag)
                     : dotenv_unset(text, m->text.len, b, &out, &flag);
        if (rc == 0) {
            buf_free(&m->text);
            m->text = out; /* the copy now owns out's bytes */
        } else {
            buf_free(&out);
        }
        write_int(rc);
        write_int(flag);
    } else if (strcmp(op, "flush") == 0) {
        mem_file *m = mem_get(a);
        FILE *f = m ? fopen(a, "wb") : NULL;
        rc = f && fwrite(m->text.data ? m->text.data : "", 1, m->text.len, f) == m->text.len ? 0
                                                                                             : -EIO;
        if (f && fclose(f) != 0) {
            rc = -EIO;
        }
        write_int(rc);
    } else if (strcmp(op, "set") == 0) {
        rc = envfile_set(a, NULL, b, c, l3, &flag);
        write_int(rc);
        write_int(flag);
    } else if (strcmp(op, "unset") == 0) {
        rc = envfile_unset(a, NULL, b, &flag);
        write_int(rc);
        write_int(flag);
    } else {
        rc = -2;
    }
    free(a);
    free(b);
    free(c);
    return rc == -2 ? -1 : 0;
}

/* --loop PATH KEY FILE1 FILE2: alternate two values forever. */
static int loop(char **argv)
{
    struct buf v[2] = {{0}, {0}};
    for (int k = 0; k < 2; k++) {
        if (envfile_read(argv[3 + k], NULL, &v[k]) != 0) {
            fputs("dotenv_tool: cannot read a value file\n", stderr);
            return 1;
        }
    }
    for (unsigned long i = 0;; i++) {
        int rc = envfile_set(argv[1], NULL, argv[2], v[i & 1].data, v[i & 1].len, NULL);
        if (rc != 0) {
            fprintf(stderr, "dotenv_tool: set failed: %s\n", strerror(-rc));
            return 1;
        }
        printf("set %lu\n", i + 1);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--loop") == 0) {
        return loop(argv + 1);
    }
    size_t len;
    char *op;
    while ((op = read_ns(&len)) != NULL) {
        int rc = handle(op);
        free(op);
        if (rc != 0) {
            fputs("dotenv_tool: bad request\n", stderr);
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}
