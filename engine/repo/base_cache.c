/* base_cache.c - the delta bases read last, kept decoded.
 *
 * A layer's Index.db chunks are deltas copying from its Data.db chunks,
 * and whoever decodes one usually reads those Data.db chunks next: a
 * lookup in a stored layer reads a key's index entry and then its row, and
 * the mount serves a file's neighbouring chunks in turn.  The bases a
 * delta's decode fetched from the repository are kept here, so that
 * reading one again soon costs a copy instead of a read and a
 * decompression.  Chunks never change (a chunk is its content), so nothing
 * kept is ever stale. */
#include "engine/repo/repo_int.h"

#include <string.h>

void base_cache_init(base_cache *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

void base_cache_free(base_cache *c) {
    for (size_t i = 0; i < BASE_CACHE_SLOTS; i++) free(c->slots[i].data);
    pthread_mutex_destroy(&c->lock);
}

static base_cache_slot *find(base_cache *c, const uint8_t id[STRATA_HASH_LEN]) {
    for (size_t i = 0; i < BASE_CACHE_SLOTS; i++)
        if (c->slots[i].data && !memcmp(c->slots[i].id, id, STRATA_HASH_LEN)) return &c->slots[i];
    return NULL;
}

int base_cache_get(base_cache *c, const uint8_t id[STRATA_HASH_LEN], uint8_t *dst, size_t len) {
    pthread_mutex_lock(&c->lock);
    base_cache_slot *s = find(c, id);
    int hit = s && s->len == len;
    if (hit) {
        memcpy(dst, s->data, len);
        s->used = ++c->clock;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void base_cache_put(base_cache *c, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data, size_t len) {
    pthread_mutex_lock(&c->lock);
    base_cache_slot *s = find(c, id);
    if (!s) {
        s = &c->slots[0];
        for (size_t i = 1; i < BASE_CACHE_SLOTS; i++)
            if (c->slots[i].used < s->used) s = &c->slots[i];
        if (s->cap < len) {
            free(s->data);
            s->data = xmalloc(len);
            s->cap = len;
        }
        memcpy(s->id, id, STRATA_HASH_LEN);
        memcpy(s->data, data, len);
        s->len = len;
    }
    s->used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
}
