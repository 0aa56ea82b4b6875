/* gen_schema.c - system_schema SSTables describing keyspace gen and
 * system_schema itself.
 *
 * strata's backup reads a keyspace's column names and dropped columns
 * from the nodes' own system_schema (merge_schema_read), so each node gets
 * the rows Cassandra 4.0 writes on CREATE KEYSPACE and CREATE TABLE in
 * system_schema.keyspaces, .tables and .columns, with the same column
 * types, so that the generated tables are described exactly.  A real node
 * describes system_schema's own tables there too, which the backup reads
 * for their schema.cql, so those rows are written as Cassandra 4.0 writes
 * them at every start. */
#include "tools/gen/gen.h"

#include <string.h>

#include "engine/writer/writer.h"

#define M "org.apache.cassandra.db.marshal."
#define FROZEN_TEXT_MAP M "FrozenType(" M "MapType(" M "UTF8Type," M "UTF8Type))"

#define SYSTEM_SCHEMA "system_schema"

/* The names of the key and clustering columns, which no header holds. */
static const char *const key_names[GEN_NTABLES][2] = {{"sensor", "day"}, {"id", NULL}};
static const char *const clustering_names[GEN_NTABLES][2] = {{"ts", "seq"}, {NULL, NULL}};

/* system_schema's own tables as Cassandra 4.0 describes them
 * (SchemaKeyspace): each is keyed by keyspace_name and lists its
 * clustering and regular columns as (name, CQL type) pairs; tables and
 * views share the table options. */
#define TEXT_MAP "frozen<map<text, text>>"
#define TEXT_LIST "frozen<list<text>>"
#define TABLE_OPTIONS                                                                                                \
    "additional_write_policy", "text", "bloom_filter_fp_chance", "double", "caching", TEXT_MAP, "cdc", "boolean",    \
        "comment", "text", "compaction", TEXT_MAP, "compression", TEXT_MAP, "crc_check_chance", "double",            \
        "dclocal_read_repair_chance", "double", "default_time_to_live", "int", "extensions",                         \
        "frozen<map<text, blob>>", "gc_grace_seconds", "int", "id", "uuid", "max_index_interval", "int",             \
        "memtable_flush_period_in_ms", "int", "min_index_interval", "int", "read_repair", "text",                    \
        "read_repair_chance", "double", "speculative_retry", "text"

typedef struct {
    const char *name;
    const char *id; /* also its directory's suffix */
    const char *comment;
    const char *clustering[5]; /* (name, type) pairs, NULL-terminated */
    const char *regular[48];
} system_table;

static const system_table system_tables[] = {
    {"aggregates", "924c55872e3a345bb10c12f37c1ba895", "user defined aggregate definitions",
     {"aggregate_name", "text", "argument_types", TEXT_LIST, NULL},
     {"final_func", "text", "initcond", "text", "return_type", "text", "state_func", "text", "state_type", "text",
      NULL}},
    {"columns", "24101c25a2ae3af787c1b40ee1aca33f", "column definitions",
     {"table_name", "text", "column_name", "text", NULL},
     {"clustering_order", "text", "column_name_bytes", "blob", "kind", "text", "position", "int", "type", "text",
      NULL}},
    {"dropped_columns", "5e7583b5f3f43af19a39b7e1d6f5f11f", "dropped column registry",
     {"table_name", "text", "column_name", "text", NULL},
     {"dropped_time", "timestamp", "kind", "text", "type", "text", NULL}},
    {"functions", "96489b7980be3e14a70166a0b9159450", "user defined function definitions",
     {"function_name", "text", "argument_types", TEXT_LIST, NULL},
     {"argument_names", TEXT_LIST, "body", "text", "called_on_null_input", "boolean", "language", "text",
      "return_type", "text", NULL}},
    {"indexes", "0feb57ac311f382fba6d9024d305702f", "secondary index definitions",
     {"table_name", "text", "index_name", "text", NULL},
     {"kind", "text", "options", TEXT_MAP, NULL}},
    {"keyspaces", "abac5682dea631c5b535b3d6cffd0fb6", "keyspace definitions",
     {NULL},
     {"durable_writes", "boolean", "replication", TEXT_MAP, NULL}},
    {"tables", "afddfb9dbc1e30688056eed6c302ba09", "table definitions",
     {"table_name", "text", NULL},
     {TABLE_OPTIONS, "flags", "frozen<set<text>>", NULL}},
    {"triggers", "4df70b666b05325195a132b54005fd48", "trigger definitions",
     {"table_name", "text", "trigger_name", "text", NULL},
     {"options", TEXT_MAP, NULL}},
    {"types", "5a8b1ca866023f77a0459273d308917a", "user defined type definitions",
     {"type_name", "text", NULL},
     {"field_names", TEXT_LIST, "field_types", TEXT_LIST, NULL}},
    {"views", "9786ac1cdd583201a7cdad556410c985", "view definitions",
     {"view_name", "text", NULL},
     {TABLE_OPTIONS, "base_table_id", "uuid", "base_table_name", "text", "include_all_columns", "boolean",
      "where_clause", "text", NULL}},
};

enum { NSYSTEM = sizeof system_tables / sizeof *system_tables };

static const system_table *system_table_named(const char *name) {
    for (size_t i = 0; i < NSYSTEM; i++)
        if (!strcmp(system_tables[i].name, name)) return &system_tables[i];
    abort();
}

enum { MAX_COLUMNS = 32 };

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
    int64_t ts; /* of the rows being written */
    const gen_table *tables;
    int rf;
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

/* Adds the rows of one keyspace's partition. */
typedef strata_err (*rows_fn)(schema_out *o, const sstable_header *h);

typedef struct {
    const char *name; /* system_schema.<name> */
    const sstable_header *h;
    rows_fn system_rows; /* describing system_schema */
    rows_fn gen_rows;    /* describing gen */
} schema_table;

/* Writes system_schema.<name> as one SSTable of two partitions in token
 * order, system_schema's (-4911109968640856406) before gen's
 * (4224988456102391915).  Cassandra rewrites system_schema's own partition
 * at every start: a partition deletion at `boot`, then the rows at
 * boot + 1 (SchemaKeyspace.saveSystemKeyspacesSchema); gen's rows are
 * written at `ts`. */
static strata_err write_table(const char *node_dir, const schema_table *t, const gen_table *tables, int rf,
                              int64_t boot, int64_t ts, const uint8_t host_id[16]) {
    char *dir = xasprintf("%s/" SYSTEM_SCHEMA "/%s-%s", node_dir, t->name, system_table_named(t->name)->id);
    strata_err e = gen_mkdirs(dir);
    sstable_writer_params p = {.dir = dir, .version = "nb", .generation = 1, .header = t->h,
                               .compressor = "LZ4Compressor", .expected_keys = 2, .has_host_id = 1};
    memcpy(p.host_id, host_id, 16);
    schema_out o = {NULL, boot + 1, tables, rf};
    if (!e) e = sstable_writer_open(&p, &o.w);
    const sstable_deletion restart = {boot, boot / 1000000}, live = {INT64_MIN, INT64_MAX};
    if (!e) e = sstable_writer_begin_partition(o.w, (const uint8_t *)SYSTEM_SCHEMA, strlen(SYSTEM_SCHEMA), &restart);
    if (!e) e = t->system_rows(&o, t->h);
    if (!e) e = sstable_writer_end_partition(o.w);
    o.ts = ts;
    if (!e) e = sstable_writer_begin_partition(o.w, (const uint8_t *)GEN_KEYSPACE, strlen(GEN_KEYSPACE), &live);
    if (!e) e = t->gen_rows(&o, t->h);
    if (!e) e = sstable_writer_end_partition(o.w);
    if (o.w) {
        if (e) sstable_writer_abort(o.w);
        else e = sstable_writer_finish(o.w);
    }
    free(dir);
    return e;
}

static strata_err keyspace_row(schema_out *o, const sstable_header *h, const char *const *replication) {
    schema_row r = {.h = h};
    row_put(&r, "durable_writes", "\x01", 1);
    row_frozen(&r, "replication", replication, 1);
    strata_err e = row_write(o, &r, 0);
    row_free(&r);
    return e;
}

static strata_err system_keyspace_rows(schema_out *o, const sstable_header *h) {
    static const char *const replication[] = {"class", "org.apache.cassandra.locator.LocalStrategy", NULL};
    return keyspace_row(o, h, replication);
}

static strata_err gen_keyspace_rows(schema_out *o, const sstable_header *h) {
    char rfs[16];
    snprintf(rfs, sizeof rfs, "%d", o->rf);
    const char *const replication[] = {"class", "org.apache.cassandra.locator.NetworkTopologyStrategy",
                                       "datacenter1", rfs, NULL};
    return keyspace_row(o, h, replication);
}

/* The options of one table that differ between gen's and system_schema's;
 * the others are Cassandra 4.0's defaults for both. */
typedef struct {
    const char *name;
    uint8_t id[16];
    const char *comment;
    int32_t gc_grace_seconds;
    int32_t memtable_flush_period_in_ms;
} table_options;

static strata_err table_row(schema_out *o, const sstable_header *h, const table_options *t) {
    static const char *const caching[] = {"keys", "ALL", "rows_per_partition", "NONE", NULL};
    static const char *const compaction[] = {"class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                                             "max_threshold", "32", "min_threshold", "4", NULL};
    static const char *const compression[] = {"chunk_length_in_kb", "16", "class",
                                              "org.apache.cassandra.io.compress.LZ4Compressor", NULL};
    static const char *const empty[] = {NULL};
    static const char *const flags[] = {"compound", NULL};
    schema_row r = {.h = h};
    r.clustering[0] = (sstable_value){(const uint8_t *)t->name, strlen(t->name)};
    row_text(&r, "additional_write_policy", "99p");
    row_double(&r, "bloom_filter_fp_chance", 0.01);
    row_frozen(&r, "caching", caching, 1);
    row_text(&r, "comment", t->comment);
    row_frozen(&r, "compaction", compaction, 1);
    row_frozen(&r, "compression", compression, 1);
    row_double(&r, "crc_check_chance", 1.0);
    row_double(&r, "dclocal_read_repair_chance", 0.0);
    row_int(&r, "default_time_to_live", 0);
    row_frozen(&r, "extensions", empty, 1);
    row_frozen(&r, "flags", flags, 0);
    row_int(&r, "gc_grace_seconds", t->gc_grace_seconds);
    row_put(&r, "id", t->id, 16);
    row_int(&r, "max_index_interval", 2048);
    row_int(&r, "memtable_flush_period_in_ms", t->memtable_flush_period_in_ms);
    row_int(&r, "min_index_interval", 128);
    row_text(&r, "read_repair", "BLOCKING");
    row_double(&r, "read_repair_chance", 0.0);
    row_text(&r, "speculative_retry", "99p");
    strata_err e = row_write(o, &r, 1);
    row_free(&r);
    return e;
}

/* system_tables is in clustering (table name) order. */
static strata_err system_table_rows(schema_out *o, const sstable_header *h) {
    strata_err e = STRATA_OK;
    for (size_t t = 0; t < NSYSTEM && !e; t++) {
        table_options opt = {system_tables[t].name, {0}, system_tables[t].comment, 604800, 3600000};
        if (strata_unhex(system_tables[t].id, opt.id, 16)) abort();
        e = table_row(o, h, &opt);
    }
    return e;
}

/* rows in clustering (table name) order: readings, users */
static strata_err gen_table_rows(schema_out *o, const sstable_header *h) {
    strata_err e = STRATA_OK;
    for (int t = 0; t < GEN_NTABLES && !e; t++) {
        table_options opt = {o->tables[t].name, {0}, "", 864000, 0};
        memcpy(opt.id, o->tables[t].id, 16);
        e = table_row(o, h, &opt);
    }
    return e;
}

typedef struct {
    const char *name;
    const char *kind;
    int position;
    const char *type; /* CQL spelling */
} column_row;

static int column_row_cmp(const void *a, const void *b) {
    return strcmp(((const column_row *)a)->name, ((const column_row *)b)->name);
}

/* The rows of one table's columns, sorted here into clustering order. */
static strata_err table_column_rows(schema_out *o, const sstable_header *h, const char *table, column_row *cols,
                                    size_t n) {
    qsort(cols, n, sizeof *cols, column_row_cmp);
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < n && !e; i++) {
        schema_row r = {.h = h};
        r.clustering[0] = (sstable_value){(const uint8_t *)table, strlen(table)};
        r.clustering[1] = (sstable_value){(const uint8_t *)cols[i].name, strlen(cols[i].name)};
        row_text(&r, "clustering_order", strcmp(cols[i].kind, "clustering") ? "none" : "asc");
        row_put(&r, "column_name_bytes", cols[i].name, strlen(cols[i].name));
        row_text(&r, "kind", cols[i].kind);
        row_int(&r, "position", cols[i].position);
        row_text(&r, "type", cols[i].type);
        e = row_write(o, &r, 2);
        row_free(&r);
    }
    return e;
}

static strata_err system_column_rows(schema_out *o, const sstable_header *h) {
    strata_err e = STRATA_OK;
    for (size_t t = 0; t < NSYSTEM && !e; t++) {
        const system_table *st = &system_tables[t];
        column_row cols[MAX_COLUMNS];
        size_t n = 0;
        cols[n++] = (column_row){"keyspace_name", "partition_key", 0, "text"};
        for (int i = 0; st->clustering[2 * i]; i++)
            cols[n++] = (column_row){st->clustering[2 * i], "clustering", i, st->clustering[2 * i + 1]};
        for (size_t i = 0; st->regular[i]; i += 2)
            cols[n++] = (column_row){st->regular[i], "regular", -1, st->regular[i + 1]};
        e = table_column_rows(o, h, st->name, cols, n);
    }
    return e;
}

/* Adds a column of a gen table; its CQL type is spelled into types[*n]. */
static void gen_column(column_row *cols, char **types, size_t *n, const char *name, const char *kind, int position,
                       const sstable_type *type) {
    types[*n] = sstable_type_cql(type);
    cols[*n] = (column_row){name, kind, position, types[*n]};
    (*n)++;
}

static strata_err gen_column_rows(schema_out *o, const sstable_header *h) {
    strata_err e = STRATA_OK;
    for (int t = 0; t < GEN_NTABLES && !e; t++) {
        const sstable_header *th = &o->tables[t].header;
        column_row cols[MAX_COLUMNS];
        char *types[MAX_COLUMNS];
        size_t n = 0;
        const sstable_type *key = th->key_type;
        size_t nkey = key->kind == SSTABLE_T_COMPOSITE ? key->nparams : 1;
        for (size_t i = 0; i < nkey; i++)
            gen_column(cols, types, &n, key_names[t][i], "partition_key", (int)i,
                       key->kind == SSTABLE_T_COMPOSITE ? key->params[i] : key);
        for (size_t i = 0; i < th->nclustering; i++)
            gen_column(cols, types, &n, clustering_names[t][i], "clustering", (int)i, th->clustering[i]);
        for (size_t i = 0; i < th->nstatic; i++)
            gen_column(cols, types, &n, th->statics[i].name, "static", -1, th->statics[i].type);
        for (size_t i = 0; i < th->nregular; i++)
            gen_column(cols, types, &n, th->regulars[i].name, "regular", -1, th->regulars[i].type);
        e = table_column_rows(o, h, o->tables[t].name, cols, n);
        for (size_t i = 0; i < n; i++) free(types[i]);
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
    /* the node started a second before keyspace gen was created */
    const int64_t boot = ts - 1000000;
    sstable_header hk, ht, hc;
    gen_header_init(&hk, M "UTF8Type", none, none, keyspaces);
    gen_header_init(&ht, M "UTF8Type", one_text, none, tables_cols);
    gen_header_init(&hc, M "UTF8Type", two_text, none, columns_cols);
    hk.min_timestamp = ht.min_timestamp = hc.min_timestamp = boot;
    const schema_table schema[] = {{"keyspaces", &hk, system_keyspace_rows, gen_keyspace_rows},
                                   {"tables", &ht, system_table_rows, gen_table_rows},
                                   {"columns", &hc, system_column_rows, gen_column_rows}};
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < sizeof schema / sizeof *schema && !e; i++)
        e = write_table(node_dir, &schema[i], tables, rf, boot, ts, host_id);
    gen_header_free(&hk), gen_header_free(&ht), gen_header_free(&hc);
    return e;
}
