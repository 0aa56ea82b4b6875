/* stats.c - Statistics.db: validation, compaction, stats metadata and the
 * serialization header.
 *
 * The file starts with a table of contents (component type, offset); from
 * na on the count, the table and every component are each followed by a
 * CRC32, which are verified here.  The serialization header is the part the
 * data reader cannot do without: it names the partition key, clustering and
 * column types and holds the minimum timestamp, deletion time and TTL that
 * row fields are delta-encoded against. */
#include "engine/sstable/sstable_int.h"

#include <string.h>

enum { MD_VALIDATION, MD_COMPACTION, MD_STATS, MD_HEADER, MD_COUNT };

/* EncodingStats epochs (SerializationHeader): 2015-09-22T00:00:00Z. */
#define TIMESTAMP_EPOCH 1442880000000000LL
#define DELETION_TIME_EPOCH 1442880000LL

static uint32_t be32_at(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static char *read_vint_string(sst_cur *c) {
    uint64_t n = sst_uvint(c);
    if (n > sst_cur_left(c)) {
        c->failed = 1;
        return NULL;
    }
    const uint8_t *p = sst_take(c, (size_t)n);
    return p ? xstrndup((const char *)p, (size_t)n) : NULL;
}

static sstable_type *read_type(sst_cur *c) {
    char *name = read_vint_string(c);
    if (!name) return NULL;
    sstable_type *t = sstable_type_parse(name);
    free(name);
    if (!t) c->failed = 1;
    return t;
}

/* Columns sort as Cassandra's Columns do: simple before complex, then by
 * name bytes. */
static int column_cmp(const void *a, const void *b) {
    const sstable_column *x = a, *y = b;
    if (x->type->multicell != y->type->multicell) return x->type->multicell - y->type->multicell;
    return strcmp(x->name, y->name);
}

static int read_columns(sst_cur *c, size_t *n, sstable_column **cols) {
    uint64_t count = sst_uvint(c);
    if (count > sst_cur_left(c)) return -1;
    *cols = xcalloc(count ? count : 1, sizeof **cols);
    for (uint64_t i = 0; i < count; i++) {
        (*cols)[i].name = read_vint_string(c);
        (*cols)[i].type = (*cols)[i].name ? read_type(c) : NULL;
        *n = i + 1;
        if (!(*cols)[i].type) return -1;
    }
    qsort(*cols, *n, sizeof **cols, column_cmp);
    return 0;
}

static int parse_header(sst_cur *c, sstable_header *h) {
    h->min_timestamp = (int64_t)(sst_uvint(c) + (uint64_t)TIMESTAMP_EPOCH);
    h->min_local_deletion_time = (int64_t)sst_uvint(c) + DELETION_TIME_EPOCH;
    h->min_ttl = (int64_t)sst_uvint(c);
    h->key_type = read_type(c);
    if (!h->key_type) return -1;
    uint64_t n = sst_uvint(c);
    if (n > sst_cur_left(c)) return -1;
    h->clustering = xcalloc(n ? n : 1, sizeof *h->clustering);
    for (uint64_t i = 0; i < n; i++) {
        h->clustering[i] = read_type(c);
        h->nclustering = i + 1;
        if (!h->clustering[i]) return -1;
    }
    if (read_columns(c, &h->nstatic, &h->statics) || read_columns(c, &h->nregular, &h->regulars))
        return -1;
    return c->failed ? -1 : 0;
}

static void free_columns(sstable_column *cols, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        sstable_type_free(cols[i].type);
    }
    free(cols);
}

void sst_header_free(sstable_header *h) {
    sstable_type_free(h->key_type);
    for (size_t i = 0; i < h->nclustering; i++) sstable_type_free(h->clustering[i]);
    free(h->clustering);
    free_columns(h->statics, h->nstatic);
    free_columns(h->regulars, h->nregular);
    memset(h, 0, sizeof *h);
}

static void parse_validation(sst_cur *c, sstable_meta *m) {
    uint16_t n = sst_u16(c);
    const uint8_t *p = sst_take(c, n);
    if (p) m->partitioner = xstrndup((const char *)p, n);
    uint64_t bits = sst_u64(c);
    memcpy(&m->bloom_fp_chance, &bits, sizeof bits);
}

static size_t skip_histogram(sst_cur *c) {
    uint32_t n = sst_u32(c);
    size_t total = 0;
    if ((uint64_t)n * 16 > sst_cur_left(c)) {
        c->failed = 1;
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        sst_u64(c);
        total += (size_t)sst_u64(c);
    }
    return total;
}

static void skip_clustering_list(sst_cur *c) {
    uint32_t n = sst_u32(c);
    for (uint32_t i = 0; i < n && !c->failed; i++) sst_take(c, sst_u16(c));
}

/* oa's covered clustering slice: the clustering types (VInt-length names),
 * then a start and an end bound (kind, u16 count, values). */
static int skip_covered_slice(sst_cur *c) {
    uint64_t n = sst_uvint(c);
    if (c->failed || n > 64) return -1;
    sstable_type *types[64];
    size_t nt = 0;
    int r = 0;
    for (; nt < n; nt++)
        if (!(types[nt] = read_type(c))) {
            r = -1;
            break;
        }
    for (int b = 0; b < 2 && !r; b++) {
        sst_u8(c);
        uint16_t count = sst_u16(c);
        sstable_value vals[64];
        if (c->failed || count > nt || sst_read_clustering_values(c, types, nt, count, vals)) r = -1;
    }
    for (size_t i = 0; i < nt; i++) sstable_type_free(types[i]);
    return r;
}

static double read_double(sst_cur *c) {
    uint64_t bits = sst_u64(c);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static int64_t read_ldt(sst_cur *c, const sst_version *v) {
    uint32_t raw = sst_u32(c);
    if (v->uint_deletion_time) return raw == UINT32_MAX ? INT64_MAX : (int64_t)raw;
    return (int32_t)raw == INT32_MAX ? INT64_MAX : (int64_t)(int32_t)raw;
}

static void parse_stats(sst_cur *c, const sst_version *v, sstable_meta *m) {
    m->estimated_partitions = skip_histogram(c);
    skip_histogram(c);
    sst_take(c, 12); /* commit log upper bound */
    m->min_timestamp = (int64_t)sst_u64(c);
    m->max_timestamp = (int64_t)sst_u64(c);
    m->min_local_deletion_time = read_ldt(c, v);
    m->max_local_deletion_time = read_ldt(c, v);
    m->min_ttl = (int32_t)sst_u32(c);
    m->max_ttl = (int32_t)sst_u32(c);
    m->compression_ratio = read_double(c);
    /* tombstone drop-time histogram: (double, long) bins, (int, int) from oa */
    sst_u32(c);
    uint32_t bins = sst_u32(c);
    size_t bin_size = v->uint_deletion_time ? 8 : 16;
    if ((uint64_t)bins * bin_size > sst_cur_left(c)) c->failed = 1;
    else sst_take(c, (size_t)bins * bin_size);
    m->sstable_level = (int32_t)sst_u32(c);
    m->repaired_at = (int64_t)sst_u64(c);
    if (v->legacy_min_max) {
        skip_clustering_list(c);
        skip_clustering_list(c);
    } else if (skip_covered_slice(c) != 0) {
        return;
    }
    m->has_legacy_counter_shards = sst_u8(c) != 0;
    m->total_columns_set = (int64_t)sst_u64(c);
    m->total_rows = (int64_t)sst_u64(c);
    if (v->commitlog_lower_bound) sst_take(c, 12);
    if (v->commitlog_intervals) {
        uint32_t n = sst_u32(c);
        if ((uint64_t)n * 24 > sst_cur_left(c)) c->failed = 1;
        else sst_take(c, (size_t)n * 24);
    }
    if (v->pending_repair && sst_u8(c)) {
        const uint8_t *p = sst_take(c, 16);
        if (p) memcpy(m->pending_repair, p, 16), m->has_pending_repair = 1;
    }
    if (v->is_transient) m->is_transient = sst_u8(c) != 0;
    if (v->host_id && sst_u8(c)) {
        const uint8_t *p = sst_take(c, 16);
        if (p) memcpy(m->host_id, p, 16), m->has_host_id = 1;
    }
    if (v->partition_deletion_marker) sst_u8(c);
    if (v->improved_min_max && v->legacy_min_max && skip_covered_slice(c) != 0) return;
    if (v->key_range) {
        sst_take(c, (size_t)sst_uvint(c));
        sst_take(c, (size_t)sst_uvint(c));
    }
    if (v->token_space_coverage) sst_u64(c);
    m->stats_complete = !c->failed && sst_cur_left(c) == 0;
}

strata_err sst_stats_read(const sstable_vfs *vfs, const char *path, const sst_version *v, sstable_meta *m,
                          sstable_header *h) {
    uint8_t *buf;
    size_t len;
    strata_err e = sst_read_file(vfs, path, &buf, &len);
    if (e) return e;
    sst_cur c;
    sst_cur_init(&c, buf, len);
    uint32_t count = sst_u32(&c);
    size_t toc_len = 4 + (size_t)count * 8;
    if (c.failed || count > 16 || len < toc_len + (v->metadata_checksum ? 8 : 0)) {
        free(buf);
        return strata_fail(STRATA_ECORRUPT, "%s: offset 0: bad metadata table of contents", path);
    }
    if (v->metadata_checksum) {
        uint32_t crc_count = be32_at(buf + 4);
        uint32_t crc_toc = be32_at(buf + 8 + count * 8);
        uint8_t tmp[4 + 16 * 8];
        memcpy(tmp, buf, 4);
        memcpy(tmp + 4, buf + 8, count * 8);
        if (strata_crc32(0, buf, 4) != crc_count || strata_crc32(0, tmp, toc_len) != crc_toc) {
            free(buf);
            return strata_fail(STRATA_ECORRUPT, "%s: offset 0: metadata table of contents checksum mismatch", path);
        }
    }
    size_t entries = v->metadata_checksum ? 8 : 4;
    uint32_t types[16], offs[16];
    for (uint32_t i = 0; i < count; i++) {
        types[i] = be32_at(buf + entries + i * 8);
        offs[i] = be32_at(buf + entries + i * 8 + 4);
    }
    int have_header = 0;
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t j = 0; j < i; j++)
            if (types[j] == types[i]) {
                free(buf);
                sst_header_free(h);
                return strata_fail(STRATA_ECORRUPT, "%s: offset %zu: metadata component %u listed twice",
                                   path, entries + i * 8, types[i]);
            }
        size_t end = i + 1 < count ? offs[i + 1] : len;
        size_t csum = v->metadata_checksum ? 4 : 0;
        if (offs[i] > end || end > len || end - offs[i] < csum || types[i] >= MD_COUNT) {
            free(buf);
            return strata_fail(STRATA_ECORRUPT, "%s: offset %u: bad metadata component bounds", path, offs[i]);
        }
        size_t clen = end - offs[i] - csum;
        const uint8_t *cp = buf + offs[i];
        if (csum && strata_crc32(0, cp, clen) != be32_at(cp + clen)) {
            free(buf);
            return strata_fail(STRATA_ECORRUPT, "%s: offset %zu: metadata component %u checksum mismatch",
                               path, clen + offs[i], types[i]);
        }
        sst_cur cc;
        sst_cur_init(&cc, cp, clen);
        switch (types[i]) {
        case MD_VALIDATION: parse_validation(&cc, m); break;
        case MD_STATS: parse_stats(&cc, v, m); break;
        case MD_HEADER:
            if (parse_header(&cc, h) != 0) {
                free(buf);
                sst_header_free(h);
                return strata_fail(STRATA_ECORRUPT, "%s: offset %u: malformed serialization header",
                                   path, offs[i] + (unsigned)sst_cur_pos(&cc));
            }
            have_header = 1;
            break;
        default: break;
        }
    }
    free(buf);
    if (!have_header)
        return strata_fail(STRATA_ECORRUPT, "%s: no serialization header", path);
    return STRATA_OK;
}
