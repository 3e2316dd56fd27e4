/* spawn: the child gets exactly the environment given, only fds 0-2, its
 * own group, limits; killing a tree reaches group members, setsid children,
 * re-parented orphans and SIGTERM-ignorers; nothing is left as a zombie;
 * a child whose parent dies is killed with its whole group. */
#include "check.h"
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Marks every process of this test run (unique per run, set in main). */
static char mark[64];
#define MARK mark

struct buf {
    char data[65536];
    size_t len;
};

static void collect(void *ctx, int stream, const char *data, size_t len)
{
    struct buf *b = (struct buf *)ctx + (stream == 2);
    size_t room = sizeof b->data - 1 - b->len;
    if (len > room) {
        len = room;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static const char *const base_env[] = {"PATH=/usr/bin:/bin", mark, NULL};

/* Runs argv to completion; out[0] is stdout, out[1] stderr. Returns the wait status. */
static int run(const char *const *argv, const char *const *envp, unsigned long mem_mb,
               const char *in, struct buf out[2])
{
    memset(out, 0, 2 * sizeof *out);
    struct spawn_opts o = {
        .argv = argv,
        .envp = envp,
        .max_memory_mb = mem_mb,
        .stdin_pipe = in != NULL,
    };
    struct spawn_child c;
    int rc = spawn_start(&o, &c);
    CHECK(rc == 0);
    if (rc != 0) {
        return -1;
    }
    CHECK(spawn_capture(&c, in, in ? strlen(in) : 0, spawn_now_ms() + 20000, collect, out) == 0);
    CHECK(spawn_kill_tree(&c, 1000) == 0);
    spawn_close(&c);
    return c.status;
}

enum { LIVE, OUR_ZOMBIES, SESSION_LEADERS };

/* Number of live processes (zombies excluded) whose environment holds MARK;
 * OUR_ZOMBIES counts our zombie children instead; SESSION_LEADERS the live
 * marked processes that called setsid(). */
static int count_marked(int what)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) {
            continue;
        }
        char path[64], stat[512] = "", env[65536];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            continue;
        }
        ssize_t r = read(fd, stat, sizeof stat - 1);
        close(fd);
        const char *rp = r > 0 ? strrchr(stat, ')') : NULL;
        if (!rp) {
            continue;
        }
        char state = rp[2];
        int ppid = 0, pgid = 0, sid = 0;
        sscanf(rp + 4, "%d %d %d", &ppid, &pgid, &sid);
        if (what == OUR_ZOMBIES) {
            n += state == 'Z' && ppid == getpid();
            continue;
        }
        if (what == SESSION_LEADERS && sid != pid) {
            continue;
        }
        if (state == 'Z') {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        fd = open(path, O_RDONLY);
        r = fd >= 0 ? read(fd, env, sizeof env - 1) : -1;
        if (fd >= 0) {
            close(fd);
        }
        for (ssize_t i = 0; i < r; i += (ssize_t)strlen(env + i) + 1) {
            env[r] = '\0';
            if (strcmp(env + i, MARK) == 0) {
                n++;
                break;
            }
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

/* Number of children of `parent` (zombies included) named pixie-watchdog;
 * the pid of one in *pid when pid is not NULL. */
static int count_watchdogs(pid_t parent, pid_t *pid)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], stat[512] = "";
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = atoi(e->d_name) > 0 ? open(path, O_RDONLY) : -1;
        if (fd < 0) {
            continue;
        }
        ssize_t r = read(fd, stat, sizeof stat - 1);
        close(fd);
        const char *rp = r > 0 ? strrchr(stat, ')') : NULL;
        if (rp && strstr(stat, "(pixie-watchdog)") && atoi(rp + 4) == parent) {
            n++;
            if (pid) {
                *pid = atoi(e->d_name);
            }
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void test_env_is_exactly_given(void)
{
    struct buf out[2];
    const char *const argv[] = {"env", NULL};
    const char *const envp[] = {"PATH=/usr/bin:/bin", "A=1", "B=two words", NULL};
    setenv("PIXIE_TEST_PARENT_ONLY", "CANARY-PARENT-ENV-SECRET", 1);
    int st = run(argv, envp, 0, NULL, out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(out[0].data, "PATH=/usr/bin:/bin\nA=1\nB=two words\n") == 0);
    CHECK(strstr(out[0].data, "CANARY") == NULL);
}

static void test_only_stdio_fds_and_stdin_is_devnull(void)
{
    int leak1 = open("/dev/null", O_RDONLY); /* deliberately not close-on-exec */
    int leak2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(leak1 >= 3 && leak2 >= 3);
    struct buf out[2];
    const char *const argv[] = {"/bin/sh", "-c", "ls /proc/$$/fd; readlink /proc/$$/fd/0", NULL};
    int st = run(argv, base_env, 0, NULL, out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(out[0].data, "0\n1\n2\n/dev/null\n") == 0);
    close(leak1);
    close(leak2);
}

static void test_stdin_stdout_stderr_pipes(void)
{
    struct buf out[2];
    const char *const argv[] = {"/bin/sh", "-c", "cat; echo oops >&2; exit 7", NULL};
    int st = run(argv, base_env, 0, "hello\nworld", out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    CHECK(strcmp(out[0].data, "hello\nworld") == 0);
    CHECK(strcmp(out[1].data, "oops\n") == 0);
}

static void test_limits_applied(void)
{
    struct buf out[2];
    const char *const argv[] = {"/bin/sh", "-c", "ulimit -v; ulimit -c", NULL};
    int st = run(argv, base_env, 64, NULL, out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(out[0].data, "65536\n0\n") == 0);
    /* and the limit bites: 200 MB cannot be allocated under 64 MiB */
    const char *const hog[] = {"python3", "-c", "b = bytearray(200 * 1024 * 1024)", NULL};
    const char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    st = run(hog, envp, 64, NULL, out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    CHECK(strstr(out[1].data, "MemoryError") != NULL);
}

static void test_exec_failure_is_reported(void)
{
    const char *const argv[] = {"/nonexistent/program", NULL};
    struct spawn_opts o = {.argv = argv, .envp = base_env};
    struct spawn_child c;
    CHECK(spawn_start(&o, &c) == -ENOENT);
    char plain[4200];
    snprintf(plain, sizeof plain, "%s/not-executable", check_tmpdir("spawn"));
    FILE *f = fopen(plain, "w");
    CHECK(f != NULL);
    if (f) {
        fclose(f);
    }
    const char *const argv2[] = {plain, NULL};
    o.argv = argv2;
    CHECK(spawn_start(&o, &c) == -EACCES);
    const char *const argv3[] = {"no-such-program-anywhere", NULL};
    o.argv = argv3;
    CHECK(spawn_start(&o, &c) == -ENOENT);
    CHECK(count_marked(OUR_ZOMBIES) == 0);
}

/* Starts a tree: group members, a SIGTERM-ignorer, a setsid child and a
 * double-forked setsid orphan; returns after they exist. */
static void start_tree(struct spawn_child *c)
{
    const char *const argv[] = {"/bin/sh", "-c",
                                "sleep 1000 & (trap '' TERM; sleep 1001) & setsid sleep 1002 & "
                                "(setsid sleep 1003 &) ; echo started; wait",
                                NULL};
    struct spawn_opts o = {
        .argv = argv,
        .envp = base_env,
    };
    CHECK(spawn_start(&o, c) == 0);
    struct buf out[2] = {0};
    /* wait for "started" and for all five processes to exist */
    for (int i = 0; i < 1000 && (strstr(out[0].data, "started") == NULL || count_marked(LIVE) < 5);
         i++) {
        spawn_capture(c, NULL, 0, spawn_now_ms() + 10, collect, out);
    }
    CHECK(count_marked(LIVE) >= 5);
}

static void test_kill_tree_reaches_everything(void)
{
    struct spawn_child c;
    start_tree(&c);
    CHECK(spawn_kill_tree(&c, 300) == 0);
    CHECK(c.reaped);
    CHECK(count_marked(LIVE) == 0);
    CHECK(count_marked(OUR_ZOMBIES) == 0);
    spawn_close(&c);
}

static void test_sigterm_ignorer_gets_sigkill(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 1000", NULL};
    struct spawn_opts o = {
        .argv = argv,
        .envp = base_env,
    };
    struct spawn_child c;
    CHECK(spawn_start(&o, &c) == 0);
    struct buf out[2] = {0};
    for (int i = 0; i < 500 && strstr(out[0].data, "ready") == NULL; i++) {
        spawn_capture(&c, NULL, 0, spawn_now_ms() + 10, collect, out);
    }
    CHECK(spawn_kill_tree(&c, 200) == 0);
    CHECK(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
    CHECK(c.forced == 1);
    CHECK(count_marked(LIVE) == 0);
    spawn_close(&c);
}

static void test_capture_deadline_then_kill(void)
{
    const char *const argv[] = {"sleep", "1000", NULL};
    struct spawn_opts o = {
        .argv = argv,
        .envp = base_env,
    };
    struct spawn_child c;
    CHECK(spawn_start(&o, &c) == 0);
    CHECK(spawn_capture(&c, NULL, 0, spawn_now_ms() + 100, NULL, NULL) == -ETIMEDOUT);
    CHECK(spawn_wait(&c, 10) == -ETIMEDOUT);
    CHECK(spawn_kill_tree(&c, 1000) == 0);
    CHECK(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGTERM);
    CHECK(c.forced == 0);
    spawn_close(&c);
}

/* Number of live processes (zombies excluded) running `sleep <tag>`. */
static int count_tagged(const char *tag)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        char path[64], stat[512] = "", cmd[4096];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int fd = pid > 0 ? open(path, O_RDONLY) : -1;
        ssize_t r = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
        if (fd >= 0) {
            close(fd);
        }
        const char *rp = r > 0 ? strrchr(stat, ')') : NULL;
        if (!rp || rp[2] == 'Z') {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        fd = open(path, O_RDONLY);
        r = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
        if (fd >= 0) {
            close(fd);
        }
        if (r > 0) {
            cmd[r] = '\0';
            n += strcmp(cmd, "sleep") == 0 && strcmp(cmd + 6, tag) == 0;
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

/* A leader that leaves three escapers running `sleep <argv[1]>`, each with
 * an empty environment: a setsid daemon (double fork) on /dev/null, one
 * that keeps the leader's stdout/stderr, and a grandchild that tries to join
 * the process group of the leader's parent (Pixie's; refused, as the leader
 * has its own session). Then prints "ready". */
static const char ESCAPER_PY[] = "import os, sys, time\n"
                                 "tag = sys.argv[1]\n"
                                 "def escape(setup):\n"
                                 "    r, w = os.pipe()\n"
                                 "    if os.fork() == 0:\n"
                                 "        if os.fork() == 0:\n"
                                 "            setup()\n"
                                 "            os.write(w, b'x')\n"
                                 "            os.execve('/bin/sleep', ['sleep', tag], {})\n"
                                 "        os._exit(0)\n"
                                 "    os.read(r, 1)\n"
                                 "def on_null():\n"
                                 "    os.setsid()\n"
                                 "    n = os.open('/dev/null', os.O_RDWR)\n"
                                 "    for fd in (0, 1, 2):\n"
                                 "        os.dup2(n, fd)\n"
                                 "pixie_group = os.getpgid(os.getppid())\n"
                                 "def join_pixie():\n"
                                 "    try:\n"
                                 "        os.setpgid(0, pixie_group)\n"
                                 "    except PermissionError:\n"
                                 "        pass  # another session: refused, so it stays an orphan\n"
                                 "escape(on_null)\n"
                                 "escape(os.setsid)\n"
                                 "escape(join_pixie)\n"
                                 "print('ready', flush=True)\n"
                                 "time.sleep(1000)\n";

/* Starts ESCAPER_PY with `tag` and waits for its three escapers. */
static void start_escapers(struct spawn_child *c, const char *tag)
{
    const char *const argv[] = {"python3", "-c", ESCAPER_PY, tag, NULL};
    struct spawn_opts o = {.argv = argv, .envp = base_env};
    CHECK(spawn_start(&o, c) == 0);
    struct buf out[2];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 1000 && (strstr(out[0].data, "ready") == NULL || count_tagged(tag) < 3);
         i++) {
        spawn_capture(c, NULL, 0, spawn_now_ms() + 10, collect, out);
    }
    CHECK(count_tagged(tag) == 3);
}

/* Descendants are found whatever environment, session or group they chose. */
static void test_kill_tree_reaches_escapers_without_environment(void)
{
    struct spawn_child c;
    char tag[32];
    snprintf(tag, sizeof tag, "1000.%d", (int)getpid());
    start_escapers(&c, tag);
    CHECK(spawn_kill_tree(&c, 300) == 0);
    CHECK(count_tagged(tag) == 0);
    CHECK(count_marked(OUR_ZOMBIES) == 0);
    spawn_close(&c);
}

/* An orphan left by a leader that exited comes to us (a subreaper): the
 * leader's tree kill takes it, and so does a sweep without one. */
static void test_orphans_of_a_dead_leader_are_killed(void)
{
    static const char exits[] = "import os, sys\n"
                                "r, w = os.pipe()\n"
                                "if os.fork() == 0:\n"
                                "    os.setsid()\n"
                                "    n = os.open('/dev/null', os.O_RDWR)\n"
                                "    for fd in (0, 1, 2):\n"
                                "        os.dup2(n, fd)\n"
                                "    os.write(w, b'x')\n"
                                "    os.execve('/bin/sleep', ['sleep', sys.argv[1]], {})\n"
                                "os.read(r, 1)\n";
    for (int sweep = 0; sweep < 2; sweep++) {
        char tag[32];
        snprintf(tag, sizeof tag, "%d.%d", 2000 + sweep, (int)getpid());
        const char *const argv[] = {"python3", "-c", exits, tag, NULL};
        struct spawn_opts o = {.argv = argv, .envp = base_env};
        struct spawn_child c;
        CHECK(spawn_start(&o, &c) == 0);
        CHECK(spawn_wait(&c, 10000) == 0);
        /* The orphan said so before its execve: wait until it is `sleep`. */
        for (int i = 0; i < 1000 && count_tagged(tag) == 0; i++) {
            usleep(10000);
        }
        CHECK(count_tagged(tag) == 1);
        if (sweep) {
            for (int i = 0; i < 300 && count_tagged(tag) > 0; i++) {
                spawn_sweep();
                usleep(10000);
            }
        } else {
            CHECK(spawn_kill_tree(&c, 300) == 0);
        }
        CHECK(count_tagged(tag) == 0);
        spawn_sweep();
        CHECK(count_marked(OUR_ZOMBIES) == 0);
        spawn_close(&c);
    }
}

/* In a fresh process (see main): spawns a tree and the escapers (tagged
 * `tag`), reports on fd, waits. No sweep runs: the watchdog must find them. */
static int child_spawn_and_wait(int fd, const char *tag)
{
    struct spawn_child c, e;
    const char *const argv[] = {"/bin/sh", "-c", "sleep 1000 & setsid sleep 1001 & wait", NULL};
    struct spawn_opts o = {.argv = argv, .envp = base_env};
    int ok = spawn_start(&o, &c) == 0;
    for (int i = 0; ok && i < 1000 && count_marked(LIVE) < 3; i++) {
        usleep(10000);
    }
    start_escapers(&e, tag);
    if (write(fd, "x", 1) != 1) {
        return 1;
    }
    pause();
    return 0;
}

/* Starts a Pixie (this test in --spawn-and-wait mode) holding a tree and
 * the escapers tagged `tag`; returns its pid once they run. */
static pid_t start_pixie_with_trees(const char *tag)
{
    int sync[2];
    CHECK(pipe(sync) == 0);
    pid_t mid = fork();
    if (mid == 0) {
        close(sync[0]);
        char arg[16];
        snprintf(arg, sizeof arg, "%d", sync[1]);
        execl("/proc/self/exe", "test_spawn", "--spawn-and-wait", arg, mark, tag, (char *)NULL);
        _exit(127);
    }
    close(sync[1]);
    char x;
    CHECK(read(sync[0], &x, 1) == 1);
    close(sync[0]);
    CHECK(count_marked(LIVE) == 4); /* and the escapers' leader */
    CHECK(count_tagged(tag) == 3);
    return mid;
}

/* Waits until no process of the trees (marked, or tagged `tag`) is alive;
 * returns how many still are. */
static int wait_trees_gone(const char *tag)
{
    int left = -1;
    for (int i = 0; i < 500 && (left = count_marked(LIVE) + count_tagged(tag)) != 0; i++) {
        usleep(10000);
    }
    return left;
}

/* Reaps what was re-parented to us (a subreaper), dead watchdogs included,
 * until only our own watchdog is left. */
static void reap_reparented(void)
{
    for (int i = 0; i < 500 && count_watchdogs(getpid(), NULL) > 1; i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        usleep(10000);
    }
    CHECK(count_watchdogs(getpid(), NULL) == 1);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* A Pixie that dies by SIGKILL takes its spawned trees with it, escapers
 * included: the watchdog freezes and kills them. */
static void test_parent_death_kills_tree(void)
{
    char tag[32];
    snprintf(tag, sizeof tag, "1003.%d", (int)getpid());
    pid_t mid = start_pixie_with_trees(tag);
    kill(mid, SIGKILL);
    waitpid(mid, NULL, 0);
    CHECK(wait_trees_gone(tag) == 0);
    reap_reparented();
}

/* The watchdog has a command line of its own (not Pixie's, so `pkill -f`
 * aimed at Pixie misses it) and, sent SIGTERM, kills the trees and exits. */
static void test_watchdog_has_its_own_name_and_obeys_sigterm(void)
{
    char tag[32];
    snprintf(tag, sizeof tag, "1004.%d", (int)getpid());
    pid_t mid = start_pixie_with_trees(tag), wd = -1;
    CHECK(count_watchdogs(mid, &wd) == 1);
    char path[64], cmd[256] = "";
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)wd);
    int fd = open(path, O_RDONLY);
    ssize_t r = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    CHECK(r > 0 && strcmp(cmd, "pixie-watchdog") == 0);
    for (ssize_t i = (ssize_t)strlen(cmd); i < r; i++) {
        CHECK(cmd[i] == '\0'); /* nothing of Pixie's arguments is left */
    }
    kill(wd, SIGTERM);
    CHECK(wait_trees_gone(tag) == 0);
    kill(mid, SIGKILL);
    waitpid(mid, NULL, 0);
    reap_reparented();
}

/* Many spawns (successful, failing, killed) leave no descriptor behind. */
static void test_no_fd_leak_over_many_spawns(void)
{
    const char *const ok[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
    const char *const missing[] = {"/nonexistent/program", NULL};
    const char *const slow[] = {"sleep", "100", NULL};
    int before = check_count_fds();
    for (int i = 0; i < 100; i++) {
        struct spawn_opts o = {.argv = i % 3 == 0   ? ok
                                       : i % 3 == 1 ? missing
                                                    : slow,
                               .envp = base_env,
                               .stdin_pipe = i % 2};
        struct spawn_child c;
        if (spawn_start(&o, &c) != 0) {
            continue;
        }
        spawn_capture(&c, NULL, 0, spawn_now_ms() + (i % 3 == 2 ? 1 : 5000), NULL, NULL);
        spawn_kill_tree(&c, 100);
        spawn_close(&c);
    }
    CHECK(check_count_fds() == before);
    CHECK(count_marked(OUR_ZOMBIES) == 0);
}

/* An orderly exit reaps the watchdog and kills nothing. */
static void test_shutdown_reaps_the_watchdog_and_kills_nothing(void)
{
    const char *const argv[] = {"sleep", "100", NULL};
    struct spawn_opts o = {
        .argv = argv,
        .envp = base_env,
    };
    struct spawn_child c;
    CHECK(spawn_start(&o, &c) == 0);
    CHECK(count_watchdogs(getpid(), NULL) == 1);
    spawn_shutdown();
    spawn_shutdown(); /* idempotent */
    CHECK(count_watchdogs(getpid(), NULL) == 0);
    usleep(100000);
    CHECK(count_marked(LIVE) == 1);
    CHECK(spawn_kill_tree(&c, 1000) == 0);
    spawn_close(&c);
    CHECK(count_marked(LIVE) == 0);
}

static void test_describe_status(void)
{
    char buf[64];
    spawn_describe_status(3 << 8, buf, sizeof buf);
    CHECK(strcmp(buf, "exit code 3") == 0);
    spawn_describe_status(SIGKILL, buf, sizeof buf);
    CHECK(strcmp(buf, "signal 9 (SIGKILL)") == 0);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--spawn-and-wait") == 0) {
        snprintf(mark, sizeof mark, "%s", argv[3]);
        return child_spawn_and_wait(atoi(argv[2]), argv[4]);
    }
    snprintf(mark, sizeof mark, "PIXIE_TEST_MARK=spawn-%d", (int)getpid());
    CHECK(spawn_init() == 0);
    test_env_is_exactly_given();
    test_only_stdio_fds_and_stdin_is_devnull();
    test_stdin_stdout_stderr_pipes();
    test_limits_applied();
    test_exec_failure_is_reported();
    test_kill_tree_reaches_everything();
    test_sigterm_ignorer_gets_sigkill();
    test_capture_deadline_then_kill();
    test_parent_death_kills_tree();
    test_watchdog_has_its_own_name_and_obeys_sigterm();
    test_kill_tree_reaches_escapers_without_environment();
    test_orphans_of_a_dead_leader_are_killed();
    test_no_fd_leak_over_many_spawns();
    test_describe_status();
    test_shutdown_reaps_the_watchdog_and_kills_nothing(); /* last: ends the watchdog */
    CHECK(count_marked(LIVE) == 0);
    CHECK(count_marked(OUR_ZOMBIES) == 0);
    return check_exit();
}
