/* stats.c - Statistics.db: what Cassandra's MetadataCollector gathers
 * while a partition stream is written, serialized as MetadataSerializer
 * does.
 *
 * Four components follow a table of contents: VALIDATION (partitioner,
 * bloom filter fp chance), COMPACTION (the key cardinality estimator,
 * hll.c), STATS (partition size and cell count histograms, commit log
 * bounds, min/max timestamps, deletion times and TTLs, compression ratio,
 * tombstone drop times (tombhist.c), level, repair time, min/max
 * clustering, counter shard flag, column and row totals, then per version
 * commit log intervals, pending repair, transient flag, host id) and
 * HEADER (the serialization header).  From na every part is followed by a
 * CRC32.  What the content cannot tell (commit log positions, repair
 * state, level, host id) comes from the writer's parameters. */
#include "engine/writer/writer_int.h"

#include <math.h>
#include <string.h>

#define MAX_BUCKETS 160
#define TIMESTAMP_EPOCH 1442880000000000LL
#define DELETION_TIME_EPOCH 1442880000LL

typedef struct {
    size_t n;
    int64_t offsets[MAX_BUCKETS];
    uint64_t counts[MAX_BUCKETS + 1]; /* last: overflow */
} histogram;

/* Before md: the smallest and largest value of each clustering column
 * separately (MetadataCollector of Cassandra 3.0 to 3.0.17, 3.11.3). */
typedef struct {
    int set;
    strata_buf min, max;
} column_range;

struct wr_stats {
    column_range *ranges;
    int doubled_cell_counts;
    int exact_drop_times;
    int ma;
    int has_counters;     /* a counter column, whose cells may hold legacy shards */
    const sstable_header *h;
    wr_version v;
    histogram sizes, cells;
    /* each minimum starts above its maximum: nothing tracked yet */
    int64_t min_ts, max_ts;
    int64_t min_ldt, max_ldt; /* INT64_MAX: no deletion time */
    int32_t min_ttl, max_ttl;
    int64_t ldt_none;         /* "no deletion time" as stored inside rows */
    wr_tombhist *tombstones;
    wr_hll *hll;
    int min_set, max_set, partition_clustered;
    wr_clustering min_clust, max_clust;
    int legacy_counter_shards;
    uint64_t columns_set, rows;
    uint64_t partition_cells;
    int partition_deletion_seen;
};

static void histogram_init(histogram *hg, int buckets, int dflt) {
    size_t n = buckets > 0 && buckets <= MAX_BUCKETS ? (size_t)buckets : (size_t)dflt;
    memset(hg, 0, sizeof *hg);
    hg->n = n;
    int64_t last = 1;
    hg->offsets[0] = 1;
    for (size_t i = 1; i < n; i++) {
        int64_t next = (int64_t)floor((double)last * 1.2 + 0.5);
        if (next == last) next++;
        hg->offsets[i] = last = next;
    }
}

/* The first bucket whose offset is v or more (the overflow one past the
 * last), found without branches: one a partition, unpredictable ones cost
 * more than the search. */
static void histogram_add(histogram *hg, int64_t v) {
    const int64_t *base = hg->offsets;
    size_t n = hg->n;
    while (n > 1) {
        size_t half = n / 2;
        base += (size_t)(base[half - 1] < v) * half;
        n -= half;
    }
    hg->counts[(size_t)(base - hg->offsets) + (*base < v)]++;
}

static void histogram_put(strata_buf *b, const histogram *hg) {
    wr_u32(b, (uint32_t)(hg->n + 1));
    for (size_t i = 0; i <= hg->n; i++) {
        wr_u64(b, (uint64_t)hg->offsets[i == 0 ? 0 : i - 1]);
        wr_u64(b, hg->counts[i]);
    }
}

wr_stats *wr_stats_new(const sstable_writer_params *p, const wr_version *v) {
    wr_stats *s = xcalloc(1, sizeof *s);
    s->h = p->header;
    s->v = *v;
    s->doubled_cell_counts = p->doubled_cell_counts;
    s->min_ts = s->min_ldt = INT64_MAX;
    s->max_ts = s->max_ldt = INT64_MIN;
    s->min_ttl = INT32_MAX;
    s->max_ttl = INT32_MIN;
    s->ldt_none = v->oa ? (int64_t)UINT32_MAX : (int64_t)INT32_MAX;
    s->exact_drop_times = p->exact_drop_times;
    s->ma = !strcmp(v->name, "ma");
    for (size_t i = 0; i < s->h->nstatic; i++) s->has_counters |= s->h->statics[i].type->kind == SSTABLE_T_COUNTER;
    for (size_t i = 0; i < s->h->nregular; i++) s->has_counters |= s->h->regulars[i].type->kind == SSTABLE_T_COUNTER;
    histogram_init(&s->sizes, p->partition_size_buckets, 150);
    histogram_init(&s->cells, p->cell_count_buckets, 118);
    s->tombstones = wr_tombhist_new(p->exact_drop_times);
    s->hll = wr_hll_new();
    if (v->per_column_min_max) {
        s->ranges = xcalloc(s->h->nclustering ? s->h->nclustering : 1, sizeof *s->ranges);
        for (size_t i = 0; i < s->h->nclustering; i++) {
            strata_buf_init(&s->ranges[i].min);
            strata_buf_init(&s->ranges[i].max);
        }
    }
    return s;
}

/* The reader spells "no deletion time" INT64_MAX, or as stored inside rows:
 * Integer.MAX_VALUE before oa, 0xffffffff from oa. */
static int64_t normal_ldt(const wr_stats *s, int64_t ldt) { return ldt == s->ldt_none ? INT64_MAX : ldt; }

/* Statistics.db's 32-bit form of a tracked deletion time. */
static uint32_t stored_ldt(const wr_stats *s, int64_t ldt) {
    if (ldt == INT64_MAX) return s->v.oa ? UINT32_MAX : (uint32_t)INT32_MAX;
    return (uint32_t)ldt;
}

static void track_ts(wr_stats *s, int64_t ts) {
    s->min_ts = ts < s->min_ts ? ts : s->min_ts;
    s->max_ts = ts > s->max_ts ? ts : s->max_ts;
}

/* The min/max deletion time (normalized) alone, without the drop-time histogram. */
static void track_ldt_range(wr_stats *s, int64_t ldt) {
    s->min_ldt = ldt < s->min_ldt ? ldt : s->min_ldt;
    s->max_ldt = ldt > s->max_ldt ? ldt : s->max_ldt;
}

/* The histogram takes "none" only in its early, exact form. */
static void track_drop_time(wr_stats *s, int64_t ldt) {
    if (ldt != INT64_MAX) wr_tombhist_update(s->tombstones, (int32_t)ldt);
    else if (s->exact_drop_times) wr_tombhist_update(s->tombstones, INT32_MAX);
}

static void track_ldt(wr_stats *s, int64_t raw) {
    int64_t ldt = normal_ldt(s, raw);
    track_ldt_range(s, ldt);
    track_drop_time(s, ldt);
}

static void track_ttl(wr_stats *s, int32_t ttl) {
    s->min_ttl = ttl < s->min_ttl ? ttl : s->min_ttl;
    s->max_ttl = ttl > s->max_ttl ? ttl : s->max_ttl;
}

static void track_deletion(wr_stats *s, const sstable_deletion *d) {
    if (wr_deletion_is_live(d)) return;
    track_ts(s, d->marked_for_delete_at);
    track_ldt(s, d->local_deletion_time);
}

void wr_stats_partition(wr_stats *s, const uint8_t *key, size_t len, const sstable_deletion *d) {
    s->partition_cells = 0;
    s->partition_clustered = 0;
    track_deletion(s, d);
    if (!wr_deletion_is_live(d)) s->partition_deletion_seen = 1;
    wr_hll_offer(s->hll, key, len);
}

/* CounterContext.hasLegacyShards: a local or remote shard, i.e. fewer
 * header entries than shards or a non-negative header entry. */
static int legacy_shards(const sstable_value *v) {
    if (v->len < 2) return 0;
    int16_t count = (int16_t)(v->p[0] << 8 | v->p[1]);
    int n = count < 0 ? -count : count;
    size_t header = 2 + (size_t)n * 2;
    if (header > v->len) return 0;
    if ((int)((v->len - header) / 32) > n) return 1;
    for (int i = 0; i < n; i++)
        if ((int16_t)(v->p[2 + i * 2] << 8 | v->p[3 + i * 2]) >= 0) return 1;
    return 0;
}

/* A row's cells, their timestamps, TTLs and deletion times gathered into
 * the row's minimum and maximum before they meet the SSTable's (the drop
 * time histogram still takes them one by one, in order).  Live cells
 * carry no deletion time (the histogram's "none", counted only by the
 * exact one) and a TTL of 0.  Returns the columns set: a simple column
 * counts, a complex one when it has cells. */
static uint64_t track_cells(wr_stats *s, const sstable_cell *cells, size_t n) {
    if (n == 0) return 0;
    int64_t min_ts = INT64_MAX, max_ts = INT64_MIN, min_ldt = INT64_MAX, max_ldt = INT64_MIN;
    int32_t min_ttl = INT32_MAX, max_ttl = INT32_MIN;
    uint64_t columns = 0;
    size_t last_column = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const sstable_cell *c = &cells[i];
        if (c->timestamp < min_ts) min_ts = c->timestamp;
        if (c->timestamp > max_ts) max_ts = c->timestamp;
        int32_t ttl = c->expiring && !c->deleted ? c->ttl : 0;
        if (ttl < min_ttl) min_ttl = ttl;
        if (ttl > max_ttl) max_ttl = ttl;
        int64_t ldt = normal_ldt(s, c->local_deletion_time);
        if (ldt < min_ldt) min_ldt = ldt;
        if (ldt > max_ldt) max_ldt = ldt;
        track_drop_time(s, ldt);
        if (s->has_counters && !c->deleted && c->column->type->kind == SSTABLE_T_COUNTER && legacy_shards(&c->value))
            s->legacy_counter_shards = 1;
        columns += c->column_index != last_column;
        last_column = c->column_index;
    }
    track_ts(s, min_ts);
    track_ts(s, max_ts);
    track_ttl(s, min_ttl);
    track_ttl(s, max_ttl);
    track_ldt_range(s, min_ldt);
    track_ldt_range(s, max_ldt);
    return columns;
}

static void keep(strata_buf *b, const sstable_value *v) {
    b->len = 0;
    strata_buf_reserve(b, 1);
    strata_buf_put(b, v->p, v->len);
}

static void track_columns(wr_stats *s, const sstable_unfiltered *u) {
    for (size_t i = 0; i < u->nclustering && i < s->h->nclustering; i++) {
        const sstable_value *v = &u->clustering[i];
        if (!v->p) continue;
        column_range *r = &s->ranges[i];
        sstable_value lo = {r->min.data, r->min.len}, hi = {r->max.data, r->max.len};
        if (!r->set || sstable_value_compare(s->h->clustering[i], v, &lo) < 0) keep(&r->min, v);
        if (!r->set || sstable_value_compare(s->h->clustering[i], v, &hi) > 0) keep(&r->max, v);
        r->set = 1;
    }
}

/* Clustering order puts a partition's first row or marker lowest and its
 * last highest, so only those can move the SSTable's minimum and maximum
 * (the maximum at the partition's end, from the writer's kept last one). */
static void track_clustering(wr_stats *s, const sstable_unfiltered *u) {
    if (s->ranges) {
        track_columns(s, u);
        return;
    }
    if (s->partition_clustered) return;
    s->partition_clustered = 1;
    sstable_bound_kind kind = u->kind == SSTABLE_ROW ? SSTABLE_CLUSTERING : u->bound_kind;
    if (!s->min_set || sstable_clustering_compare(s->h, u->clustering, u->nclustering, kind, s->min_clust.vals,
                                                  s->min_clust.n, s->min_clust.kind) < 0) {
        wr_clustering_keep(&s->min_clust, kind, u->clustering, u->nclustering);
        s->min_set = 1;
    }
}

static int row_is_empty(const sstable_unfiltered *u) {
    return !u->has_liveness && wr_deletion_is_live(&u->row_deletion) && u->ncells == 0 && u->ncomplex_deletions == 0;
}

/* Rows.collectStats: liveness, deletion, cells; a simple column counts as
 * set, a complex one when it has cells. */
static void track_row(wr_stats *s, const sstable_unfiltered *u) {
    if (u->has_liveness) {
        track_ts(s, u->timestamp);
        track_ttl(s, u->ttl);
        /* ma (3.0.0 to 3.0.6) left row markers out of the drop times */
        if (!s->ma) track_ldt(s, u->local_expiration);
        else track_ldt_range(s, normal_ldt(s, u->local_expiration));
    }
    track_deletion(s, &u->row_deletion);
    for (size_t i = 0; i < u->ncomplex_deletions; i++) track_deletion(s, &u->complex_deletions[i].deletion);
    uint64_t columns = track_cells(s, u->cells, u->ncells);
    s->partition_cells += u->ncells;
    s->columns_set += columns;
    s->rows++;
}

void wr_stats_unfiltered(wr_stats *s, const sstable_unfiltered *u) {
    switch (u->kind) {
    case SSTABLE_STATIC_ROW:
        if (!row_is_empty(u)) track_row(s, u);
        break;
    case SSTABLE_ROW:
        if (!s->partition_clustered) track_clustering(s, u);
        track_row(s, u);
        break;
    case SSTABLE_RT_BOUNDARY:
        track_clustering(s, u);
        track_deletion(s, &u->end_deletion);
        track_deletion(s, &u->deletion);
        break;
    case SSTABLE_RT_BOUND:
        track_clustering(s, u);
        track_deletion(s, &u->deletion);
        break;
    }
}

void wr_stats_end_partition(wr_stats *s, uint64_t size, const wr_clustering *last) {
    if (s->partition_clustered && (!s->max_set || sstable_clustering_compare(s->h, last->vals, last->n, last->kind,
                                                                             s->max_clust.vals, s->max_clust.n,
                                                                             s->max_clust.kind) > 0)) {
        wr_clustering_keep(&s->max_clust, last->kind, last->vals, last->n);
        s->max_set = 1;
    }
    histogram_add(&s->cells, (int64_t)s->partition_cells);
    if (s->doubled_cell_counts) histogram_add(&s->cells, (int64_t)s->partition_cells);
    histogram_add(&s->sizes, (int64_t)size);
}

static void put_double(strata_buf *b, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    wr_u64(b, bits);
}

static void put_vint_bytes(strata_buf *b, const void *p, size_t n) {
    wr_uvint(b, n);
    strata_buf_put(b, p, n);
}

static void put_column_ranges(strata_buf *b, const wr_stats *s, int max) {
    size_t n = 0;
    while (n < s->h->nclustering && s->ranges[n].set) n++;
    wr_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const strata_buf *v = max ? &s->ranges[i].max : &s->ranges[i].min;
        wr_u16(b, (uint16_t)v->len);
        strata_buf_put(b, v->data, v->len);
    }
}

static void put_clustering_list(strata_buf *b, const wr_clustering *c, int set) {
    size_t n = 0;
    while (set && n < c->n && c->vals[n].p) n++;
    wr_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wr_u16(b, (uint16_t)c->vals[i].len);
        strata_buf_put(b, c->vals[i].p, c->vals[i].len);
    }
}

/* CommitLogPosition: segment id and position; NONE is (-1, 0). */
static void put_position(strata_buf *b, const sstable_writer_position *pos) {
    wr_u64(b, (uint64_t)pos->segment);
    wr_u32(b, (uint32_t)pos->position);
}

/* The share of the Murmur3 token ring between the first and last key;
 * NaN for other partitioners, as Cassandra records it. */
static double token_space_coverage(const sstable_writer_params *p, const strata_buf *first_key,
                                   const strata_buf *last_key) {
    if (p->partitioner && !strstr(p->partitioner, "Murmur3Partitioner")) return NAN;
    int64_t first = sstable_murmur3_token(first_key->data, first_key->len);
    int64_t last = sstable_murmur3_token(last_key->data, last_key->len);
    return (double)((uint64_t)last - (uint64_t)first) / 18446744073709551616.0;
}

static void put_stats(wr_stats *s, const sstable_writer_params *p, double ratio, const strata_buf *first_key,
                      const strata_buf *last_key, strata_buf *b) {
    histogram_put(b, &s->sizes);
    histogram_put(b, &s->cells);
    put_position(b, &p->commitlog_upper);
    int ts_set = s->min_ts <= s->max_ts, ldt_set = s->min_ldt <= s->max_ldt, ttl_set = s->min_ttl <= s->max_ttl;
    wr_u64(b, (uint64_t)(ts_set ? s->min_ts : INT64_MIN));
    wr_u64(b, (uint64_t)(ts_set ? s->max_ts : INT64_MAX));
    wr_u32(b, stored_ldt(s, ldt_set ? s->min_ldt : INT64_MAX));
    wr_u32(b, stored_ldt(s, ldt_set ? s->max_ldt : INT64_MAX));
    wr_u32(b, (uint32_t)(ttl_set ? s->min_ttl : 0));
    wr_u32(b, (uint32_t)(ttl_set ? s->max_ttl : 0));
    put_double(b, ratio);
    wr_tombhist_serialize(s->tombstones, &s->v, b);
    wr_u32(b, (uint32_t)p->sstable_level);
    wr_u64(b, (uint64_t)p->repaired_at);
    if (s->v.oa) {
        wr_uvint(b, s->h->nclustering);
        for (size_t i = 0; i < s->h->nclustering; i++) {
            const char *name = s->h->clustering[i]->name;
            put_vint_bytes(b, name, strlen(name));
        }
        wr_put_clustering_prefix(s->h, b, SSTABLE_INCL_START_BOUND, s->min_clust.vals, s->min_set ? s->min_clust.n : 0);
        wr_put_clustering_prefix(s->h, b, SSTABLE_INCL_END_BOUND, s->max_clust.vals, s->max_set ? s->max_clust.n : 0);
    } else if (s->ranges) {
        put_column_ranges(b, s, 0);
        put_column_ranges(b, s, 1);
    } else {
        put_clustering_list(b, &s->min_clust, s->min_set);
        put_clustering_list(b, &s->max_clust, s->max_set);
    }
    wr_u8(b, (uint8_t)s->legacy_counter_shards);
    wr_u64(b, s->columns_set);
    wr_u64(b, s->rows);
    if (s->v.commitlog_lower) put_position(b, &p->commitlog_lower);
    if (s->v.commitlog_intervals) {
        wr_u32(b, (uint32_t)p->ncommitlog_intervals);
        for (size_t i = 0; i < p->ncommitlog_intervals * 2; i++) put_position(b, &p->commitlog_intervals[i]);
    }
    if (s->v.na) {
        wr_u8(b, (uint8_t)p->has_pending_repair);
        if (p->has_pending_repair) strata_buf_put(b, p->pending_repair, 16);
        if (!p->no_transient_flag) wr_u8(b, (uint8_t)p->is_transient);
    }
    if (s->v.host_id) {
        wr_u8(b, (uint8_t)p->has_host_id);
        if (p->has_host_id) strata_buf_put(b, p->host_id, 16);
    }
    if (s->v.oa) {
        wr_u8(b, (uint8_t)s->partition_deletion_seen);
        put_vint_bytes(b, first_key->data, first_key->len);
        put_vint_bytes(b, last_key->data, last_key->len);
        put_double(b, token_space_coverage(p, first_key, last_key));
    }
}

static void put_header(const wr_stats *s, strata_buf *b) {
    const sstable_header *h = s->h;
    wr_uvint(b, (uint64_t)(h->min_timestamp - TIMESTAMP_EPOCH));
    wr_uvint(b, (uint64_t)(int64_t)(int32_t)(uint32_t)(h->min_local_deletion_time - DELETION_TIME_EPOCH));
    wr_uvint(b, (uint64_t)(int64_t)(int32_t)h->min_ttl);
    put_vint_bytes(b, h->key_type->name, strlen(h->key_type->name));
    wr_uvint(b, h->nclustering);
    for (size_t i = 0; i < h->nclustering; i++) put_vint_bytes(b, h->clustering[i]->name, strlen(h->clustering[i]->name));
    const sstable_column *lists[2] = {h->statics, h->regulars};
    size_t counts[2] = {h->nstatic, h->nregular};
    for (int l = 0; l < 2; l++) {
        wr_uvint(b, counts[l]);
        for (size_t i = 0; i < counts[l]; i++) {
            put_vint_bytes(b, lists[l][i].name, strlen(lists[l][i].name));
            put_vint_bytes(b, lists[l][i].type->name, strlen(lists[l][i].type->name));
        }
    }
}

static void put_crc(strata_buf *b, const void *p, size_t n) { wr_u32(b, strata_crc32(0, p, n)); }

void wr_stats_serialize(wr_stats *s, const sstable_writer_params *p, double ratio, const strata_buf *first_key,
                        const strata_buf *last_key, strata_buf *out) {
    strata_buf parts[4];
    for (int i = 0; i < 4; i++) strata_buf_init(&parts[i]);
    wr_utf(&parts[0], p->partitioner ? p->partitioner : "org.apache.cassandra.dht.Murmur3Partitioner");
    put_double(&parts[0], p->bloom_fp_chance > 0 ? p->bloom_fp_chance : 0.01);
    strata_buf hll;
    strata_buf_init(&hll);
    wr_hll_serialize(s->hll, &hll);
    wr_u32(&parts[1], (uint32_t)hll.len);
    strata_buf_put(&parts[1], hll.data, hll.len);
    strata_buf_free(&hll);
    put_stats(s, p, ratio, first_key, last_key, &parts[2]);
    put_header(s, &parts[3]);
    int sum = s->v.na;
    strata_buf toc;
    strata_buf_init(&toc);
    wr_u32(&toc, 4);
    size_t pos = 4 + 4 * 8 + (sum ? 8 : 0);
    for (int i = 0; i < 4; i++) {
        wr_u32(&toc, (uint32_t)i);
        wr_u32(&toc, (uint32_t)pos);
        pos += parts[i].len + (sum ? 4 : 0);
    }
    strata_buf_put(out, toc.data, 4);
    if (sum) put_crc(out, toc.data, 4);
    strata_buf_put(out, toc.data + 4, toc.len - 4);
    if (sum) put_crc(out, toc.data, toc.len);
    for (int i = 0; i < 4; i++) {
        strata_buf_put(out, parts[i].data, parts[i].len);
        if (sum) put_crc(out, parts[i].data, parts[i].len);
        strata_buf_free(&parts[i]);
    }
    strata_buf_free(&toc);
}

void wr_stats_free(wr_stats *s) {
    if (!s) return;
    wr_tombhist_free(s->tombstones);
    wr_hll_free(s->hll);
    for (size_t i = 0; s->ranges && i < s->h->nclustering; i++) {
        strata_buf_free(&s->ranges[i].min);
        strata_buf_free(&s->ranges[i].max);
    }
    free(s->ranges);
    wr_clustering_free(&s->min_clust);
    wr_clustering_free(&s->max_clust);
    free(s);
}
