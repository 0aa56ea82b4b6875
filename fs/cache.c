/* cache.c - the chunk cache and its prefetch workers.
 *
 * Readers ask for chunks by id; a chunk is loaded once (fetched through
 * storage, decompressed and XXH3-checked by repo_read_chunk) however many
 * readers want it at the same moment: the first inserts a LOADING entry,
 * the others wait for it.  Loaded chunks stay in memory in LRU order until
 * the byte budget is exceeded; chunks being read (pinned) are never
 * evicted, so the budget can be overrun by at most what the reading
 * threads hold.  Failed loads are not remembered, so a pack that comes
 * back (a remount of the storage, a repair) is read again.
 *
 * Sequential readers queue the chunks ahead of them (QUEUED entries); a
 * few worker threads load those in the background, and a reader that
 * reaches a still-queued chunk loads it itself rather than waiting its
 * turn in the queue. */
#include "fs/mount_int.h"

#include <string.h>

enum { CHUNK_QUEUED, CHUNK_LOADING, CHUNK_READY, CHUNK_FAILED };

#define QUEUE_LEN 256
#define REPORTED_LEN 1024
/* Buffers of evicted chunks kept for the next loads: chunk memory is then
 * allocated once, not once per chunk read (no page faults, no malloc
 * arenas growing apart between the threads that load and those that evict).
 * Loaded chunks are charged their buffer's capacity, so the budget bounds
 * real memory; the few spare buffers come on top. */
#define SPARE_LEN 4

struct fs_cache {
    repo *repo;
    uint64_t budget, bytes, peak;
    pthread_mutex_t lock;
    pthread_cond_t loaded; /* a chunk left LOADING */
    pthread_cond_t work;   /* the prefetch queue got an entry, or stop */
    fs_chunk **buckets;
    size_t n_buckets;
    fs_chunk *lru_head, *lru_tail; /* head: most recently used */
    fs_chunk *queue[QUEUE_LEN];
    size_t q_head, q_len;
    int stop;
    pthread_t *workers;
    int n_workers;
    uint8_t reported[REPORTED_LEN][STRATA_HASH_LEN];
    size_t n_reported;
    strata_buf spare[SPARE_LEN];
    size_t n_spare;
};

static fs_chunk **bucket(fs_cache *c, const uint8_t *id) {
    uint64_t h;
    memcpy(&h, id, sizeof h); /* a SHA-256 is uniform already */
    return &c->buckets[h & (c->n_buckets - 1)];
}

static fs_chunk *find(fs_cache *c, const uint8_t *id) {
    for (fs_chunk *ch = *bucket(c, id); ch; ch = ch->hnext)
        if (!memcmp(ch->id, id, STRATA_HASH_LEN)) return ch;
    return NULL;
}

static void lru_unlink(fs_cache *c, fs_chunk *ch) {
    if (ch->prev) ch->prev->next = ch->next;
    else if (c->lru_head == ch) c->lru_head = ch->next;
    if (ch->next) ch->next->prev = ch->prev;
    else if (c->lru_tail == ch) c->lru_tail = ch->prev;
    ch->prev = ch->next = NULL;
}

static void lru_push(fs_cache *c, fs_chunk *ch) {
    ch->next = c->lru_head;
    if (c->lru_head) c->lru_head->prev = ch;
    c->lru_head = ch;
    if (!c->lru_tail) c->lru_tail = ch;
}

static void chunk_free(fs_cache *c, fs_chunk *ch) {
    if (c->n_spare < SPARE_LEN && ch->data.cap)
        c->spare[c->n_spare++] = ch->data;
    else
        strata_buf_free(&ch->data);
    free(ch->msg);
    free(ch);
}

/* A spare buffer for a chunk of `size` bytes (lock held); empty if none. */
static strata_buf take_spare(fs_cache *c, uint32_t size) {
    strata_buf b;
    strata_buf_init(&b);
    for (size_t i = 0; i < c->n_spare; i++) {
        if (c->spare[i].cap >= size || i + 1 == c->n_spare) {
            b = c->spare[i];
            c->spare[i] = c->spare[--c->n_spare];
            break;
        }
    }
    return b;
}

/* Takes a chunk out of the table (and the LRU list); it is freed when its
 * last pin goes. */
static void remove_chunk(fs_cache *c, fs_chunk *ch) {
    fs_chunk **pp = bucket(c, ch->id);
    while (*pp != ch) pp = &(*pp)->hnext;
    *pp = ch->hnext;
    if (ch->state == CHUNK_READY) lru_unlink(c, ch);
    ch->in_table = 0;
    c->bytes -= ch->charged;
    if (!ch->refs) chunk_free(c, ch);
}

static void unpin_locked(fs_cache *c, fs_chunk *ch) {
    if (--ch->refs == 0 && !ch->in_table) chunk_free(c, ch);
}

static void evict(fs_cache *c) {
    fs_chunk *ch = c->lru_tail;
    while (c->bytes > c->budget && ch) {
        fs_chunk *prev = ch->prev;
        if (!ch->refs) remove_chunk(c, ch);
        ch = prev;
    }
}

static fs_chunk *insert(fs_cache *c, const repo_chunk_ref *ref, int state) {
    fs_chunk *ch = xcalloc(1, sizeof *ch);
    memcpy(ch->id, ref->id, STRATA_HASH_LEN);
    ch->size = ref->size;
    ch->state = state;
    ch->refs = 1;
    ch->in_table = 1;
    strata_buf_init(&ch->data);
    fs_chunk **b = bucket(c, ref->id);
    ch->hnext = *b;
    *b = ch;
    ch->charged = ch->size;
    c->bytes += ch->charged;
    evict(c);
    if (c->bytes > c->peak) c->peak = c->bytes;
    return ch;
}

/* Loads a chunk this thread has marked LOADING (and pinned). */
static void load(fs_cache *c, fs_chunk *ch) {
    pthread_mutex_lock(&c->lock);
    strata_buf b = take_spare(c, ch->size);
    pthread_mutex_unlock(&c->lock);
    strata_err e = repo_read_chunk(c->repo, ch->id, 0, &b);
    if (!e && b.len != ch->size) {
        char hex[2 * STRATA_HASH_LEN + 1];
        strata_hex(ch->id, STRATA_HASH_LEN, hex);
        e = strata_fail(STRATA_ECORRUPT, "chunk %s has %zu bytes, the file lists %u", hex, b.len,
                        ch->size);
    }
    pthread_mutex_lock(&c->lock);
    if (e) {
        ch->state = CHUNK_FAILED;
        ch->err = e;
        ch->msg = xstrdup(strata_errmsg());
        remove_chunk(c, ch);
        strata_buf_free(&b);
    } else {
        ch->data = b;
        ch->state = CHUNK_READY;
        c->bytes += b.cap - ch->charged;
        ch->charged = b.cap;
        if (c->bytes > c->peak) c->peak = c->bytes;
        lru_push(c, ch);
    }
    pthread_cond_broadcast(&c->loaded);
    pthread_mutex_unlock(&c->lock);
}

/* With the lock held and the chunk pinned: waits for it, returns its error. */
static strata_err await(fs_cache *c, fs_chunk *ch) {
    while (ch->state == CHUNK_LOADING) pthread_cond_wait(&c->loaded, &c->lock);
    if (ch->state != CHUNK_FAILED) return STRATA_OK;
    return strata_fail(ch->err, "%s", ch->msg);
}

strata_err fs_cache_get(fs_cache *c, const repo_chunk_ref *ref, fs_chunk **out) {
    pthread_mutex_lock(&c->lock);
    fs_chunk *ch = find(c, ref->id);
    if (ch) ch->refs++;
    if (!ch || ch->state == CHUNK_QUEUED) {
        if (ch)
            ch->state = CHUNK_LOADING;
        else
            ch = insert(c, ref, CHUNK_LOADING);
        pthread_mutex_unlock(&c->lock);
        load(c, ch);
        pthread_mutex_lock(&c->lock);
    }
    strata_err e = await(c, ch);
    if (e) {
        unpin_locked(c, ch);
        ch = NULL;
    } else if (ch->in_table) {
        lru_unlink(c, ch);
        lru_push(c, ch);
    }
    pthread_mutex_unlock(&c->lock);
    *out = ch;
    return e;
}

void fs_cache_put(fs_cache *c, fs_chunk *ch) {
    pthread_mutex_lock(&c->lock);
    unpin_locked(c, ch);
    evict(c);
    pthread_mutex_unlock(&c->lock);
}

void fs_cache_prefetch(fs_cache *c, const repo_chunk_ref *ref) {
    pthread_mutex_lock(&c->lock);
    if (!c->n_workers || c->q_len == QUEUE_LEN || find(c, ref->id)) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    fs_chunk *ch = insert(c, ref, CHUNK_QUEUED); /* the queue's pin */
    c->queue[(c->q_head + c->q_len++) % QUEUE_LEN] = ch;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->lock);
}

static void *worker(void *arg) {
    fs_cache *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->stop && !c->q_len) pthread_cond_wait(&c->work, &c->lock);
        if (c->stop) break;
        fs_chunk *ch = c->queue[c->q_head];
        c->q_head = (c->q_head + 1) % QUEUE_LEN;
        c->q_len--;
        if (ch->state == CHUNK_QUEUED) {
            ch->state = CHUNK_LOADING;
            pthread_mutex_unlock(&c->lock);
            load(c, ch);
            pthread_mutex_lock(&c->lock);
        }
        unpin_locked(c, ch);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

fs_cache *fs_cache_new(repo *r, uint64_t budget, int workers) {
    fs_cache *c = xcalloc(1, sizeof *c);
    c->repo = r;
    c->budget = budget;
    /* about two buckets per chunk of the smallest size that fits the budget */
    c->n_buckets = 1024;
    while (c->n_buckets < 2 * budget / REPO_CHUNK_MIN) c->n_buckets *= 2;
    c->buckets = xcalloc(c->n_buckets, sizeof *c->buckets);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->loaded, NULL);
    pthread_cond_init(&c->work, NULL);
    c->workers = xcalloc(workers > 0 ? (size_t)workers : 1, sizeof *c->workers);
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&c->workers[c->n_workers], NULL, worker, c) == 0) c->n_workers++;
    }
    return c;
}

void fs_cache_free(fs_cache *c) {
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->lock);
    for (int i = 0; i < c->n_workers; i++) pthread_join(c->workers[i], NULL);
    while (c->q_len) {
        unpin_locked(c, c->queue[c->q_head]);
        c->q_head = (c->q_head + 1) % QUEUE_LEN;
        c->q_len--;
    }
    for (size_t i = 0; i < c->n_buckets; i++) {
        while (c->buckets[i]) remove_chunk(c, c->buckets[i]);
    }
    while (c->n_spare) strata_buf_free(&c->spare[--c->n_spare]);
    free(c->buckets);
    free(c->workers);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->loaded);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int fs_cache_first_report(fs_cache *c, const uint8_t id[STRATA_HASH_LEN]) {
    pthread_mutex_lock(&c->lock);
    size_t n = c->n_reported < REPORTED_LEN ? c->n_reported : REPORTED_LEN;
    int seen = 0;
    for (size_t i = 0; i < n && !seen; i++) seen = !memcmp(c->reported[i], id, STRATA_HASH_LEN);
    if (!seen) memcpy(c->reported[c->n_reported++ % REPORTED_LEN], id, STRATA_HASH_LEN);
    pthread_mutex_unlock(&c->lock);
    return !seen;
}

uint64_t fs_cache_peak_bytes(fs_cache *c) {
    pthread_mutex_lock(&c->lock);
    uint64_t p = c->peak;
    pthread_mutex_unlock(&c->lock);
    return p;
}
