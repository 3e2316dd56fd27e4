/* The watchdog; see spawn_guard.h and docs/architecture.md ("Tool
 * processes"). It runs in a fork of a multi-threaded process, so: system
 * calls only, fixed tables, no allocation. */
#include "spawn_guard.h"

#include "spawn_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GUARD_MAX_PROCS 65536   /* processes one scan can hold */
#define GUARD_FREEZE_ROUNDS 50  /* SIGSTOP rounds before SIGKILL regardless */
#define GUARD_ROUNDS 600        /* 5 ms apart: gives up after ~3 s */
#define GUARD_EXIT_WAIT_MS 3000 /* for Pixie's exit to complete, after EOF */
#define GUARD_TERM_WAIT_MS 200  /* the same after SIGTERM (Pixie may live on) */
#define WATCHDOG_NAME "pixie-watchdog"

static volatile sig_atomic_t guard_term;

static void guard_on_term(int sig)
{
    (void)sig;
    guard_term = 1;
}

/* Gives this (forked) process its own command line: overwrites the argv
 * strings it shares with Pixie (their bounds from /proc/self/stat) with
 * WATCHDOG_NAME and NULs, so /proc/<pid>/cmdline and `pkill -f` see
 * "pixie-watchdog", never Pixie's arguments. */
static void guard_rename(void)
{
    prctl(PR_SET_NAME, WATCHDOG_NAME, 0, 0, 0);
    char buf[2048];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    if (len <= 0) {
        return;
    }
    buf[len] = '\0';
    const char *s = NULL;
    for (ssize_t i = 0; i < len; i++) {
        s = buf[i] == ')' ? buf + i + 2 : s;
    }
    /* from state (field 3) to arg_start (48) and arg_end (49) */
    uint64_t arg_start = 0, arg_end = 0;
    for (int field = 3; s && *s && field <= 49; field++) {
        uint64_t v = spawn_proc_num(&s);
        arg_start = field == 48 ? v : arg_start;
        arg_end = field == 49 ? v : arg_end;
        if (field == 3) {
            s++; /* the state letter */
        }
    }
    if (arg_start == 0 || arg_end <= arg_start) {
        return;
    }
    char *a = (char *)(uintptr_t)arg_start;
    size_t size = (size_t)(arg_end - arg_start);
    memset(a, 0, size);
    memcpy(a, WATCHDOG_NAME,
           size - 1 < sizeof WATCHDOG_NAME - 1 ? size - 1 : sizeof WATCHDOG_NAME - 1);
}

/* The watchdog's scan and the members it has signalled: fixed tables, no
 * allocation. A member stays one when its parent dies (e.g. a stopped
 * leader ended by SIGHUP as its group became orphaned). */
static struct pinfo guard_v[GUARD_MAX_PROCS];
static int guard_n;
static struct guard_msg guard_seen[GUARD_SLOTS];
static int guard_n_seen;

static int guard_was_seen(const struct pinfo *p)
{
    for (int i = 0; i < guard_n_seen; i++) {
        if (guard_seen[i].pid == p->pid && guard_seen[i].start == p->start) {
            return 1;
        }
    }
    return 0;
}

static void guard_add(void *ctx, const struct pinfo *p)
{
    (void)ctx;
    if (guard_n < GUARD_MAX_PROCS) {
        guard_v[guard_n++] = *p;
    }
}

static void guard_sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Ends every tree of the leaders in tab: SIGSTOP to all members until a
 * scan finds no new member and none still running (so none can fork or
 * leave), then SIGKILL until none is left alive. */
static void guard_kill_trees(const struct guard_msg *tab)
{
    pid_t self = getpid();
    int killing = 0, last_live = -1;
    for (int round = 0; round < GUARD_ROUNDS; round++) {
        guard_n = 0;
        spawn_proc_each(guard_add, NULL);
        for (int i = 0; i < guard_n; i++) {
            struct pinfo *p = &guard_v[i];
            p->mark = p->pid == self ? -1 : guard_was_seen(p);
            for (int t = 0; t < GUARD_SLOTS && p->mark == 0; t++) {
                if (tab[t].op == GUARD_ADD_LEADER &&
                    ((p->pid == tab[t].pid && p->start == tab[t].start) || p->pgid == tab[t].pid)) {
                    p->mark = 1;
                }
            }
        }
        spawn_proc_mark_descendants(guard_v, guard_n);
        int live = 0, running = 0;
        for (int i = 0; i < guard_n; i++) {
            if (guard_v[i].mark == 1 && !spawn_proc_is_dead(&guard_v[i])) {
                live++;
                running += guard_v[i].state != 'T' && guard_v[i].state != 't';
            }
        }
        if (live == 0) {
            return;
        }
        if (!killing && ((running == 0 && live == last_live) || round >= GUARD_FREEZE_ROUNDS)) {
            killing = 1;
        }
        last_live = live;
        for (int i = 0; i < guard_n; i++) {
            if (guard_v[i].mark == 1 && !spawn_proc_is_dead(&guard_v[i])) {
                kill(guard_v[i].pid, killing ? SIGKILL : SIGSTOP);
                if (guard_n_seen < GUARD_SLOTS && !guard_was_seen(&guard_v[i])) {
                    guard_seen[guard_n_seen++] =
                        (struct guard_msg){0, guard_v[i].pid, guard_v[i].start};
                }
            }
        }
        guard_sleep_ms(5);
    }
}

void spawn_guard_main(int sock)
{
    static struct guard_msg tab[GUARD_SLOTS];
    static const int quiet[] = {SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    struct sigaction ign = {.sa_handler = SIG_IGN}, term = {.sa_handler = guard_on_term};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        sigaction(quiet[i], &ign, NULL);
    }
    sigaction(SIGTERM, &term, NULL); /* no SA_RESTART: recv returns EINTR */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    guard_rename();
    int null = open("/dev/null", O_RDWR);
    if (dup2(sock, 3) < 0) {
        _exit(1);
    }
    for (int fd = 0; fd < 3 && null >= 0; fd++) {
        dup2(null, fd);
    }
    close_range(4, ~0U, 0);
    /* Pixie's pidfd: when Pixie dies, its exit (re-parenting its children,
     * their death signals) completes before anything is stopped: a group
     * that an exit orphans while a member is stopped gets SIGHUP + SIGCONT
     * from the kernel, which kills a leader before its tree is frozen */
    int pixie = (int)syscall(SYS_pidfd_open, getppid(), 0);
    struct guard_msg m;
    while (!guard_term) {
        ssize_t r = recv(3, &m, sizeof m, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break; /* Pixie is gone */
        }
        if (r != (ssize_t)sizeof m) {
            continue;
        }
        if (m.op == GUARD_QUIT) {
            _exit(0); /* an orderly exit: Pixie stops its tools itself */
        }
        for (int i = 0; i < GUARD_SLOTS; i++) {
            if (m.op == GUARD_ADD_LEADER && tab[i].op == 0) {
                tab[i] = m;
                break;
            }
            if (m.op == GUARD_DEL_LEADER && tab[i].op == GUARD_ADD_LEADER && tab[i].pid == m.pid) {
                tab[i].op = 0;
            }
        }
    }
    if (pixie >= 0) {
        struct pollfd p = {pixie, POLLIN, 0};
        while (poll(&p, 1, guard_term ? GUARD_TERM_WAIT_MS : GUARD_EXIT_WAIT_MS) < 0 &&
               errno == EINTR) {
        }
    }
    guard_kill_trees(tab);
    _exit(0);
}
