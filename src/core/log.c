/* Pixie's log (see log.h). Lines are built and masked outside the lock;
 * the lock only orders the writes and guards the file descriptor. */
#include "log.h"
#include "buf.h"
#include "fsutil.h"
#include "mask.h"
#include "term.h"
#include "termtext.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_dir; /* NULL: no file */
static int log_fd = -1;

static pthread_once_t threshold_once = PTHREAD_ONCE_INIT;
static enum log_level threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (!s) {
        return -1;
    }
    for (int k = 0; k < 4; k++) {
        if (strcasecmp(s, names[k]) == 0) {
            return k;
        }
    }
    return strcasecmp(s, "warning") == 0 ? LOG_LEVEL_WARN : -1;
}

static void threshold_init(void)
{
    int l = log_level_parse(getenv("PIXIE_LOG_LEVEL"));
    const char *debug = getenv("PIXIE_DEBUG");
    if (l >= 0) {
        threshold = (enum log_level)l;
    } else if (debug && strcmp(debug, "1") == 0) {
        threshold = LOG_LEVEL_DEBUG;
    }
}

enum log_level log_threshold(void)
{
    pthread_once(&threshold_once, threshold_init);
    return threshold;
}

/* Closes the file and sets the folder to dir (taking it; NULL: none). */
static void log_set_dir(char *dir)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0) {
        close(log_fd);
        log_fd = -1;
    }
    free(log_dir);
    log_dir = dir;
    pthread_mutex_unlock(&log_lock);
}

int log_open(const char *logs_dir)
{
    if (!logs_dir || !*logs_dir) {
        return -EINVAL;
    }
    char *dir = strdup(logs_dir);
    if (!dir) {
        return -ENOMEM;
    }
    log_set_dir(dir);
    return 0;
}

void log_close(void)
{
    log_set_dir(NULL);
}

/* Opens the log file on first use. Needs log_lock. Returns the fd or -1. */
static int log_file(void)
{
    if (log_fd >= 0 || !log_dir) {
        return log_fd;
    }
    size_t n = strlen(log_dir) + sizeof "/pixie.log";
    char *path = malloc(n);
    if (!path) {
        return -1;
    }
    snprintf(path, n, "%s/pixie.log", log_dir);
    if (fsutil_mkdirs(log_dir, 0700) == 0) {
        log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    free(path);
    return log_fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Appends to out the masked "<component>: <message>" without trailing
 * newlines; `scratch` is emptied and holds the unmasked text. Returns 0 or
 * -ENOMEM. */
static int masked_body(struct buf *out, struct buf *scratch, const char *component, const char *fmt,
                       va_list ap)
{
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) {
        return -ENOMEM;
    }
    size_t ml = strlen(msg);
    while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r')) {
        ml--;
    }
    const char *c = component ? component : "pixie";
    buf_clear(scratch);
    buf_append(scratch, c, strlen(c));
    buf_append(scratch, ": ", 2);
    buf_append(scratch, msg, ml);
    free(msg);
    return scratch->err ? scratch->err : mask_scrub_to(out, scratch->data, scratch->len);
}

/* Appends to out: prefix, then s[0..n) with the bytes of `set` as \xNN,
 * then suffix, masked once more: the bytes a sink receives, so the masker
 * sees them in their final encoding. `scratch` is emptied and used for the
 * unmasked text. Returns 0 or -ENOMEM. */
static int encode_masked(struct buf *out, struct buf *scratch, const char *prefix, const char *s,
                         size_t n, enum termtext_set set, const char *suffix)
{
    buf_clear(scratch);
    buf_append(scratch, prefix, strlen(prefix));
    termtext_escape(s, n, set, scratch);
    buf_append(scratch, suffix, strlen(suffix));
    return scratch->err ? scratch->err : mask_scrub_to(out, scratch->data, scratch->len);
}

/* Writes "<UTC time> <LEVEL> " for now into prefix. */
static void format_prefix(char prefix[64], enum log_level level)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(prefix, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
             level_names[level]);
}

void log_vwrite(enum log_level level, const char *component, const char *fmt, va_list ap)
{
    if ((int)level < LOG_LEVEL_DEBUG || level > LOG_LEVEL_ERROR) {
        level = LOG_LEVEL_ERROR;
    }
    enum log_level thr = log_threshold();
    int to_err = level >= thr;
    int to_file = level >= (thr < LOG_LEVEL_INFO ? thr : LOG_LEVEL_INFO);
    if (!to_err && !to_file) {
        return;
    }
    char prefix[64];
    format_prefix(prefix, level);
    /* One line per event on every sink: the message's own line breaks as
     * \xNN. Bytes go to the file (and to a stderr that is not a terminal)
     * as they are; a terminal gets control characters as \xNN too. */
    struct buf body = {0}, scratch = {0}, line = {0}, shown = {0};
    int ok = masked_body(&body, &scratch, component, fmt, ap) == 0 &&
             encode_masked(&line, &scratch, prefix, body.data, body.len, TERMTEXT_LINE_BREAKS,
                           "\n") == 0;
    const struct buf *err_line = &line;
    if (ok && to_err && term_isatty(STDERR_FILENO)) {
        err_line = &shown;
        to_err = encode_masked(&shown, &scratch, "", line.data, line.len,
                               TERMTEXT_CONTROLS_BUT_LAYOUT, "") == 0;
    }
    if (ok) {
        pthread_mutex_lock(&log_lock);
        if (to_err) {
            write_all(STDERR_FILENO, err_line->data, err_line->len);
        }
        int fd = to_file ? log_file() : -1;
        if (fd >= 0) {
            write_all(fd, line.data, line.len);
        }
        pthread_mutex_unlock(&log_lock);
    }
    buf_free(&body);
    buf_free(&scratch);
    buf_free(&line);
    buf_free(&shown);
}

void log_write(enum log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, component, fmt, ap);
    va_end(ap);
}
