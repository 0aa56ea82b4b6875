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

static void put_timestamp(const wr_serializer *s, strata_buf *b, int64_t ts) {
    wr_uvint(b, (uint64_t)ts - (uint64_t)s->h->min_timestamp);
}

/* Before oa the delta is a Java int widened to long (sign-extended); from
 * oa deletion times are unsigned and the delta is taken as unsigned too. */
static void put_ldt(const wr_serializer *s, strata_buf *b, int64_t ldt) {
    uint32_t delta = ldt32(s->oa, ldt) - (uint32_t)s->h->min_local_deletion_time;
    wr_uvint(b, s->oa ? (uint64_t)delta : (uint64_t)(int64_t)(int32_t)delta);
}

static void put_ttl(const wr_serializer *s, strata_buf *b, int32_t ttl) {
    uint32_t delta = (uint32_t)ttl - (uint32_t)s->h->min_ttl;
    wr_uvint(b, (uint64_t)(int64_t)(int32_t)delta);
}

static void put_delta_deletion(const wr_serializer *s, strata_buf *b, const sstable_deletion *d) {
    put_timestamp(s, b, d->marked_for_delete_at);
    put_ldt(s, b, d->local_deletion_time);
}

void wr_put_partition_header(wr_serializer *s, strata_buf *b, const uint8_t *key, size_t len,
                             const sstable_deletion *d) {
    wr_u16(b, (uint16_t)len);
    strata_buf_put(b, key, len);
    wr_put_deletion(b, s->oa, d);
}

static void put_value(strata_buf *b, const sstable_type *t, const sstable_value *v) {
    if (t->fixed_len < 0) wr_uvint(b, v->len);
    strata_buf_put(b, v->p, v->len);
}

/* Clustering values in blocks of 32, each after a header of two bits per
 * value: empty (bit 2i) or null (bit 2i+1). */
static void put_clustering_values(const sstable_header *h, strata_buf *b, const sstable_value *v, size_t n) {
    for (size_t start = 0; start < n; start += 32) {
        size_t end = n - start > 32 ? start + 32 : n;
        uint64_t header = 0;
        for (size_t i = start; i < end; i++) {
            unsigned shift = (unsigned)(i - start) * 2;
            if (!v[i].p) header |= 2ULL << shift;
            else if (v[i].len == 0) header |= 1ULL << shift;
        }
        wr_uvint(b, header);
        for (size_t i = start; i < end; i++)
            if (v[i].p && v[i].len) put_value(b, h->clustering[i], &v[i]);
    }
}

void wr_put_clustering_prefix(const sstable_header *h, strata_buf *b, sstable_bound_kind kind,
                              const sstable_value *v, size_t n) {
    wr_u8(b, (uint8_t)kind);
    if (kind != SSTABLE_CLUSTERING) wr_u16(b, (uint16_t)n);
    put_clustering_values(h, b, v, n);
}

static int row_expiring(const sstable_unfiltered *u) {
    return u->has_liveness && (u->ttl != 0 || u->local_expiration != INT64_MAX);
}

static void put_cell(const wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, const sstable_cell *c) {
    int expiring = !c->deleted && c->expiring;
    int row_ts = u->has_liveness && c->timestamp == u->timestamp;
    int row_ttl = expiring && row_expiring(u) && c->ttl == u->ttl && c->local_deletion_time == u->local_expiration;
    uint8_t flags = 0;
    if (c->value.len == 0) flags |= SSTABLE_C_HAS_EMPTY_VALUE;
    if (c->deleted) flags |= SSTABLE_C_IS_DELETED;
    else if (expiring) flags |= SSTABLE_C_IS_EXPIRING;
    if (row_ts) flags |= SSTABLE_C_USE_ROW_TIMESTAMP;
    if (row_ttl) flags |= SSTABLE_C_USE_ROW_TTL;
    wr_u8(b, flags);
    if (!row_ts) put_timestamp(s, b, c->timestamp);
    if ((c->deleted || expiring) && !row_ttl) put_ldt(s, b, c->local_deletion_time);
    if (expiring && !row_ttl) put_ttl(s, b, c->ttl);
    const sstable_type *t = c->column->type;
    if (t->multicell) {
        wr_uvint(b, c->path.len);
        strata_buf_put(b, c->path.p, c->path.len);
    }
    if (c->value.len) {
        if (t->multicell || t->fixed_len < 0) wr_uvint(b, c->value.len);
        strata_buf_put(b, c->value.p, c->value.len);
    }
}

/* Columns.serializeSubset: a bitmap of the missing columns below 64
 * columns, else the missing count and the smaller list of indexes. */
static void put_column_subset(strata_buf *b, const uint8_t *present, size_t ncols, size_t count) {
    if (ncols < 64) {
        uint64_t missing = 0;
        for (size_t i = 0; i < ncols; i++)
            if (!present[i]) missing |= 1ULL << i;
        wr_uvint(b, missing);
        return;
    }
    wr_uvint(b, ncols - count);
    int list_present = count < ncols / 2;
    for (size_t i = 0; i < ncols; i++)
        if ((present[i] != 0) == list_present) wr_uvint(b, i);
}

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

static const sstable_deletion *complex_deletion(const sstable_unfiltered *u, size_t col) {
    for (size_t i = 0; i < u->ncomplex_deletions; i++)
        if (u->complex_deletions[i].column_index == col) return &u->complex_deletions[i].deletion;
    return &LIVE;
}

static int put_row_body(wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint8_t flags,
                        const uint8_t *present, size_t ncols, size_t count) {
    int is_static = u->kind == SSTABLE_STATIC_ROW;
    const sstable_column *cols = is_static ? s->h->statics : s->h->regulars;
    if (flags & SSTABLE_F_HAS_TIMESTAMP) put_timestamp(s, b, u->timestamp);
    if (flags & SSTABLE_F_HAS_TTL) {
        put_ttl(s, b, u->ttl);
        put_ldt(s, b, u->local_expiration);
    }
    if (flags & SSTABLE_F_HAS_DELETION) put_delta_deletion(s, b, &u->row_deletion);
    if (!(flags & SSTABLE_F_HAS_ALL_COLUMNS)) put_column_subset(b, present, ncols, count);
    size_t ci = 0;
    for (size_t col = 0; col < ncols; col++) {
        if (!present[col]) continue;
        if (!cols[col].type->multicell) {
            put_cell(s, b, u, &u->cells[ci++]);
            continue;
        }
        if (flags & SSTABLE_F_HAS_COMPLEX_DELETION) put_delta_deletion(s, b, complex_deletion(u, col));
        size_t first = ci;
        while (ci < u->ncells && u->cells[ci].column_index == col) ci++;
        wr_uvint(b, ci - first);
        for (size_t i = first; i < ci; i++) put_cell(s, b, u, &u->cells[i]);
    }
    return 0;
}

/* Which columns the row holds: those with cells or a complex deletion.
 * Cells must come in header column order. */
static int row_columns(const sstable_unfiltered *u, uint8_t *present, size_t ncols,
                       size_t *count, int *complex_deleted) {
    memset(present, 0, ncols);
    *complex_deleted = 0;
    size_t last = 0;
    for (size_t i = 0; i < u->ncells; i++) {
        size_t col = u->cells[i].column_index;
        if (col >= ncols || col < last)
            return strata_fail(STRATA_EINVAL, "row cells out of header column order"), -1;
        present[col] = 1;
        last = col;
    }
    for (size_t i = 0; i < u->ncomplex_deletions; i++) {
        size_t col = u->complex_deletions[i].column_index;
        if (col >= ncols) return strata_fail(STRATA_EINVAL, "complex deletion of an unknown column"), -1;
        present[col] = 1;
        if (!wr_deletion_is_live(&u->complex_deletions[i].deletion)) *complex_deleted = 1;
    }
    *count = 0;
    for (size_t i = 0; i < ncols; i++) *count += present[i];
    return 0;
}

static int put_row(wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint64_t prev_size) {
    int is_static = u->kind == SSTABLE_STATIC_ROW;
    size_t ncols = is_static ? s->h->nstatic : s->h->nregular;
    uint8_t stack[256];
    uint8_t *present = ncols <= sizeof stack ? stack : xmalloc(ncols);
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
    wr_u8(b, flags);
    if (ext) wr_u8(b, ext);
    if (!is_static) put_clustering_values(s->h, b, u->clustering, u->nclustering);
    s->body.len = 0;
    int r = put_row_body(s, &s->body, u, flags, present, ncols, count);
    if (present != stack) free(present);
    if (r) return r;
    wr_uvint(b, s->body.len + (uint64_t)wr_uvint_size(prev_size));
    wr_uvint(b, prev_size);
    strata_buf_put(b, s->body.data, s->body.len);
    return 0;
}

static void put_marker(wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint64_t prev_size) {
    wr_u8(b, SSTABLE_F_IS_MARKER);
    wr_u8(b, (uint8_t)u->bound_kind);
    wr_u16(b, (uint16_t)u->nclustering);
    put_clustering_values(s->h, b, u->clustering, u->nclustering);
    s->body.len = 0;
    if (u->kind == SSTABLE_RT_BOUNDARY) put_delta_deletion(s, &s->body, &u->end_deletion);
    put_delta_deletion(s, &s->body, &u->deletion);
    wr_uvint(b, s->body.len + (uint64_t)wr_uvint_size(prev_size));
    wr_uvint(b, prev_size);
    strata_buf_put(b, s->body.data, s->body.len);
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
