/* cache.c - the chunk cache and its prefetch workers.
 *
 * Readers ask for chunks by id; a chunk is loaded once (fetched through
 * storage, decompressed and XXH3-checked by repo_read_chunk_into) however
 * many readers want it at the same moment: the first inserts a LOADING
 * entry, the others wait for it.  Loaded chunks stay in memory in LRU
 * order until the byte budget is exceeded; chunks being read (pinned) are
 * never evicted, so the budget can be overrun by at most what the reading
 * threads hold.  Failed loads are not remembered, so a pack that comes
 * back (a remount of the storage, a repair) is read again.
 *
 * Sequential readers queue the chunks ahead of them (QUEUED entries); a
 * few worker threads load those in the background, and a reader that
 * reaches a still-queued chunk loads it itself rather than waiting its
 * turn in the queue. */
#include "fs/mount_int.h"

#include <string.h>
#include <sys/mman.h>

enum { CHUNK_QUEUED, CHUNK_LOADING, CHUNK_READY, CHUNK_FAILED };

#define QUEUE_LEN 256
#define REPORTED_LEN 1024
/* Chunk records are recycled with their buffers: a buffer freed and
 * allocated again costs a page fault and a cleared page every 4 KiB, more
 * than checking the chunk that goes into it.  So buffers come in few
 * capacities, and the buffer of an evicted chunk fits most next chunks:
 * whole 2 MiB units for chunks above the chunker's minimum (all but the
 * last chunk of a file), powers of two from 64 bytes for the small ones.
 * A record is charged its buffer's capacity and its own size, spare
 * records included, so the budget bounds real memory. */
#define MIN_SHIFT 6
#define SMALL_SHIFT 18
#define LARGE_UNIT (2u << 20)
#define N_SMALL (SMALL_SHIFT - MIN_SHIFT + 1)
#define N_CLASSES (N_SMALL + (int)(REPO_CHUNK_MAX / LARGE_UNIT))
_Static_assert(1u << SMALL_SHIFT == REPO_CHUNK_MIN, "small chunks are those below the chunker's minimum");
_Static_assert(REPO_CHUNK_MAX % LARGE_UNIT == 0, "the largest chunk fills whole units");

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
    fs_chunk *spare[N_CLASSES]; /* records out of the table, buffers kept */
};

/* The capacity class of a buffer for `size` bytes (at most REPO_CHUNK_MAX). */
static int class_of(size_t size) {
    if (size > (1u << SMALL_SHIFT)) return N_SMALL + (int)((size - 1) / LARGE_UNIT);
    int shift = MIN_SHIFT;
    while (((size_t)1 << shift) < size) shift++;
    return shift - MIN_SHIFT;
}

static size_t class_cap(int k) {
    return k < N_SMALL ? (size_t)1 << (k + MIN_SHIFT) : (size_t)(k - N_SMALL + 1) * LARGE_UNIT;
}

static uint64_t charge(const fs_chunk *ch) {
    return ch->cap + sizeof *ch;
}

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

/* Large buffers are huge pages where the kernel allows: one fault for a
 * buffer instead of 512. */
static uint8_t *buffer_new(size_t cap) {
    if (cap < LARGE_UNIT) return xmalloc(cap);
    size_t span = cap + LARGE_UNIT;
    uint8_t *p = xmmap_anonymous(span, 0);
    size_t lead = (LARGE_UNIT - (uintptr_t)p % LARGE_UNIT) % LARGE_UNIT;
    if (lead) munmap(p, lead);
    munmap(p + lead + cap, span - lead - cap);
    madvise(p + lead, cap, MADV_HUGEPAGE);
    return p + lead;
}

static void record_free(fs_chunk *ch) {
    if (ch->cap < LARGE_UNIT)
        free(ch->data);
    else
        munmap(ch->data, ch->cap);
    free(ch->msg);
    free(ch);
}

/* A record no one uses any more becomes a spare (lock held). */
static void spare_push(fs_cache *c, fs_chunk *ch) {
    int k = class_of(ch->cap);
    free(ch->msg);
    ch->msg = NULL;
    ch->next = c->spare[k];
    c->spare[k] = ch;
    c->bytes += charge(ch);
}

/* Frees one spare record, of the largest class there is (the most memory
 * back at once); 0 when none. */
static int free_spare(fs_cache *c) {
    for (int k = N_CLASSES - 1; k >= 0; k--) {
        fs_chunk *ch = c->spare[k];
        if (!ch) continue;
        c->spare[k] = ch->next;
        c->bytes -= charge(ch);
        record_free(ch);
        return 1;
    }
    return 0;
}

/* Takes a chunk out of the table (and the LRU list); it becomes a spare
 * when its last pin goes. */
static void remove_chunk(fs_cache *c, fs_chunk *ch) {
    fs_chunk **pp = bucket(c, ch->id);
    while (*pp != ch) pp = &(*pp)->hnext;
    *pp = ch->hnext;
    if (ch->state == CHUNK_READY) lru_unlink(c, ch);
    ch->in_table = 0;
    c->bytes -= charge(ch);
    if (!ch->refs) spare_push(c, ch);
}

/* Evicts the least recently used chunk no one reads; 0 when none. */
static int evict_one(fs_cache *c) {
    for (fs_chunk *ch = c->lru_tail; ch; ch = ch->prev) {
        if (!ch->refs) {
            remove_chunk(c, ch);
            return 1;
        }
    }
    return 0;
}

/* Back under the budget, as far as pinned chunks allow. */
static void shrink(fs_cache *c) {
    while (c->bytes > c->budget && (free_spare(c) || evict_one(c))) {
    }
}

static void unpin_locked(fs_cache *c, fs_chunk *ch) {
    if (--ch->refs == 0 && !ch->in_table) {
        spare_push(c, ch);
        shrink(c);
    }
}

/* A record with a buffer for `size` bytes: a spare one that fits (at most
 * twice the capacity needed), else a new one once the budget has room;
 * room is made by freeing spares that do not fit, then by evicting. */
static fs_chunk *acquire(fs_cache *c, uint32_t size) {
    int k = class_of(size);
    for (;;) {
        for (int j = k; j < N_CLASSES && j <= k + 1; j++) {
            fs_chunk *ch = c->spare[j];
            if (!ch) continue;
            c->spare[j] = ch->next;
            c->bytes -= charge(ch);
            return ch;
        }
        if (c->bytes + class_cap(k) + sizeof(fs_chunk) <= c->budget) break;
        if (!free_spare(c) && !evict_one(c)) break;
    }
    fs_chunk *ch = xcalloc(1, sizeof *ch);
    ch->cap = class_cap(k);
    ch->data = buffer_new(ch->cap);
    return ch;
}

static fs_chunk *insert(fs_cache *c, const repo_chunk_ref *ref, int state) {
    fs_chunk *ch = acquire(c, ref->size);
    memcpy(ch->id, ref->id, STRATA_HASH_LEN);
    ch->size = ref->size;
    ch->state = state;
    ch->refs = 1;
    ch->in_table = 1;
    ch->err = STRATA_OK;
    ch->prev = ch->next = NULL;
    fs_chunk **b = bucket(c, ref->id);
    ch->hnext = *b;
    *b = ch;
    c->bytes += charge(ch);
    if (c->bytes > c->peak) c->peak = c->bytes;
    return ch;
}

static char *hex_of(const uint8_t id[STRATA_HASH_LEN], char hex[2 * STRATA_HASH_LEN + 1]) {
    strata_hex(id, STRATA_HASH_LEN, hex);
    return hex;
}

/* Loads a chunk this thread has marked LOADING (and pinned). */
static void load(fs_cache *c, fs_chunk *ch) {
    char hex[2 * STRATA_HASH_LEN + 1];
    size_t len;
    strata_err e = repo_read_chunk_into(c->repo, ch->id, ch->data, ch->cap, &len);
    if (!e && len != ch->size)
        e = strata_fail(STRATA_ECORRUPT, "chunk %s has %zu bytes, the file lists %u", hex_of(ch->id, hex),
                        len, ch->size);
    pthread_mutex_lock(&c->lock);
    if (e) {
        ch->state = CHUNK_FAILED;
        ch->err = e;
        ch->msg = xstrdup(strata_errmsg());
        remove_chunk(c, ch);
    } else {
        ch->state = CHUNK_READY;
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
    *out = NULL;
    if (ref->size > REPO_CHUNK_MAX) {
        char hex[2 * STRATA_HASH_LEN + 1];
        return strata_fail(STRATA_ECORRUPT, "chunk %s: the file lists %u bytes, more than a chunk holds",
                           hex_of(ref->id, hex), ref->size);
    }
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
    shrink(c);
    pthread_mutex_unlock(&c->lock);
}

void fs_cache_prefetch(fs_cache *c, const repo_chunk_ref *ref) {
    pthread_mutex_lock(&c->lock);
    if (!c->n_workers || c->q_len == QUEUE_LEN || ref->size > REPO_CHUNK_MAX || find(c, ref->id)) {
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
    while (free_spare(c)) {
    }
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
