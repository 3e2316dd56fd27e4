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

/* Returns the malloc'd, masked "<component>: <message>" without trailing
 * newlines (its length in *len), or NULL. */
static char *masked_body(const char *component, const char *fmt, va_list ap, size_t *len)
{
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) {
        return NULL;
    }
    size_t ml = strlen(msg);
    while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r')) {
        msg[--ml] = '\0';
    }
    char *body = NULL;
    int bl = asprintf(&body, "%s: %s", component ? component : "pixie", msg);
    free(msg);
    if (bl < 0) {
        return NULL;
    }
    char *masked = mask_scrub(body, (size_t)bl, len);
    free(body);
    return masked;
}

/* prefix, then s[0..n) with the bytes of `set` as \xNN, then suffix,
 * masked once more: the bytes a sink receives, so the masker sees them in
 * their final encoding. Returns them malloc'd (caller frees, length in
 * *len) or NULL on ENOMEM. */
static char *encode_masked(const char *prefix, const char *s, size_t n, enum termtext_set set,
                           const char *suffix, size_t *len)
{
    struct buf b = {0};
    buf_append(&b, prefix, strlen(prefix));
    termtext_escape(s, n, set, &b);
    buf_append(&b, suffix, strlen(suffix));
    char *out = b.err ? NULL : mask_scrub(b.data, b.len, len);
    buf_free(&b);
    return out;
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
    size_t body_len;
    char *body = masked_body(component, fmt, ap, &body_len);
    if (!body) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
             level_names[level]);
    /* One line per event on every sink: the message's own line breaks as
     * \xNN. Bytes go to the file (and to a stderr that is not a terminal)
     * as they are; a terminal gets control characters as \xNN too. */
    size_t n;
    char *line = encode_masked(prefix, body, body_len, TERMTEXT_LINE_BREAKS, "\n", &n);
    free(body);
    if (!line) {
        return;
    }
    char *shown = NULL;
    size_t shown_len = 0;
    if (to_err && term_isatty(STDERR_FILENO)) {
        shown = encode_masked("", line, n, TERMTEXT_CONTROLS_BUT_LAYOUT, "", &shown_len);
        to_err = shown != NULL;
    }
    pthread_mutex_lock(&log_lock);
    if (to_err) {
        write_all(STDERR_FILENO, shown ? shown : line, shown ? shown_len : n);
    }
    if (to_file) {
        int fd = log_file();
        if (fd >= 0) {
            write_all(fd, line, n);
        }
    }
    pthread_mutex_unlock(&log_lock);
    free(shown);
    free(line);
}

void log_write(enum log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, component, fmt, ap);
    va_end(ap);
}
