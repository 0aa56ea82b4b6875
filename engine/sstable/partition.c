/* partition.c - decoding Data.db: partition headers and unfiltereds.
 *
 * A partition is its key (u16 length + bytes), its partition deletion, the
 * unfiltereds (rows and range tombstone markers, a static row first when
 * the table has static columns) and an end-of-partition flag byte.  Each
 * unfiltered starts with a flags byte, then its clustering, then (in
 * SSTables) the size of its body, which lets the decoder ask the window for
 * exactly the bytes it needs.  Timestamps, TTLs and deletion times are
 * unsigned VInt deltas from the serialization header's minimums.
 *
 * Decoders run over the window and answer "need more" when an item crosses
 * its end; the caller loads more chunks and decodes the item again. */
#include "engine/sstable/sstable_int.h"

#include <string.h>

/* Decoder outcomes besides success (0). */
enum { D_NEED_MORE = 1, D_CORRUPT = 2 };

typedef struct {
    sstable *s;
    sst_cur c;
    size_t need;          /* D_NEED_MORE: bytes wanted from the item start */
    const char *what;     /* D_CORRUPT: what was wrong */
    size_t where;         /* D_CORRUPT: offset inside the item */
} decoder;

/* Damage found at `at`, inside the item the decoder's cursor started at. */
static int corrupt_at(decoder *d, const uint8_t *at, const char *what) {
    d->what = what;
    d->where = (size_t)(at - d->c.start);
    return D_CORRUPT;
}

static int corrupt(decoder *d, const char *what) { return corrupt_at(d, d->c.p, what); }

static int short_read(decoder *d, size_t need) {
    d->need = need;
    return D_NEED_MORE;
}

int sstable_deletion_is_live(const sstable_deletion *d) {
    return d->marked_for_delete_at == INT64_MIN && d->local_deletion_time == INT64_MAX;
}

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

int sst_read_deletion(sst_cur *c, const sst_version *v, sstable_deletion *d) {
    if (v->uint_deletion_time) {
        if (sst_cur_left(c) < 1) return (c->failed = 1), -1;
        if (*c->p & 0x80) {
            if (*c->p != 0x80) return -1;
            c->p++;
            *d = LIVE;
            return 0;
        }
        d->marked_for_delete_at = (int64_t)sst_u64(c);
        d->local_deletion_time = sst_u32(c);
        return c->failed ? -1 : 0;
    }
    int32_t ldt = (int32_t)sst_u32(c);
    int64_t mfda = (int64_t)sst_u64(c);
    if (c->failed) return -1;
    if (ldt == INT32_MAX && mfda == INT64_MIN) *d = LIVE;
    else d->marked_for_delete_at = mfda, d->local_deletion_time = ldt;
    return 0;
}

/* Local deletion times are 32-bit: signed before oa (wrapping like Java's
 * int arithmetic), unsigned from oa on. */
static int64_t ldt_from(const sstable *s, uint64_t delta) {
    uint64_t sum = delta + (uint64_t)s->header.min_local_deletion_time;
    if (s->v.uint_deletion_time) return (int64_t)(uint32_t)sum;
    return (int64_t)(int32_t)(uint32_t)sum;
}

/* A deletion written against the encoding stats, read at cursor c (the
 * decoder's, or read_cells()'s local copy of it). */
static inline int read_delta_deletion(decoder *d, sst_cur *c, sstable_deletion *del) {
    del->marked_for_delete_at = (int64_t)(sst_uvint(c) + (uint64_t)d->s->header.min_timestamp);
    del->local_deletion_time = ldt_from(d->s, sst_uvint(c));
    if (!d->s->v.uint_deletion_time && del->local_deletion_time < 0)
        return corrupt_at(d, c->p, "invalid deletion: negative local deletion time");
    return 0;
}

int sst_read_clustering_values(sst_cur *c, sstable_type *const *types, size_t ntypes,
                               size_t n, sstable_value *out) {
    uint64_t header = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 32 == 0) header = sst_uvint(c);
        int bits = (int)(header >> ((i % 32) * 2)) & 3;
        if (i >= ntypes) return -1;
        if (bits & 2) {
            out[i].p = NULL, out[i].len = 0;
        } else if (bits & 1) {
            out[i].p = c->p, out[i].len = 0;
        } else {
            size_t len;
            if (types[i]->fixed_len >= 0) {
                len = (size_t)types[i]->fixed_len;
            } else {
                uint64_t l = sst_uvint(c);
                if (l > sst_cur_left(c)) return (c->failed = 1), -1;
                len = (size_t)l;
            }
            out[i].len = len;
            out[i].p = sst_take(c, len);
        }
        if (c->failed) return -1;
    }
    return 0;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    *cap = n;
    return xrealloc(p, n * size);
}

static int read_clustering(decoder *d, size_t n) {
    sstable *s = d->s;
    sst_scratch *sc = &s->scratch;
    sc->clustering = grow(sc->clustering, &sc->clustering_cap, n ? n : 1, sizeof *sc->clustering);
    if (n > s->header.nclustering) return corrupt(d, "more clustering values than clustering columns");
    if (sst_read_clustering_values(&d->c, s->header.clustering, s->header.nclustering, n, sc->clustering)) {
        if (d->c.failed) return short_read(d, sst_cur_pos(&d->c) + 4096);
        return corrupt(d, "malformed clustering");
    }
    s->unf.clustering = sc->clustering;
    s->unf.nclustering = n;
    return 0;
}

/* Reads the body size VInt and the previous-unfiltered size, and checks the
 * body is in the window; sets *end to the body's end. */
static int read_sizes(decoder *d, const uint8_t **end) {
    uint64_t body = sst_uvint(&d->c);
    const uint8_t *body_start = d->c.p;
    sst_uvint(&d->c);
    if (d->c.failed) return short_read(d, sst_cur_pos(&d->c) + 32);
    if (body > SST_MAX_UNFILTERED) return corrupt(d, "absurd unfiltered size");
    size_t need = (size_t)(body_start - d->c.start) + (size_t)body;
    if ((size_t)(d->c.end - d->c.start) < need) return short_read(d, need);
    if ((size_t)(d->c.p - body_start) > body) return corrupt(d, "unfiltered size smaller than its header");
    *end = body_start + body;
    d->c.end = *end;
    return 0;
}

static int read_marker(decoder *d) {
    sstable_unfiltered *u = &d->s->unf;
    uint8_t kind = sst_u8(&d->c);
    uint16_t n = sst_u16(&d->c);
    if (d->c.failed) return short_read(d, 64);
    if (kind > 7 || kind == SSTABLE_CLUSTERING || kind == SSTABLE_STATIC_CLUSTERING)
        return corrupt(d, "bad range tombstone bound kind");
    u->bound_kind = (sstable_bound_kind)kind;
    int r = read_clustering(d, n);
    const uint8_t *end;
    if (r || (r = read_sizes(d, &end))) return r;
    int boundary = kind == SSTABLE_EXCL_END_INCL_START_BOUNDARY || kind == SSTABLE_INCL_END_EXCL_START_BOUNDARY;
    u->kind = boundary ? SSTABLE_RT_BOUNDARY : SSTABLE_RT_BOUND;
    u->end_deletion = LIVE;
    if (boundary && (r = read_delta_deletion(d, &d->c, &u->end_deletion))) return r;
    if ((r = read_delta_deletion(d, &d->c, &u->deletion))) return r;
    if (d->c.failed || d->c.p != end) return corrupt(d, "range tombstone marker size mismatch");
    return 0;
}

/* Which columns of the superset the row holds (Columns.serializeSubset):
 * fewer than 64 columns: a bitmap of the missing ones, which
 * read_small_row() reads; otherwise the count missing and then either the
 * present or the missing indexes. */
static int read_column_subset(decoder *d, size_t superset, uint8_t *present) {
    uint64_t enc = sst_uvint(&d->c);
    if (enc == 0) {
        memset(present, 1, superset);
        return 0;
    }
    if (enc > superset) return corrupt(d, "column subset larger than the header");
    size_t missing = (size_t)enc, count = superset - missing;
    if (count < superset / 2) {
        memset(present, 0, superset);
        for (size_t i = 0; i < count; i++) {
            uint64_t idx = sst_uvint(&d->c);
            if (idx >= superset) return corrupt(d, "column index out of range");
            present[idx] = 1;
        }
    } else {
        memset(present, 1, superset);
        for (size_t i = 0; i < missing; i++) {
            uint64_t idx = sst_uvint(&d->c);
            if (idx >= superset) return corrupt(d, "column index out of range");
            present[idx] = 0;
        }
    }
    return d->c.failed ? corrupt(d, "column subset past the row end") : 0;
}

static void add_complex_deletion(sstable *s, size_t col, sstable_deletion del) {
    s->scratch.cdel =
        grow(s->scratch.cdel, &s->scratch.cdel_cap, s->unf.ncomplex_deletions + 1, sizeof *s->scratch.cdel);
    s->scratch.cdel[s->unf.ncomplex_deletions++] = (sstable_complex_deletion){col, del};
}

/* The cells of the columns `list[0..n)` of a row (a complex column's
 * deletion and cells, a simple column's one cell), in one loop with the
 * cursor in a local: the decoder's lives in memory, where every store of
 * a pointer into a cell may alias it and reload it, and a call per cell
 * cost as much as decoding it.  The local only goes to the inline cursor
 * functions, so it stays in registers.  Each cell is decoded into locals
 * and stored once: loads of fields just stored one by one span several
 * stores, which the CPU cannot forward. */
static int read_cells(decoder *d, uint8_t rflags, int is_static, const sstable_column *cols, const size_t *list,
                      size_t n) {
    sstable *s = d->s;
    const sstable_unfiltered *u = &s->unf;
    const int32_t *layout = s->column_layout[is_static != 0];
    sst_cur c = d->c;
    for (size_t k = 0; k < n; k++) {
        size_t col = list[k];
        const sstable_column *column = &cols[col];
        int32_t fixed_len = layout[col];
        int multicell = fixed_len == SST_LAYOUT_MULTICELL;
        uint64_t count = 1;
        if (multicell) {
            if (rflags & SSTABLE_F_HAS_COMPLEX_DELETION) {
                sstable_deletion del;
                int r = read_delta_deletion(d, &c, &del);
                if (r) return r;
                add_complex_deletion(s, col, del);
            }
            count = sst_uvint(&c);
            if (count > sst_cur_left(&c)) return corrupt_at(d, c.p, "complex cell count past the row end");
        }
        for (; count; count--) {
            uint8_t flags = sst_u8(&c);
            int deleted = flags & SSTABLE_C_IS_DELETED;
            int expiring = (flags & SSTABLE_C_IS_EXPIRING) != 0;
            int64_t timestamp = flags & SSTABLE_C_USE_ROW_TIMESTAMP
                                    ? u->timestamp
                                    : (int64_t)(sst_uvint(&c) + (uint64_t)s->header.min_timestamp);
            int64_t local_deletion_time;
            int32_t ttl;
            if (flags & SSTABLE_C_USE_ROW_TTL) {
                local_deletion_time = u->local_expiration;
                ttl = u->ttl;
            } else {
                local_deletion_time = deleted || expiring ? ldt_from(s, sst_uvint(&c)) : INT64_MAX;
                ttl = expiring ? (int32_t)(uint32_t)(sst_uvint(&c) + (uint64_t)s->header.min_ttl) : 0;
            }
            if (deleted && !s->v.uint_deletion_time && local_deletion_time < 0)
                return corrupt_at(d, c.p, "invalid cell tombstone: negative local deletion time");
            sstable_value path = {NULL, 0}, value;
            if (multicell) {
                uint64_t plen = sst_uvint(&c);
                if (plen > sst_cur_left(&c)) return corrupt_at(d, c.p, "cell path past the row end");
                path.len = (size_t)plen;
                path.p = sst_take(&c, (size_t)plen);
            }
            if (flags & SSTABLE_C_HAS_EMPTY_VALUE) {
                value.p = c.p;
                value.len = 0;
                if (c.failed) return corrupt_at(d, c.p, "cell past the row end");
            } else {
                /* a multi-cell column's values are written with the
                 * collection type, which has no fixed length, whatever the
                 * element type */
                size_t len = (size_t)fixed_len;
                if (fixed_len < 0) {
                    uint64_t l = sst_uvint(&c);
                    if (l > sst_cur_left(&c) || l > INT32_MAX)
                        return corrupt_at(d, c.p, "value length past the item end");
                    len = (size_t)l;
                }
                value.p = sst_take(&c, len);
                value.len = len;
                if (!value.p) return corrupt_at(d, c.p, "value past the item end");
            }
            if (s->unf.ncells == s->scratch.cells_cap)
                s->scratch.cells =
                    grow(s->scratch.cells, &s->scratch.cells_cap, s->unf.ncells + 1, sizeof *s->scratch.cells);
            s->scratch.cells[s->unf.ncells++] = (sstable_cell){.column = column,
                                                               .is_static = is_static,
                                                               .column_index = col,
                                                               .deleted = deleted,
                                                               .expiring = expiring,
                                                               .timestamp = timestamp,
                                                               .ttl = ttl,
                                                               .local_deletion_time = local_deletion_time,
                                                               .path = path,
                                                               .value = value};
        }
    }
    d->c = c;
    return 0;
}

/* The cells of a row of fewer than 64 columns: the present ones are the
 * bits of a mask, walked lowest first, so no branch asks column by column
 * whether it is there. */
static int read_small_row(decoder *d, uint8_t flags, int is_static, const sstable_column *cols, size_t ncols) {
    uint64_t present = ncols ? UINT64_MAX >> (64 - ncols) : 0;
    if (!(flags & SSTABLE_F_HAS_ALL_COLUMNS)) {
        uint64_t missing = sst_uvint(&d->c);
        if (missing >> ncols) return corrupt(d, "column bitmap names more columns than the header");
        present &= ~missing;
    }
    size_t list[64], n = 0;
    for (; present; present &= present - 1) list[n++] = (size_t)__builtin_ctzll(present);
    return read_cells(d, flags, is_static, cols, list, n);
}

/* The cells of a row of 64 columns or more, whose subset lists indexes. */
static int read_large_row(decoder *d, uint8_t flags, int is_static, const sstable_column *cols, size_t ncols) {
    int r = 0;
    uint8_t stack_present[256];
    uint8_t *present = ncols <= sizeof stack_present ? stack_present : xmalloc(ncols);
    if (flags & SSTABLE_F_HAS_ALL_COLUMNS) memset(present, 1, ncols);
    else r = read_column_subset(d, ncols, present);
    size_t *list = xmalloc(ncols * sizeof *list), n = 0;
    for (size_t i = 0; i < ncols; i++)
        if (present[i]) list[n++] = i;
    if (!r) r = read_cells(d, flags, is_static, cols, list, n);
    if (present != stack_present) free(present);
    free(list);
    return r;
}

static int read_row(decoder *d, uint8_t flags, uint8_t ext) {
    sstable *s = d->s;
    sstable_unfiltered *u = &s->unf;
    int is_static = ext & SSTABLE_X_IS_STATIC;
    int r;
    u->kind = is_static ? SSTABLE_STATIC_ROW : SSTABLE_ROW;
    u->bound_kind = is_static ? SSTABLE_STATIC_CLUSTERING : SSTABLE_CLUSTERING;
    if (is_static) u->nclustering = 0, u->clustering = NULL;
    else if ((r = read_clustering(d, s->header.nclustering))) return r;
    const uint8_t *end;
    if ((r = read_sizes(d, &end))) return r;
    u->has_liveness = (flags & SSTABLE_F_HAS_TIMESTAMP) != 0;
    u->timestamp = INT64_MIN;
    u->ttl = 0;
    u->local_expiration = INT64_MAX;
    if (u->has_liveness) {
        u->timestamp = (int64_t)(sst_uvint(&d->c) + (uint64_t)s->header.min_timestamp);
        if (flags & SSTABLE_F_HAS_TTL) {
            u->ttl = (int32_t)(uint32_t)(sst_uvint(&d->c) + (uint64_t)s->header.min_ttl);
            u->local_expiration = ldt_from(s, sst_uvint(&d->c));
        }
    }
    u->row_deletion = LIVE;
    u->shadowable = (ext & SSTABLE_X_HAS_SHADOWABLE_DELETION) != 0;
    if ((flags & SSTABLE_F_HAS_DELETION) && (r = read_delta_deletion(d, &d->c, &u->row_deletion))) return r;
    size_t ncols = is_static ? s->header.nstatic : s->header.nregular;
    const sstable_column *cols = is_static ? s->header.statics : s->header.regulars;
    if (ncols < 64) r = read_small_row(d, flags, is_static, cols, ncols);
    else r = read_large_row(d, flags, is_static, cols, ncols);
    if (r) return r;
    if (d->c.failed || d->c.p != end) return corrupt(d, "row size does not match its content");
    u->cells = s->scratch.cells;
    u->complex_deletions = s->scratch.cdel;
    return 0;
}

static int decode_unfiltered(decoder *d, int *end_of_partition) {
    sstable_unfiltered *u = &d->s->unf;
    uint8_t flags = sst_u8(&d->c);
    if (d->c.failed) return short_read(d, 1);
    if (flags & SSTABLE_F_END_OF_PARTITION) {
        *end_of_partition = 1;
        return 0;
    }
    uint8_t ext = 0;
    if (flags & SSTABLE_F_EXTENSION) {
        ext = sst_u8(&d->c);
        if (d->c.failed) return short_read(d, 2);
    }
    u->ncells = 0;
    u->ncomplex_deletions = 0;
    u->cells = NULL;
    u->complex_deletions = NULL;
    u->deletion = u->end_deletion = u->row_deletion = LIVE;
    u->has_liveness = 0;
    u->timestamp = INT64_MIN;
    u->ttl = 0;
    u->local_expiration = INT64_MAX;
    u->shadowable = 0;
    if (flags & SSTABLE_F_IS_MARKER) return read_marker(d);
    return read_row(d, flags, ext);
}

static strata_err decode_error(sstable *s, decoder *d) {
    return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: %s", s->data.path,
                       (unsigned long long)(sst_data_tell(&s->data) + d->where), d->what);
}

strata_err sst_stream_next_unfiltered(sstable *s, int *end) {
    *end = 0;
    size_t want = 64;
    for (;;) {
        size_t avail;
        strata_err e = sst_data_fill(&s->data, want, &avail);
        if (e) return e;
        decoder d = {.s = s};
        const uint8_t *p = s->data.win + s->data.cur;
        sst_cur_init(&d.c, p, avail);
        int r = decode_unfiltered(&d, end);
        if (r == 0) {
            size_t used = *end ? 1 : (size_t)(d.c.p - p);
            s->unf.offset = sst_data_tell(&s->data);
            s->unf.raw = p;
            s->unf.raw_len = used;
            s->data.cur += used;
            return STRATA_OK;
        }
        if (r == D_CORRUPT) return decode_error(s, &d);
        if (avail < want)
            return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: truncated unfiltered (%zu bytes left)",
                               s->data.path, (unsigned long long)sst_data_tell(&s->data), avail);
        want = d.need > avail ? d.need : avail * 2;
    }
}

strata_err sst_stream_next_partition(sstable *s) {
    size_t avail;
    strata_err e = sst_data_fill(&s->data, 2, &avail);
    if (e) return e;
    if (avail == 0) {
        s->at_end = 1;
        return STRATA_OK;
    }
    uint64_t off = sst_data_tell(&s->data);
    const uint8_t *p = s->data.win + s->data.cur;
    size_t klen = avail >= 2 ? (size_t)p[0] << 8 | p[1] : 0;
    size_t need = 2 + klen + 12;
    if ((e = sst_data_fill(&s->data, need, &avail))) return e;
    p = s->data.win + s->data.cur;
    sst_cur c;
    sst_cur_init(&c, p, avail);
    sst_take(&c, 2 + klen);
    if (c.failed)
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: truncated partition key", s->data.path,
                           (unsigned long long)off);
    if (sst_read_deletion(&c, &s->v, &s->part.deletion) != 0)
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: malformed partition deletion", s->data.path,
                           (unsigned long long)(off + 2 + klen));
    if (!s->v.uint_deletion_time && !sstable_deletion_is_live(&s->part.deletion) &&
        s->part.deletion.local_deletion_time < 0)
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: invalid partition deletion: negative local deletion time %lld",
                           s->data.path, (unsigned long long)(off + 2 + klen),
                           (long long)s->part.deletion.local_deletion_time);
    if (s->key_cap < klen + 1) {
        s->key_cap = klen + 1;
        s->key_copy = xrealloc(s->key_copy, s->key_cap);
    }
    memcpy(s->key_copy, p + 2, klen);
    s->part.key = s->key_copy;
    s->part.key_len = klen;
    s->part.token = sstable_murmur3_token(s->key_copy, klen);
    s->part.offset = off;
    s->data.cur += sst_cur_pos(&c);
    s->in_partition = 1;
    return STRATA_OK;
}
