/* data.c - serializing partitions and unfiltereds as Data.db stores them.
 *
 * The inverse of the reader's partition.c, after Cassandra's
 * UnfilteredSerializer: flags, clustering, body size, previous unfiltered
 * size, then the body (liveness, deletion, column subset, cells).  Every
 * flag is derived from the fields the way Cassandra derives it (a cell
 * "uses the row timestamp" when its timestamp equals the row's, and so
 * on), so the bytes match without knowing the original flags.
 * Timestamps, deletion times and TTLs are VInt deltas from the header's
 * minimums, computed in Java's 32-bit int arithmetic where Cassandra uses
 * ints: a negative delta is sign-extended to a nine-byte VInt. */
#include "engine/writer/writer_int.h"

#include <string.h>

/* A local deletion time as the 32-bit value Cassandra stores: the reader's
 * INT64_MAX "none" is Integer.MAX_VALUE before oa and 0xffffffff from oa. */
static uint32_t ldt32(int oa, int64_t ldt) {
    if (ldt == INT64_MAX) return oa ? UINT32_MAX : (uint32_t)INT32_MAX;
    return (uint32_t)ldt;
}

void wr_put_deletion(strata_buf *b, int oa, const sstable_deletion *d) {
    if (oa) {
        if (wr_deletion_is_live(d)) {
            wr_u8(b, 0x80);
            return;
        }
        wr_u64(b, (uint64_t)d->marked_for_delete_at);
        wr_u32(b, ldt32(oa, d->local_deletion_time));
        return;
    }
    wr_u32(b, ldt32(oa, d->local_deletion_time));
    wr_u64(b, (uint64_t)d->marked_for_delete_at);
}

/* Room for what a cell writes besides its path and value: flags, then
 * timestamp, deletion time, TTL, path length and value length VInts. */
#define CELL_ROOM (1 + 5 * 9)
/* Room for a row's previous size, liveness (timestamp, TTL, expiry) and
 * deletion (timestamp, time) VInts. */
#define ROW_HEAD_ROOM (6 * 9)

static uint8_t *column_kinds(const sstable_column *cols, size_t n) {
    uint8_t *kinds = xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        const sstable_type *t = cols[i].type;
        kinds[i] = (uint8_t)((t->multicell ? WR_COL_COMPLEX : 0) | (t->multicell || t->fixed_len < 0 ? WR_COL_SIZED : 0));
    }
    return kinds;
}

void wr_serializer_init(wr_serializer *s, const sstable_header *h, int oa) {
    s->h = h;
    s->oa = oa;
    s->size_len = 1;
    s->column_kinds[0] = column_kinds(h->statics, h->nstatic);
    s->column_kinds[1] = column_kinds(h->regulars, h->nregular);
}

void wr_serializer_free(wr_serializer *s) {
    free(s->column_kinds[0]);
    free(s->column_kinds[1]);
}

static uint8_t *put_timestamp(const wr_serializer *s, uint8_t *p, int64_t ts) {
    return wr_store_uvint(p, (uint64_t)ts - (uint64_t)s->h->min_timestamp);
}

/* Before oa the delta is a Java int widened to long (sign-extended); from
 * oa deletion times are unsigned and the delta is taken as unsigned too. */
static uint8_t *put_ldt(const wr_serializer *s, uint8_t *p, int64_t ldt) {
    uint32_t delta = ldt32(s->oa, ldt) - (uint32_t)s->h->min_local_deletion_time;
    return wr_store_uvint(p, s->oa ? (uint64_t)delta : (uint64_t)(int64_t)(int32_t)delta);
}

static uint8_t *put_ttl(const wr_serializer *s, uint8_t *p, int32_t ttl) {
    uint32_t delta = (uint32_t)ttl - (uint32_t)s->h->min_ttl;
    return wr_store_uvint(p, (uint64_t)(int64_t)(int32_t)delta);
}

/* Needs 2 * 9 bytes of room. */
static uint8_t *put_delta_deletion(const wr_serializer *s, uint8_t *p, const sstable_deletion *d) {
    p = put_timestamp(s, p, d->marked_for_delete_at);
    return put_ldt(s, p, d->local_deletion_time);
}

void wr_put_partition_header(wr_serializer *s, strata_buf *b, const uint8_t *key, size_t len,
                             const sstable_deletion *d) {
    uint8_t *p = wr_room(b, 2 + len);
    p = wr_store_be16(p, (uint16_t)len);
    wr_end(b, wr_store_bytes(p, key, len));
    wr_put_deletion(b, s->oa, d);
}

/* Needs 9 + v->len bytes of room. */
static uint8_t *put_value(uint8_t *p, const sstable_type *t, const sstable_value *v) {
    if (t->fixed_len < 0) p = wr_store_uvint(p, v->len);
    return wr_store_bytes(p, v->p, v->len);
}

/* Clustering values in blocks of 32, each after a header of two bits per
 * value: empty (bit 2i) or null (bit 2i+1). */
static uint8_t *put_clustering_values(const sstable_header *h, strata_buf *b, uint8_t *p, const sstable_value *v,
                                      size_t n) {
    for (size_t start = 0; start < n; start += 32) {
        size_t end = n - start > 32 ? start + 32 : n;
        uint64_t header = 0;
        for (size_t i = start; i < end; i++) {
            unsigned shift = (unsigned)(i - start) * 2;
            if (!v[i].p) header |= 2ULL << shift;
            else if (v[i].len == 0) header |= 1ULL << shift;
        }
        p = wr_store_uvint(wr_more(b, p, 9), header);
        for (size_t i = start; i < end; i++)
            if (v[i].p && v[i].len) p = put_value(wr_more(b, p, 9 + v[i].len), h->clustering[i], &v[i]);
    }
    return p;
}

void wr_put_clustering_prefix(const sstable_header *h, strata_buf *b, sstable_bound_kind kind,
                              const sstable_value *v, size_t n) {
    uint8_t *p = wr_room(b, 3);
    *p++ = (uint8_t)kind;
    if (kind != SSTABLE_CLUSTERING) p = wr_store_be16(p, (uint16_t)n);
    wr_end(b, put_clustering_values(h, b, p, v, n));
}

static int row_expiring(const sstable_unfiltered *u) {
    return u->has_liveness && (u->ttl != 0 || u->local_expiration != INT64_MAX);
}

/* `kind`: the column's WR_COL_*. */
static uint8_t *put_cell(const wr_serializer *s, strata_buf *b, uint8_t *p, const sstable_unfiltered *u,
                         const sstable_cell *c, unsigned kind) {
    p = wr_more(b, p, CELL_ROOM + c->path.len + c->value.len);
    int expiring = !c->deleted && c->expiring;
    int row_ts = u->has_liveness && c->timestamp == u->timestamp;
    int row_ttl = expiring && row_expiring(u) && c->ttl == u->ttl && c->local_deletion_time == u->local_expiration;
    uint8_t flags = 0;
    if (c->value.len == 0) flags |= SSTABLE_C_HAS_EMPTY_VALUE;
    if (c->deleted) flags |= SSTABLE_C_IS_DELETED;
    else if (expiring) flags |= SSTABLE_C_IS_EXPIRING;
    if (row_ts) flags |= SSTABLE_C_USE_ROW_TIMESTAMP;
    if (row_ttl) flags |= SSTABLE_C_USE_ROW_TTL;
    *p++ = flags;
    if (!row_ts) p = put_timestamp(s, p, c->timestamp);
    if ((c->deleted || expiring) && !row_ttl) p = put_ldt(s, p, c->local_deletion_time);
    if (expiring && !row_ttl) p = put_ttl(s, p, c->ttl);
    if (kind & WR_COL_COMPLEX) {
        p = wr_store_uvint(p, c->path.len);
        p = wr_store_bytes(p, c->path.p, c->path.len);
    }
    if (c->value.len) {
        if (kind & WR_COL_SIZED) p = wr_store_uvint(p, c->value.len);
        p = wr_store_bytes(p, c->value.p, c->value.len);
    }
    return p;
}

/* Which columns a row holds, one bit each. */
#define PRESENT_WORDS(ncols) (((ncols) + 63) / 64)
static int is_present(const uint64_t *present, size_t col) { return (int)(present[col / 64] >> (col % 64)) & 1; }

/* Columns.serializeSubset: a bitmap of the missing columns below 64
 * columns, else the missing count and the smaller list of indexes. */
static uint8_t *put_column_subset(strata_buf *b, uint8_t *p, const uint64_t *present, size_t ncols, size_t count) {
    if (ncols < 64) return wr_store_uvint(wr_more(b, p, 9), ~present[0] & ((1ULL << ncols) - 1));
    p = wr_store_uvint(wr_more(b, p, 9), ncols - count);
    int list_present = count < ncols / 2;
    for (size_t i = 0; i < ncols; i++)
        if (is_present(present, i) == list_present) p = wr_store_uvint(wr_more(b, p, 9), i);
    return p;
}

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

static const sstable_deletion *complex_deletion(const sstable_unfiltered *u, size_t col) {
    for (size_t i = 0; i < u->ncomplex_deletions; i++)
        if (u->complex_deletions[i].column_index == col) return &u->complex_deletions[i].deletion;
    return &LIVE;
}

/* Needs room for the liveness and deletion VInts. */
static uint8_t *put_row_body(const wr_serializer *s, strata_buf *b, uint8_t *p, const sstable_unfiltered *u,
                             uint8_t flags, const uint64_t *present, size_t ncols, size_t count) {
    const uint8_t *kinds = s->column_kinds[u->kind != SSTABLE_STATIC_ROW];
    if (flags & SSTABLE_F_HAS_TIMESTAMP) p = put_timestamp(s, p, u->timestamp);
    if (flags & SSTABLE_F_HAS_TTL) {
        p = put_ttl(s, p, u->ttl);
        p = put_ldt(s, p, u->local_expiration);
    }
    if (flags & SSTABLE_F_HAS_DELETION) p = put_delta_deletion(s, p, &u->row_deletion);
    if (!(flags & SSTABLE_F_HAS_ALL_COLUMNS)) p = put_column_subset(b, p, present, ncols, count);
    size_t ci = 0;
    for (size_t word = 0; word < PRESENT_WORDS(ncols); word++) {
        for (uint64_t bits = present[word]; bits; bits &= bits - 1) {
            size_t col = word * 64 + (size_t)__builtin_ctzll(bits);
            unsigned kind = kinds[col];
            size_t end = ci + 1; /* a simple column's one cell */
            if (kind & WR_COL_COMPLEX) {
                p = wr_more(b, p, 3 * 9);
                if (flags & SSTABLE_F_HAS_COMPLEX_DELETION) p = put_delta_deletion(s, p, complex_deletion(u, col));
                for (end = ci; end < u->ncells && u->cells[end].column_index == col;) end++;
                p = wr_store_uvint(p, end - ci);
            }
            /* one call of put_cell, which the compiler then inlines */
            for (; ci < end; ci++) p = put_cell(s, b, p, u, &u->cells[ci], kind);
        }
    }
    return p;
}

/* Which columns the row holds: those with cells or a complex deletion.
 * Cells must come in header column order. */
static int row_columns(const sstable_unfiltered *u, uint64_t *present, size_t ncols, size_t *count,
                       int *complex_deleted) {
    /* one word for all but the widest tables: no call to memset */
    present[0] = 0;
    for (size_t i = 1; i < PRESENT_WORDS(ncols); i++) present[i] = 0;
    *complex_deleted = 0;
    /* cells come in column order: their bits gather a word at a time */
    size_t last = 0, word = 0;
    uint64_t bits = 0;
    for (size_t i = 0; i < u->ncells; i++) {
        size_t col = u->cells[i].column_index;
        if (col >= ncols || col < last)
            return strata_fail(STRATA_EINVAL, "row cells out of header column order"), -1;
        if (col / 64 != word) {
            present[word] = bits;
            word = col / 64;
            bits = 0;
        }
        bits |= 1ULL << (col % 64);
        last = col;
    }
    if (u->ncells) present[word] = bits;
    for (size_t i = 0; i < u->ncomplex_deletions; i++) {
        size_t col = u->complex_deletions[i].column_index;
        if (col >= ncols) return strata_fail(STRATA_EINVAL, "complex deletion of an unknown column"), -1;
        present[col / 64] |= 1ULL << (col % 64);
        if (!wr_deletion_is_live(&u->complex_deletions[i].deletion)) *complex_deleted = 1;
    }
    *count = 0;
    for (size_t i = 0; i < PRESENT_WORDS(ncols); i++)
        for (uint64_t w = present[i]; w; w &= w - 1) ++*count;
    return 0;
}

/* The row's size (body and previous size) precedes its body.  The body is
 * written after room for a size as long as the last row's, and moved in
 * the rare case the size turns out longer or shorter. */
static void put_sized_body(wr_serializer *s, strata_buf *b, uint8_t *p, const sstable_unfiltered *u,
                           uint64_t prev_size, uint8_t flags, const uint64_t *present, size_t ncols, size_t count) {
    int guess = s->size_len;
    p = wr_more(b, p, (size_t)guess + ROW_HEAD_ROOM);
    size_t size_at = (size_t)(p - b->data);
    p = wr_store_uvint(p + guess, prev_size);
    p = put_row_body(s, b, p, u, flags, present, ncols, count);
    uint64_t size = (uint64_t)(p - b->data) - size_at - (uint64_t)guess;
    int len = wr_uvint_size(size);
    if (len != guess) {
        p = wr_more(b, p, 9);
        memmove(b->data + size_at + len, b->data + size_at + guess, size);
        p += len - guess;
        s->size_len = len;
    }
    wr_store_uvint_exact(b->data + size_at, size, len);
    wr_end(b, p);
}

static int put_row(wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint64_t prev_size) {
    int is_static = u->kind == SSTABLE_STATIC_ROW;
    size_t ncols = is_static ? s->h->nstatic : s->h->nregular;
    uint64_t stack[4];
    uint64_t *present = PRESENT_WORDS(ncols) <= 4 ? stack : xmalloc(PRESENT_WORDS(ncols) * sizeof *present);
    size_t count;
    int complex_deleted;
    if (row_columns(u, present, ncols, &count, &complex_deleted)) {
        if (present != stack) free(present);
        return -1;
    }
    uint8_t flags = 0, ext = 0;
    if (is_static) ext |= SSTABLE_X_IS_STATIC;
    if (u->has_liveness) flags |= SSTABLE_F_HAS_TIMESTAMP;
    if (row_expiring(u)) flags |= SSTABLE_F_HAS_TTL;
    if (!wr_deletion_is_live(&u->row_deletion)) {
        flags |= SSTABLE_F_HAS_DELETION;
        if (u->shadowable) ext |= SSTABLE_X_HAS_SHADOWABLE_DELETION;
    }
    if (complex_deleted) flags |= SSTABLE_F_HAS_COMPLEX_DELETION;
    if (count == ncols) flags |= SSTABLE_F_HAS_ALL_COLUMNS;
    if (ext) flags |= SSTABLE_F_EXTENSION;
    uint8_t *p = wr_room(b, 2);
    *p++ = flags;
    if (ext) *p++ = ext;
    if (!is_static) p = put_clustering_values(s->h, b, p, u->clustering, u->nclustering);
    put_sized_body(s, b, p, u, prev_size, flags, present, ncols, count);
    if (present != stack) free(present);
    return 0;
}

static void put_marker(const wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint64_t prev_size) {
    uint8_t *p = wr_room(b, 4);
    *p++ = SSTABLE_F_IS_MARKER;
    *p++ = (uint8_t)u->bound_kind;
    p = wr_store_be16(p, (uint16_t)u->nclustering);
    p = put_clustering_values(s->h, b, p, u->clustering, u->nclustering);
    uint8_t body[4 * 9], *q = body;
    if (u->kind == SSTABLE_RT_BOUNDARY) q = put_delta_deletion(s, q, &u->end_deletion);
    q = put_delta_deletion(s, q, &u->deletion);
    size_t len = (size_t)(q - body);
    p = wr_more(b, p, 2 * 9 + len);
    p = wr_store_uvint(p, len + (uint64_t)wr_uvint_size(prev_size));
    p = wr_store_uvint(p, prev_size);
    wr_end(b, wr_store_bytes(p, body, len));
}

int wr_put_unfiltered(wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint64_t prev_size) {
    if (u->kind == SSTABLE_RT_BOUND || u->kind == SSTABLE_RT_BOUNDARY) {
        put_marker(s, b, u, prev_size);
        return 0;
    }
    if (u->kind == SSTABLE_ROW && u->nclustering != s->h->nclustering)
        return strata_fail(STRATA_EINVAL, "row with %zu clustering values, header has %zu", u->nclustering,
                           s->h->nclustering), -1;
    return put_row(s, b, u, prev_size);
}
