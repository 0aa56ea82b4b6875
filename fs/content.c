/* content.c - the bytes of a stored file as the mount serves them.
 *
 * A file is its chunk list; the offsets of the chunks are kept as prefix
 * sums so a read finds its first chunk by binary search.  Equal chunk
 * lists are interned: the same SSTable appears in every version that
 * holds it and under /versions and /nodes, and should cost memory once. */
#include "fs/mount_int.h"

#include <string.h>
#include <xxhash.h>

/* repo_chunk_ref is 32 + 4 bytes without padding, so the list hashes as it lies. */
static uint64_t hash_file(const repo_file *f) {
    _Static_assert(sizeof(repo_chunk_ref) == STRATA_HASH_LEN + 4, "repo_chunk_ref has padding");
    return XXH3_64bits_withSeed(f->chunks, f->n_chunks * sizeof *f->chunks, f->size);
}

static int same_chunks(const fs_content *c, const repo_file *f) {
    if (c->size != f->size || c->n_chunks != f->n_chunks) return 0;
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        if (c->chunks[i].size != f->chunks[i].size ||
            memcmp(c->chunks[i].id, f->chunks[i].id, STRATA_HASH_LEN))
            return 0;
    }
    return 1;
}

static void grow(fs_content_table *t) {
    size_t n = t->n_buckets ? t->n_buckets * 2 : 1024;
    fs_content **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < t->n_buckets; i++) {
        for (fs_content *c = t->buckets[i], *next; c; c = next) {
            next = c->next;
            c->next = b[c->hash & (n - 1)];
            b[c->hash & (n - 1)] = c;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
}

fs_content *fs_content_intern(fs_content_table *t, const repo_file *f) {
    uint64_t h = hash_file(f);
    if (t->n_buckets) {
        for (fs_content *c = t->buckets[h & (t->n_buckets - 1)]; c; c = c->next)
            if (c->hash == h && same_chunks(c, f)) return c;
    }
    if (t->count >= t->n_buckets) grow(t);
    fs_content *c = xcalloc(1, sizeof *c);
    c->size = f->size;
    c->n_chunks = f->n_chunks;
    c->hash = h;
    c->chunks = xmalloc((f->n_chunks ? f->n_chunks : 1) * sizeof *c->chunks);
    c->ends = xmalloc((f->n_chunks ? f->n_chunks : 1) * sizeof *c->ends);
    uint64_t end = 0;
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        c->chunks[i] = f->chunks[i];
        end += f->chunks[i].size;
        c->ends[i] = end;
    }
    size_t slot = h & (t->n_buckets - 1);
    c->next = t->buckets[slot];
    t->buckets[slot] = c;
    t->count++;
    return c;
}

fs_content *fs_mount_content(fs_mount *m, const repo_file *f) {
    pthread_mutex_lock(&m->contents_lock);
    fs_content *c = fs_content_intern(&m->contents, f);
    pthread_mutex_unlock(&m->contents_lock);
    return c;
}

void fs_content_table_free(fs_content_table *t) {
    for (size_t i = 0; i < t->n_buckets; i++) {
        for (fs_content *c = t->buckets[i], *next; c; c = next) {
            next = c->next;
            free(c->chunks);
            free(c->ends);
            free(c);
        }
    }
    free(t->buckets);
    memset(t, 0, sizeof *t);
}
