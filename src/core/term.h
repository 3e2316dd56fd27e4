/* Terminal input: reading a secret with echo off, reading a line with echo
 * on, reading a whole stream with a hard cap. Functions return 0 on success
 * or a negative errno value; they never print (except the prompt, newline
 * and nothing else, to the terminal itself) and never exit. */
#ifndef PIXIE_TERM_H
#define PIXIE_TERM_H

#include <stddef.h>

/* Longest line the Linux tty line discipline delivers in canonical mode
 * (N_TTY_BUF_SIZE - 1 bytes before the newline); anything typed past it is
 * dropped by the kernel, so a line this long may have been truncated. */
#define TERM_CANON_MAX 4095

/* 1 when `fd` refers to a terminal, else 0. */
int term_isatty(int fd);

/* Reads one line from the terminal with echo off. The terminal is
 * /dev/tty, or fd 0 when /dev/tty cannot be opened and fd 0 is a terminal.
 * Turns ECHO and ECHONL off (ICANON and ISIG stay on, type-ahead is
 * discarded), writes `prompt` to the terminal (never to stdout), reads up to
 * the newline or end of input, restores the terminal and writes a newline.
 * While it waits, SIGINT, SIGTERM, SIGHUP and SIGQUIT restore the terminal
 * and are re-raised with the disposition they had before (normally the
 * default: the process dies with the terminal restored); SIGTSTP, SIGTTIN
 * and SIGTTOU restore the terminal and stop the process; after SIGCONT, once
 * in the foreground again, echo goes off and the prompt is shown again.
 * Signals ignored on entry stay ignored.
 * On success buf[0..*len) holds the line without its newline, NUL-terminated
 * (so at most cap - 1 bytes). The caller wipes buf after use.
 * Errors: -ENOTTY no terminal; -EINTR a signal whose handler returned
 * interrupted the read; -EMSGSIZE the line does not fit in cap - 1 bytes or
 * reaches TERM_CANON_MAX (the rest of the line is read and discarded);
 * other negative errno values from the tty. On error buf is wiped. */
int term_read_secret(const char *prompt, char *buf, size_t cap, size_t *len);

/* As term_read_secret, but leaves echo as it is and installs no signal
 * handlers (nothing to restore): for yes/no questions. */
int term_read_line(const char *prompt, char *buf, size_t cap, size_t *len);

/* Reads `fd` to end of file into buf (at most cap bytes, not
 * NUL-terminated). Returns -EFBIG when the stream holds more than cap
 * bytes (never truncates silently), other negative errno values on read
 * errors. *len is the byte count on success. */
int term_read_all(int fd, char *buf, size_t cap, size_t *len);

#endif
