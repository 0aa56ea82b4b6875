/* base_cache.c - the delta bases read last, kept decoded.
 *
 * A layer's Index.db chunks are deltas copying from its Data.db chunks,
 * and whoever decodes one usually reads those Data.db chunks next: a
 * lookup in a stored layer reads a key's index entry and then its row, and
 * the mount serves a file's neighbouring chunks in turn.  The bases a
 * delta's decode fetched from the repository are kept here, so that
 * reading one again soon costs a copy instead of a read and a
 * decompression.  Chunks never change (a chunk is its content), so nothing
 * kept is ever stale.
 *
 * The copies are mapped, not allocated: freeing a block malloc had mapped
 * raises glibc's mmap threshold to its size, after which every buffer of
 * that size comes from the threads' arenas, which keep what is freed, so
 * a long-running mount would hold far more than the cache's bytes. */
#include "engine/repo/repo_int.h"

#include <string.h>
#include <sys/mman.h>

void base_cache_init(base_cache *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

static void unmap(base_cache *c, base_cache_slot *s) {
    if (s->map) munmap(s->map, s->cap);
    c->bytes -= s->cap;
    memset(s, 0, sizeof *s);
}

void base_cache_free(base_cache *c) {
    for (size_t i = 0; i < BASE_CACHE_SLOTS; i++) unmap(c, &c->slots[i]);
    pthread_mutex_destroy(&c->lock);
}

static base_cache_slot *find(base_cache *c, const uint8_t id[STRATA_HASH_LEN]) {
    for (size_t i = 0; i < BASE_CACHE_SLOTS; i++)
        if (c->slots[i].len && !memcmp(c->slots[i].id, id, STRATA_HASH_LEN)) return &c->slots[i];
    return NULL;
}

/* The slot used least recently (an empty one never was), of those with a
 * mapping other than `except` when `mapped`; NULL when there is none. */
static base_cache_slot *least_used(base_cache *c, int mapped, const base_cache_slot *except) {
    base_cache_slot *least = NULL;
    for (size_t i = 0; i < BASE_CACHE_SLOTS; i++) {
        base_cache_slot *s = &c->slots[i];
        if (mapped && (!s->map || s == except)) continue;
        if (!least || s->used < least->used) least = s;
    }
    return least;
}

int base_cache_get(base_cache *c, const uint8_t id[STRATA_HASH_LEN], uint8_t *dst, size_t len) {
    pthread_mutex_lock(&c->lock);
    base_cache_slot *s = find(c, id);
    int hit = s && s->len == len;
    if (hit) {
        memcpy(dst, s->map, len);
        s->used = ++c->clock;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/* A slot's mapping is kept for the next chunk that fits in it, so that
 * its pages are faulted in once. */
void base_cache_put(base_cache *c, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data, size_t len) {
    if (!len || len > BASE_CACHE_BYTES) return;
    pthread_mutex_lock(&c->lock);
    base_cache_slot *s = find(c, id);
    if (!s) {
        s = least_used(c, 0, NULL);
        s->len = 0;
        if (s->cap < len) unmap(c, s);
        while (!s->map && c->bytes + len > BASE_CACHE_BYTES) unmap(c, least_used(c, 1, s));
        if (!s->map) {
            s->map = xmmap_anonymous(len, MAP_POPULATE);
            s->cap = len;
            c->bytes += len;
        }
        memcpy(s->id, id, STRATA_HASH_LEN);
        memcpy(s->map, data, len);
        s->len = len;
    }
    s->used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
}
