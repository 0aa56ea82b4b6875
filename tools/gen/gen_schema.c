/* gen_schema.c - system_schema SSTables describing keyspace gen.
 *
 * strata's backup reads a keyspace's column names and dropped columns
 * from the nodes' own system_schema (merge_schema_read), so each node gets
 * the rows Cassandra 4.0 writes on CREATE KEYSPACE and CREATE TABLE in
 * system_schema.keyspaces, .tables and .columns, with the same column
 * types, so that the generated tables are described exactly. */
#include "tools/gen/gen.h"

#include <string.h>

#include "engine/writer/writer.h"

#define M "org.apache.cassandra.db.marshal."
#define FROZEN_TEXT_MAP M "FrozenType(" M "MapType(" M "UTF8Type," M "UTF8Type))"

/* The names of the key and clustering columns, which no header holds. */
static const char *const key_names[GEN_NTABLES][2] = {{"sensor", "day"}, {"id", NULL}};
static const char *const clustering_names[GEN_NTABLES][2] = {{"ts", "seq"}, {NULL, NULL}};

enum { MAX_COLUMNS = 24 };

/* One row being assembled: its cells by header column, values owned. */
typedef struct {
    const sstable_header *h;
    sstable_value clustering[2];
    strata_buf values[MAX_COLUMNS];
    int present[MAX_COLUMNS];
} schema_row;

static void row_put(schema_row *r, const char *column, const void *p, size_t len) {
    for (size_t i = 0; i < r->h->nregular; i++)
        if (!strcmp(r->h->regulars[i].name, column)) {
            r->values[i].len = 0;
            strata_buf_put(&r->values[i], p, len);
            r->present[i] = 1;
            return;
        }
    abort();
}

static void row_text(schema_row *r, const char *column, const char *s) { row_put(r, column, s, strlen(s)); }

static void row_int(schema_row *r, const char *column, int32_t v) {
    uint8_t b[4];
    gen_put_be32(b, (uint32_t)v);
    row_put(r, column, b, 4);
}

static void row_double(schema_row *r, const char *column, double d) {
    uint64_t bits;
    memcpy(&bits, &d, 8);
    uint8_t b[8];
    gen_put_be64(b, bits);
    row_put(r, column, b, 8);
}

/* A frozen map<text,text> (or set<text> when values is 0) from
 * NULL-terminated strings already in key order. */
static void row_frozen(schema_row *r, const char *column, const char *const *items, int values) {
    strata_buf b;
    strata_buf_init(&b);
    size_t n = 0;
    while (items[n]) n++;
    uint8_t len[4];
    gen_put_be32(len, (uint32_t)(values ? n / 2 : n));
    strata_buf_put(&b, len, 4);
    for (size_t i = 0; i < n; i++) {
        gen_put_be32(len, (uint32_t)strlen(items[i]));
        strata_buf_put(&b, len, 4);
        strata_buf_put(&b, items[i], strlen(items[i]));
    }
    row_put(r, column, b.data, b.len);
    strata_buf_free(&b);
}

typedef struct {
    sstable_writer *w;
    int64_t ts;
} schema_out;

static strata_err row_write(schema_out *o, schema_row *r, size_t nclustering) {
    sstable_cell cells[MAX_COLUMNS];
    size_t n = 0;
    for (size_t i = 0; i < r->h->nregular; i++) {
        if (!r->present[i]) continue;
        cells[n++] = (sstable_cell){.column = &r->h->regulars[i], .column_index = i, .timestamp = o->ts,
                                    .local_deletion_time = INT64_MAX,
                                    .value = {r->values[i].data ? r->values[i].data : (const uint8_t *)"", r->values[i].len}};
        r->present[i] = 0;
    }
    const sstable_deletion live = {INT64_MIN, INT64_MAX};
    sstable_unfiltered u = {.kind = SSTABLE_ROW, .bound_kind = SSTABLE_CLUSTERING, .nclustering = nclustering,
                            .clustering = r->clustering, .has_liveness = 1, .timestamp = o->ts,
                            .local_expiration = INT64_MAX, .row_deletion = live, .deletion = live,
                            .end_deletion = live, .ncells = n, .cells = cells};
    return sstable_writer_add_unfiltered(o->w, &u);
}

static void row_free(schema_row *r) {
    for (size_t i = 0; i < MAX_COLUMNS; i++) strata_buf_free(&r->values[i]);
}

typedef strata_err (*rows_fn)(schema_out *o, const sstable_header *h, const gen_table *tables, int rf);

/* Writes system_schema.<name> (table id `id`) as one SSTable of one
 * partition, the keyspace, whose rows `rows` adds. */
static strata_err write_table(const char *node_dir, const char *name, const char *id, const sstable_header *h,
                              rows_fn rows, const gen_table *tables, int rf, int64_t ts, const uint8_t host_id[16]) {
    char *dir = xasprintf("%s/system_schema/%s-%s", node_dir, name, id);
    strata_err e = gen_mkdirs(dir);
    sstable_writer_params p = {.dir = dir, .version = "nb", .generation = 1, .header = h,
                               .compressor = "LZ4Compressor", .expected_keys = 1, .has_host_id = 1};
    memcpy(p.host_id, host_id, 16);
    schema_out o = {NULL, ts};
    if (!e) e = sstable_writer_open(&p, &o.w);
    const sstable_deletion live = {INT64_MIN, INT64_MAX};
    if (!e) e = sstable_writer_begin_partition(o.w, (const uint8_t *)GEN_KEYSPACE, strlen(GEN_KEYSPACE), &live);
    if (!e) e = rows(&o, h, tables, rf);
    if (!e) e = sstable_writer_end_partition(o.w);
    if (o.w) {
        if (e) sstable_writer_abort(o.w);
        else e = sstable_writer_finish(o.w);
    }
    free(dir);
    return e;
}

static strata_err keyspace_rows(schema_out *o, const sstable_header *h, const gen_table *tables, int rf) {
    (void)tables;
    schema_row r = {.h = h};
    char rfs[16];
    snprintf(rfs, sizeof rfs, "%d", rf);
    const char *const replication[] = {"class", "org.apache.cassandra.locator.NetworkTopologyStrategy",
                                       "datacenter1", rfs, NULL};
    row_put(&r, "durable_writes", "\x01", 1);
    row_frozen(&r, "replication", replication, 1);
    strata_err e = row_write(o, &r, 0);
    row_free(&r);
    return e;
}

static strata_err table_rows(schema_out *o, const sstable_header *h, const gen_table *tables, int rf) {
    (void)rf;
    static const char *const caching[] = {"keys", "ALL", "rows_per_partition", "NONE", NULL};
    static const char *const compaction[] = {"class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                                             "max_threshold", "32", "min_threshold", "4", NULL};
    static const char *const compression[] = {"chunk_length_in_kb", "16", "class",
                                              "org.apache.cassandra.io.compress.LZ4Compressor", NULL};
    static const char *const empty[] = {NULL};
    static const char *const flags[] = {"compound", NULL};
    strata_err e = STRATA_OK;
    /* rows in clustering (table name) order: readings, users */
    for (int t = 0; t < GEN_NTABLES && !e; t++) {
        schema_row r = {.h = h};
        r.clustering[0] = (sstable_value){(const uint8_t *)tables[t].name, strlen(tables[t].name)};
        row_text(&r, "additional_write_policy", "99p");
        row_double(&r, "bloom_filter_fp_chance", 0.01);
        row_frozen(&r, "caching", caching, 1);
        row_text(&r, "comment", "");
        row_frozen(&r, "compaction", compaction, 1);
        row_frozen(&r, "compression", compression, 1);
        row_double(&r, "crc_check_chance", 1.0);
        row_double(&r, "dclocal_read_repair_chance", 0.0);
        row_int(&r, "default_time_to_live", 0);
        row_frozen(&r, "extensions", empty, 1);
        row_frozen(&r, "flags", flags, 0);
        row_int(&r, "gc_grace_seconds", 864000);
        row_put(&r, "id", tables[t].id, 16);
        row_int(&r, "max_index_interval", 2048);
        row_int(&r, "memtable_flush_period_in_ms", 0);
        row_int(&r, "min_index_interval", 128);
        row_text(&r, "read_repair", "BLOCKING");
        row_double(&r, "read_repair_chance", 0.0);
        row_text(&r, "speculative_retry", "99p");
        e = row_write(o, &r, 1);
        row_free(&r);
    }
    return e;
}

typedef struct {
    const char *name;
    const char *kind;
    int position;
    char *type; /* CQL spelling, owned */
} column_row;

static int column_row_cmp(const void *a, const void *b) {
    return strcmp(((const column_row *)a)->name, ((const column_row *)b)->name);
}

static strata_err column_rows(schema_out *o, const sstable_header *h, const gen_table *tables, int rf) {
    (void)rf;
    strata_err e = STRATA_OK;
    for (int t = 0; t < GEN_NTABLES && !e; t++) {
        const sstable_header *th = &tables[t].header;
        column_row cols[MAX_COLUMNS];
        size_t n = 0;
        const sstable_type *key = th->key_type;
        size_t nkey = key->kind == SSTABLE_T_COMPOSITE ? key->nparams : 1;
        for (size_t i = 0; i < nkey; i++)
            cols[n++] = (column_row){key_names[t][i], "partition_key", (int)i,
                                     sstable_type_cql(key->kind == SSTABLE_T_COMPOSITE ? key->params[i] : key)};
        for (size_t i = 0; i < th->nclustering; i++)
            cols[n++] = (column_row){clustering_names[t][i], "clustering", (int)i, sstable_type_cql(th->clustering[i])};
        for (size_t i = 0; i < th->nstatic; i++)
            cols[n++] = (column_row){th->statics[i].name, "static", -1, sstable_type_cql(th->statics[i].type)};
        for (size_t i = 0; i < th->nregular; i++)
            cols[n++] = (column_row){th->regulars[i].name, "regular", -1, sstable_type_cql(th->regulars[i].type)};
        qsort(cols, n, sizeof *cols, column_row_cmp);
        for (size_t i = 0; i < n; i++) {
            schema_row r = {.h = h};
            r.clustering[0] = (sstable_value){(const uint8_t *)tables[t].name, strlen(tables[t].name)};
            r.clustering[1] = (sstable_value){(const uint8_t *)cols[i].name, strlen(cols[i].name)};
            row_text(&r, "clustering_order", strcmp(cols[i].kind, "clustering") ? "none" : "asc");
            row_put(&r, "column_name_bytes", cols[i].name, strlen(cols[i].name));
            row_text(&r, "kind", cols[i].kind);
            row_int(&r, "position", cols[i].position);
            row_text(&r, "type", cols[i].type);
            if (!e) e = row_write(o, &r, 2);
            row_free(&r);
            free(cols[i].type);
        }
    }
    return e;
}

strata_err gen_schema_write(const char *node_dir, const gen_table tables[GEN_NTABLES], int rf, int64_t ts,
                            const uint8_t host_id[16]) {
    static const char *const none[] = {NULL};
    static const char *const one_text[] = {M "UTF8Type", NULL};
    static const char *const two_text[] = {M "UTF8Type", M "UTF8Type", NULL};
    static const char *const keyspaces[] = {"durable_writes", M "BooleanType", "replication", FROZEN_TEXT_MAP, NULL};
    static const char *const tables_cols[] = {
        "additional_write_policy", M "UTF8Type", "bloom_filter_fp_chance", M "DoubleType",
        "caching", FROZEN_TEXT_MAP, "comment", M "UTF8Type", "compaction", FROZEN_TEXT_MAP,
        "compression", FROZEN_TEXT_MAP, "crc_check_chance", M "DoubleType",
        "dclocal_read_repair_chance", M "DoubleType", "default_time_to_live", M "Int32Type",
        "extensions", M "FrozenType(" M "MapType(" M "UTF8Type," M "BytesType))",
        "flags", M "FrozenType(" M "SetType(" M "UTF8Type))", "gc_grace_seconds", M "Int32Type",
        "id", M "UUIDType", "max_index_interval", M "Int32Type", "memtable_flush_period_in_ms", M "Int32Type",
        "min_index_interval", M "Int32Type", "read_repair", M "UTF8Type", "read_repair_chance", M "DoubleType",
        "speculative_retry", M "UTF8Type", NULL};
    static const char *const columns_cols[] = {"clustering_order", M "UTF8Type", "column_name_bytes", M "BytesType",
                                               "kind", M "UTF8Type", "position", M "Int32Type",
                                               "type", M "UTF8Type", NULL};
    sstable_header hk, ht, hc;
    gen_header_init(&hk, M "UTF8Type", none, none, keyspaces);
    gen_header_init(&ht, M "UTF8Type", one_text, none, tables_cols);
    gen_header_init(&hc, M "UTF8Type", two_text, none, columns_cols);
    hk.min_timestamp = ht.min_timestamp = hc.min_timestamp = ts;
    strata_err e = write_table(node_dir, "keyspaces", "abac5682dea631c5b535b3d6cffd0fb6", &hk, keyspace_rows, tables,
                               rf, ts, host_id);
    if (!e)
        e = write_table(node_dir, "tables", "afddfb9dbc1e30688056eed6c302ba09", &ht, table_rows, tables, rf, ts,
                        host_id);
    if (!e)
        e = write_table(node_dir, "columns", "24101c25a2ae3af787c1b40ee1aca33f", &hc, column_rows, tables, rf, ts,
                        host_id);
    gen_header_free(&hk), gen_header_free(&ht), gen_header_free(&hc);
    return e;
}
