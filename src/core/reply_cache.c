/* The server's cache of API answers: see reply_cache.h. */
#include "reply_cache.h"

#include <string.h>

void reply_cache_init(struct reply_cache *rc)
{
    memset(rc, 0, sizeof *rc);
    pthread_mutex_init(&rc->lock, NULL);
}

/* The slot kept for path, or -1. Lock held. */
static int slot_of(const struct reply_cache *rc, const char *path)
{
    for (int i = 0; i < REPLY_CACHE_SLOTS; i++) {
        if (rc->slot[i].resp && strcmp(rc->slot[i].path, path) == 0) {
            return i;
        }
    }
    return -1;
}

int reply_cache_queue(struct reply_cache *rc, const char *path, uint64_t gen,
                      struct MHD_Connection *c, enum MHD_Result *ok)
{
    pthread_mutex_lock(&rc->lock);
    int i = slot_of(rc, path);
    int hit = i >= 0 && rc->slot[i].gen == gen;
    if (hit) { /* under the lock: a put cannot destroy it meanwhile */
        *ok = MHD_queue_response(c, rc->slot[i].status, rc->slot[i].resp);
    }
    pthread_mutex_unlock(&rc->lock);
    return hit;
}

int reply_cache_put(struct reply_cache *rc, const char *path, uint64_t gen, unsigned status,
                    struct MHD_Response *resp)
{
    if (strlen(path) >= REPLY_CACHE_PATH_MAX) {
        return 0;
    }
    pthread_mutex_lock(&rc->lock);
    int i = slot_of(rc, path);
    for (int k = 0; i < 0 && k < REPLY_CACHE_SLOTS; k++) {
        if (!rc->slot[k].resp) {
            i = k;
        }
    }
    int taken = i >= 0 && (!rc->slot[i].resp || rc->slot[i].gen <= gen);
    if (taken) {
        if (rc->slot[i].resp) {
            MHD_destroy_response(rc->slot[i].resp); /* connections sending it keep theirs */
        }
        strcpy(rc->slot[i].path, path);
        rc->slot[i].gen = gen;
        rc->slot[i].status = status;
        rc->slot[i].resp = resp;
    }
    pthread_mutex_unlock(&rc->lock);
    return taken;
}

void reply_cache_free(struct reply_cache *rc)
{
    for (int i = 0; i < REPLY_CACHE_SLOTS; i++) {
        if (rc->slot[i].resp) {
            MHD_destroy_response(rc->slot[i].resp);
        }
    }
    pthread_mutex_destroy(&rc->lock);
    memset(rc, 0, sizeof *rc);
}
