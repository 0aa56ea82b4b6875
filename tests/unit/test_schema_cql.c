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
 * directories gives. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/merge/merge.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_node_every_table),
        cmocka_unit_test(test_nodes_merged),
        cmocka_unit_test(test_replication),
        cmocka_unit_test(test_file_list_equals_directories),
        cmocka_unit_test(test_missing_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
