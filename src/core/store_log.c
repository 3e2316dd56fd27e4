/* spawn_log: the capped log of tool output (contracts in store.h). Rows
 * are written on the store's one connection: now (store_spawn_log_append)
 * or through a queue that never makes the launcher's I/O thread wait
 * (store_spawn_log_queue), flushed whenever the connection is free. The
 * queue is where a tool's output becomes rows: one row per line, the
 * unfinished line of each (tool, stream) kept aside until its newline, the
 * end of the stream (store_spawn_log_end) or the row size cap. */
#include "buf.h"
#include "log.h"
#include "store_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct store_log_entry {
    struct store_log_entry *next;
    const char *tool_id; /* points into text[] after the text */
    const char *stream;  /* a static string */
    size_t len;
    char text[];
};

/* The unfinished line of one tool's stream (queue side, under q_mu). */
struct store_log_part {
    struct store_log_part *next;
    const char *stream; /* a static string */
    struct buf line;    /* fewer than STORE_SPAWN_LOG_MAX_ROW_BYTES bytes between calls */
    char tool_id[];
};

static const char *const sql_log_insert =
    "INSERT INTO spawn_log (tool_id, ts, stream, text) "
    "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2, ?3)";
static const char *const sql_log_prune =
    "DELETE FROM spawn_log WHERE tool_id = ?1 AND id <= "
    "(SELECT id FROM spawn_log WHERE tool_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";

/* The static name of a valid stream, or NULL. */
static const char *stream_name(const char *stream)
{
    static const char *const names[] = {"stdout", "stderr", "pixie"};
    for (size_t i = 0; stream && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(stream, names[i]) == 0) {
            return names[i];
        }
    }
    return NULL;
}

/* Prepares the spawn_log statements once (connection held). Returns 0 or a
 * negative errno (-ENOENT: no spawn_log table yet). */
static int log_prepare(struct store *s)
{
    if (s->log_insert) {
        return 0;
    }
    sqlite3_stmt *ins = NULL, *prune = NULL;
    int rc = sqlite3_prepare_v3(s->db, sql_log_insert, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v3(s->db, sql_log_prune, -1, SQLITE_PREPARE_PERSISTENT, &prune, NULL);
    }
    if (rc != SQLITE_OK) {
        int e = strstr(sqlite3_errmsg(s->db), "no such table") ? -ENOENT : store_sqlite_errno(rc);
        sqlite3_finalize(ins);
        return e;
    }
    s->log_insert = ins;
    s->log_prune = prune;
    return 0;
}

/* Length of the next row's piece of text[0..len): at most
 * STORE_SPAWN_LOG_MAX_ROW_BYTES, not ending inside a UTF-8 sequence when
 * the text is UTF-8 (any bytes are accepted) nor inside a "***" the masker
 * wrote (a run of '*' is cut before at most two of its stars). */
static size_t piece_len(const char *text, size_t len)
{
    if (len <= STORE_SPAWN_LOG_MAX_ROW_BYTES) {
        return len;
    }
    size_t n = STORE_SPAWN_LOG_MAX_ROW_BYTES;
    for (int back = 0; back < 3 && ((unsigned char)text[n] & 0xc0) == 0x80; back++) {
        n--;
    }
    for (int back = 0; back < 2 && text[n] == '*' && text[n - 1] == '*'; back++) {
        n--;
    }
    return n;
}

/* Steps a reset-after-use statement. Returns an SQLite result code. */
static int step_once(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Inserts one entry's text as rows. Returns an SQLite result code. */
static int insert_entry(struct store *s, const struct store_log_entry *e)
{
    size_t pos = 0;
    int rc;
    do {
        size_t n = piece_len(e->text + pos, e->len - pos);
        sqlite3_bind_text(s->log_insert, 1, e->tool_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->log_insert, 2, e->stream, -1, SQLITE_STATIC);
        sqlite3_bind_text64(s->log_insert, 3, e->text + pos, n, SQLITE_STATIC, SQLITE_UTF8);
        rc = step_once(s->log_insert);
        pos += n;
    } while (rc == SQLITE_DONE && pos < e->len);
    return rc;
}

/* Deletes the tool's oldest rows beyond the cap. Returns an SQLite code. */
static int prune(struct store *s, const char *tool_id)
{
    sqlite3_bind_text(s->log_prune, 1, tool_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->log_prune, 2, s->spawn_log_cap);
    return step_once(s->log_prune);
}

/* Writes the list of entries in one transaction (a savepoint inside the
 * caller's store_begin), pruning each tool after its last entry. The
 * connection is held and, outside a transaction, pixie.db.lock too.
 * Returns 0 or a negative errno. */
static int write_entries(struct store *s, const struct store_log_entry *list)
{
    int rc = log_prepare(s);
    if (rc != 0) {
        return rc;
    }
    int outer = s->tx_depth == 0;
    if (outer) {
        sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    }
    rc = store_control(s, outer ? "BEGIN IMMEDIATE" : "SAVEPOINT pixie_log");
    int src = SQLITE_DONE;
    for (const struct store_log_entry *e = list; rc == 0 && e; e = e->next) {
        src = insert_entry(s, e);
        if (src == SQLITE_DONE && (!e->next || strcmp(e->next->tool_id, e->tool_id) != 0)) {
            src = prune(s, e->tool_id);
        }
        if (src != SQLITE_DONE) {
            rc = store_sqlite_errno(src) ? store_sqlite_errno(src) : -EIO;
        }
    }
    if (rc == 0) {
        rc = store_control(s, outer ? "COMMIT" : "RELEASE pixie_log");
    }
    if (rc != 0) {
        if (!outer) {
            store_control(s, "ROLLBACK TO pixie_log; RELEASE pixie_log");
        } else if (!sqlite3_get_autocommit(s->db)) {
            store_control(s, "ROLLBACK");
        }
    }
    if (outer) {
        sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    return rc;
}

/* Frees a list of entries. */
static void free_entries(struct store_log_entry *e)
{
    while (e) {
        struct store_log_entry *next = e->next;
        free(e);
        e = next;
    }
}

int store_log_pending(struct store *s)
{
    return atomic_load(&s->q_count) > 0;
}

int store_log_flush(struct store *s, long wait_ms)
{
    if (!store_log_pending(s)) {
        return 0;
    }
    if (s->tx_depth > 0 || !sqlite3_get_autocommit(s->db) || store_write_lock(s, wait_ms) != 0) {
        return -1;
    }
    pthread_mutex_lock(&s->q_mu);
    struct store_log_entry *list = s->q_head;
    unsigned long dropped = s->q_dropped;
    s->q_head = s->q_tail = NULL;
    s->q_bytes = 0;
    s->q_dropped = 0;
    atomic_store(&s->q_count, 0);
    pthread_mutex_unlock(&s->q_mu);
    int rc = write_entries(s, list);
    store_write_settle(s);
    if (rc != 0) {
        log_write(LOG_LEVEL_WARN, "store", "%s: spawn_log rows lost: %s", s->path,
                  rc == -ENOENT ? "no spawn_log table" : strerror(-rc));
    }
    if (dropped > 0) {
        log_write(LOG_LEVEL_WARN, "store",
                  "%s: %lu rows of tool output dropped from spawn_log while the database "
                  "was busy",
                  s->path, dropped);
    }
    free_entries(list);
    return 1;
}

/* A new entry (tool_id and text copied; stream must be static). */
static struct store_log_entry *new_entry(const char *tool_id, const char *stream, const char *text,
                                         size_t len)
{
    size_t idlen = strlen(tool_id);
    struct store_log_entry *e = malloc(sizeof *e + len + idlen + 1);
    if (!e) {
        return NULL;
    }
    e->next = NULL;
    e->stream = stream;
    e->len = len;
    if (len > 0) {
        memcpy(e->text, text, len);
    }
    memcpy(e->text + len, tool_id, idlen + 1);
    e->tool_id = e->text + len;
    return e;
}

/* Queues text[0, len) as one row (several when longer than the cap), or
 * counts it dropped when the queue is full. q_mu held. Returns 0, -ENOBUFS
 * or -ENOMEM. */
static int enqueue_locked(struct store *s, const char *tool_id, const char *stream,
                          const char *text, size_t len)
{
    if (s->q_bytes + len > STORE_SPAWN_LOG_QUEUE_MAX_BYTES) {
        s->q_dropped++;
        return -ENOBUFS;
    }
    struct store_log_entry *e = new_entry(tool_id, stream, text, len);
    if (!e) {
        return -ENOMEM;
    }
    if (s->q_tail) {
        s->q_tail->next = e;
    } else {
        s->q_head = e;
    }
    s->q_tail = e;
    s->q_bytes += len;
    atomic_fetch_add(&s->q_count, 1);
    return 0;
}

/* The unfinished line of (tool_id, stream), created empty when `create` is
 * set; NULL when there is none (or out of memory). *link_out (may be NULL)
 * gets the link that points to it. q_mu held. */
static struct store_log_part *part_find_locked(struct store *s, const char *tool_id,
                                               const char *stream, int create,
                                               struct store_log_part ***link_out)
{
    struct store_log_part **link = &s->q_parts;
    while (*link && ((*link)->stream != stream || strcmp((*link)->tool_id, tool_id) != 0)) {
        link = &(*link)->next;
    }
    if (!*link && create) {
        size_t idlen = strlen(tool_id);
        struct store_log_part *p = calloc(1, sizeof *p + idlen + 1);
        if (p) {
            p->stream = stream;
            memcpy(p->tool_id, tool_id, idlen + 1);
            *link = p;
        }
    }
    if (link_out) {
        *link_out = link;
    }
    return *link;
}

/* Queues the unfinished line of *link as a row (when not empty) and frees
 * it. q_mu held. Returns 0 or what enqueue_locked returned (the line is
 * gone either way). */
static int part_end_locked(struct store *s, struct store_log_part **link)
{
    struct store_log_part *p = *link;
    int rc =
        p->line.len > 0 ? enqueue_locked(s, p->tool_id, p->stream, p->line.data, p->line.len) : 0;
    *link = p->next;
    buf_free(&p->line);
    free(p);
    return rc;
}

/* Adds text[0, len) to the unfinished line of p: every line it completes
 * (through its newline) is queued as one row, and while the unfinished
 * line reaches the cap a row of its first bytes is queued. q_mu held.
 * Returns 0 or the first enqueue error (the text of a failed row is
 * dropped; what follows is still assembled); *queued is set when a row was
 * queued. */
static int part_add_locked(struct store *s, struct store_log_part *p, const char *text, size_t len,
                           int *queued)
{
    int rc = 0;
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) + 1 : len;
        int erc = 0;
        if (nl && p->line.len == 0) {
            erc = enqueue_locked(s, p->tool_id, p->stream, text, n); /* a whole line */
            *queued = 1;
        } else if (buf_append(&p->line, text, n) < 0) {
            p->line.err = 0; /* nothing was appended: the rest of the text is dropped */
            return rc ? rc : -ENOMEM;
        }
        if (nl && p->line.len > 0) {
            erc = enqueue_locked(s, p->tool_id, p->stream, p->line.data, p->line.len);
            *queued = 1;
            buf_clear(&p->line);
        }
        size_t off = 0;
        while (p->line.len - off >= STORE_SPAWN_LOG_MAX_ROW_BYTES) {
            size_t k = piece_len(p->line.data + off, p->line.len - off);
            int crc = enqueue_locked(s, p->tool_id, p->stream, p->line.data + off, k);
            erc = erc ? erc : crc;
            *queued = 1;
            off += k;
        }
        if (off > 0) {
            memmove(p->line.data, p->line.data + off, p->line.len - off);
            p->line.len -= off;
            p->line.data[p->line.len] = '\0';
        }
        rc = rc ? rc : erc;
        text += n;
        len -= n;
    }
    return rc;
}

void store_log_free(struct store *s)
{
    pthread_mutex_lock(&s->q_mu);
    while (s->q_parts) {
        part_end_locked(s, &s->q_parts); /* the streams end with the store */
    }
    pthread_mutex_unlock(&s->q_mu);
    store_log_flush(s, STORE_WRITE_LOCK_WAIT_MS);
    sqlite3_finalize(s->log_insert);
    sqlite3_finalize(s->log_prune);
    s->log_insert = s->log_prune = NULL;
    pthread_mutex_lock(&s->q_mu);
    free_entries(s->q_head);
    s->q_head = s->q_tail = NULL;
    atomic_store(&s->q_count, 0);
    pthread_mutex_unlock(&s->q_mu);
}

int store_spawn_log_append(struct store *s, const char *tool_id, const char *stream,
                           const char *text, size_t len)
{
    const char *name = stream_name(stream);
    if (!s || !tool_id || !name || (!text && len > 0)) {
        return -EINVAL;
    }
    struct store_log_entry *e = new_entry(tool_id, name, text, len);
    if (!e) {
        return -ENOMEM;
    }
    store_lock(s);
    int rc = s->tx_depth > 0 ? 0 : store_write_lock(s, STORE_WRITE_LOCK_WAIT_MS);
    if (rc == 0) {
        rc = write_entries(s, e);
        store_write_settle(s);
    }
    store_unlock(s);
    free(e);
    return rc;
}

/* Writes the queue now when the connection is free (the outermost unlock
 * writes it if it can take the write lock without waiting). */
static void write_soon(struct store *s)
{
    if (pthread_mutex_trylock(&s->conn_mu) == 0) {
        s->depth++;
        store_unlock(s);
    }
}

int store_spawn_log_queue(struct store *s, const char *tool_id, const char *stream,
                          const char *text, size_t len)
{
    const char *name = stream_name(stream);
    if (!s || !tool_id || !name || (!text && len > 0)) {
        return -EINVAL;
    }
    int queued = 0;
    pthread_mutex_lock(&s->q_mu);
    struct store_log_part *p = part_find_locked(s, tool_id, name, 1, NULL);
    int rc = p ? part_add_locked(s, p, text, len, &queued) : -ENOMEM;
    pthread_mutex_unlock(&s->q_mu);
    if (queued) {
        write_soon(s);
    }
    return rc;
}

int store_spawn_log_end(struct store *s, const char *tool_id, const char *stream)
{
    const char *name = stream_name(stream);
    if (!s || !tool_id || !name) {
        return -EINVAL;
    }
    struct store_log_part **link;
    pthread_mutex_lock(&s->q_mu);
    int rc = part_find_locked(s, tool_id, name, 0, &link) ? part_end_locked(s, link) : 0;
    pthread_mutex_unlock(&s->q_mu);
    write_soon(s);
    return rc;
}

long store_spawn_log_cap(const struct store *s)
{
    return s->spawn_log_cap;
}
