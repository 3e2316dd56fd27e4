/* dotenv + envfile: python-dotenv's parser rules, the writer, rewriting one
 * key byte for byte, interpolation, and the safe file operations. */
#include "buf.h"
#include "check.h"
#include "dotenv.h"
#include "envfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses text (NUL-terminated) into doc; checks it succeeded. */
static void parse(const char *text, dotenv_doc *doc)
{
    CHECK(dotenv_parse(text, strlen(text), doc) == 0);
}

/* 1 when the last binding of key in text has exactly `want` (NULL: bound
 * without value; "<absent>" for not bound at all). */
static int value_is(const char *text, const char *key, const char *want)
{
    dotenv_doc doc;
    if (dotenv_parse(text, strlen(text), &doc) != 0) {
        return 0;
    }
    const dotenv_binding *b = dotenv_lookup(&doc, key, strlen(key));
    int ok;
    if (want && strcmp(want, "<absent>") == 0) {
        ok = b == NULL;
    } else if (!b) {
        ok = 0;
    } else if (!want) {
        ok = b->value == NULL;
    } else {
        ok = b->value && b->value_len == strlen(want) && memcmp(b->value, want, b->value_len) == 0;
    }
    dotenv_doc_free(&doc);
    return ok;
}

static void test_unquoted_values(void)
{
    CHECK(value_is("A=1\n", "A", "1"));
    CHECK(value_is("A=  spaced  out  \n", "A", "spaced  out"));
    CHECK(value_is("A=1 # comment\n", "A", "1"));
    CHECK(value_is("A=1# not a comment\n", "A", "1# not a comment"));
    CHECK(value_is("A=  # c\n", "A", "# c")); /* 1.2.2 */
    CHECK(value_is("A=#x\n", "A", "#x"));
    CHECK(value_is("A=a\\\n", "A", "a\\"));
    CHECK(value_is("A=\n", "A", ""));
    CHECK(value_is("A=", "A", ""));
    CHECK(value_is("A=x\xc2\xa0#c\n", "A", "x")); /* NBSP is whitespace */
}

static void test_quoted_values(void)
{
    CHECK(value_is("A='a\\'b\\\\c\\n'\n", "A", "a'b\\c\\n"));
    CHECK(value_is("A=\"\\a\\b\\f\\n\\r\\t\\v\\\\\\'\\\"\"\n", "A", "\a\b\f\n\r\t\v\\'\""));
    CHECK(value_is("A=\"\\x41\\0\\$\"\n", "A", "\\x41\\0\\$"));
    CHECK(value_is("A=\"l1\nl2\"\nB=2\n", "A", "l1\nl2"));
    CHECK(value_is("A='l1\r\nl2'\n", "A", "l1\nl2"));
    CHECK(value_is("A=\"x\" # ok\n", "A", "x"));
    CHECK(value_is("A=\"x\" junk\nB=1\n", "A", "<absent>"));
    CHECK(value_is("A=\"x\" junk\nB=1\n", "B", "1"));
    /* unmatched quote swallows up to the next quote: all three lost */
    CHECK(value_is("A=\"unterminated\nB=2\nC=\"3\"\n", "B", "<absent>"));
    CHECK(value_is("A=\"unterminated\nB=2\nC=\"3\"\n", "C", "<absent>"));
    /* no closing quote at all: backtrack to the last \" pair */
    CHECK(value_is("A='a\\'\nB=2", "A", "a\\"));
    CHECK(value_is("A='a\\'\nB=2", "B", "2"));
}

static void test_keys_and_export(void)
{
    CHECK(value_is("export A=1\n", "A", "1"));
    CHECK(value_is("export A\n", "A", NULL));
    CHECK(value_is("export=1\n", "export", "1"));
    CHECK(value_is("exportA=1\n", "exportA", "1"));
    CHECK(value_is("'q k'=1\n", "q k", "1"));
    CHECK(value_is("\"A\"=1\n", "\"A\"", "1"));
    CHECK(value_is("A.B-C=1\n", "A.B-C", "1"));
    CHECK(value_is("A B=1\n", "A", "<absent>"));
    CHECK(value_is("A\n", "A", NULL));
    CHECK(value_is("A=1\nA\n", "A", NULL));
    CHECK(value_is("A=1\nA=2\n", "A", "2"));
    CHECK(value_is("\xef\xbb\xbf"
                   "A=1\n",
                   "A", "1")); /* BOM stripped */
    CHECK(value_is("# A=1\n", "A", "<absent>"));
}

static void test_newlines_and_spans(void)
{
    const char *text = "# c\r\n\r\n  A=1\r\nB='x\ry'\rC=\"3\"";
    dotenv_doc doc;
    parse(text, &doc);
    CHECK(doc.count == 3 && doc.warning_count == 0);
    if (doc.count == 3) {
        CHECK(doc.bindings[0].start == 7 && doc.bindings[0].end == 14 && doc.bindings[0].line == 3);
        CHECK(doc.bindings[1].start == 14 && doc.bindings[1].end == 22 &&
              doc.bindings[1].line == 4);
        CHECK(doc.bindings[1].value_len == 3 && memcmp(doc.bindings[1].value, "x\ny", 3) == 0);
        CHECK(doc.bindings[2].start == 22 && doc.bindings[2].end == strlen(text));
        CHECK(doc.bindings[2].line == 6);
    }
    dotenv_doc_free(&doc);
    dotenv_doc_free(&doc); /* idempotent */
}

static void test_warnings_name_lines(void)
{
    dotenv_doc doc;
    parse("A=1\n\n  bad line\nB='x'junk\n=x\nC=3\n", &doc);
    CHECK(doc.count == 2);
    CHECK(doc.warning_count == 3);
    if (doc.warning_count == 3) {
        CHECK(doc.warning_lines[0] == 3 && doc.warning_lines[1] == 4 && doc.warning_lines[2] == 5);
    }
    dotenv_doc_free(&doc);
    CHECK(dotenv_parse("A=\xff\n", 4, &doc) == -EILSEQ);
    CHECK(dotenv_parse("A=\xed\xa0\x80\n", 6, &doc) == -EILSEQ); /* surrogate */
    CHECK(dotenv_parse("A=\xc0\xaf\n", 5, &doc) == -EILSEQ);     /* overlong */
    CHECK(dotenv_parse("A=a\0b\n", 6, &doc) == 0 && doc.count == 1 &&
          doc.bindings[0].value_len == 3);
    dotenv_doc_free(&doc);
}

/* Checks dotenv_quote(value) == want. */
static int quotes_to(const char *value, size_t len, const char *want)
{
    struct buf out = {0};
    int rc = dotenv_quote(value, len, &out, NULL);
    int ok = rc == 0 && out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
    buf_free(&out);
    return ok;
}

static void test_writer(void)
{
    CHECK(quotes_to("", 0, "\"\""));
    CHECK(quotes_to("a\"b\\c\r\nd\t'#", 11, "\"a\\\"b\\\\c\\r\\nd\t'#\""));
    CHECK(quotes_to("a\\", 2, "a\\")); /* trailing backslash: unquoted */
    CHECK(quotes_to("#x\\", 3, "#x\\"));
    struct buf out = {0};
    int warn = 0;
    CHECK(dotenv_quote("a\0b", 3, &out, NULL) == -EINVAL && out.len == 0);
    CHECK(dotenv_quote("a\xff", 2, &out, NULL) == -EILSEQ);
    CHECK(dotenv_quote("a\nb\\", 4, &out, NULL) == -EDOM);
    CHECK(dotenv_quote(" a\\", 3, &out, NULL) == -EDOM);
    CHECK(dotenv_quote("a #b\\", 5, &out, NULL) == -EDOM);
    CHECK(dotenv_quote("\"a\\", 3, &out, NULL) == -EDOM);
    CHECK(out.len == 0);
    CHECK(dotenv_quote("x${Y}", 5, &out, &warn) == 0 && warn == 1);
    buf_free(&out);
    CHECK(dotenv_key_valid("_A9", 3) && !dotenv_key_valid("9A", 2) && !dotenv_key_valid("A-B", 3));
    CHECK(!dotenv_key_valid("", 0));
}

/* Each refusal has one code and one meaning: -EINVAL a NUL byte, -EILSEQ
 * invalid UTF-8 and nothing else, -EDOM a valid value python-dotenv could
 * not read back (ends in a backslash and holds a newline, edge whitespace,
 * or a leading quote); the checker, the quoter and the rewriter agree. */
static void test_refusal_codes_each_mean_one_thing(void)
{
    static const struct {
        const char *value;
        size_t len;
        int rc;
    } cases[] = {
        {"plain", 5, 0},
        {"a\\", 2, 0},
        {"a\tb\\", 4, 0},
        {"a\0b", 3, -EINVAL},
        {"a\0\xff\\", 4, -EINVAL},
        {"a\xff", 2, -EILSEQ},
        {"a\xff\n\\", 4, -EILSEQ},
        {"a\nb\\", 4, -EDOM},
        {"a\rb\\", 4, -EDOM},
        {"\xc3\xa9\n\\", 4, -EDOM}, /* valid UTF-8: never -EILSEQ */
        {" a\\", 3, -EDOM},
        {"\xc2\xa0"
         "a\\",
         4, -EDOM}, /* leading NBSP */
        {"a #b\\", 5, -EDOM},
        {"'a\\", 3, -EDOM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *v = cases[i].value;
        size_t len = cases[i].len;
        int want = cases[i].rc;
        struct buf out = {0};
        int rc = dotenv_check_value(v, len);
        CHECK(rc == want);
        if (rc != want) {
            fprintf(stderr, "case %zu: check_value %d, want %d\n", i, rc, want);
        }
        rc = dotenv_quote(v, len, &out, NULL);
        CHECK(rc == want && (rc == 0) == (out.len > 0));
        buf_clear(&out);
        rc = dotenv_set("A=1\n", 4, "K", v, len, &out, NULL);
        CHECK(rc == want && (rc == 0) == (out.len > 0));
        buf_free(&out);
    }
}

/* dotenv_set(text, key, value) == want. */
static int set_gives(const char *text, const char *key, const char *value, const char *want)
{
    struct buf out = {0};
    int rc = dotenv_set(text, strlen(text), key, value, strlen(value), &out, NULL);
    int ok = rc == 0 && out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
    if (!ok) {
        fprintf(stderr, "set_gives mismatch for key %s (rc %d)\n", key, rc);
    }
    buf_free(&out);
    return ok;
}

static void test_set_keeps_other_bytes(void)
{
    const char *text = "# head\r\n\nA='one' # keep\nexport B=2\r\n  C = \"3\"  # c\n\nD\n";
    CHECK(set_gives(text, "B", "new",
                    "# head\r\n\nA='one' # keep\nB=\"new\"\n  C = \"3\"  # c\n\nD\n"));
    CHECK(set_gives(text, "C", "x", "# head\r\n\nA='one' # keep\nexport B=2\r\nC=\"x\"\n\nD\n"));
    CHECK(set_gives(text, "D", "d",
                    "# head\r\n\nA='one' # keep\nexport B=2\r\n  C = \"3\"  # c\n\nD=\"d\"\n"));
    CHECK(set_gives(text, "E", "e",
                    "# head\r\n\nA='one' # keep\nexport B=2\r\n  C = \"3\"  # c\n\nD\nE=\"e\"\n"));
    CHECK(set_gives("A=1", "B", "2", "A=1\nB=\"2\"\n"));
    CHECK(set_gives("A=1\r", "B", "2", "A=1\rB=\"2\"\n"));
    CHECK(set_gives("", "B", "2", "B=\"2\"\n"));
    CHECK(set_gives("\xef\xbb\xbf"
                    "A=1\n",
                    "B", "2", "A=1\nB=\"2\"\n"));
    /* duplicates: the last is replaced in place, earlier ones removed */
    CHECK(set_gives("A=1\nX=0\nA=2\nY=0\n", "A", "3", "X=0\nA=\"3\"\nY=0\n"));
    /* multi-line binding replaced whole; a malformed line is kept */
    CHECK(set_gives("A=\"l1\nl2\"\nbad line\nB=1\n", "A", "v", "A=\"v\"\nbad line\nB=1\n"));
    struct buf out = {0};
    CHECK(dotenv_set("A=1\n", 4, "bad-key", "v", 1, &out, NULL) == -EINVAL);
    CHECK(dotenv_set("A=\xff\n", 4, "A", "v", 1, &out, NULL) == -EILSEQ);
    /* an unterminated quote would swallow the new line (and B): refused */
    CHECK(dotenv_set("A=\"abc\nB=1\n", 11, "K", "v", 1, &out, NULL) == -EBADMSG && out.len == 0);
    buf_free(&out);
    CHECK(set_gives("A=\"abc\nB=1\n", "K", "v\\", "A=\"abc\nB=1\nK=v\\\n"));
}

static void test_unset(void)
{
    const char *text = "# c\nA=1\nB=2\n  A='x\ny'\nC=3";
    struct buf out = {0};
    int removed = -1;
    CHECK(dotenv_unset(text, strlen(text), "A", &out, &removed) == 0);
    CHECK(removed == 2 && out.len == strlen("# c\nB=2\nC=3") &&
          memcmp(out.data, "# c\nB=2\nC=3", out.len) == 0);
    buf_clear(&out);
    CHECK(dotenv_unset(text, strlen(text), "Z", &out, &removed) == 0 && removed == 0);
    CHECK(out.len == strlen(text) && memcmp(out.data, text, out.len) == 0);
    buf_free(&out);
}

/* 1 when b holds exactly want (NUL-terminated after it). */
static int buf_is(const struct buf *b, const char *want)
{
    return b->len == strlen(want) && memcmp(b->data, want, b->len) == 0 && b->data[b->len] == '\0';
}

/* The writers append after what the caller's buffer already holds, and a
 * refusal leaves the buffer exactly as it was. */
static void test_writers_append_to_the_callers_buffer(void)
{
    struct buf out = {0};
    buf_append(&out, "pre|", 4);
    CHECK(dotenv_quote("a\"b", 3, &out, NULL) == 0 && buf_is(&out, "pre|\"a\\\"b\""));
    CHECK(dotenv_quote("a\nb\\", 4, &out, NULL) == -EDOM && buf_is(&out, "pre|\"a\\\"b\""));
    buf_clear(&out);
    buf_append(&out, "pre|", 4);
    CHECK(dotenv_set("A=1\nB=2\n", 8, "A", "x", 1, &out, NULL) == 0 &&
          buf_is(&out, "pre|A=\"x\"\nB=2\n"));
    /* -EBADMSG is found only after the new text was built: rolled back */
    CHECK(dotenv_set("A=\"abc\nB=1\n", 11, "K", "v", 1, &out, NULL) == -EBADMSG &&
          buf_is(&out, "pre|A=\"x\"\nB=2\n"));
    CHECK(dotenv_unset("A=1\nB=2\n", 8, "B", &out, NULL) == 0 &&
          buf_is(&out, "pre|A=\"x\"\nB=2\nA=1\n"));
    int removed = -1;
    CHECK(dotenv_unset("A=\xff\n", 4, "A", &out, &removed) == -EILSEQ && removed == 0 &&
          buf_is(&out, "pre|A=\"x\"\nB=2\nA=1\n"));
    buf_free(&out);

    const char *dir = check_tmpdir("envread");
    char env[4200];
    snprintf(env, sizeof env, "%s/.env", dir);
    FILE *f = fopen(env, "w");
    CHECK(f && fputs("K=v\n", f) >= 0 && fclose(f) == 0);
    buf_append(&out, "pre|", 4);
    CHECK(envfile_read(env, NULL, &out) == 0 && buf_is(&out, "pre|K=v\n"));
    snprintf(env, sizeof env, "%s/missing/.env", dir);
    CHECK(envfile_read(env, NULL, &out) == -ENOENT && buf_is(&out, "pre|K=v\n"));
    buf_free(&out);
}

/* Interpolates text with env and override; 1 when key's value == want. */
static int interp_is(const char *text, const dotenv_pair *env, size_t n, int override,
                     const char *key, const char *want)
{
    dotenv_doc doc;
    parse(text, &doc);
    CHECK(dotenv_interpolate(&doc, env, n, override) == 0);
    const dotenv_binding *b = dotenv_lookup(&doc, key, strlen(key));
    int ok =
        b && b->value && b->value_len == strlen(want) && memcmp(b->value, want, b->value_len) == 0;
    dotenv_doc_free(&doc);
    return ok;
}

static void test_interpolation(void)
{
    dotenv_pair env[] = {{"H", 1, "env", 3}, {"E", 1, "", 0}};
    CHECK(interp_is("A=1\nB=${A}x${A}\n", env, 2, 1, "B", "1x1"));
    CHECK(interp_is("H=file\nB=${H}\n", env, 2, 1, "B", "file"));
    CHECK(interp_is("H=file\nB=${H}\n", env, 2, 0, "B", "env"));
    CHECK(interp_is("B=${M:-d}${E:-d}${M}\n", env, 2, 1, "B", "d"));
    CHECK(interp_is("A\nB=${A:-d}\n", env, 2, 1, "B", ""));
    CHECK(interp_is("B=${H} $H ${H:x}\n", env, 2, 1, "B", "env $H ${H:x}"));
    CHECK(interp_is("C='${H}'\n", env, 2, 1, "C", "env"));
    CHECK(interp_is("B=${X:-${H}}\n", env, 2, 1, "B", "${H}"));
    CHECK(interp_is("H=${H}1\nH=${H}2\n", env, 2, 1, "H", "env12"));
}

/* References of references double a value per line: 40 lines would ask
 * for a terabyte. Interpolation stops at DOTENV_EXPANDED_MAX with -E2BIG;
 * a file whose expansion stays under it (1 MiB here) is fine. */
static void test_interpolation_is_bounded(void)
{
    struct buf text = {0};
    buf_append(&text, "A0=xxxxxxxxxxxxxxxx\n", 20);
    for (int i = 1; i <= 40; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "A%d=${A%d}${A%d}\n", i, i - 1, i - 1);
        buf_append(&text, line, (size_t)n);
    }
    buf_append(&text, "", 0);
    dotenv_doc doc;
    parse(text.data, &doc);
    CHECK(dotenv_interpolate(&doc, NULL, 0, 1) == -E2BIG);
    dotenv_doc_free(&doc);
    /* 16 bytes doubled 16 times: 1 MiB for the last value, 2 MiB in all */
    const char *cut = strstr(text.data, "A17=");
    CHECK(cut != NULL);
    CHECK(dotenv_parse(text.data, (size_t)(cut - text.data), &doc) == 0);
    CHECK(dotenv_interpolate(&doc, NULL, 0, 1) == 0);
    const dotenv_binding *b = dotenv_lookup(&doc, "A16", 3);
    CHECK(b && b->value_len == 16u << 16);
    dotenv_doc_free(&doc);
    buf_free(&text);
}

/* Reads path into a static buffer; returns its length or -1. */
static long slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

static void test_envfile_modes_and_links(void)
{
    const char *dir = check_tmpdir("envfile");
    char tools[4200], tool[4300], env[4400], target[4400], link_dir[4300], link_env[4500];
    snprintf(tools, sizeof tools, "%s/tools", dir);
    snprintf(tool, sizeof tool, "%s/t1", tools);
    snprintf(env, sizeof env, "%s/.env", tool);
    CHECK(mkdir(tools, 0755) == 0 && mkdir(tool, 0755) == 0);
    FILE *f = fopen(env, "w");
    CHECK(f && fputs("# keep\nOLD=1\n", f) >= 0 && fclose(f) == 0);
    CHECK(chmod(env, 0644) == 0);
    mode_t old = umask(0);
    CHECK(envfile_set(env, tools, "NEW", "CANARY-UNIT-SECRET", 18, NULL) == 0);
    umask(old);
    struct stat st;
    CHECK(stat(env, &st) == 0 && (st.st_mode & 0777) == 0600);
    char buf[4096];
    CHECK(slurp(env, buf, sizeof buf) > 0 &&
          strcmp(buf, "# keep\nOLD=1\nNEW=\"CANARY-UNIT-SECRET\"\n") == 0);
    int removed = 0;
    CHECK(envfile_unset(env, tools, "OLD", &removed) == 0 && removed == 1);
    CHECK(envfile_unset(env, tools, "OLD", &removed) == 0 && removed == 0);
    CHECK(slurp(env, buf, sizeof buf) > 0 &&
          strcmp(buf, "# keep\nNEW=\"CANARY-UNIT-SECRET\"\n") == 0);

    /* a symlinked .env is refused and its target untouched */
    snprintf(target, sizeof target, "%s/target.txt", dir);
    f = fopen(target, "w");
    CHECK(f && fputs("X=1\n", f) >= 0 && fclose(f) == 0);
    CHECK(unlink(env) == 0 && symlink(target, env) == 0);
    CHECK(envfile_set(env, tools, "A", "v", 1, NULL) == -ELOOP);
    struct buf data = {0};
    CHECK(envfile_read(env, tools, &data) == -ELOOP && data.len == 0);
    CHECK(slurp(target, buf, sizeof buf) == 4 && strcmp(buf, "X=1\n") == 0);

    /* a tool folder that is a symlink escaping tools/ is refused */
    snprintf(link_dir, sizeof link_dir, "%s/escape", tools);
    snprintf(link_env, sizeof link_env, "%s/.env", link_dir);
    CHECK(symlink(dir, link_dir) == 0);
    CHECK(envfile_set(link_env, tools, "A", "v", 1, NULL) == -EXDEV);
    snprintf(buf, sizeof buf, "%s/.env", dir);
    CHECK(access(buf, F_OK) != 0);
    /* not a regular file */
    CHECK(envfile_read(tools, NULL, &data) == -EINVAL && data.len == 0);
    buf_free(&data);
}

int main(void)
{
    test_unquoted_values();
    test_quoted_values();
    test_keys_and_export();
    test_newlines_and_spans();
    test_warnings_name_lines();
    test_writer();
    test_refusal_codes_each_mean_one_thing();
    test_set_keeps_other_bytes();
    test_unset();
    test_writers_append_to_the_callers_buffer();
    test_interpolation();
    test_interpolation_is_bounded();
    test_envfile_modes_and_links();
    return check_exit();
}
