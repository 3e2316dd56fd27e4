/* The process-wide event board; see board.h. One mutex guards everything:
 * the work under it is short (copying an event, formatting text). */
#include "board.h"

#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct event {
    char name[33];
    char *data;
    size_t len;
};

struct entry {
    char *key;
    int refs;     /* the table's (while in it) plus each reader's */
    int in_table; /* still findable by key */
    int finished, cancelled, status;
    char *body;
    size_t body_len;
    double finished_at;
    struct event *events; /* events[head, count) are kept */
    size_t head, count, cap;
    uint64_t first_seq; /* sequence number of events[head] */
    size_t bytes;       /* data bytes kept */
    struct board_waiter *waiters;
};

struct board_reader {
    struct entry *e;
    uint64_t next_seq;
    int final_read;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry **table;
static size_t table_len, table_cap;
static int closing;
static double fake_clock;

/* Seconds on the monotonic clock (or the tests' fake one). */
static double now(void)
{
    if (fake_clock > 0) {
        return fake_clock;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Drops one reference; frees the entry at zero. Lock held. */
static void entry_unref(struct entry *e)
{
    if (--e->refs > 0) {
        return;
    }
    for (size_t i = e->head; i < e->count; i++) {
        free(e->events[i].data);
    }
    free(e->events);
    free(e->body);
    free(e->key);
    free(e);
}

/* The table index of key, or -1. Lock held. */
static long find_index(const char *key)
{
    for (size_t i = 0; i < table_len; i++) {
        if (strcmp(table[i]->key, key) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* 1 when e finished BOARD_KEEP_SECONDS ago or more. Lock held. */
static int expired(const struct entry *e)
{
    return e->finished && now() - e->finished_at >= BOARD_KEEP_SECONDS;
}

/* The entry of key in the table (an expired one counts as gone), or
 * NULL. Lock held. */
static struct entry *find(const char *key)
{
    long i = key ? find_index(key) : -1;
    return i < 0 || expired(table[i]) ? NULL : table[i];
}

/* Takes table[i] out of the table. Lock held. */
static void remove_at(size_t i)
{
    struct entry *e = table[i];
    memmove(table + i, table + i + 1, (table_len - i - 1) * sizeof *table);
    table_len--;
    e->in_table = 0;
    entry_unref(e);
}

/* Unlinks every waiter of e and runs its wake hook. Lock held. */
static void wake_all(struct entry *e)
{
    while (e->waiters) {
        struct board_waiter *w = e->waiters;
        e->waiters = w->next;
        if (e->waiters) {
            e->waiters->prev = NULL;
        }
        w->next = w->prev = NULL;
        w->entry = NULL;
        if (w->wake) {
            w->wake(w->ctx);
        }
    }
}

/* Registers w on e and runs its arm hook. Lock held. */
static void register_waiter(struct entry *e, struct board_waiter *w)
{
    w->entry = e;
    w->prev = NULL;
    w->next = e->waiters;
    if (e->waiters) {
        e->waiters->prev = w;
    }
    e->waiters = w;
    w->armed_at = now();
    if (w->arm) {
        w->arm(w->ctx);
    }
}

/* Unlinks w from its entry when it is registered. Lock held. */
static void unlink_waiter(struct board_waiter *w)
{
    struct entry *e = w->entry;
    if (e) {
        if (w->prev) {
            w->prev->next = w->next;
        } else {
            e->waiters = w->next;
        }
        if (w->next) {
            w->next->prev = w->prev;
        }
        w->next = w->prev = NULL;
        w->entry = NULL;
    }
}

void board_waiter_drop(struct board_waiter *w)
{
    pthread_mutex_lock(&lock);
    unlink_waiter(w);
    pthread_mutex_unlock(&lock);
}

int board_wake_idle(double seconds)
{
    int n = 0;
    pthread_mutex_lock(&lock);
    double t = now();
    for (size_t i = 0; i < table_len; i++) {
        struct board_waiter *w = table[i]->waiters;
        while (w) {
            struct board_waiter *next = w->next;
            if (w->idle_wake && t - w->armed_at >= seconds) {
                unlink_waiter(w);
                w->idled = 1;
                if (w->wake) {
                    w->wake(w->ctx);
                }
                n++;
            }
            w = next;
        }
    }
    pthread_mutex_unlock(&lock);
    return n;
}

/* Removes finished entries older than BOARD_KEEP_SECONDS and, while the
 * table is full, the oldest finished one. Lock held. Returns 0 or -ENOSPC. */
static int make_room(void)
{
    for (size_t i = 0; i < table_len;) {
        if (expired(table[i])) {
            remove_at(i);
        } else {
            i++;
        }
    }
    while (table_len >= BOARD_KEYS_MAX) {
        long oldest = -1;
        for (size_t i = 0; i < table_len; i++) {
            if (table[i]->finished &&
                (oldest < 0 || table[i]->finished_at < table[oldest]->finished_at)) {
                oldest = (long)i;
            }
        }
        if (oldest < 0) {
            return -ENOSPC;
        }
        remove_at((size_t)oldest);
    }
    return 0;
}

/* 1 when key is a usable key. */
static int key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n >= 1 && n <= BOARD_KEY_MAX;
}

int board_open(const char *key, struct buf *err)
{
    if (!key_ok(key)) {
        return buf_fail(err, -EINVAL, "board key must be 1 to %d bytes", BOARD_KEY_MAX);
    }
    struct entry *e = calloc(1, sizeof *e);
    char *k = strdup(key);
    if (!e || !k) {
        free(e);
        free(k);
        return buf_fail(err, -ENOMEM, "out of memory");
    }
    e->key = k;
    e->refs = 1;
    e->in_table = 1;
    pthread_mutex_lock(&lock);
    long i = find_index(key);
    int rc = 0;
    if (i >= 0 && !table[i]->finished) {
        rc = buf_fail(err, -EEXIST, "board entry '%s' is open and unfinished", key);
    } else {
        if (i >= 0) {
            remove_at((size_t)i);
        }
        if (make_room() != 0) {
            rc = buf_fail(err, -ENOSPC, "too many board entries running (%d)", BOARD_KEYS_MAX);
        } else if (buf_grow_array((void **)&table, &table_cap, table_len + 1, sizeof *table)) {
            rc = buf_fail(err, -ENOMEM, "out of memory");
        } else {
            table[table_len++] = e;
            e = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    if (e) {
        free(e->key);
        free(e);
    }
    return rc;
}

/* 1 when name is [a-z_]{1,32}. */
static int event_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 32) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

/* Drops e's oldest events until its data fits the history limit, and
 * compacts the array when half of it is dropped. Lock held. */
static void trim_history(struct entry *e)
{
    while (e->bytes > BOARD_HISTORY_MAX && e->head < e->count) {
        struct event *ev = &e->events[e->head++];
        e->bytes -= ev->len;
        free(ev->data);
        e->first_seq++;
    }
    if (e->head > 0 && e->head * 2 >= e->count) {
        memmove(e->events, e->events + e->head, (e->count - e->head) * sizeof *e->events);
        e->count -= e->head;
        e->head = 0;
    }
}

/* A NUL-terminated malloc'd copy of len bytes of p (the caller frees), or NULL. */
static char *copy_bytes(const char *p, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        if (len) {
            memcpy(copy, p, len);
        }
        copy[len] = '\0';
    }
    return copy;
}

int board_publish(const char *key, const char *event, const char *data, size_t len, struct buf *err)
{
    if (!event_name_ok(event)) {
        return buf_fail(err, -EINVAL, "event name must match [a-z_]{1,32}");
    }
    char *copy = copy_bytes(data, len);
    if (!copy) {
        return buf_fail(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&lock);
    struct entry *e = find(key);
    int rc = 0;
    if (!e) {
        rc = buf_fail(err, -ENOENT, "no board entry '%s'", key ? key : "");
    } else if (e->finished) {
        rc = buf_fail(err, -EALREADY, "board entry '%s' is finished", key);
    } else if (buf_grow_array((void **)&e->events, &e->cap, e->count + 1, sizeof *e->events)) {
        rc = buf_fail(err, -ENOMEM, "out of memory");
    } else {
        struct event *ev = &e->events[e->count++];
        snprintf(ev->name, sizeof ev->name, "%s", event);
        ev->data = copy;
        ev->len = len;
        e->bytes += len;
        copy = NULL;
        trim_history(e);
        wake_all(e);
    }
    pthread_mutex_unlock(&lock);
    free(copy);
    return rc;
}

int board_finish(const char *key, int status, const char *body, size_t len, struct buf *err)
{
    if (status < 100 || status > 599) {
        return buf_fail(err, -EINVAL, "status must be 100 to 599");
    }
    char *copy = copy_bytes(body, len);
    if (!copy) {
        return buf_fail(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&lock);
    struct entry *e = find(key);
    int rc = 0;
    if (!e) {
        rc = buf_fail(err, -ENOENT, "no board entry '%s'", key ? key : "");
    } else if (e->finished) {
        rc = buf_fail(err, -EALREADY, "board entry '%s' is finished", key);
    } else {
        e->finished = 1;
        e->status = status;
        e->body = copy;
        e->body_len = len;
        e->finished_at = now();
        copy = NULL;
        wake_all(e);
    }
    pthread_mutex_unlock(&lock);
    free(copy);
    return rc;
}

int board_cancel(const char *key)
{
    pthread_mutex_lock(&lock);
    struct entry *e = find(key);
    int ok = e && !e->finished;
    if (ok) {
        e->cancelled = 1;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

int board_cancelled(const char *key)
{
    pthread_mutex_lock(&lock);
    struct entry *e = find(key);
    int c = e && e->cancelled;
    pthread_mutex_unlock(&lock);
    return c;
}

enum board_state board_state(const char *key)
{
    pthread_mutex_lock(&lock);
    struct entry *e = find(key);
    enum board_state s = !e ? BOARD_NONE : e->finished ? BOARD_FINISHED : BOARD_RUNNING;
    pthread_mutex_unlock(&lock);
    return s;
}

struct board_reader *board_reader_new(const char *key, int *rc)
{
    struct board_reader *r = calloc(1, sizeof *r);
    if (!r) {
        *rc = -ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&lock);
    struct entry *e = find(key);
    if (e) {
        e->refs++;
        r->e = e;
    }
    pthread_mutex_unlock(&lock);
    if (!e) {
        free(r);
        *rc = -ENOENT;
        return NULL;
    }
    *rc = 0;
    return r;
}

/* Appends "data: <line>\n" for each line of d[0, n) (CR, LF, CRLF end a
 * line); an empty d is one empty data line. */
static void append_data_lines(struct buf *out, const char *d, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || d[i] == '\n' || d[i] == '\r') {
            buf_append(out, "data: ", 6);
            buf_append(out, d + start, i - start);
            buf_append_byte(out, '\n');
            if (i < n && d[i] == '\r' && i + 1 < n && d[i + 1] == '\n') {
                i++;
            }
            start = i + 1;
        }
    }
}

/* Appends one whole SSE event. */
static void append_event(struct buf *out, const char *name, const char *d, size_t n)
{
    buf_append(out, "event: ", 7);
    buf_append(out, name, strlen(name));
    buf_append_byte(out, '\n');
    append_data_lines(out, d, n);
    buf_append_byte(out, '\n');
}

int board_reader_read(struct board_reader *r, struct buf *out, struct board_waiter *w)
{
    pthread_mutex_lock(&lock);
    struct entry *e = r->e;
    size_t before = out->len;
    uint64_t next = r->next_seq;
    int final_read = r->final_read;
    if (closing) {
        pthread_mutex_unlock(&lock);
        return BOARD_READ_END;
    }
    if (next < e->first_seq) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)(e->first_seq - next));
        append_event(out, "gap", n, strlen(n));
        next = e->first_seq;
    }
    for (size_t i = e->head + (size_t)(next - e->first_seq); i < e->count; i++) {
        append_event(out, e->events[i].name, e->events[i].data, e->events[i].len);
        next++;
    }
    if (e->finished && !final_read) {
        append_event(out, "final", e->body, e->body_len);
        final_read = 1;
    }
    int rc;
    if (out->err) {
        rc = out->err;
    } else if (out->len > before) {
        r->next_seq = next;
        r->final_read = final_read;
        rc = BOARD_READ_DATA;
    } else if (r->final_read) {
        rc = BOARD_READ_END;
    } else {
        if (w) {
            register_waiter(e, w);
        }
        rc = BOARD_READ_WAIT;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void board_reader_free(struct board_reader *r, struct board_waiter *w)
{
    if (!r) {
        return;
    }
    if (w) {
        board_waiter_drop(w);
    }
    pthread_mutex_lock(&lock);
    entry_unref(r->e);
    pthread_mutex_unlock(&lock);
    free(r);
}

int board_await(const char *key, int *status, struct buf *body, struct board_waiter *w)
{
    pthread_mutex_lock(&lock);
    struct entry *e = closing ? NULL : find(key);
    int rc;
    if (!e) {
        rc = BOARD_NONE;
    } else if (e->finished) {
        *status = e->status;
        rc = buf_append(body, e->body, e->body_len) ? body->err : BOARD_FINISHED;
    } else {
        if (w) {
            register_waiter(e, w);
        }
        rc = BOARD_RUNNING;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void board_set_closing(int c)
{
    pthread_mutex_lock(&lock);
    closing = c;
    if (c) {
        for (size_t i = 0; i < table_len; i++) {
            wake_all(table[i]);
        }
    }
    pthread_mutex_unlock(&lock);
}

void board_reset(void)
{
    pthread_mutex_lock(&lock);
    while (table_len > 0) {
        wake_all(table[table_len - 1]);
        remove_at(table_len - 1);
    }
    free(table);
    table = NULL;
    table_cap = 0;
    fake_clock = 0;
    closing = 0;
    pthread_mutex_unlock(&lock);
}

void board_set_clock(double seconds)
{
    pthread_mutex_lock(&lock);
    fake_clock = seconds;
    pthread_mutex_unlock(&lock);
}
