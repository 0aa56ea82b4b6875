/* gen_memtable.c - a node's unflushed writes to one table, and their flush.
 *
 * Mutations are appended, encoded, to one arena in arrival order, which is
 * cheap and keeps a node's memory to what it was sent.  A flush sorts them
 * as Cassandra orders an SSTable (partitions by Murmur3 token, then key
 * bytes), lets gen_partition_build() reconcile each partition and writes
 * the result with strata's writer as Cassandra 4.0 writes a flush: format
 * nb, LZ4 in 16 KiB chunks, the node's host id in the statistics, and
 * encoding bases taken from everything the memtable received. */
#include "tools/gen/gen.h"

#include <string.h>

#include "engine/writer/writer.h"

/* Cassandra's EncodingStats epoch for deletion times (2015-09-22) */
#define DELETION_TIME_EPOCH INT64_C(1442880000)

typedef struct {
    uint32_t size;
    uint8_t kind, nclustering, nend, ncells;
    uint8_t liveness, row_deleted;
    uint16_t key_len;
    int32_t liveness_ttl;
    uint32_t collections_replaced;
    int32_t table;
    int64_t token, timestamp, now;
} record_head;

static void put_value(strata_buf *b, const sstable_value *v) {
    uint32_t len = v->p ? (uint32_t)v->len : UINT32_MAX;
    strata_buf_put(b, &len, 4);
    if (v->p) strata_buf_put(b, v->p, v->len);
}

static const uint8_t *get_value(const uint8_t *p, sstable_value *v) {
    uint32_t len;
    memcpy(&len, p, 4);
    p += 4;
    *v = len == UINT32_MAX ? (sstable_value){NULL, 0} : (sstable_value){p, len};
    return len == UINT32_MAX ? p : p + len;
}

void gen_memtable_add(gen_memtable *mt, const gen_mutation *m) {
    strata_buf *b = &mt->arena;
    size_t start = b->len;
    record_head h = {0, (uint8_t)m->kind, (uint8_t)m->nclustering, (uint8_t)m->nend, (uint8_t)m->ncells,
                     (uint8_t)m->liveness, (uint8_t)m->row_deleted, (uint16_t)m->key_len, m->liveness_ttl,
                     m->collections_replaced, m->table, m->token, m->timestamp, m->now};
    strata_buf_put(b, &h, sizeof h);
    strata_buf_put(b, m->key, m->key_len);
    for (size_t i = 0; i < m->nclustering; i++) put_value(b, &m->clustering[i]);
    for (size_t i = 0; i < m->nend; i++) put_value(b, &m->end[i]);
    for (size_t i = 0; i < m->ncells; i++) {
        const gen_cell *c = &m->cells[i];
        uint8_t flags[2] = {c->column, c->deleted};
        strata_buf_put(b, flags, 2);
        strata_buf_put(b, &c->ttl, 4);
        put_value(b, &c->path);
        put_value(b, &c->value);
    }
    uint32_t size = (uint32_t)(b->len - start);
    memcpy(b->data + start, &size, 4);
    mt->count++;
}

/* A mutation stored by gen_memtable_add(), pointing into the arena. */
static void decode(const uint8_t *p, gen_mutation *m) {
    record_head h;
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    *m = (gen_mutation){.table = h.table, .kind = (gen_mutation_kind)h.kind, .key = p, .key_len = h.key_len,
                        .token = h.token, .timestamp = h.timestamp, .now = h.now, .nclustering = h.nclustering,
                        .nend = h.nend, .liveness = h.liveness, .liveness_ttl = h.liveness_ttl,
                        .row_deleted = h.row_deleted, .collections_replaced = h.collections_replaced,
                        .ncells = h.ncells};
    p += h.key_len;
    for (size_t i = 0; i < m->nclustering; i++) p = get_value(p, &m->clustering[i]);
    for (size_t i = 0; i < m->nend; i++) p = get_value(p, &m->end[i]);
    for (size_t i = 0; i < m->ncells; i++) {
        gen_cell *c = &m->cells[i];
        c->column = p[0], c->deleted = p[1];
        memcpy(&c->ttl, p + 2, 4);
        p = get_value(p + 6, &c->path);
        p = get_value(p, &c->value);
    }
}

/* ---- Flush ----------------------------------------------------------------- */

typedef struct {
    int64_t token;
    size_t offset;
} entry;

/* Token, then arrival.  Keys with one token are nearly always one
 * partition; write_token() sorts out the rare others. */
static int entry_cmp(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->token != b->token) return a->token < b->token ? -1 : 1;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

static int key_cmp(const gen_mutation *a, const gen_mutation *b) {
    int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);
    return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* The smallest timestamp, deletion time and TTL the memtable received:
 * the bases every value of the SSTable is encoded against. */
static void encoding_bases(const gen_mutation *m, sstable_header *h, int *first) {
    int64_t ts = m->collections_replaced ? m->timestamp - 1 : m->timestamp;
    int64_t ldt = INT64_MAX;
    int32_t ttl = INT32_MAX;
    if (m->kind != GEN_M_ROW && m->kind != GEN_M_STATIC) ldt = m->now;
    if (m->row_deleted || m->collections_replaced) ldt = m->now;
    if (m->liveness) {
        ttl = m->liveness_ttl;
        if (m->liveness_ttl) ldt = m->now + m->liveness_ttl < ldt ? m->now + m->liveness_ttl : ldt;
    }
    for (size_t i = 0; i < m->ncells; i++) {
        const gen_cell *c = &m->cells[i];
        int64_t cl = c->deleted ? m->now : c->ttl ? m->now + c->ttl : INT64_MAX;
        if (cl < ldt) ldt = cl;
        if ((c->deleted ? 0 : c->ttl) < ttl) ttl = c->deleted ? 0 : c->ttl;
    }
    if (*first) {
        h->min_timestamp = ts, h->min_local_deletion_time = INT64_MAX, h->min_ttl = INT32_MAX;
        *first = 0;
    }
    if (ts < h->min_timestamp) h->min_timestamp = ts;
    if (ldt < h->min_local_deletion_time) h->min_local_deletion_time = ldt;
    if (ttl < h->min_ttl) h->min_ttl = ttl;
}

typedef struct {
    sstable_writer *w;
    const uint8_t *key;
    size_t key_len;
} flush_sink;

static strata_err sink_begin(void *arg, const sstable_deletion *deletion) {
    flush_sink *s = arg;
    return sstable_writer_begin_partition(s->w, s->key, s->key_len, deletion);
}

static strata_err sink_emit(void *arg, const sstable_unfiltered *u) {
    return sstable_writer_add_unfiltered(((flush_sink *)arg)->w, u);
}

/* Writes the partitions of the n mutations of one token, smallest key
 * first; `part` has room for n. */
static strata_err write_token(const sstable_header *h, gen_mutation *muts, size_t n, gen_mutation *part,
                              flush_sink *fs, const gen_sink *sink) {
    strata_err e = STRATA_OK;
    while (n && !e) {
        size_t first = 0, k = 0, rest = 0;
        for (size_t i = 1; i < n; i++)
            if (key_cmp(&muts[i], &muts[first]) < 0) first = i;
        for (size_t i = 0; i < n; i++) {
            if (!key_cmp(&muts[i], &muts[first])) part[k++] = muts[i];
            else muts[rest++] = muts[i];
        }
        fs->key = part[0].key, fs->key_len = part[0].key_len;
        e = gen_partition_build(h, part, k, sink);
        if (!e) e = sstable_writer_end_partition(fs->w);
        n = rest;
    }
    return e;
}

strata_err gen_memtable_flush(gen_memtable *mt, const gen_table *t, const char *dir, long generation,
                              const uint8_t host_id[16]) {
    entry *entries = xmalloc((mt->count + 1) * sizeof *entries);
    sstable_header h = t->header;
    int first = 1;
    size_t off = 0;
    for (size_t i = 0; i < mt->count; i++) {
        gen_mutation m;
        decode(mt->arena.data + off, &m);
        encoding_bases(&m, &h, &first);
        entries[i] = (entry){m.token, off};
        uint32_t size;
        memcpy(&size, mt->arena.data + off, 4);
        off += size;
    }
    if (h.min_local_deletion_time == INT64_MAX) h.min_local_deletion_time = DELETION_TIME_EPOCH;
    if (h.min_ttl == INT32_MAX) h.min_ttl = 0;
    qsort(entries, mt->count, sizeof *entries, entry_cmp);
    size_t ntokens = 0;
    for (size_t i = 0; i < mt->count; i++) ntokens += !i || entries[i].token != entries[i - 1].token;
    sstable_writer_params p = {.dir = dir, .version = "nb", .generation = generation, .header = &h,
                               .compressor = "LZ4Compressor", .expected_keys = ntokens, .has_host_id = 1};
    memcpy(p.host_id, host_id, 16);
    flush_sink fs = {0};
    gen_sink sink = {sink_begin, sink_emit, &fs};
    strata_err e = gen_mkdirs(dir);
    if (!e) e = sstable_writer_open(&p, &fs.w);
    gen_mutation *muts = NULL, *part = NULL;
    size_t cap = 0;
    for (size_t i = 0; !e && i < mt->count;) {
        size_t n = 0;
        do {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                muts = xrealloc(muts, cap * sizeof *muts), part = xrealloc(part, cap * sizeof *part);
            }
            /* records of a partition are scattered over the arena */
            if (i + 8 < mt->count) __builtin_prefetch(mt->arena.data + entries[i + 8].offset);
            decode(mt->arena.data + entries[i++].offset, &muts[n++]);
        } while (i < mt->count && entries[i].token == entries[i - 1].token);
        e = write_token(&h, muts, n, part, &fs, &sink);
    }
    free(part);
    free(muts);
    if (fs.w) {
        if (e) sstable_writer_abort(fs.w);
        else e = sstable_writer_finish(fs.w);
    }
    free(entries);
    mt->arena.len = 0;
    mt->count = 0;
    return e;
}

void gen_memtable_free(gen_memtable *mt) {
    strata_buf_free(&mt->arena);
    mt->count = 0;
}
