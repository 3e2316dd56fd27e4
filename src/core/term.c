/* Terminal input without echo, restoring the terminal whatever happens
 * (see secrets-anchors §6: readpassphrase's signal handling, without its
 * silent truncation and with the restore done inside the handler). */
#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Signals handled while echo is off. The first four end the read, the last
 * three stop the process (job control). */
static const int term_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define TERM_NSIGNALS (sizeof term_signals / sizeof term_signals[0])

/* State shared with the signal handler. g_saved is written only while the
 * handled signals are blocked. */
static volatile sig_atomic_t g_fd = -1;     /* terminal being read */
static volatile sig_atomic_t g_out = -1;    /* where the prompt goes */
static volatile sig_atomic_t g_echo_off;    /* terminal differs from g_saved */
static volatile sig_atomic_t g_interrupted; /* an ending signal arrived */
static volatile sig_atomic_t g_stop;        /* a stop signal to act on, or 0 */
static struct termios g_saved;
static struct sigaction g_old[TERM_NSIGNALS];
static int g_installed[TERM_NSIGNALS];

int term_isatty(int fd)
{
    return isatty(fd) ? 1 : 0;
}

static int is_stop_signal(int sig)
{
    return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Index of sig in term_signals, or -1. */
static int signal_slot(int sig)
{
    for (size_t i = 0; i < TERM_NSIGNALS; i++) {
        if (term_signals[i] == sig) {
            return (int)i;
        }
    }
    return -1;
}

/* Sets the terminal attributes, retrying on EINTR. 0 or -errno. */
static int set_attr(int fd, const struct termios *t)
{
    while (tcsetattr(fd, TCSAFLUSH, t) != 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Blocks the handled signals; the previous mask goes to *old. */
static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < TERM_NSIGNALS; i++) {
        sigaddset(&set, term_signals[i]);
    }
    sigprocmask(SIG_BLOCK, &set, old);
}

/* Waits until fd is ready for `events` with the handled signals unblocked
 * only inside ppoll, so a signal cannot slip in between the check of the
 * flags and the wait. 0, -EINTR when a handled signal arrived, or -errno. */
static int wait_fd(int fd, short events)
{
    sigset_t old;
    block_signals(&old);
    int rc = 0;
    for (;;) {
        if (g_interrupted || g_stop) {
            rc = -EINTR;
            break;
        }
        struct pollfd pf = {fd, events, 0};
        int r = ppoll(&pf, 1, NULL, &old);
        if (r > 0) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Writes all of s to the (possibly non-blocking) fd. 0, -EINTR when a
 * handled signal arrived meanwhile, or -errno. */
static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        int rc = wait_fd(fd, POLLOUT);
        if (rc != 0) {
            return rc;
        }
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Signal handler: puts the terminal back at once (tcsetattr and write are
 * async-signal-safe). An ending signal is re-raised with the disposition it
 * had before the read, delivered as soon as this handler returns; a stop
 * signal is left to the reading loop, which stops the process. */
static void on_signal(int sig)
{
    int saved_errno = errno;
    if (g_echo_off) {
        while (tcsetattr(g_fd, TCSAFLUSH, &g_saved) != 0 && errno == EINTR) {
        }
        g_echo_off = 0;
        (void)!write(g_out, "\n", 1);
    }
    if (is_stop_signal(sig)) {
        g_stop = sig;
    } else {
        int slot = signal_slot(sig);
        g_interrupted = 1;
        if (slot >= 0) {
            sigaction(sig, &g_old[slot], NULL);
        }
        raise(sig);
    }
    errno = saved_errno;
}

/* Installs on_signal for every handled signal not ignored on entry (an
 * ignored signal stays ignored). No SA_RESTART: a blocked read must return
 * EINTR so the loop sees the signal. */
static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < TERM_NSIGNALS; i++) {
        sigaddset(&sa.sa_mask, term_signals[i]);
    }
    for (size_t i = 0; i < TERM_NSIGNALS; i++) {
        g_installed[i] = 0;
        if (sigaction(term_signals[i], NULL, &g_old[i]) != 0) {
            continue;
        }
        if (!(g_old[i].sa_flags & SA_SIGINFO) && g_old[i].sa_handler == SIG_IGN) {
            continue;
        }
        g_installed[i] = sigaction(term_signals[i], &sa, NULL) == 0;
    }
}

/* Puts back the dispositions install_handlers replaced. */
static void uninstall_handlers(void)
{
    for (size_t i = 0; i < TERM_NSIGNALS; i++) {
        if (g_installed[i]) {
            sigaction(term_signals[i], &g_old[i], NULL);
            g_installed[i] = 0;
        }
    }
}

/* Stops the process with sig's default action; returns after SIGCONT
 * with our handler back in place. Signals must be unblocked. */
static void stop_self(int sig)
{
    struct sigaction dfl, ours;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, &ours);
    raise(sig);
    sigaction(sig, &ours, NULL);
}

/* 1 when this process group owns the terminal (or that cannot be told). */
static int in_foreground(int fd)
{
    pid_t pg = tcgetpgrp(fd);
    return pg < 0 || pg == getpgrp();
}

/* Reads and drops the rest of the current line, then flushes pending
 * input, so an over-long value never spills into the shell. */
static void discard_rest(int fd)
{
    char tmp[256];
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0 || memchr(tmp, '\n', (size_t)r)) {
            break;
        }
    }
    explicit_bzero(tmp, sizeof tmp);
    tcflush(fd, TCIFLUSH);
}

/* Reads one canonical-mode line into buf (cap >= 1). 0 with *len set and
 * buf NUL-terminated, -EMSGSIZE, -EINTR (a handled signal arrived) or
 * -errno. */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            discard_rest(fd);
            return -EMSGSIZE;
        }
        int rc = wait_fd(fd, POLLIN);
        if (rc != 0) {
            return rc;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            break;
        }
        char *nl = memchr(buf + n, '\n', (size_t)r);
        if (nl) {
            n = (size_t)(nl - buf);
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    return n >= TERM_CANON_MAX ? -EMSGSIZE : 0;
}

/* Turns echo off (when in the foreground), prompts and reads; loops on
 * job-control stops. Runs with the handlers installed. */
static int hidden_loop(int fd, int out, const char *prompt, char *buf, size_t cap, size_t *len)
{
    int slot_ttou = signal_slot(SIGTTOU);
    int background_tries = 0;
    for (;;) {
        sigset_t old;
        block_signals(&old);
        if (!in_foreground(fd) && g_installed[slot_ttou]) {
            sigprocmask(SIG_SETMASK, &old, NULL);
            if (++background_tries > 3) {
                return -EIO; /* orphaned: the stop is discarded by the kernel */
            }
            stop_self(SIGTTOU);
            continue;
        }
        background_tries = 0;
        struct termios t;
        if (tcgetattr(fd, &t) != 0) {
            int e = errno;
            sigprocmask(SIG_SETMASK, &old, NULL);
            return -e;
        }
        g_saved = t;
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        g_echo_off = 1;
        int rc = set_attr(fd, &t);
        if (rc != 0) {
            g_echo_off = 0;
            sigprocmask(SIG_SETMASK, &old, NULL);
            return rc;
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        rc = write_all(out, prompt, strlen(prompt));
        if (rc == 0) {
            rc = read_line(fd, buf, cap, len);
        }
        int stop = g_stop;
        if (!stop || g_interrupted) {
            return rc;
        }
        g_stop = 0;
        if (rc != 0) {
            explicit_bzero(buf, cap); /* interrupted mid-line: start again */
        }
        stop_self(stop);
        if (rc == 0) {
            return 0;
        }
    }
}

/* Reads with echo off on terminal fd, prompting on out. */
static int read_hidden(int fd, int out, const char *prompt, char *buf, size_t cap, size_t *len)
{
    sigset_t old;
    block_signals(&old);
    g_fd = fd;
    g_out = out;
    g_echo_off = 0;
    g_interrupted = 0;
    g_stop = 0;
    install_handlers();
    sigprocmask(SIG_SETMASK, &old, NULL);

    int rc = hidden_loop(fd, out, prompt, buf, cap, len);

    block_signals(&old);
    if (g_echo_off) {
        set_attr(fd, &g_saved);
        g_echo_off = 0;
        write_all(out, "\n", 1);
    }
    uninstall_handlers();
    g_fd = -1;
    g_out = -1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (g_interrupted) {
        rc = -EINTR;
    }
    return rc;
}

/* Opens the terminal: /dev/tty, else fd 0 when it is one (reopened by
 * name when possible). Own descriptors are non-blocking, so a line flushed
 * by the tty (Ctrl-Z, Ctrl-C) between poll and read cannot block the read.
 * *in and *out get the descriptors, *own whether *in must be closed.
 * 0 or -ENOTTY. */
static int open_terminal(int *in, int *out, int *own)
{
    const int flags = O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
    int fd = open("/dev/tty", flags);
    if (fd < 0 && isatty(STDIN_FILENO)) {
        char name[256];
        if (ttyname_r(STDIN_FILENO, name, sizeof name) == 0) {
            fd = open(name, flags);
        }
        if (fd < 0) {
            *in = STDIN_FILENO;
            *out = isatty(STDERR_FILENO) ? STDERR_FILENO : STDIN_FILENO;
            *own = 0;
            return 0;
        }
    }
    if (fd < 0) {
        return -ENOTTY;
    }
    *in = *out = fd;
    *own = 1;
    return 0;
}

/* Shared body of term_read_secret and term_read_line. */
static int prompt_line(const char *prompt, char *buf, size_t cap, size_t *len, int hide)
{
    if (cap == 0) {
        return -EINVAL;
    }
    *len = 0;
    int in, out, own;
    int rc = open_terminal(&in, &out, &own);
    if (rc != 0) {
        return rc;
    }
    if (hide) {
        rc = read_hidden(in, out, prompt, buf, cap, len);
    } else {
        g_interrupted = 0;
        g_stop = 0;
        rc = write_all(out, prompt, strlen(prompt));
        if (rc == 0) {
            rc = read_line(in, buf, cap, len);
        }
    }
    if (own) {
        close(in);
    }
    if (rc != 0) {
        explicit_bzero(buf, cap);
        *len = 0;
    }
    return rc;
}

int term_read_secret(const char *prompt, char *buf, size_t cap, size_t *len)
{
    return prompt_line(prompt, buf, cap, len, 1);
}

int term_read_line(const char *prompt, char *buf, size_t cap, size_t *len)
{
    return prompt_line(prompt, buf, cap, len, 0);
}

int term_read_all(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        char extra;
        ssize_t r = n < cap ? read(fd, buf + n, cap - n) : read(fd, &extra, 1);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            int e = errno;
            explicit_bzero(buf, n);
            return -e;
        }
        if (r == 0) {
            break;
        }
        if (n == cap) {
            explicit_bzero(&extra, 1);
            explicit_bzero(buf, n);
            return -EFBIG;
        }
        n += (size_t)r;
    }
    *len = n;
    return 0;
}
