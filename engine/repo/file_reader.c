/* file_reader.c - random reads of a stored file.
 *
 * A file of a version is a list of chunks; reading bytes at an offset
 * means finding the chunk that holds it (bisection over the chunks'
 * starting offsets) and reading that chunk whole.  Readers of stored
 * SSTables read Data.db sequentially and Index.db in short runs, so the
 * last chunk read is kept: most reads are served from it. */
#include "engine/repo/repo_int.h"

#include <string.h>

struct repo_file_reader {
    repo *r;
    const repo_file *file;
    uint64_t *starts; /* starts[i]: offset of chunk i; starts[n] = size */
    uint32_t cached;  /* index of the chunk in `chunk`, UINT32_MAX: none */
    strata_buf chunk;
};

repo_file_reader *repo_file_reader_open(repo *r, const repo_file *f) {
    repo_file_reader *rd = xcalloc(1, sizeof *rd);
    rd->r = r;
    rd->file = f;
    rd->starts = xmalloc((f->n_chunks + 1) * sizeof *rd->starts);
    uint64_t at = 0;
    for (uint32_t i = 0; i < f->n_chunks; i++) rd->starts[i] = at, at += f->chunks[i].size;
    rd->starts[f->n_chunks] = at;
    rd->cached = UINT32_MAX;
    strata_buf_init(&rd->chunk);
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

strata_err repo_file_reader_pread(repo_file_reader *rd, void *buf, size_t n, uint64_t off, size_t *got) {
    *got = 0;
    uint64_t size = rd->file->size;
    while (*got < n && off < size) {
        uint32_t c = chunk_at(rd, off);
        if (c != rd->cached) {
            rd->cached = UINT32_MAX;
            strata_err e = repo_read_chunk(rd->r, rd->file->chunks[c].id, 0, &rd->chunk);
            if (e) return e;
            if (rd->chunk.len != rd->file->chunks[c].size)
                return strata_fail(STRATA_ECORRUPT, "%s: chunk %u holds %zu bytes, not %u", rd->file->rel_path, c,
                                   rd->chunk.len, rd->file->chunks[c].size);
            rd->cached = c;
        }
        uint64_t in = off - rd->starts[c], avail = rd->chunk.len - in;
        size_t take = n - *got < avail ? n - *got : (size_t)avail;
        memcpy((uint8_t *)buf + *got, rd->chunk.data + in, take);
        *got += take;
        off += take;
    }
    return STRATA_OK;
}

void repo_file_reader_close(repo_file_reader *rd) {
    if (!rd) return;
    strata_buf_free(&rd->chunk);
    free(rd->starts);
    free(rd);
}
