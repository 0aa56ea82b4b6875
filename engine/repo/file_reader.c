/* file_reader.c - random reads of a stored file.
 *
 * A file of a version is a list of chunks; reading bytes at an offset
 * means finding the chunk that holds it (bisection over the chunks'
 * starting offsets) and reading that chunk whole.  Readers of stored
 * SSTables read Data.db sequentially and Index.db in short runs, so the
 * last chunks read are kept: most reads are served from them.  Two, not
 * one: a run that crosses into the next chunk and the run after it, back
 * in the first (an index seek per partition, each reading ahead), would
 * otherwise read both chunks again every time. */
#include "engine/repo/repo_int.h"

#include <string.h>

#define CACHED_CHUNKS 2

typedef struct {
    uint32_t index; /* the chunk held, UINT32_MAX: none */
    uint64_t used;  /* when it was last read from (the reader's reads count) */
    strata_buf data;
} cached_chunk;

struct repo_file_reader {
    repo *r;
    const repo_file *file;
    uint64_t *starts; /* starts[i]: offset of chunk i; starts[n] = size */
    cached_chunk cache[CACHED_CHUNKS];
    uint64_t reads;
};

repo_file_reader *repo_file_reader_open(repo *r, const repo_file *f) {
    repo_file_reader *rd = xcalloc(1, sizeof *rd);
    rd->r = r;
    rd->file = f;
    rd->starts = xmalloc((f->n_chunks + 1) * sizeof *rd->starts);
    uint64_t at = 0;
    for (uint32_t i = 0; i < f->n_chunks; i++) rd->starts[i] = at, at += f->chunks[i].size;
    rd->starts[f->n_chunks] = at;
    for (int i = 0; i < CACHED_CHUNKS; i++) {
        rd->cache[i].index = UINT32_MAX;
        strata_buf_init(&rd->cache[i].data);
    }
    return rd;
}

/* The chunk holding offset `off` (< size). */
static uint32_t chunk_at(const repo_file_reader *rd, uint64_t off) {
    uint32_t lo = 0, hi = rd->file->n_chunks;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (rd->starts[mid] <= off) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* Chunk c, from the cache or read into the least recently used slot. */
static strata_err cached(repo_file_reader *rd, uint32_t c, const strata_buf **out) {
    cached_chunk *slot = &rd->cache[0];
    for (int i = 0; i < CACHED_CHUNKS; i++) {
        if (rd->cache[i].index == c) {
            slot = &rd->cache[i];
            break;
        }
        if (rd->cache[i].used < slot->used) slot = &rd->cache[i];
    }
    slot->used = ++rd->reads;
    if (slot->index != c) {
        slot->index = UINT32_MAX;
        strata_err e = repo_read_chunk(rd->r, rd->file->chunks[c].id, 0, &slot->data);
        if (e) return e;
        if (slot->data.len != rd->file->chunks[c].size)
            return strata_fail(STRATA_ECORRUPT, "%s: chunk %u holds %zu bytes, not %u", rd->file->rel_path, c,
                               slot->data.len, rd->file->chunks[c].size);
        slot->index = c;
    }
    *out = &slot->data;
    return STRATA_OK;
}

strata_err repo_file_reader_pread(repo_file_reader *rd, void *buf, size_t n, uint64_t off, size_t *got) {
    *got = 0;
    uint64_t size = rd->file->size;
    while (*got < n && off < size) {
        uint32_t c = chunk_at(rd, off);
        const strata_buf *chunk = NULL;
        strata_err e = cached(rd, c, &chunk);
        if (e) return e;
        uint64_t in = off - rd->starts[c], avail = chunk->len - in;
        size_t take = n - *got < avail ? n - *got : (size_t)avail;
        memcpy((uint8_t *)buf + *got, chunk->data + in, take);
        *got += take;
        off += take;
    }
    return STRATA_OK;
}

void repo_file_reader_close(repo_file_reader *rd) {
    if (!rd) return;
    for (int i = 0; i < CACHED_CHUNKS; i++) strata_buf_free(&rd->cache[i].data);
    free(rd->starts);
    free(rd);
}
