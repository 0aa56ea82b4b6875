/* test_schema_cql.c - the schema read from system_schema SSTables against
 * what Cassandra itself wrote about it.
 *
 * In rf3-a every table directory of every node, at both versions, holds
 * the schema.cql that `nodetool snapshot` wrote; the node's own
 * system_schema SSTables sit next to it.  The CQL generated from those
 * SSTables must be that file byte for byte, for one node's SSTables and
 * for the three nodes' merged.  The keyspace's replication must be the one
 * DESCRIBE KEYSPACE printed (the top-level schema.cql), and reading the
 * schema from a list of Data.db files must give what reading the
 * directories gives.  rf3-a has no materialized view: two are added to
 * node1's schema by SSTables written here, and their CQL is checked against
 * the text Cassandra's ViewMetadata.appendCqlTo gives for them. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/merge/merge.h"
#include "engine/writer/writer.h"

#define CORPUS "../shared/corpus/cluster/rf3-a"

static const char *const VERSIONS[] = {CORPUS, CORPUS "/v2"};

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    strata_buf b;
    strata_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f))) strata_buf_put(&b, chunk, n);
    fclose(f);
    strata_buf_put(&b, "", 1);
    return (char *)b.data;
}

static merge_schema *read_dirs(const char *version, int first, int last) {
    char *dirs[3] = {NULL, NULL, NULL};
    size_t n = 0;
    for (int node = first; node <= last; node++) dirs[n++] = xasprintf("%s/node%d/system_schema", version, node);
    merge_schema *s;
    strata_err e = merge_schema_read((const char *const *)dirs, n, "app", &s);
    if (e) fail_msg("schema of %s: %s", version, strata_errmsg());
    for (size_t i = 0; i < n; i++) free(dirs[i]);
    return s;
}

/* Compares the CQL of every table directory of `app_dir` with the
 * schema.cql Cassandra wrote there; returns how many were compared. */
static int check_tables(const merge_schema *s, const char *app_dir) {
    DIR *d = opendir(app_dir);
    assert_non_null(d);
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(d))) {
        const char *dash = strrchr(e->d_name, '-');
        if (e->d_name[0] == '.' || !dash) continue;
        char *table = xstrndup(e->d_name, (size_t)(dash - e->d_name));
        char *path = xasprintf("%s/%s/schema.cql", app_dir, e->d_name);
        char *want = read_text(path);
        const merge_table *t = merge_schema_table(s, table);
        if (!t) fail_msg("%s: no table %s in system_schema", path, table);
        char *got;
        if (merge_table_cql(s, t, &got)) fail_msg("%s: %s", path, strata_errmsg());
        if (strcmp(want, got)) {
            print_error("%s differs; generated:\n%s", path, got);
            assert_string_equal(got, want);
        }
        checked++;
        free(got), free(want), free(path), free(table);
    }
    closedir(d);
    return checked;
}

/* Each node's own system_schema gives each of its schema.cql files. */
static void test_every_node_every_table(void **state) {
    (void)state;
    int checked = 0;
    for (size_t v = 0; v < 2; v++)
        for (int node = 1; node <= 3; node++) {
            merge_schema *s = read_dirs(VERSIONS[v], node, node);
            char *app = xasprintf("%s/node%d/app", VERSIONS[v], node);
            checked += check_tables(s, app);
            free(app);
            merge_schema_free(s);
        }
    assert_int_equal(checked, 2 * 3 * 4);
}

/* The three nodes' system_schema merged give the same files. */
static void test_nodes_merged(void **state) {
    (void)state;
    for (size_t v = 0; v < 2; v++) {
        merge_schema *s = read_dirs(VERSIONS[v], 1, 3);
        char *app = xasprintf("%s/node1/app", VERSIONS[v]);
        assert_int_equal(check_tables(s, app), 4);
        free(app);
        merge_schema_free(s);
    }
}

/* DESCRIBE KEYSPACE prints "replication = {'class': 'X', 'k': 'v'}" with
 * the strategy's class name shortened by the driver. */
static void check_replication(const merge_schema *s, const char *describe_path) {
    char *text = read_text(describe_path);
    const char *p = strstr(text, "CREATE KEYSPACE app WITH replication = {");
    assert_non_null(p);
    p = strchr(p, '{') + 1;
    size_t pairs = 0;
    char key[128], value[256];
    while (sscanf(p, " '%127[^']': '%255[^']'", key, value) == 2) {
        const char *ours = merge_map_get(&s->replication, key);
        if (!ours) fail_msg("replication option %s missing", key);
        if (!strcmp(key, "class") && !strncmp(ours, "org.apache.cassandra.locator.", 29)) ours += 29;
        assert_string_equal(ours, value);
        pairs++;
        p = strchr(strchr(strchr(p, ':') + 1, '\'') + 1, '\'') + 1;
        p += strspn(p, ", ");
    }
    assert_int_equal(*p, '}');
    assert_int_equal(pairs, s->replication.n);
    assert_int_equal(s->durable_writes, strstr(text, "AND durable_writes = true;") != NULL);
    assert_string_equal(merge_map_get(&s->replication, "class"),
                        "org.apache.cassandra.locator.NetworkTopologyStrategy");
    free(text);
}

static void test_replication(void **state) {
    (void)state;
    const char *describe[] = {CORPUS "/schema.cql", CORPUS "/schema-v2.cql"};
    for (size_t v = 0; v < 2; v++)
        for (int node = 1; node <= 3; node++) {
            merge_schema *s = read_dirs(VERSIONS[v], node, node);
            check_replication(s, describe[v]);
            merge_schema_free(s);
        }
}

/* Every Data.db under the nodes' system_schema directories, named by their
 * table, newest node first. */
static size_t list_files(const char *version, merge_schema_file **files) {
    size_t n = 0;
    *files = NULL;
    for (int node = 3; node >= 1; node--) {
        char *dir = xasprintf("%s/node%d/system_schema", version, node);
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *te;
        while ((te = readdir(d))) {
            const char *dash = strrchr(te->d_name, '-');
            if (te->d_name[0] == '.' || !dash) continue;
            char *tdir = xasprintf("%s/%s", dir, te->d_name);
            DIR *td = opendir(tdir);
            struct dirent *fe;
            while (td && (fe = readdir(td))) {
                size_t fl = strlen(fe->d_name);
                if (fl < 8 || strcmp(fe->d_name + fl - 8, "-Data.db")) continue;
                *files = xrealloc(*files, (n + 1) * sizeof **files);
                (*files)[n++] = (merge_schema_file){xstrndup(te->d_name, (size_t)(dash - te->d_name)),
                                                    xasprintf("%s/%s", tdir, fe->d_name)};
            }
            if (td) closedir(td);
            free(tdir);
        }
        closedir(d);
        free(dir);
    }
    return n;
}

static void free_files(merge_schema_file *files, size_t n) {
    for (size_t i = 0; i < n; i++) free((char *)files[i].table), free((char *)files[i].path);
    free(files);
}

static void assert_maps_equal(const merge_map *a, const merge_map *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->pairs[i].key, b->pairs[i].key);
        assert_string_equal(a->pairs[i].value, b->pairs[i].value);
    }
}

static void assert_tables_equal(const merge_table *a, const merge_table *b) {
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->ncolumns, b->ncolumns);
    for (size_t i = 0; i < a->ncolumns; i++) {
        assert_string_equal(a->columns[i].name, b->columns[i].name);
        assert_string_equal(a->columns[i].kind, b->columns[i].kind);
        assert_string_equal(a->columns[i].type, b->columns[i].type);
        assert_int_equal(a->columns[i].position, b->columns[i].position);
        assert_int_equal(a->columns[i].descending, b->columns[i].descending);
    }
    assert_int_equal(a->ndropped, b->ndropped);
    for (size_t i = 0; i < a->ndropped; i++) {
        assert_string_equal(a->dropped[i].name, b->dropped[i].name);
        assert_string_equal(a->dropped[i].type, b->dropped[i].type);
        assert_string_equal(a->dropped[i].kind, b->dropped[i].kind);
        assert_int_equal(a->dropped[i].dropped_time, b->dropped[i].dropped_time);
    }
    assert_int_equal(a->nindexes, b->nindexes);
    for (size_t i = 0; i < a->nindexes; i++) {
        assert_string_equal(a->indexes[i].name, b->indexes[i].name);
        assert_string_equal(a->indexes[i].kind, b->indexes[i].kind);
        assert_maps_equal(&a->indexes[i].options, &b->indexes[i].options);
    }
    assert_int_equal(a->has_params, b->has_params);
    assert_memory_equal(a->params.id, b->params.id, 16);
    assert_string_equal(a->params.comment, b->params.comment);
    assert_maps_equal(&a->params.compaction, &b->params.compaction);
}

/* The file list (as a backup's snapshot lists name them) reads the same
 * schema as the directories, and gives the same schema.cql files. */
static void test_file_list_equals_directories(void **state) {
    (void)state;
    for (size_t v = 0; v < 2; v++) {
        merge_schema_file *files;
        size_t n = list_files(VERSIONS[v], &files);
        merge_schema *a, *b = read_dirs(VERSIONS[v], 1, 3);
        if (merge_schema_read_files(files, n, "app", &a)) fail_msg("%s", strata_errmsg());
        assert_string_equal(a->keyspace, b->keyspace);
        assert_int_equal(a->durable_writes, b->durable_writes);
        assert_maps_equal(&a->replication, &b->replication);
        assert_int_equal(a->ntypes, b->ntypes);
        assert_int_equal(a->ntypes, 1);
        for (size_t i = 0; i < a->ntypes; i++) {
            assert_string_equal(a->types[i].name, b->types[i].name);
            assert_int_equal(a->types[i].nfields, b->types[i].nfields);
            for (size_t f = 0; f < a->types[i].nfields; f++) {
                assert_string_equal(a->types[i].field_names[f], b->types[i].field_names[f]);
                assert_string_equal(a->types[i].field_types[f], b->types[i].field_types[f]);
            }
        }
        assert_int_equal(a->ntables, b->ntables);
        assert_int_equal(a->ntables, 4);
        for (size_t i = 0; i < a->ntables; i++)
            assert_tables_equal(&a->tables[i], merge_schema_table(b, a->tables[i].name));
        char *app = xasprintf("%s/node2/app", VERSIONS[v]);
        assert_int_equal(check_tables(a, app), 4);
        free(app);
        merge_schema_free(a);
        merge_schema_free(b);
        free_files(files, n);
    }
}

/* Without system_schema.tables the options are unknown: no CQL.  A
 * keyspace no node has is an error. */
static void test_missing_schema(void **state) {
    (void)state;
    merge_schema_file *files;
    size_t n = list_files(CORPUS, &files), kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(files[i].table, "tables")) files[kept++] = files[i];
        else free((char *)files[i].table), free((char *)files[i].path);
    }
    merge_schema *s;
    assert_int_equal(merge_schema_read_files(files, kept, "app", &s), STRATA_OK);
    const merge_table *users = merge_schema_table(s, "users");
    assert_non_null(users);
    assert_int_equal(users->ncolumns, 13);
    char *cql = (char *)1;
    assert_int_equal(merge_table_cql(s, users, &cql), STRATA_ENOENT);
    assert_null(cql);
    merge_schema_free(s);
    assert_int_equal(merge_schema_read_files(files, kept, "no_such_keyspace", &s), STRATA_ENOENT);
    assert_null(s);
    free_files(files, kept);
}

/* One read of every keyspace gives each keyspace as reading it alone
 * does, and the table ids the nodes' directories carry. */
static void test_read_all_equals_each_keyspace(void **state) {
    (void)state;
    merge_schema_file *files;
    size_t n = list_files(CORPUS, &files);
    merge_schema_set set;
    if (merge_schema_read_all(files, n, &set)) fail_msg("%s", strata_errmsg());
    size_t known = 0;
    for (size_t k = 0; k < set.n; k++) {
        const merge_schema *all;
        if (merge_schema_set_get(&set, set.v[k]->keyspace, &all)) continue;
        known++;
        merge_schema *one;
        if (merge_schema_read_files(files, n, all->keyspace, &one)) fail_msg("%s", strata_errmsg());
        assert_int_equal(all->durable_writes, one->durable_writes);
        assert_maps_equal(&all->replication, &one->replication);
        assert_int_equal(all->ntypes, one->ntypes);
        assert_int_equal(all->ntables, one->ntables);
        for (size_t i = 0; i < all->ntables; i++) assert_tables_equal(&all->tables[i], &one->tables[i]);
        merge_schema_free(one);
    }
    /* app, system_auth, system_distributed, system_traces; system and
     * system_schema are in no system_schema.keyspaces */
    assert_true(known >= 4);
    const merge_schema *app;
    assert_int_equal(merge_schema_set_get(&set, "app", &app), STRATA_OK);
    const merge_table *users = merge_schema_table(app, "users");
    assert_non_null(users);
    assert_true(users->params.has_id);
    char hex[33];
    strata_hex(users->params.id, 16, hex);
    assert_string_equal(hex, "8f4956a0e60111f1b5720f8cceb1328b");
    assert_int_equal(merge_schema_set_get(&set, "no_such_keyspace", &app), STRATA_ENOENT);
    assert_null(app);
    merge_schema_set_free(&set);
    free_files(files, n);
}

/* ---- Materialized views ---- */

#define VIEW_TS 1795400000000000LL
#define MAX_CELLS 32
#define MARSHAL "org.apache.cassandra.db.marshal."

/* One row of a system_schema table: its clustering (text) and cells, each
 * a column's name, type class and value. */
typedef struct {
    const char *clustering[2];
    const char *names[MAX_CELLS];
    const char *types[MAX_CELLS];
    strata_buf values[MAX_CELLS];
    size_t n;
} schema_row;

static void put(schema_row *r, const char *name, const char *type, const void *p, size_t len) {
    r->names[r->n] = name;
    r->types[r->n] = type;
    strata_buf_init(&r->values[r->n]);
    strata_buf_put(&r->values[r->n++], p, len);
}

static void put_text(schema_row *r, const char *name, const char *v) { put(r, name, MARSHAL "UTF8Type", v, strlen(v)); }

static void put_be(schema_row *r, const char *name, const char *type, uint64_t v, size_t len) {
    uint8_t b[8];
    for (size_t i = 0; i < len; i++) b[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    put(r, name, type, b, len);
}

static void put_int(schema_row *r, const char *name, int32_t v) { put_be(r, name, MARSHAL "Int32Type", (uint32_t)v, 4); }

static void put_double(schema_row *r, const char *name, double d) {
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put_be(r, name, MARSHAL "DoubleType", bits, 8);
}

/* A frozen map<text, text> from key, value, ..., NULL in key order. */
static void put_map(schema_row *r, const char *name, const char *const *kv) {
    strata_buf b;
    strata_buf_init(&b);
    size_t n = 0;
    while (kv[n]) n++;
    uint8_t len[4] = {0, 0, 0, (uint8_t)(n / 2)};
    strata_buf_put(&b, len, 4);
    for (size_t i = 0; i < n; i++) {
        len[3] = (uint8_t)strlen(kv[i]);
        strata_buf_put(&b, len, 4);
        strata_buf_put(&b, kv[i], strlen(kv[i]));
    }
    put(r, name, MARSHAL "FrozenType(" MARSHAL "MapType(" MARSHAL "UTF8Type," MARSHAL "UTF8Type))", b.data, b.len);
    strata_buf_free(&b);
}

static int column_cmp(const void *a, const void *b) {
    return strcmp(((const sstable_column *)a)->name, ((const sstable_column *)b)->name);
}

/* Writes `rows` (in clustering order) as the one partition "app" of an
 * SSTable of system_schema.<table> under dir/<table>-0/.  Its header holds
 * the columns the rows name, all simple, so in name order. */
static void write_schema_table(const char *dir, const char *table, schema_row *rows, size_t nrows) {
    sstable_header h = {.min_timestamp = VIEW_TS, .key_type = sstable_type_parse(MARSHAL "UTF8Type"),
                        .nclustering = rows[0].clustering[1] ? 2 : 1};
    sstable_type *clustering[2] = {sstable_type_parse(MARSHAL "UTF8Type"), sstable_type_parse(MARSHAL "UTF8Type")};
    h.clustering = clustering;
    sstable_column columns[MAX_CELLS];
    for (size_t k = 0; k < rows[0].n; k++)
        columns[h.nregular++] = (sstable_column){(char *)rows[0].names[k], sstable_type_parse(rows[0].types[k])};
    qsort(columns, h.nregular, sizeof *columns, column_cmp);
    h.regulars = columns;
    char *out = xasprintf("%s/%s-0", dir, table);
    assert_int_equal(mkdir(out, 0755), 0);
    sstable_writer_params p = {.dir = out, .version = "nb", .generation = 1, .header = &h, .expected_keys = 1};
    sstable_writer *w;
    assert_int_equal(sstable_writer_open(&p, &w), STRATA_OK);
    const sstable_deletion live = {INT64_MIN, INT64_MAX};
    assert_int_equal(sstable_writer_begin_partition(w, (const uint8_t *)"app", 3, &live), STRATA_OK);
    for (size_t i = 0; i < nrows; i++) {
        schema_row *r = &rows[i];
        sstable_cell cells[MAX_CELLS];
        size_t n = 0;
        for (size_t c = 0; c < h.nregular; c++)
            for (size_t k = 0; k < r->n; k++)
                if (!strcmp(h.regulars[c].name, r->names[k]))
                    cells[n++] = (sstable_cell){.column = &h.regulars[c], .column_index = c, .timestamp = VIEW_TS,
                                                .local_deletion_time = INT64_MAX,
                                                .value = {r->values[k].data, r->values[k].len}};
        assert_int_equal(n, r->n);
        sstable_value key[2];
        for (size_t c = 0; c < h.nclustering; c++)
            key[c] = (sstable_value){(const uint8_t *)r->clustering[c], strlen(r->clustering[c])};
        sstable_unfiltered u = {.kind = SSTABLE_ROW, .bound_kind = SSTABLE_CLUSTERING, .nclustering = h.nclustering,
                                .clustering = key, .has_liveness = 1, .timestamp = VIEW_TS,
                                .local_expiration = INT64_MAX, .row_deletion = live, .deletion = live,
                                .end_deletion = live, .ncells = n, .cells = cells};
        assert_int_equal(sstable_writer_add_unfiltered(w, &u), STRATA_OK);
    }
    assert_int_equal(sstable_writer_end_partition(w), STRATA_OK);
    assert_int_equal(sstable_writer_finish(w), STRATA_OK);
    for (size_t i = 0; i < nrows; i++)
        for (size_t k = 0; k < rows[i].n; k++) strata_buf_free(&rows[i].values[k]);
    for (size_t c = 0; c < h.nregular; c++) sstable_type_free(columns[c].type);
    sstable_type_free(h.key_type), sstable_type_free(clustering[0]), sstable_type_free(clustering[1]);
    free(out);
}

static void view_row(schema_row *r, const char *name, const char *id, const char *comment, const char *where,
                     int include_all) {
    static const char *const caching[] = {"keys", "NONE", "rows_per_partition", "10", NULL};
    static const char *const compaction[] = {"class", "org.apache.cassandra.db.compaction.LeveledCompactionStrategy",
                                             "sstable_size_in_mb", "160", NULL};
    static const char *const compression[] = {"chunk_length_in_kb", "64", "class",
                                              "org.apache.cassandra.io.compress.ZstdCompressor", NULL};
    static const char *const empty[] = {NULL};
    uint8_t uuid[16];
    assert_int_equal(strata_unhex(id, uuid, 16), 0);
    *r = (schema_row){.clustering = {name, NULL}};
    put_text(r, "additional_write_policy", "99p");
    put_text(r, "base_table_name", "users");
    put_double(r, "bloom_filter_fp_chance", 0.01);
    put_map(r, "caching", caching);
    put_text(r, "comment", comment);
    put_map(r, "compaction", compaction);
    put_map(r, "compression", compression);
    put_double(r, "crc_check_chance", 1.0);
    put_int(r, "default_time_to_live", 0);
    put_map(r, "extensions", empty);
    put_int(r, "gc_grace_seconds", 3600);
    put(r, "id", MARSHAL "UUIDType", uuid, 16);
    put(r, "include_all_columns", MARSHAL "BooleanType", include_all ? "\x01" : "\x00", 1);
    put_int(r, "max_index_interval", 2048);
    put_int(r, "memtable_flush_period_in_ms", 0);
    put_int(r, "min_index_interval", 128);
    put_text(r, "read_repair", "BLOCKING");
    put_text(r, "speculative_retry", "99p");
    put_text(r, "where_clause", where);
}

static void column_row(schema_row *r, const char *view, const char *name, const char *kind, int position,
                       const char *type, const char *order) {
    *r = (schema_row){.clustering = {view, name}};
    put_text(r, "clustering_order", order);
    put(r, "column_name_bytes", MARSHAL "BytesType", name, strlen(name));
    put_text(r, "kind", kind);
    put_int(r, "position", position);
    put_text(r, "type", type);
}

static const char VIEW_OPTIONS[] =
    "    AND additional_write_policy = '99p'\n"
    "    AND bloom_filter_fp_chance = 0.01\n"
    "    AND caching = {'keys': 'NONE', 'rows_per_partition': '10'}\n"
    "    AND cdc = false\n"
    "    AND comment = '%s'\n"
    "    AND compaction = {'class': 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy', "
    "'sstable_size_in_mb': '160'}\n"
    "    AND compression = {'chunk_length_in_kb': '64', 'class': 'org.apache.cassandra.io.compress.ZstdCompressor'}\n"
    "    AND crc_check_chance = 1.0\n"
    "    AND extensions = {}\n"
    "    AND gc_grace_seconds = 3600\n"
    "    AND max_index_interval = 2048\n"
    "    AND memtable_flush_period_in_ms = 0\n"
    "    AND min_index_interval = 128\n"
    "    AND read_repair = 'BLOCKING'\n"
    "    AND speculative_retry = '99p';\n";

static void assert_view_cql(const merge_schema *s, const char *name, const char *head, const char *comment) {
    const merge_table *v = merge_schema_table(s, name);
    assert_non_null(v);
    assert_non_null(v->view);
    char *got, *options = xasprintf(VIEW_OPTIONS, comment), *want = xasprintf("%s%s", head, options);
    assert_int_equal(merge_table_cql(s, v, &got), STRATA_OK);
    assert_string_equal(got, want);
    free(got), free(want), free(options);
}

/* users_by_age selects every column, with a DESC clustering column;
 * users_by_name some, where select order (by name) differs from the order
 * of CREATE TABLE (simple columns first): prefs, a map, before score. */
static void test_materialized_views(void **state) {
    (void)state;
    char tmpl[] = "/tmp/strata-views-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    schema_row views[2], columns[8];
    view_row(&views[0], "users_by_age", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "users by age",
             "age IS NOT NULL AND id IS NOT NULL", 1);
    view_row(&views[1], "users_by_name", "00112233445566778899aabbccddeeff", "users by name",
             "name IS NOT NULL AND id IS NOT NULL", 0);
    write_schema_table(dir, "views", views, 2);
    column_row(&columns[0], "users_by_age", "age", "partition_key", 0, "int", "none");
    column_row(&columns[1], "users_by_age", "id", "clustering", 0, "uuid", "desc");
    column_row(&columns[2], "users_by_age", "name", "regular", -1, "text", "none");
    column_row(&columns[3], "users_by_name", "age", "regular", -1, "int", "none");
    column_row(&columns[4], "users_by_name", "id", "clustering", 0, "uuid", "asc");
    column_row(&columns[5], "users_by_name", "name", "partition_key", 0, "text", "none");
    column_row(&columns[6], "users_by_name", "prefs", "regular", -1, "map<text, int>", "none");
    column_row(&columns[7], "users_by_name", "score", "regular", -1, "bigint", "none");
    write_schema_table(dir, "columns", columns, 8);

    const char *dirs[] = {CORPUS "/node1/system_schema", dir};
    merge_schema *s;
    if (merge_schema_read(dirs, 2, "app", &s)) fail_msg("%s", strata_errmsg());
    assert_view_cql(s, "users_by_age",
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS app.users_by_age AS\n"
                    "    SELECT *\n"
                    "    FROM app.users\n"
                    "    WHERE age IS NOT NULL AND id IS NOT NULL\n"
                    "    PRIMARY KEY (age, id)\n"
                    " WITH ID = 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n"
                    "    AND CLUSTERING ORDER BY (id DESC)\n",
                    "users by age");
    assert_view_cql(s, "users_by_name",
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS app.users_by_name AS\n"
                    "    SELECT name, id, age, prefs, score\n"
                    "    FROM app.users\n"
                    "    WHERE name IS NOT NULL AND id IS NOT NULL\n"
                    "    PRIMARY KEY (name, id)\n"
                    " WITH ID = 00112233-4455-6677-8899-aabbccddeeff\n"
                    "    AND CLUSTERING ORDER BY (id ASC)\n",
                    "users by name");
    /* the base table is still a table */
    const merge_table *users = merge_schema_table(s, "users");
    assert_non_null(users);
    assert_null(users->view);
    merge_schema_free(s);
    char *rm = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
    free(rm);
}

/* Values only damaged system_schema SSTables hold: a view named like a
 * table, a drop time beyond the µs range, a user type with an empty name.
 * Cassandra could not have written them; reading them must neither leak,
 * overflow nor touch a value that has no bytes. */
static void test_damaged_schema_values(void **state) {
    (void)state;
    char tmpl[] = "/tmp/strata-damaged-schema-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    schema_row view, dropped, type;
    view_row(&view, "users", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "a view named as its base", "id IS NOT NULL", 1);
    write_schema_table(dir, "views", &view, 1);
    dropped = (schema_row){.clustering = {"users", "ghost"}};
    put_be(&dropped, "dropped_time", MARSHAL "TimestampType", (uint64_t)INT64_MAX / 1000 + 1, 8);
    put_text(&dropped, "kind", "regular");
    put_text(&dropped, "type", "text");
    write_schema_table(dir, "dropped_columns", &dropped, 1);
    type = (schema_row){.clustering = {"", NULL}};
    put_text(&type, "field_names", "");
    write_schema_table(dir, "types", &type, 1);

    const char *dirs[] = {CORPUS "/node1/system_schema", dir};
    merge_schema *s;
    if (merge_schema_read(dirs, 2, "app", &s)) fail_msg("%s", strata_errmsg());
    const merge_table *users = merge_schema_table(s, "users");
    assert_non_null(users);
    assert_non_null(users->view);
    assert_int_equal(users->params.gc_grace_seconds, 3600);
    const merge_dropped *ghost = NULL;
    for (size_t i = 0; i < users->ndropped; i++)
        if (!strcmp(users->dropped[i].name, "ghost")) ghost = &users->dropped[i];
    assert_non_null(ghost);
    assert_true(ghost->dropped_time == INT64_MAX);
    assert_non_null(merge_schema_type(s, ""));
    merge_schema_free(s);
    char *rm = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
    free(rm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_node_every_table),
        cmocka_unit_test(test_nodes_merged),
        cmocka_unit_test(test_replication),
        cmocka_unit_test(test_file_list_equals_directories),
        cmocka_unit_test(test_missing_schema),
        cmocka_unit_test(test_read_all_equals_each_keyspace),
        cmocka_unit_test(test_materialized_views),
        cmocka_unit_test(test_damaged_schema_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
