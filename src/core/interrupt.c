/* The SIGINT flag of a run; see interrupt.h. */
#include "interrupt.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>

static volatile sig_atomic_t g_flag;
static int g_armed;
static struct sigaction g_old;

static void on_sigint(int sig)
{
    (void)sig;
    g_flag = 1;
}

int interrupt_arm(void)
{
    if (g_armed) {
        return 0;
    }
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: a blocked poll returns EINTR */
    g_flag = 0;
    if (sigaction(SIGINT, &sa, &g_old) != 0) {
        return -errno;
    }
    g_armed = 1;
    return 0;
}

void interrupt_disarm(void)
{
    if (g_armed) {
        sigaction(SIGINT, &g_old, NULL);
        g_armed = 0;
    }
    g_flag = 0;
}

int interrupt_pending(void)
{
    return g_flag != 0;
}

void interrupt_clear(void)
{
    g_flag = 0;
}
