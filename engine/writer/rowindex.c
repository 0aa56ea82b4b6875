/* rowindex.c - Index.db entries and the row index of wide partitions.
 *
 * As Cassandra's ColumnIndex does while a partition is written: the
 * unfiltereds are grouped into blocks of at least column_index_size bytes
 * (a block closes after the unfiltered that reaches the size, and the
 * last block also covers the end-of-partition byte); each block is an
 * IndexInfo of its first and last clustering, offset and width from the
 * partition start and the range tombstone open at its end.  Only a
 * partition with two or more blocks gets them in its Index.db entry.  The
 * same bookkeeping yields each unfiltered's previous-unfiltered size, the
 * distance from the start of the one before (from the partition start for
 * the first). */
#include "engine/writer/writer_int.h"

#include <string.h>

/* IndexInfo stores width - 64 KiB as a signed VInt. */
#define WIDTH_BASE 65536

struct wr_rowindex {
    const sstable_header *h;
    int oa;
    uint32_t block_size;
    uint64_t start;          /* partition start in Data.db */
    sstable_deletion deletion;
    uint64_t header_length;
    uint64_t prev_start;     /* relative start of the previous unfiltered */
    uint64_t cur_start;
    uint64_t written;
    int block_open;
    uint64_t block_start;
    strata_buf first, last;  /* serialized clusterings of the open block
                                (last only once the block closes) */
    int has_open_marker;
    sstable_deletion open_marker;
    strata_buf infos;        /* serialized IndexInfo entries */
    uint32_t *offsets;
    size_t nblocks, cap;
};

wr_rowindex *wr_rowindex_new(const sstable_header *h, int oa, uint32_t block_size) {
    wr_rowindex *r = xcalloc(1, sizeof *r);
    r->h = h;
    r->oa = oa;
    r->block_size = block_size ? block_size : 64 * 1024;
    strata_buf_init(&r->first);
    strata_buf_init(&r->last);
    strata_buf_init(&r->infos);
    return r;
}

void wr_rowindex_begin(wr_rowindex *r, uint64_t start, const sstable_deletion *d) {
    r->start = start;
    r->deletion = *d;
    r->header_length = 0;
    r->prev_start = 0;
    r->written = 0;
    r->block_open = 0;
    r->has_open_marker = 0;
    r->infos.len = 0;
    r->nblocks = 0;
}

void wr_rowindex_header_done(wr_rowindex *r, uint64_t pos) { r->header_length = pos - r->start; }

static void put_clustering(const wr_rowindex *r, strata_buf *b, const sstable_unfiltered *u) {
    b->len = 0;
    sstable_bound_kind kind = u->kind == SSTABLE_ROW ? SSTABLE_CLUSTERING : u->bound_kind;
    wr_put_clustering_prefix(r->h, b, kind, u->clustering, u->nclustering);
}

uint64_t wr_rowindex_before(wr_rowindex *r, uint64_t pos, const sstable_unfiltered *u) {
    uint64_t rel = pos - r->start;
    if (!r->block_open) {
        put_clustering(r, &r->first, u);
        r->block_start = rel;
        r->block_open = 1;
    }
    r->cur_start = rel;
    return rel - r->prev_start;
}

static void add_block(wr_rowindex *r, uint64_t rel) {
    if (r->nblocks == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->offsets = xrealloc(r->offsets, r->cap * sizeof *r->offsets);
    }
    r->offsets[r->nblocks++] = (uint32_t)r->infos.len;
    strata_buf_put(&r->infos, r->first.data, r->first.len);
    strata_buf_put(&r->infos, r->last.data, r->last.len);
    wr_uvint(&r->infos, r->block_start);
    wr_svint(&r->infos, (int64_t)(rel - r->block_start) - WIDTH_BASE);
    wr_u8(&r->infos, r->has_open_marker);
    if (r->has_open_marker) wr_put_deletion(&r->infos, r->oa, &r->open_marker);
    r->block_open = 0;
}

void wr_rowindex_after(wr_rowindex *r, uint64_t pos, const sstable_unfiltered *u) {
    r->prev_start = r->cur_start;
    r->written++;
    if (u->kind == SSTABLE_RT_BOUND || u->kind == SSTABLE_RT_BOUNDARY) {
        sstable_bound_kind k = u->bound_kind;
        r->has_open_marker = k == SSTABLE_INCL_START_BOUND || k == SSTABLE_EXCL_START_BOUND ||
                             u->kind == SSTABLE_RT_BOUNDARY;
        r->open_marker = u->deletion;
    }
    uint64_t rel = pos - r->start;
    if (rel - r->block_start >= r->block_size) {
        put_clustering(r, &r->last, u);
        add_block(r, rel);
    }
}

void wr_rowindex_finish(wr_rowindex *r, uint64_t pos, const wr_clustering *last, const uint8_t *key, size_t len,
                        strata_buf *index) {
    /* a partition of one block has no row index, nor needs that block */
    if (r->written > 0 && r->block_open && r->nblocks > 0) {
        r->last.len = 0;
        wr_put_clustering_prefix(r->h, &r->last, last->kind, last->vals, last->n);
        add_block(r, pos - r->start);
    }
    wr_u16(index, (uint16_t)len);
    strata_buf_put(index, key, len);
    wr_uvint(index, r->start);
    if (r->nblocks < 2) {
        wr_uvint(index, 0);
        return;
    }
    strata_buf head;
    strata_buf_init(&head);
    wr_uvint(&head, r->header_length);
    wr_put_deletion(&head, r->oa, &r->deletion);
    wr_uvint(&head, r->nblocks);
    wr_uvint(index, head.len + r->infos.len + r->nblocks * 4);
    strata_buf_put(index, head.data, head.len);
    strata_buf_put(index, r->infos.data, r->infos.len);
    for (size_t i = 0; i < r->nblocks; i++) wr_u32(index, r->offsets[i]);
    strata_buf_free(&head);
}

void wr_rowindex_free(wr_rowindex *r) {
    if (!r) return;
    strata_buf_free(&r->first);
    strata_buf_free(&r->last);
    strata_buf_free(&r->infos);
    free(r->offsets);
    free(r);
}
