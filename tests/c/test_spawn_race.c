/* spawn under threads: children of known exit statuses, started and waited
 * for from several threads while other threads sweep, each get exactly
 * their own status; a sweep never takes a spawned leader's status away;
 * a status that someone else took is an error, never "exit code 0". */
#include "check.h"
#include "spawn.h"

#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define SPAWNERS 4
#define SWEEPERS 2
#define RUNS_PER_SPAWNER 150

struct kind {
    const char *const *argv;
    int code;   /* expected exit code, or -1 */
    int signal; /* expected terminating signal, or 0 */
};

static const char *const a_true[] = {"/bin/true", NULL};
static const char *const a_false[] = {"/bin/false", NULL};
static const char *const a_exit3[] = {"/bin/sh", "-c", "exit 3", NULL};
static const char *const a_exit7[] = {"/bin/sh", "-c", "exit 7", NULL};
static const char *const a_kill[] = {"/bin/sh", "-c", "kill -KILL $$", NULL};
static const char *const a_usr1[] = {"/bin/sh", "-c", "kill -USR1 $$", NULL};

static const struct kind kinds[] = {
    {a_false, 1, 0}, {a_true, 0, 0},        {a_exit3, 3, 0},
    {a_exit7, 7, 0}, {a_kill, -1, SIGKILL}, {a_usr1, -1, SIGUSR1},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};

static atomic_int spawners_left = SPAWNERS;
static atomic_int wrong;  /* a status other than the child's own */
static atomic_int errors; /* an error where a status was expected */
static atomic_int sweeps; /* sweeps that ran */

static int status_is(int st, const struct kind *k)
{
    if (k->signal) {
        return WIFSIGNALED(st) && WTERMSIG(st) == k->signal;
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == k->code;
}

/* Runs one child to its end, alternately by spawn_wait and spawn_capture,
 * and counts a wrong status or an error. */
static void run_one(const struct kind *k, int use_capture)
{
    struct spawn_opts o = {.argv = k->argv, .envp = env};
    struct spawn_child c;
    if (spawn_start(&o, &c) != 0) {
        atomic_fetch_add(&errors, 1);
        return;
    }
    int rc = use_capture ? spawn_capture(&c, NULL, 0, spawn_now_ms() + 20000, NULL, NULL)
                         : spawn_wait(&c, 20000);
    if (rc != 0) {
        atomic_fetch_add(&errors, 1);
        spawn_kill_tree(&c, 0);
    } else if (!status_is(c.status, k)) {
        atomic_fetch_add(&wrong, 1);
    }
    spawn_close(&c);
}

static void *spawner(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < RUNS_PER_SPAWNER; i++) {
        run_one(&kinds[(size_t)(i + id) % N_KINDS], (i / (int)N_KINDS + id) % 2);
    }
    atomic_fetch_sub(&spawners_left, 1);
    return NULL;
}

static void *sweeper(void *arg)
{
    (void)arg;
    while (atomic_load(&spawners_left) > 0) {
        if (spawn_sweep() >= 0) {
            atomic_fetch_add(&sweeps, 1);
        }
    }
    return NULL;
}

static void test_every_status_is_the_childs_own_while_sweeping(void)
{
    pthread_t sp[SPAWNERS], sw[SWEEPERS];
    for (long i = 0; i < SWEEPERS; i++) {
        CHECK(pthread_create(&sw[i], NULL, sweeper, NULL) == 0);
    }
    for (long i = 0; i < SPAWNERS; i++) {
        CHECK(pthread_create(&sp[i], NULL, spawner, (void *)i) == 0);
    }
    for (int i = 0; i < SPAWNERS; i++) {
        pthread_join(sp[i], NULL);
    }
    for (int i = 0; i < SWEEPERS; i++) {
        pthread_join(sw[i], NULL);
    }
    int w = atomic_load(&wrong), e = atomic_load(&errors);
    if (w || e) {
        fprintf(stderr, "%d of %d runs had a wrong status, %d an error\n", w,
                SPAWNERS * RUNS_PER_SPAWNER, e);
    }
    CHECK(w == 0);
    CHECK(e == 0);
    CHECK(atomic_load(&sweeps) > 0);
}

/* Starts /bin/false and takes its status behind spawn's back. */
static void start_and_steal(struct spawn_child *c)
{
    struct spawn_opts o = {.argv = a_false, .envp = env};
    CHECK(spawn_start(&o, c) == 0);
    int st = 0;
    CHECK(waitpid(c->pid, &st, 0) == c->pid && WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static void test_lost_status_is_an_error_never_exit_0(void)
{
    struct spawn_child c;
    start_and_steal(&c);
    CHECK(spawn_wait(&c, 5000) == -ECHILD);
    CHECK(c.reaped && c.status == SPAWN_STATUS_UNKNOWN);
    CHECK(spawn_wait(&c, 5000) == -ECHILD); /* and stays lost */
    CHECK(spawn_poll_exit(&c) == -ECHILD);
    CHECK(spawn_kill_tree(&c, 100) == -ECHILD);
    char text[64];
    spawn_describe_status(c.status, text, sizeof text);
    CHECK(strcmp(text, "exit status unknown") == 0);
    spawn_close(&c);

    start_and_steal(&c);
    CHECK(spawn_capture(&c, NULL, 0, spawn_now_ms() + 5000, NULL, NULL) == -ECHILD);
    CHECK(c.status == SPAWN_STATUS_UNKNOWN);
    spawn_close(&c);

    start_and_steal(&c);
    CHECK(spawn_poll_exit(&c) == -ECHILD);
    CHECK(c.status == SPAWN_STATUS_UNKNOWN);
    spawn_close(&c);
}

int main(void)
{
    CHECK(spawn_init() == 0);
    test_lost_status_is_an_error_never_exit_0();
    test_every_status_is_the_childs_own_while_sweeping();
    return check_exit();
}
