/* test_merge_layers.c - windows and residuals, the merge features a
 * cluster version is built from, against what Cassandra returned.
 *
 * A version takes what was written up to its cut (windows), and stores
 * only what the layers stored before do not hold already (residuals
 * against references).  On the real rf3-a cluster: the two halves of a
 * window split, written as two SSTables, reconcile to Cassandra's
 * CONSISTENCY ALL answer while neither does alone; the residual of
 * content already stored, even after a node's compaction rewrote it, is
 * empty; and version 2's new SSTables against version 1's merged layer
 * leave a small residual that, stacked on that layer, is exactly version
 * 2's answer. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "tests/unit/rf3a.h"

static const char *const tables[] = {"users", "readings", "events", "page_counts"};

/* Phase c of rf3-a began at 23:18:20: half of its writes are before. */
#define SPLIT_US INT64_C(1795303100000000)
#define HOUR_US INT64_C(3600000000)

static char *temp_dir(void) {
    char tmpl[] = "/tmp/strata-layers-XXXXXX";
    return xstrdup(mkdtemp(tmpl));
}

static merge_input *inputs_of(char **paths, size_t n, int64_t from, int64_t to, int64_t beyond, int64_t later,
                              int may_repeat) {
    merge_input *in = xcalloc(n + 1, sizeof *in);
    for (size_t i = 0; i < n; i++) in[i] = (merge_input){paths[i], NULL, from, to, beyond, later, 0, may_repeat, 0};
    return in;
}

static void free_paths(char **paths, size_t n) {
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* Writes the merge of `in` (n inputs) as nb-<gen> in dir; returns the
 * partitions written and the window's counts. */
static size_t write_inputs(const merge_input *in, size_t n, const merge_table *t, const char *dir, long gen,
                           uint64_t *later, uint64_t *beyond) {
    merge *m;
    if (merge_open_inputs(in, n, t, &m)) fail_msg("merge_open_inputs: %s", strata_errmsg());
    size_t written = write_stream(m, dir, gen, NULL);
    uint64_t l, b;
    merge_window_counts(m, &l, &b);
    if (later) *later = l;
    if (beyond) *beyond = b;
    merge_close(m);
    if (written) assert_sstable_valid(dir, gen);
    return written;
}

/* The view of the SSTables nb-<gens> in dir against version `ver`. */
static size_t diff_layers(const char *ver, const char *table, const merge_table *t, const char *dir,
                          const long *gens, size_t n, const char *who, int show) {
    char *paths[4];
    for (size_t i = 0; i < n; i++) paths[i] = xasprintf("%s/nb-%ld-big-Data.db", dir, gens[i]);
    merge *m;
    if (merge_open((const char *const *)paths, n, t, &m)) fail_msg("merge_open: %s", strata_errmsg());
    size_t diff = view_diff(ver, table, m, t, who, show);
    merge_close(m);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    return diff;
}

static uint64_t data_size(const char *dir, long gen) {
    char *path = xasprintf("%s/nb-%ld-big-Data.db", dir, gen);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    free(path);
    return (uint64_t)st.st_size;
}

/* Before and after the split, each half with its own window; the facts
 * far past the split (rf3-a's "+1 day" writes) go with the first half. */
static void test_window_split(void **state) {
    (void)state;
    merge_schema *schema = read_schema("v1");
    for (size_t i = 0; i < 4; i++) {
        const merge_table *t = merge_schema_table(schema, tables[i]);
        char **paths;
        size_t n = table_paths("v1", tables[i], 0, &paths);
        char *dir = temp_dir();
        merge_input *before = inputs_of(paths, n, INT64_MIN, SPLIT_US, SPLIT_US + HOUR_US, SPLIT_US + HOUR_US, 0);
        merge_input *after = inputs_of(paths, n, SPLIT_US, SPLIT_US + HOUR_US, INT64_MAX, SPLIT_US + HOUR_US, 0);
        uint64_t later, beyond, later2;
        assert_true(write_inputs(before, n, t, dir, 1, &later, &beyond) > 0);
        assert_true(write_inputs(after, n, t, dir, 2, &later2, NULL) > 0);
        assert_true(later > 0);
        if (!strcmp(tables[i], "users")) assert_true(beyond > 0);
        const long both[] = {1, 2};
        assert_int_equal(diff_layers("v1", tables[i], t, dir, both, 2, "window halves stacked", 1), 0);
        assert_true(diff_layers("v1", tables[i], t, dir, &both[0], 1, "first half alone", 0) > 0);
        assert_true(diff_layers("v1", tables[i], t, dir, &both[1], 1, "second half alone", 0) > 0);
        free(before), free(after);
        free_paths(paths, n);
        remove_dir(dir);
    }
    merge_schema_free(schema);
}

/* v1 merged into one layer; then `extra` (n2 SSTables) against it. */
static size_t residual_against_v1(const merge_table *t, const char *table, char **extra, size_t n2, const char *dir,
                                  long gen) {
    char **paths;
    size_t n = table_paths("v1", table, 0, &paths);
    merge_input *all = inputs_of(paths, n, MERGE_WINDOW_ALL, 0);
    assert_true(write_inputs(all, n, t, dir, 1, NULL, NULL) > 0);
    free(all);
    free_paths(paths, n);
    merge_input *in = inputs_of(extra, n2, MERGE_WINDOW_ALL, 1);
    char *layer = xasprintf("%s/nb-1-big-Data.db", dir);
    in[n2] = (merge_input){layer, NULL, MERGE_WINDOW_ALL, 1, 0, 0};
    size_t written = write_inputs(in, n2 + 1, t, dir, gen, NULL, NULL);
    free(layer);
    free(in);
    return written;
}

/* What the layer holds already leaves no residual. */
static void test_residual_of_stored_is_empty(void **state) {
    (void)state;
    merge_schema *schema = read_schema("v1");
    for (size_t i = 0; i < 4; i++) {
        const merge_table *t = merge_schema_table(schema, tables[i]);
        char **paths;
        size_t n = table_paths("v1", tables[i], 0, &paths);
        char *dir = temp_dir();
        assert_int_equal(residual_against_v1(t, tables[i], paths, n, dir, 2), 0);
        free_paths(paths, n);
        remove_dir(dir);
    }
    merge_schema_free(schema);
}

/* node2 compacts its SSTables into one (a merge of node2 alone, nothing
 * purged): new files, stored content, no residual. */
static void test_residual_of_node_compaction_is_empty(void **state) {
    (void)state;
    merge_schema *schema = read_schema("v1");
    for (size_t i = 0; i < 4; i++) {
        const merge_table *t = merge_schema_table(schema, tables[i]);
        char **paths;
        size_t n = table_paths("v1", tables[i], 2, &paths);
        char *dir = temp_dir();
        merge_input *node2 = inputs_of(paths, n, MERGE_WINDOW_ALL, 0);
        assert_true(write_inputs(node2, n, t, dir, 9, NULL, NULL) > 0);
        free(node2);
        char *compacted = xasprintf("%s/nb-9-big-Data.db", dir);
        assert_int_equal(residual_against_v1(t, tables[i], &compacted, 1, dir, 2), 0);
        free(compacted);
        free_paths(paths, n);
        remove_dir(dir);
    }
    merge_schema_free(schema);
}

/* The v2 SSTables that v1 did not have: those a backup of v2 reads. */
static size_t new_in_v2(const char *table, char ***out) {
    char **v1, **v2;
    size_t n1 = table_paths("v1", table, 0, &v1), n2 = table_paths("v2", table, 0, &v2), n = 0;
    *out = NULL;
    for (size_t i = 0; i < n2; i++) {
        int known = 0;
        const char *rel = v2[i] + strlen(CORPUS "/v2");
        for (size_t j = 0; j < n1 && !known; j++) known = !strcmp(rel, v1[j] + strlen(CORPUS));
        if (known) continue;
        *out = xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = xstrdup(v2[i]);
    }
    free_paths(v1, n1);
    free_paths(v2, n2);
    return n;
}

/* Version 2's new SSTables against version 1's layer: a residual much
 * smaller than the layer, which stacked on it is version 2's answer. */
static void test_residual_of_v2(void **state) {
    (void)state;
    merge_schema *schema = read_schema("v2");
    for (size_t i = 0; i < 4; i++) {
        const merge_table *t = merge_schema_table(schema, tables[i]);
        char **fresh;
        size_t n = new_in_v2(tables[i], &fresh);
        assert_true(n > 0);
        char *dir = temp_dir();
        assert_true(residual_against_v1(t, tables[i], fresh, n, dir, 2) > 0);
        const long both[] = {1, 2};
        assert_int_equal(diff_layers("v2", tables[i], t, dir, both, 2, "v1 layer + v2 residual", 1), 0);
        uint64_t base = data_size(dir, 1), residual = data_size(dir, 2);
        printf("layers %-12s v1 layer %llu bytes, v2 residual %llu bytes\n", tables[i], (unsigned long long)base,
               (unsigned long long)residual);
        assert_true(residual * 2 < base);
        free_paths(fresh, n);
        remove_dir(dir);
    }
    merge_schema_free(schema);
}

/* Pre-2.1 counters: a legacy SSTable read again (may_repeat) against
 * itself as the reference.  Global shards replace each other, so content
 * already stored leaves nothing; local shards add up, so the stored one
 * and the one read again would count twice: the merge refuses, and a
 * backup stores such a table as the nodes' files. */
#define LEGACY_TABLES "../shared/corpus/cassandra-legacy/ma/legacy_tables/"

static strata_err residual_of_itself(const char *path, size_t *cells) {
    merge_input in[2] = {{path, NULL, MERGE_WINDOW_ALL, 1, 0, 0}, {path, NULL, MERGE_WINDOW_ALL, 0, 1, 0}};
    merge *m;
    assert_int_equal(merge_open_inputs(in, 2, NULL, &m), STRATA_OK);
    strata_err e;
    const sstable_partition *p;
    *cells = 0;
    while (!(e = merge_next_partition(m, &p)) && p) {
        const sstable_unfiltered *u;
        while (!(e = merge_next_unfiltered(m, &u)) && u) *cells += u->ncells;
        if (e) break;
    }
    merge_close(m);
    return e;
}

static void test_residual_of_stored_counter_shards(void **state) {
    (void)state;
    size_t cells;
    assert_int_equal(residual_of_itself(LEGACY_TABLES "legacy_ma_simple_counter/ma-1-big-Data.db", &cells), STRATA_OK);
    assert_int_equal(cells, 0);
    strata_err e = residual_of_itself(LEGACY_TABLES "legacy_ma_simple_counter_compact/ma-1-big-Data.db", &cells);
    assert_int_equal(e, STRATA_EFORMAT);
    assert_non_null(strstr(strata_errmsg(), "local shards"));
    assert_int_equal(cells, 0);
    strata_clear_error();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_split),
        cmocka_unit_test(test_residual_of_stored_is_empty),
        cmocka_unit_test(test_residual_of_node_compaction_is_empty),
        cmocka_unit_test(test_residual_of_v2),
        cmocka_unit_test(test_residual_of_stored_counter_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
