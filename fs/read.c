/* read.c - serving a read of a mounted file from the chunk cache.
 *
 * A read becomes a list of slices of pinned cache chunks that the FUSE
 * reply writes to the kernel directly (no copy into a reply buffer).
 * Reads close to where the previous one of the same file ended count as
 * sequential (the kernel's own read-ahead sends several requests of one
 * stream at once, not necessarily in order) and queue the chunks of the
 * next readahead_bytes for the prefetch workers.  Files are opened by the
 * kernel alone where it can (ops.c), so this is kept per file, not per
 * open file. */
#include "fs/mount_int.h"

#include <string.h>

/* The chunk that holds byte `off` (off < size). */
static uint32_t chunk_at(const fs_content *c, uint64_t off) {
    uint32_t lo = 0, hi = c->n_chunks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->ends[mid] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void read_ahead(fs_mount *m, fs_node *file, uint64_t off, uint64_t end, uint32_t next_chunk) {
    uint64_t expected = __atomic_load_n(&file->next_off, __ATOMIC_RELAXED);
    uint64_t window = m->readahead_bytes;
    int sequential = off + window >= expected && off <= expected + window;
    if (end > expected) __atomic_store_n(&file->next_off, end, __ATOMIC_RELAXED);
    if (!sequential) return;
    const fs_content *c = file->content;
    for (uint32_t i = next_chunk; i < c->n_chunks && c->ends[i] - c->chunks[i].size < end + window; i++)
        fs_cache_prefetch(m->cache, &c->chunks[i]);
}

static char *path_of(fs_mount *m, const fs_node *file) {
    pthread_mutex_lock(&m->lock);
    char *path = fs_node_path(file);
    pthread_mutex_unlock(&m->lock);
    return path;
}

static strata_err chunk_failed(fs_mount *m, fs_node *file, const repo_chunk_ref *ref, uint64_t off,
                               strata_err e) {
    if (fs_cache_first_report(m->cache, ref->id)) {
        char *path = path_of(m, file);
        strata_log(STRATA_LOG_ERROR, "%s: read at offset %llu failed: %s", path, (unsigned long long)off,
                   strata_errmsg());
        free(path);
    }
    return e;
}

strata_err fs_read(fs_mount *m, fs_node *file, uint64_t off, size_t size, fs_read_buf *out) {
    memset(out, 0, sizeof *out);
    const fs_content *c = file->content;
    if (off >= c->size || !size) return STRATA_OK;
    uint64_t end = size < c->size - off ? off + size : c->size;
    if (!c->n_chunks || c->ends[c->n_chunks - 1] < end) {
        char *path = path_of(m, file);
        strata_err e = strata_fail(STRATA_ECORRUPT, "%s: its chunks hold fewer bytes than its size", path);
        free(path);
        return e;
    }
    uint32_t first = chunk_at(c, off), last = chunk_at(c, end - 1);
    read_ahead(m, file, off, end, last + 1);
    size_t n = last - first + 1;
    out->iov = xmalloc(n * sizeof *out->iov);
    out->pinned = xmalloc(n * sizeof *out->pinned);
    for (uint32_t i = first; i <= last; i++) {
        fs_chunk *ch;
        strata_err e = fs_cache_get(m->cache, &c->chunks[i], &ch);
        if (e) {
            e = chunk_failed(m, file, &c->chunks[i], off, e);
            fs_read_release(m, out);
            return e;
        }
        uint64_t start = c->ends[i] - c->chunks[i].size;
        uint64_t from = off > start ? off - start : 0;
        uint64_t to = end < c->ends[i] ? end - start : c->chunks[i].size;
        out->pinned[out->n] = ch;
        out->iov[out->n].iov_base = ch->data + from;
        out->iov[out->n].iov_len = (size_t)(to - from);
        out->n++;
    }
    return STRATA_OK;
}

void fs_read_release(fs_mount *m, fs_read_buf *rb) {
    for (size_t i = 0; i < rb->n; i++) fs_cache_put(m->cache, rb->pinned[i]);
    free(rb->iov);
    free(rb->pinned);
    memset(rb, 0, sizeof *rb);
}
