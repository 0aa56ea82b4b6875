/* flusher.c - storing and indexing sealed packs in the background.
 *
 * Writing a pack means a 32 MiB write plus fsync (or an upload); done in
 * the backup worker it would stall chunking and hashing for that long.
 * Workers hand sealed packs to a few flusher threads instead and go on
 * filling the next pack.  The queue is bounded, so memory stays bounded
 * and a slow store slows the workers rather than piling up packs. */
#include "engine/repo/repo_int.h"

#include <string.h>

#define FLUSHER_THREADS 2
#define FLUSHER_MAX_PENDING 2
/* Pack buffers kept for reuse: a fresh 36 MiB buffer costs ~9000 page
 * faults, a measurable share of a backup's CPU time. */
#define FLUSHER_SPARE_BUFFERS (FLUSHER_MAX_PENDING + 2)

struct pack_flusher {
    repo *r;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    sealed_pack *head, *tail;
    int pending; /* queued + being stored */
    int stop;
    strata_err error;
    char error_msg[512];
    pthread_t threads[FLUSHER_THREADS];
    int n_threads;
    strata_buf spare[FLUSHER_SPARE_BUFFERS];
    int n_spare;
};

void sealed_pack_free(sealed_pack *p) {
    if (!p) return;
    strata_buf_free(&p->data);
    strata_buf_free(&p->entries);
    free(p);
}

/* Keeps p's pack buffer for flusher_take_buffer() and frees the rest. */
static void recycle(pack_flusher *f, sealed_pack *p) {
    pthread_mutex_lock(&f->lock);
    if (f->n_spare < FLUSHER_SPARE_BUFFERS) {
        p->data.len = 0;
        f->spare[f->n_spare++] = p->data;
        strata_buf_init(&p->data);
    }
    pthread_mutex_unlock(&f->lock);
    sealed_pack_free(p);
}

/* Page-aligned, so a local directory backend can write packs with
 * O_DIRECT straight from this buffer. */
void flusher_take_buffer(pack_flusher *f, strata_buf *out, size_t capacity) {
    strata_buf_init(out);
    pthread_mutex_lock(&f->lock);
    if (f->n_spare) *out = f->spare[--f->n_spare];
    pthread_mutex_unlock(&f->lock);
    if (out->cap >= capacity) return;
    void *p;
    if (posix_memalign(&p, 4096, capacity)) {
        fprintf(stderr, "strata: out of memory allocating %zu bytes\n", capacity);
        abort();
    }
    free(out->data);
    out->data = p;
    out->len = 0;
    out->cap = capacity;
}

/* Stores one pack, then indexes it; its chunks stop being "pending". */
static strata_err store_pack(repo *r, sealed_pack *p) {
    char key[96];
    pack_key(p->id, key);
    strata_err e = storage_put(r->store, key, p->data.data, p->data.len);
    if (!e) e = index_add_pack(r, p->id, p->data.len, p->entries.data, p->count);
    for (uint32_t i = 0; i < p->count; i++)
        pending_set_remove(r->pending, p->entries.data + (size_t)i * PACK_ENTRY_LEN);
    return e;
}

static void *flusher_main(void *arg) {
    pack_flusher *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->head && !f->stop) pthread_cond_wait(&f->changed, &f->lock);
        if (!f->head) break;
        sealed_pack *p = f->head;
        f->head = p->next;
        if (!f->head) f->tail = NULL;
        int skip = f->error != STRATA_OK;
        pthread_mutex_unlock(&f->lock);
        strata_err e = skip ? STRATA_OK : store_pack(f->r, p);
        pthread_mutex_lock(&f->lock);
        if (e && !f->error) {
            f->error = e;
            snprintf(f->error_msg, sizeof f->error_msg, "%s", strata_errmsg());
        }
        f->pending--;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
        recycle(f, p);
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

pack_flusher *flusher_new(repo *r) {
    pack_flusher *f = xcalloc(1, sizeof *f);
    f->r = r;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->changed, NULL);
    for (; f->n_threads < FLUSHER_THREADS; f->n_threads++)
        if (pthread_create(&f->threads[f->n_threads], NULL, flusher_main, f)) break;
    return f;
}

/* The error of a failed store, re-recorded on the calling thread. */
static strata_err failure(pack_flusher *f) {
    return f->error ? strata_fail(f->error, "%s", f->error_msg) : STRATA_OK;
}

strata_err flusher_submit(pack_flusher *f, sealed_pack *p) {
    if (!f->n_threads) {
        strata_err e = store_pack(f->r, p);
        sealed_pack_free(p);
        return e;
    }
    pthread_mutex_lock(&f->lock);
    while (f->pending >= FLUSHER_MAX_PENDING && !f->error) pthread_cond_wait(&f->changed, &f->lock);
    strata_err e = failure(f);
    if (!e) {
        p->next = NULL;
        if (f->tail) f->tail->next = p;
        else f->head = p;
        f->tail = p;
        f->pending++;
        pthread_cond_broadcast(&f->changed);
        p = NULL;
    }
    pthread_mutex_unlock(&f->lock);
    if (p) {
        for (uint32_t i = 0; i < p->count; i++)
            pending_set_remove(f->r->pending, p->entries.data + (size_t)i * PACK_ENTRY_LEN);
        sealed_pack_free(p);
    }
    return e;
}

strata_err flusher_wait(pack_flusher *f) {
    pthread_mutex_lock(&f->lock);
    while (f->pending) pthread_cond_wait(&f->changed, &f->lock);
    strata_err e = failure(f);
    pthread_mutex_unlock(&f->lock);
    return e;
}

void flusher_free(pack_flusher *f) {
    if (!f) return;
    pthread_mutex_lock(&f->lock);
    f->stop = 1;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    for (int i = 0; i < f->n_threads; i++) pthread_join(f->threads[i], NULL);
    for (int i = 0; i < f->n_spare; i++) strata_buf_free(&f->spare[i]);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->changed);
    free(f);
}
