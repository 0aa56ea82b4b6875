/* params.c - the writer parameters that reproduce an existing SSTable.
 *
 * Most come from the reader's metadata.  Two things the reader does not
 * hand out are read here from the component files themselves: the
 * compressor options, max compressed length and chunk count
 * (CompressionInfo.db) and the commit log positions of Statistics.db's stats
 * component (upper bound, lower bound and the covered intervals), which
 * Cassandra copies from the memtable and the data cannot tell. */
#include "engine/writer/writer_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

struct sstable_writer_owned {
    char **options;      /* key, value, ..., NULL */
    const char **toc;    /* the reader's TOC.txt lines, NULL-terminated */
    sstable_writer_position *intervals;
};

typedef struct {
    const uint8_t *p, *end;
    int failed;
} cursor;

static uint64_t be(cursor *c, int n) {
    if (c->failed || c->end - c->p < n) {
        c->failed = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | *c->p++;
    return v;
}

static const uint8_t *take(cursor *c, uint64_t n) {
    if (c->failed || (uint64_t)(c->end - c->p) < n) {
        c->failed = 1;
        return NULL;
    }
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}

/* Reads one component of `s` whole; *path names it for messages. */
static strata_err read_component(sstable *s, const char *name, const char **path, uint8_t **buf, size_t *len) {
    *path = sstable_component_path(s, name);
    FILE *f = fopen(*path, "rb");
    if (!f) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s: open", *path);
    strata_buf b;
    strata_buf_init(&b);
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) strata_buf_put(&b, tmp, n);
    int err = ferror(f);
    fclose(f);
    if (err) {
        strata_buf_free(&b);
        return strata_fail(STRATA_EIO, "%s: read error", *path);
    }
    *buf = b.data;
    *len = b.len;
    return STRATA_OK;
}

/* The options, and whether the chunk list ends with an empty chunk. */
static strata_err read_compression_info(sstable *s, const wr_version *v, sstable_writer_params *p,
                                        struct sstable_writer_owned *o) {
    uint8_t *buf;
    size_t len;
    const char *path;
    strata_err e = read_component(s, "CompressionInfo.db", &path, &buf, &len);
    if (e) return e;
    cursor c = {buf, buf + len, 0};
    take(&c, be(&c, 2));
    uint32_t n = (uint32_t)be(&c, 4);
    if (n > 64) c.failed = 1;
    o->options = xcalloc(2 * (size_t)(c.failed ? 0 : n) + 1, sizeof *o->options);
    for (uint32_t i = 0; i < 2 * n && !c.failed; i++) {
        uint16_t l = (uint16_t)be(&c, 2);
        const uint8_t *q = take(&c, l);
        if (q) o->options[i] = xstrndup((const char *)q, l);
    }
    uint32_t chunk = (uint32_t)be(&c, 4);
    if (v->na) p->max_compressed_length = (uint32_t)be(&c, 4);
    uint64_t data_length = be(&c, 8);
    uint64_t count = be(&c, 4);
    if (!c.failed && chunk) p->trailing_empty_chunk = count > (data_length + chunk - 1) / chunk;
    free(buf);
    return c.failed ? strata_fail(STRATA_ECORRUPT, "%s: malformed compression options", path) : STRATA_OK;
}

static void read_position(cursor *c, sstable_writer_position *p) {
    p->segment = (int64_t)be(c, 8);
    p->position = (int32_t)be(c, 4);
}

static uint64_t uvint(cursor *c) {
    if (c->failed || c->p >= c->end) {
        c->failed = 1;
        return 0;
    }
    uint8_t first = *c->p++;
    int extra = 0;
    while (extra < 8 && (first & (0x80 >> extra))) extra++;
    uint64_t v = extra == 8 ? 0 : first & (0xffu >> (extra + 1));
    return (v << (8 * extra)) | be(c, extra);
}

static void skip_deletion(cursor *c, int oa) {
    if (oa && c->p < c->end && *c->p == 0x80) c->p++;
    else take(c, 12);
}

static void skip_values(cursor *c, const sstable_header *h, size_t n) {
    uint64_t header = 0;
    for (size_t i = 0; i < n && !c->failed; i++) {
        if (i % 32 == 0) header = uvint(c);
        if ((header >> ((i % 32) * 2)) & 3) continue;
        int fixed = i < h->nclustering ? h->clustering[i]->fixed_len : -1;
        take(c, fixed >= 0 ? (uint64_t)fixed : uvint(c));
    }
}

static void skip_prefix(cursor *c, const sstable_header *h) {
    uint8_t kind = (uint8_t)be(c, 1);
    skip_values(c, h, kind == SSTABLE_CLUSTERING ? h->nclustering : (size_t)be(c, 2));
}

/* oa's covered-slice bounds: kind, u16 count, values. */
static void skip_bound(cursor *c, const sstable_header *h) {
    be(c, 1);
    skip_values(c, h, (size_t)be(c, 2));
}

/* Walks the stats component up to its commit log fields, noting the
 * histogram sizes and the habits of early releases on the way (the release
 * that wrote an SSTable is not recorded; these are what tells). */
static void parse_stats(cursor *c, const wr_version *v, const sstable_header *h, sstable_writer_params *p,
                            struct sstable_writer_owned *o) {
    uint64_t sums[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        uint32_t n = (uint32_t)be(c, 4);
        if (i == 0) p->partition_size_buckets = (int)n - 1;
        else p->cell_count_buckets = (int)n - 1;
        for (uint32_t j = 0; j < n && !c->failed; j++) {
            be(c, 8);
            sums[i] += be(c, 8);
        }
    }
    p->doubled_cell_counts = sums[0] && sums[1] == 2 * sums[0];
    read_position(c, &p->commitlog_upper);
    take(c, 8 + 8 + 4 + 4 + 4 + 4);
    uint64_t ratio = be(c, 8);
    p->no_compression_ratio = p->compressor && ratio == 0xbff0000000000000ULL; /* -1.0 */
    be(c, 4);
    for (uint32_t n = (uint32_t)be(c, 4), i = 0; i < n && !c->failed; i++) {
        if (v->oa) {
            take(c, 8);
            continue;
        }
        uint64_t bits = be(c, 8);
        double point;
        memcpy(&point, &bits, sizeof point);
        if (fmod(point, 60.0) != 0.0) p->exact_drop_times = 1; /* later releases round to minutes */
        be(c, 8);
    }
    take(c, 4 + 8);
    if (v->oa) {
        for (uint64_t n = uvint(c), i = 0; i < n && !c->failed; i++) take(c, uvint(c));
        skip_bound(c, h);
        skip_bound(c, h);
    } else {
        for (int l = 0; l < 2; l++)
            for (uint32_t n = (uint32_t)be(c, 4), i = 0; i < n && !c->failed; i++) take(c, be(c, 2));
    }
    take(c, 1 + 8 + 8);
    if (!v->commitlog_lower) return;
    read_position(c, &p->commitlog_lower);
    if (!v->commitlog_intervals) return;
    uint32_t n = (uint32_t)be(c, 4);
    if (c->failed || (uint64_t)n * 24 > (uint64_t)(c->end - c->p)) {
        c->failed = 1;
        return;
    }
    o->intervals = xcalloc((size_t)n * 2 + 1, sizeof *o->intervals);
    for (size_t i = 0; i < (size_t)n * 2; i++) read_position(c, &o->intervals[i]);
    p->commitlog_intervals = o->intervals;
    p->ncommitlog_intervals = n;
    if (v->na && be(c, 1)) {
        const uint8_t *u = take(c, 16);
        if (u) memcpy(p->pending_repair, u, 16), p->has_pending_repair = 1;
    }
    if (v->na && c->p < c->end) p->is_transient = be(c, 1) != 0;
    else if (v->na) p->no_transient_flag = 1;
}

static strata_err read_stats(sstable *s, const wr_version *v, sstable_writer_params *p,
                                 struct sstable_writer_owned *o) {
    uint8_t *buf;
    size_t len;
    const char *path;
    strata_err e = read_component(s, "Statistics.db", &path, &buf, &len);
    if (e) return e;
    cursor c = {buf, buf + len, 0};
    uint32_t count = (uint32_t)be(&c, 4);
    if (v->na) be(&c, 4);
    uint32_t types[16], offs[16];
    for (uint32_t i = 0; i < count && i < 16; i++) {
        types[i] = (uint32_t)be(&c, 4);
        offs[i] = (uint32_t)be(&c, 4);
    }
    for (uint32_t i = 0; i < count && i < 16 && !c.failed; i++) {
        if (types[i] != 2 || offs[i] >= len) continue;
        /* the component ends where the next begins, less its checksum */
        size_t end = i + 1 < count && offs[i + 1] <= len ? offs[i + 1] : len;
        if (v->na && end >= offs[i] + 4) end -= 4;
        cursor sc = {buf + offs[i], buf + end, 0};
        parse_stats(&sc, v, sstable_get_header(s), p, o);
        c.failed = sc.failed;
    }
    free(buf);
    return c.failed ? strata_fail(STRATA_ECORRUPT, "%s: malformed stats component", path) : STRATA_OK;
}

/* Which column_index_size the original writer used is not recorded; it
 * is the largest power-of-two KiB size no complete row index block of
 * Index.db falls short of (blocks close once they reach it). */
static strata_err infer_column_index_size(sstable *s, const wr_version *v, sstable_writer_params *p) {
    uint8_t *buf;
    size_t len;
    const char *path;
    if (read_component(s, "Index.db", &path, &buf, &len)) {
        /* no index to learn from: keep the default */
        strata_clear_error();
        return STRATA_OK;
    }
    const sstable_header *h = sstable_get_header(s);
    cursor c = {buf, buf + len, 0};
    int64_t min_width = INT64_MAX;
    while (c.p < c.end && !c.failed) {
        take(&c, be(&c, 2));
        uvint(&c);
        uint64_t size = uvint(&c);
        const uint8_t *end = take(&c, size);
        if (!end || size == 0) continue;
        cursor r = {end, end + size, 0};
        uvint(&r);
        skip_deletion(&r, v->oa);
        uint64_t blocks = uvint(&r);
        for (uint64_t i = 0; i < blocks && !r.failed; i++) {
            skip_prefix(&r, h);
            skip_prefix(&r, h);
            uvint(&r);
            uint64_t z = uvint(&r);
            int64_t width = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            if (i + 1 < blocks && width + 65536 < min_width) min_width = width + 65536;
            if (be(&r, 1)) skip_deletion(&r, v->oa);
        }
    }
    free(buf);
    if (min_width != INT64_MAX) {
        uint32_t size = 1024;
        while ((int64_t)size * 2 <= min_width && size < (1u << 30)) size *= 2;
        p->column_index_size = size;
    }
    return STRATA_OK;
}

/* A bloom filter has no false negatives: when the version's bit layout
 * does not find the first key, the file was written in the other one (by
 * a pre-release 4.0 build that kept the old layout under the name na). */
static strata_err check_bloom_layout(sstable *s, sstable_writer_params *p) {
    const sstable_partition *part;
    strata_err e = sstable_rewind(s);
    if (!e) e = sstable_next_partition(s, &part);
    int found = 1;
    if (!e && part) e = sstable_filter_check(s, part->key, part->key_len, &found);
    if (e) {
        /* no filter to learn from: keep the version's layout */
        strata_clear_error();
        e = STRATA_OK;
    }
    p->old_bloom_layout = !found;
    return sstable_rewind(s);
}

strata_err sstable_writer_params_from(sstable *s, sstable_writer_params *p) {
    const sstable_meta *m = sstable_get_meta(s);
    memset(p, 0, sizeof *p);
    wr_version v;
    if (m->bti || wr_version_parse(m->version, &v))
        return strata_fail(STRATA_EFORMAT, "SSTable format \"%s\" is not written (oa, nb, na and ma to me are)", m->version);
    struct sstable_writer_owned *o = xcalloc(1, sizeof *o);
    p->owned = o;
    memcpy(p->version, m->version, 3);
    p->generation = m->generation;
    p->header = sstable_get_header(s);
    p->partitioner = m->partitioner;
    p->compressor = m->compressor;
    p->chunk_length = m->chunk_length;
    p->bloom_fp_chance = m->bloom_fp_chance;
    p->expected_keys = m->estimated_partitions;
    p->sstable_level = m->sstable_level;
    p->repaired_at = m->repaired_at;
    p->has_host_id = m->has_host_id;
    memcpy(p->host_id, m->host_id, 16);
    o->toc = xcalloc(m->ncomponents + 1, sizeof *o->toc);
    for (size_t i = 0; i < m->ncomponents; i++) o->toc[i] = m->components[i];
    p->toc_order = o->toc;
    strata_err e = STRATA_OK;
    if (m->compressor) e = read_compression_info(s, &v, p, o);
    p->compression_options = (const char *const *)o->options;
    if (!e) e = read_stats(s, &v, p, o);
    if (!e) e = infer_column_index_size(s, &v, p);
    if (!e && v.na) e = check_bloom_layout(s, p);
    if (e) sstable_writer_params_free(p);
    return e;
}

void sstable_writer_params_free(sstable_writer_params *p) {
    struct sstable_writer_owned *o = p->owned;
    if (!o) return;
    for (size_t i = 0; o->options && o->options[i]; i++) free(o->options[i]);
    free(o->options);
    free(o->intervals);
    free(o->toc);
    free(o);
    p->owned = NULL;
    p->compression_options = NULL;
    p->commitlog_intervals = NULL;
    p->toc_order = NULL;
}
