/* log: lines from 4 threads land whole and masked in logs/pixie.log (0600,
 * created on the first line, folder 0700); a symlink planted at pixie.log is
 * not followed; the threshold keeps info lines off stderr but in the file. */
#include "check.h"
#include "log.h"
#include "mask.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANARY "CANARY-LOG-5e1d-SECRET"

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
    test_level_names_parse();
    return check_exit();
}
