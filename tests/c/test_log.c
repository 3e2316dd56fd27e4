/* log: lines from 4 threads land whole and masked in logs/pixie.log (0600,
 * created on the first line, folder 0700); a symlink planted at pixie.log is
 * not followed; the threshold keeps info lines off stderr but in the file;
 * on a terminal (a pty as stderr) control characters are shown as \xNN,
 * while the file and a pipe keep the bytes; a message's line breaks cannot
 * forge a line; secrets holding a control byte are masked on every sink. */
#include "check.h"
#include "log.h"
#include "mask.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define CANARY "CANARY-LOG-5e1d-SECRET"
/* A secret holding a control byte, and one holding the text a terminal
 * shows for that byte (a literal backslash, x, 1, B). */
#define CANARY_CTRL "CANARY-LOG-\x1b-CTRL-9b2e"
#define CANARY_SHOWN "CANARY-LOG-\\x1B-SHOWN-9b2e"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void *writer(void *arg)
{
    int id = *(int *)arg;
    for (int i = 0; i < 500; i++) {
        log_write(LOG_LEVEL_INFO, "test", "thread %d line %d token=%s end", id, i, CANARY);
    }
    return NULL;
}

static void test_threads_write_whole_masked_lines(const char *dir)
{
    char logs[4200], path[4300];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(path, sizeof path, "%s/pixie.log", logs);
    CHECK(log_open(logs) == 0);
    struct stat st;
    CHECK(stat(logs, &st) != 0); /* nothing created before the first line */
    pthread_t t[4];
    int ids[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_create(&t[i], NULL, writer, &ids[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    log_close();
    CHECK(stat(logs, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    size_t len;
    char *text = read_all(path, &len);
    CHECK(text != NULL);
    CHECK(text && strstr(text, CANARY) == NULL);
    int lines = 0, good = 0;
    for (char *line = text, *nl; text && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        lines++;
        int id, i;
        char tail[16];
        /* 2026-11-28T17:41:37.123Z INFO  test: thread 1 line 2 token=*** end */
        if (strlen(line) > 25 && line[4] == '-' && line[10] == 'T' && line[23] == 'Z' &&
            sscanf(line + 25, "INFO  test: thread %d line %d token=*** %15s", &id, &i, tail) == 3 &&
            strcmp(tail, "end") == 0) {
            good++;
        }
    }
    CHECK(lines == 2000);
    CHECK(good == 2000);
    free(text);
}

static void test_symlink_at_log_path_is_not_followed(const char *dir)
{
    char logs[4200], path[4300], target[4300];
    snprintf(logs, sizeof logs, "%s/logs2", dir);
    snprintf(path, sizeof path, "%s/pixie.log", logs);
    snprintf(target, sizeof target, "%s/target", dir);
    CHECK(mkdir(logs, 0700) == 0);
    FILE *f = fopen(target, "w");
    CHECK(f != NULL);
    if (f) {
        fclose(f);
    }
    CHECK(symlink(target, path) == 0);
    CHECK(log_open(logs) == 0);
    log_write(LOG_LEVEL_ERROR, "test", "must not reach the target");
    log_close();
    struct stat st;
    CHECK(stat(target, &st) == 0 && st.st_size == 0);
}

/* Logs msg at ERROR (on stderr and in the file) with stderr on a pty in
 * raw mode (tty) or on a pipe; returns what stderr received, malloc'd and
 * NUL-terminated (length in *len), or NULL. */
static char *stderr_of(int tty, const char *msg, size_t *len)
{
    int rd, wr;
    if (tty) {
        struct termios t;
        if (openpty(&rd, &wr, NULL, NULL, NULL) != 0 || tcgetattr(wr, &t) != 0) {
            return NULL;
        }
        cfmakeraw(&t);
        tcsetattr(wr, TCSANOW, &t);
    } else {
        int p[2];
        if (pipe(p) != 0) {
            return NULL;
        }
        rd = p[0];
        wr = p[1];
    }
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(wr, STDERR_FILENO);
    close(wr);
    log_write(LOG_LEVEL_ERROR, "test", "%s", msg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fcntl(rd, F_SETFL, O_NONBLOCK);
    char *out = malloc(65536);
    size_t n = 0;
    for (ssize_t r; out && n < 65535 && (r = read(rd, out + n, 65535 - n)) != 0;) {
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            break; /* EAGAIN: drained; EIO: pty closed and drained */
        }
        n += (size_t)r;
    }
    close(rd);
    if (out) {
        out[n] = '\0';
        *len = n;
    }
    return out;
}

/* 1 when b[0..n) contains the NUL-terminated needle. */
static int holds(const char *b, size_t n, const char *needle)
{
    return b && memmem(b, n, needle, strlen(needle)) != NULL;
}

/* Number of '\n' in b[0..n). */
static int newlines(const char *b, size_t n)
{
    int k = 0;
    for (size_t i = 0; b && i < n; i++) {
        k += b[i] == '\n';
    }
    return k;
}

static void test_terminal_shows_control_characters_escaped(const char *dir)
{
    char logs[4200], path[4300];
    snprintf(logs, sizeof logs, "%s/logs3", dir);
    snprintf(path, sizeof path, "%s/pixie.log", logs);
    CHECK(log_open(logs) == 0);
    const char *msg = "esc \x1b[2J\x1b]0;owned\a del \x7f tab\tend";
    size_t tn = 0, pn = 0, fn = 0;
    char *tty = stderr_of(1, msg, &tn);
    char *piped = stderr_of(0, msg, &pn);
    log_close();
    char *file = read_all(path, &fn);
    CHECK(holds(tty, tn, "test: esc \\x1B[2J\\x1B]0;owned\\x07 del \\x7F tab\tend\n"));
    CHECK(tty && memchr(tty, '\x1b', tn) == NULL && memchr(tty, '\a', tn) == NULL);
    CHECK(newlines(tty, tn) == 1);
    /* not a terminal: the bytes are kept, masked */
    CHECK(holds(piped, pn, "test: esc \x1b[2J\x1b]0;owned\a del \x7f tab\tend\n"));
    CHECK(holds(file, fn, "test: esc \x1b[2J\x1b]0;owned\a del \x7f tab\tend\n"));
    CHECK(newlines(file, fn) == 2);
    free(tty);
    free(piped);
    free(file);
}

static void test_message_line_breaks_cannot_forge_a_line(const char *dir)
{
    char logs[4200], path[4300];
    snprintf(logs, sizeof logs, "%s/logs4", dir);
    snprintf(path, sizeof path, "%s/pixie.log", logs);
    CHECK(log_open(logs) == 0);
    const char *msg = "first\n2026-01-01T00:00:00.000Z ERROR forged: x\rback\r\n";
    size_t tn = 0, pn = 0, fn = 0;
    char *tty = stderr_of(1, msg, &tn);
    char *piped = stderr_of(0, msg, &pn);
    log_close();
    char *file = read_all(path, &fn);
    const char *want = "test: first\\x0A2026-01-01T00:00:00.000Z ERROR forged: x\\x0Dback\n";
    CHECK(holds(tty, tn, want) && newlines(tty, tn) == 1);
    CHECK(holds(piped, pn, want) && newlines(piped, pn) == 1);
    CHECK(holds(file, fn, want) && newlines(file, fn) == 2);
    CHECK(file && memchr(file, '\r', fn) == NULL);
    free(tty);
    free(piped);
    free(file);
}

/* Mask, escape, mask again: a secret's raw control byte is masked before
 * the terminal would show it as \x1B, and text whose terminal form is a
 * secret (a raw ESC shown as "\x1B") is masked after the escaping. */
static void test_secrets_with_control_bytes_masked_on_every_sink(const char *dir)
{
    char logs[4200], path[4300];
    snprintf(logs, sizeof logs, "%s/logs5", dir);
    snprintf(path, sizeof path, "%s/pixie.log", logs);
    CHECK(mask_add(CANARY_CTRL, strlen(CANARY_CTRL)) == 1);
    CHECK(mask_add(CANARY_SHOWN, strlen(CANARY_SHOWN)) == 1);
    CHECK(log_open(logs) == 0);
    const char *msg = "a=" CANARY_CTRL " b=CANARY-LOG-\x1b-SHOWN-9b2e end";
    size_t tn = 0, pn = 0, fn = 0;
    char *tty = stderr_of(1, msg, &tn);
    char *piped = stderr_of(0, msg, &pn);
    log_close();
    char *file = read_all(path, &fn);
    CHECK(holds(tty, tn, "test: a=*** b=*** end\n"));
    CHECK(tty && !holds(tty, tn, "CTRL-9b2e") && !holds(tty, tn, CANARY_SHOWN));
    CHECK(holds(piped, pn, "test: a=*** b="));
    CHECK(piped && !holds(piped, pn, "CTRL-9b2e"));
    CHECK(holds(file, fn, "test: a=*** b="));
    CHECK(file && !holds(file, fn, "CTRL-9b2e") && !holds(file, fn, CANARY_SHOWN));
    free(tty);
    free(piped);
    free(file);
}

static void test_level_names_parse(void)
{
    CHECK(log_level_parse("debug") == LOG_LEVEL_DEBUG);
    CHECK(log_level_parse("INFO") == LOG_LEVEL_INFO);
    CHECK(log_level_parse("warning") == LOG_LEVEL_WARN);
    CHECK(log_level_parse("error") == LOG_LEVEL_ERROR);
    CHECK(log_level_parse("loud") == -1);
    CHECK(log_level_parse(NULL) == -1);
    CHECK(log_open("") < 0);
}

int main(void)
{
    setenv("PIXIE_LOG_LEVEL", "error", 1); /* info lines: file only */
    CHECK(log_threshold() == LOG_LEVEL_ERROR);
    CHECK(mask_add(CANARY, strlen(CANARY)) == 1);
    const char *dir = check_tmpdir("log");
    test_threads_write_whole_masked_lines(dir);
    test_symlink_at_log_path_is_not_followed(dir);
    test_terminal_shows_control_characters_escaped(dir);
    test_message_line_breaks_cannot_forge_a_line(dir);
    test_secrets_with_control_bytes_masked_on_every_sink(dir);
    test_level_names_parse();
    return check_exit();
}
