/* The server's cache of API answers (docs/dashboard-api.md §3): a GET
 * answer the app marked cacheable is kept, per path, with the generation
 * it was computed at, and given again without calling the app while the
 * generation has not moved (the caller's generation function says when
 * the data behind it may have changed; see watch.h).
 *
 * The kept answers are libmicrohttpd responses, which may be queued on
 * many connections at once. Threads: any; one lock inside. */
#ifndef PIXIE_REPLY_CACHE_H
#define PIXIE_REPLY_CACHE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#define REPLY_CACHE_SLOTS 8
#define REPLY_CACHE_PATH_MAX 128

struct reply_cache {
    pthread_mutex_t lock;
    struct {
        char path[REPLY_CACHE_PATH_MAX];
        uint64_t gen;
        unsigned status;
        struct MHD_Response *resp; /* NULL: the slot is free */
    } slot[REPLY_CACHE_SLOTS];
};

/* An empty cache. */
void reply_cache_init(struct reply_cache *rc);

/* Queues the answer kept for path at generation gen on c. Returns 1 when
 * it was queued (*ok is MHD_queue_response's result), 0 when none is kept
 * for that path and generation. */
int reply_cache_queue(struct reply_cache *rc, const char *path, uint64_t gen,
                      struct MHD_Connection *c, enum MHD_Result *ok);

/* Keeps resp (status) as path's answer at generation gen, unless a newer
 * one is kept. Returns 1 when the cache took resp over (the caller must
 * then not destroy it), 0 when the caller keeps it. */
int reply_cache_put(struct reply_cache *rc, const char *path, uint64_t gen, unsigned status,
                    struct MHD_Response *resp);

/* Destroys every kept response. */
void reply_cache_free(struct reply_cache *rc);

#endif
