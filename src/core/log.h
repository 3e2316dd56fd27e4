/* Pixie's log: one line per event, masked (mask.h) and escaped (termtext.h)
 * for stderr and <home>/logs/pixie.log. Thread-safe. */
#ifndef PIXIE_LOG_H
#define PIXIE_LOG_H

#include <stdarg.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
};

/* Directs the log file to <logs_dir>/pixie.log. Nothing is created yet: the
 * folder (0700) and the file (0600, append, no symlink followed) are
 * created on the first line written. Returns 0, -EINVAL (empty path) or
 * -ENOMEM. Calling it again switches to the new folder. */
int log_open(const char *logs_dir);

/* Closes the log file; later lines go to stderr only (until log_open). */
void log_close(void);

/* The stderr threshold: PIXIE_LOG_LEVEL (debug, info, warn or error;
 * default info, or debug when PIXIE_DEBUG=1), read once. */
enum log_level log_threshold(void);

/* Formats one line "<UTC time> <LEVEL> <component>: <message>" and writes
 * it to stderr when level >= log_threshold(), and to the log file (if
 * open) when level >= min(threshold, info). One line per event: trailing
 * newlines of the message are dropped, and CR and LF inside it are written
 * as \x0D and \x0A (termtext.h), so a message cannot forge another line.
 * Other bytes reach the file, and a stderr that is not a terminal, as they
 * are; on a terminal every control character but tab is shown as \xNN,
 * the rule of everything Pixie prints.
 * Masking (mask_scrub_to), "mask last, at the sink": the component and message
 * are masked before the escaping (so a secret holding a control byte is
 * caught in its raw form, which its escaped form would hide), and each
 * sink's final bytes are masked again after it (so escaping cannot make a
 * registered secret's text appear, e.g. one holding a literal "\x1B").
 * A secret that was already written in escaped form by its source is
 * masked only when that form is registered (mask_forms.h).
 * Never fails visibly: a line that cannot be formatted, masked or written
 * is dropped (never written unmasked). */
void log_write(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_write with a va_list. */
void log_vwrite(enum log_level level, const char *component, const char *fmt, va_list ap);

/* The level named by s ("debug", "info", "warn"/"warning", "error"), or -1. */
int log_level_parse(const char *s);

#endif
