/* pending.c - chunk ids written by this process but not yet indexed.
 *
 * Several backup workers may meet the same new chunk before the pack
 * holding it is sealed and indexed; this set makes the second one skip it.
 * Open addressing on the id's first 8 bytes (already uniformly random). */
#include "engine/repo/repo_int.h"

#include <string.h>

struct pending_set {
    pthread_mutex_t lock;
    uint8_t (*slots)[STRATA_HASH_LEN];
    uint8_t *state; /* 0 empty, 1 used, 2 deleted */
    size_t cap, used, deleted; /* deleted slots keep probe chains intact */
};

pending_set *pending_set_new(void) {
    pending_set *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->cap = 1024;
    s->slots = xcalloc(s->cap, STRATA_HASH_LEN);
    s->state = xcalloc(s->cap, 1);
    return s;
}

void pending_set_free(pending_set *s) {
    if (!s) return;
    pthread_mutex_destroy(&s->lock);
    free(s->slots);
    free(s->state);
    free(s);
}

static size_t slot_of(const pending_set *s, const uint8_t id[STRATA_HASH_LEN]) {
    uint64_t h;
    memcpy(&h, id, sizeof h);
    return (size_t)(h & (s->cap - 1));
}

/* Index of id's slot, or of the first free slot where it would go. */
static size_t find(const pending_set *s, const uint8_t id[STRATA_HASH_LEN], int *found) {
    size_t i = slot_of(s, id), free_slot = SIZE_MAX;
    for (;; i = (i + 1) & (s->cap - 1)) {
        if (s->state[i] == 0) break;
        if (s->state[i] == 2) {
            if (free_slot == SIZE_MAX) free_slot = i;
        } else if (!memcmp(s->slots[i], id, STRATA_HASH_LEN)) {
            *found = 1;
            return i;
        }
    }
    *found = 0;
    return free_slot != SIZE_MAX ? free_slot : i;
}

/* Rehashes into a table twice as large when live entries fill a quarter
 * of it, else of the same size, which clears deleted slots. */
static void rehash(pending_set *s) {
    pending_set old = *s;
    if (s->used * 4 >= s->cap) s->cap *= 2;
    s->slots = xcalloc(s->cap, STRATA_HASH_LEN);
    s->state = xcalloc(s->cap, 1);
    s->used = s->deleted = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.state[i] != 1) continue;
        int found;
        size_t j = find(s, old.slots[i], &found);
        memcpy(s->slots[j], old.slots[i], STRATA_HASH_LEN);
        s->state[j] = 1;
        s->used++;
    }
    free(old.slots);
    free(old.state);
}

int pending_set_add(pending_set *s, const uint8_t id[STRATA_HASH_LEN]) {
    pthread_mutex_lock(&s->lock);
    if ((s->used + s->deleted + 1) * 2 > s->cap) rehash(s);
    int found;
    size_t i = find(s, id, &found);
    if (!found) {
        if (s->state[i] == 2) s->deleted--;
        memcpy(s->slots[i], id, STRATA_HASH_LEN);
        s->state[i] = 1;
        s->used++;
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

int pending_set_has(pending_set *s, const uint8_t id[STRATA_HASH_LEN]) {
    pthread_mutex_lock(&s->lock);
    int found;
    find(s, id, &found);
    pthread_mutex_unlock(&s->lock);
    return found;
}

void pending_set_remove(pending_set *s, const uint8_t id[STRATA_HASH_LEN]) {
    pthread_mutex_lock(&s->lock);
    int found;
    size_t i = find(s, id, &found);
    if (found) {
        s->state[i] = 2;
        s->used--;
        s->deleted++;
    }
    pthread_mutex_unlock(&s->lock);
}
