/* test_gen_cluster.c - the cluster data set generator (tools/gen/).
 *
 * A small cluster is generated in a temporary directory and checked the
 * way strata's backup will use it: every SSTable opens, its digest and
 * index verify and its partitions are in token order; the nodes'
 * system_schema describes the generated tables exactly, and its own
 * tables as Cassandra does; the replicas really diverge; and the merge of
 * all nodes holds, for a sample of partitions, exactly the newest version
 * of every cell that some replica applied, as an account kept here from
 * the mutations themselves (not from any merge) says.  Then the next
 * version (--next) must write only later timestamps and keep that account
 * true, a compaction must leave a node's merged content unchanged, and
 * the same seed must give the same bytes.  The ring the writes were placed
 * by is the one the cluster file lists, and the one strata reads from the
 * nodes' own system tables without it.  A wide data set (--wide) is one
 * partition on every replica. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/backup/backup.h"
#include "engine/cluster/cluster.h"
#include "engine/merge/merge.h"
#include "tools/gen/gen.h"

#define SEED 7

static char *root;           /* the data set */
static gen_table tables[GEN_NTABLES];

/* ---- The account of what the cluster must hold ------------------------------
 * For the sampled partitions: the newest deletion of each partition, row
 * and collection, the range deletions, and the newest version of each
 * cell, all from the mutations as the generator hands them out. */
static json_t *pdel, *rdel, *cdel, *ranges, *cells;
static size_t observed;

static int sampled(int64_t token) { return ((uint64_t)token & 3) == 0; }

static char *hex(const uint8_t *p, size_t n) {
    char *s = xmalloc(2 * n + 1);
    strata_hex(p, n, s);
    return s;
}

static char *partition_id(int table, const uint8_t *key, size_t len) {
    char *k = hex(key, len), *id = xasprintf("%d/%s", table, k);
    free(k);
    return id;
}

/* "static" or the clustering values in hex */
static char *row_id(const char *pid, const sstable_value *c, size_t n, int is_static) {
    strata_buf b;
    strata_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        char *h = hex(c[i].p, c[i].len);
        strata_buf_put(&b, h, strlen(h));
        strata_buf_put(&b, ":", 1);
        free(h);
    }
    char *id = xasprintf("%s/%s%.*s", pid, is_static ? "static" : "row:", (int)b.len, b.data ? (char *)b.data : "");
    strata_buf_free(&b);
    return id;
}

static int64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return (int64_t)v;
}

static void keep_newest(json_t *obj, const char *id, int64_t ts) {
    json_t *old = json_object_get(obj, id);
    if (!old || json_integer_value(old) < ts) json_object_set_new(obj, id, json_integer(ts));
}

static void observe(const gen_mutation *m, uint32_t applied, void *arg) {
    (void)arg;
    assert_true(applied != 0);
    if (!sampled(m->token)) return;
    observed++;
    const sstable_header *h = &tables[m->table].header;
    char *pid = partition_id(m->table, m->key, m->key_len);
    if (m->kind == GEN_M_PARTITION) keep_newest(pdel, pid, m->timestamp);
    if (m->kind == GEN_M_RANGE) {
        json_t *list = json_object_get(ranges, pid);
        if (!list) json_object_set_new(ranges, pid, list = json_array());
        json_array_append_new(list, json_pack("[I, I, I]", (json_int_t)be64(m->clustering[0].p),
                                              (json_int_t)be64(m->end[0].p), (json_int_t)m->timestamp));
    }
    if (m->kind == GEN_M_ROW || m->kind == GEN_M_STATIC) {
        int is_static = m->kind == GEN_M_STATIC;
        const sstable_column *cols = is_static ? h->statics : h->regulars;
        char *rid = row_id(pid, m->clustering, m->nclustering, is_static);
        if (m->row_deleted) keep_newest(rdel, rid, m->timestamp);
        for (size_t c = 0; c < (is_static ? h->nstatic : h->nregular); c++)
            if (m->collections_replaced >> c & 1) {
                char *cid = xasprintf("%s/%s", rid, cols[c].name);
                keep_newest(cdel, cid, m->timestamp - 1);
                free(cid);
            }
        for (size_t i = 0; i < m->ncells; i++) {
            const gen_cell *c = &m->cells[i];
            char *path = c->path.p ? hex(c->path.p, c->path.len) : xstrdup("");
            char *id = xasprintf("%s/%s/%s", rid, cols[c->column].name, path);
            json_t *old = json_object_get(cells, id);
            if (!old || json_integer_value(json_object_get(old, "ts")) < m->timestamp) {
                char *value = c->deleted ? xstrdup("") : hex(c->value.p, c->value.len);
                json_object_set_new(cells, id,
                                    json_pack("{s:I, s:b, s:s, s:i, s:s, s:s, s:b, s:I}", "ts",
                                              (json_int_t)m->timestamp, "deleted", c->deleted, "value", value,
                                              "ttl", c->deleted ? 0 : c->ttl, "pid", pid, "rid", rid, "complex",
                                              c->path.p != NULL, "ms",
                                              (json_int_t)(m->nclustering ? be64(m->clustering[0].p) : 0)));
                free(value);
            }
            free(path), free(id);
        }
        free(rid);
    }
    free(pid);
}

static void account_init(void) {
    pdel = json_object(), rdel = json_object(), cdel = json_object(), ranges = json_object(), cells = json_object();
}

static void account_free(void) {
    json_decref(pdel), json_decref(rdel), json_decref(cdel), json_decref(ranges), json_decref(cells);
}

static int64_t newest(json_t *obj, const char *id) {
    json_t *v = json_object_get(obj, id);
    return v ? json_integer_value(v) : INT64_MIN;
}

/* The newest deletion covering a cell of the account. */
static int64_t shadow_of(const char *cell_id, json_t *cell) {
    const char *pid = json_string_value(json_object_get(cell, "pid"));
    const char *rid = json_string_value(json_object_get(cell, "rid"));
    int64_t s = newest(pdel, pid), r = newest(rdel, rid);
    if (r > s) s = r;
    if (json_is_true(json_object_get(cell, "complex"))) {
        /* the collection of "<rid>/<column>/<path>" */
        char *cid = xstrndup(cell_id, (size_t)(strrchr(cell_id, '/') - cell_id));
        r = newest(cdel, cid);
        if (r > s) s = r;
        free(cid);
    }
    if (!strstr(rid, "/static")) {
        json_int_t ms = json_integer_value(json_object_get(cell, "ms"));
        size_t i;
        json_t *range;
        json_array_foreach(json_object_get(ranges, pid), i, range) {
            json_int_t a = json_integer_value(json_array_get(range, 0)), b = json_integer_value(json_array_get(range, 1));
            int64_t ts = json_integer_value(json_array_get(range, 2));
            if (a <= ms && ms <= b && ts > s) s = ts;
        }
    }
    return s;
}

/* ---- Data set files ------------------------------------------------------------ */

static char **found;
static size_t nfound;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 8 && !strcmp(path + n - 8, "-Data.db")) {
        found = xrealloc(found, (nfound + 1) * sizeof *found);
        found[nfound++] = xstrdup(path);
    }
    return 0;
}

static void forget_data(void) {
    for (size_t i = 0; i < nfound; i++) free(found[i]);
    free(found), found = NULL, nfound = 0;
}

static void list_data(const char *dir) {
    forget_data();
    assert_int_equal(nftw(dir, collect, 16, FTW_PHYS), 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* The Data.db files of one table on node `only` (0: every node). */
static size_t table_paths(int table, int only, char ***paths) {
    size_t n = 0;
    *paths = NULL;
    for (int k = only ? only : 1; k <= (only ? only : 3); k++) {
        char *node = xasprintf("node%d", k), *dir = gen_table_dir(root, node, &tables[table]);
        long *g;
        size_t ng = gen_generations(dir, &g);
        for (size_t i = 0; i < ng; i++) {
            *paths = xrealloc(*paths, (n + 1) * sizeof **paths);
            (*paths)[n++] = xasprintf("%s/nb-%ld-big-Data.db", dir, g[i]);
        }
        free(g), free(node), free(dir);
    }
    return n;
}

static void free_paths(char **paths, size_t n) {
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

static merge_schema *read_schema(void) {
    char *dirs[3];
    for (int k = 0; k < 3; k++) dirs[k] = xasprintf("%s/node%d/system_schema", root, k + 1);
    merge_schema *s;
    if (merge_schema_read((const char *const *)dirs, 3, GEN_KEYSPACE, &s)) fail_msg("schema: %s", strata_errmsg());
    for (int k = 0; k < 3; k++) free(dirs[k]);
    return s;
}

/* ---- Checks ---------------------------------------------------------------------- */

/* Compares the merge of node `only` (0: all) with the account; returns the
 * cells that differ and counts in *matched the cells found as expected. */
static size_t differences(int only, size_t *matched) {
    merge_schema *schema = read_schema();
    size_t differ = 0, present = 0, want = 0;
    *matched = 0;
    for (int t = 0; t < GEN_NTABLES; t++) {
        char **paths;
        size_t n = table_paths(t, only, &paths);
        assert_true(n > 0);
        merge *m;
        assert_int_equal(merge_open((const char *const *)paths, n, merge_schema_table(schema, tables[t].name), &m),
                         STRATA_OK);
        const sstable_partition *p;
        const sstable_unfiltered *u;
        while (!merge_next_partition(m, &p) && p) {
            if (!sampled(p->token)) continue;
            char *pid = partition_id(t, p->key, p->key_len);
            while (!merge_next_unfiltered(m, &u) && u) {
                if (u->kind != SSTABLE_ROW && u->kind != SSTABLE_STATIC_ROW) continue;
                char *rid = row_id(pid, u->clustering, u->nclustering, u->kind == SSTABLE_STATIC_ROW);
                for (size_t i = 0; i < u->ncells; i++) {
                    const sstable_cell *c = &u->cells[i];
                    char *path = c->path.p ? hex(c->path.p, c->path.len) : xstrdup("");
                    char *id = xasprintf("%s/%s/%s", rid, c->column->name, path);
                    char *value = c->deleted ? xstrdup("") : hex(c->value.p, c->value.len);
                    json_t *e = json_object_get(cells, id);
                    present++;
                    if (!e || shadow_of(id, e) >= json_integer_value(json_object_get(e, "ts")) ||
                        json_integer_value(json_object_get(e, "ts")) != c->timestamp ||
                        json_is_true(json_object_get(e, "deleted")) != c->deleted ||
                        strcmp(json_string_value(json_object_get(e, "value")), value) ||
                        json_integer_value(json_object_get(e, "ttl")) != (c->expiring ? c->ttl : 0))
                        differ++;
                    else (*matched)++;
                    free(path), free(id), free(value);
                }
                free(rid);
            }
            free(pid);
        }
        merge_close(m);
        free_paths(paths, n);
    }
    const char *id;
    json_t *e;
    json_object_foreach(cells, id, e) want += shadow_of(id, e) < json_integer_value(json_object_get(e, "ts"));
    merge_schema_free(schema);
    /* cells expected but missing from the merge differ too */
    return differ + (want - *matched);
}

static int setup(void **state) {
    (void)state;
    char tmpl[] = "/tmp/strata-gen-XXXXXX";
    root = xstrdup(mkdtemp(tmpl));
    gen_tables_init(tables, SEED);
    account_init();
    gen_options o;
    gen_options_init(&o);
    o.out = root, o.mb = 4, o.seed = SEED, o.flush_mb = 0.6;
    o.observe = observe;
    if (gen_cluster_create(&o)) {
        fprintf(stderr, "gen_cluster_create: %s\n", strata_errmsg());
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    remove_tree(root);
    free(root);
    forget_data();
    gen_tables_free(tables);
    account_free();
    return 0;
}

/* Every SSTable opens, verifies, and lists its partitions in token order,
 * keys strictly increasing; each node flushed several times. */
static void test_sstables_verify(void **state) {
    (void)state;
    list_data(root);
    size_t data = 0;
    for (size_t i = 0; i < nfound; i++) {
        sstable *s;
        if (sstable_open(found[i], &s)) fail_msg("%s: %s", found[i], strata_errmsg());
        uint64_t keys, blocks;
        if (sstable_verify_digest(s) || sstable_verify_index(s, &keys, &blocks))
            fail_msg("%s: %s", found[i], strata_errmsg());
        assert_int_equal(sstable_rewind(s), STRATA_OK);
        const sstable_partition *p;
        const sstable_unfiltered *u;
        strata_buf prev;
        strata_buf_init(&prev);
        int64_t prev_token = INT64_MIN;
        uint64_t n = 0;
        while (!sstable_next_partition(s, &p) && p) {
            if (n && sstable_key_compare(s, prev.data, prev.len, p->key, p->key_len) >= 0)
                fail_msg("%s: partition %llu out of order", found[i], (unsigned long long)n);
            assert_true(p->token >= prev_token);
            prev_token = p->token;
            prev.len = 0;
            strata_buf_put(&prev, p->key, p->key_len);
            while (!sstable_next_unfiltered(s, &u) && u) {}
            n++;
        }
        assert_int_equal(n, keys);
        strata_buf_free(&prev);
        if (strstr(found[i], "/" GEN_KEYSPACE "/")) {
            data++;
            assert_string_equal(sstable_get_meta(s)->compressor, "LZ4Compressor");
            assert_true(sstable_get_meta(s)->has_host_id);
        }
        sstable_close(s);
    }
    assert_true(data >= 3 * GEN_NTABLES * 3);
}

/* merge_schema_read finds both tables with their columns as CQL knows them. */
static void test_schema_reads_back(void **state) {
    (void)state;
    merge_schema *s = read_schema();
    static const char *const want[GEN_NTABLES][12] = {
        {"sensor", "partition_key", "text", "day", "partition_key", "date", "ts", "clustering", "timestamp", "seq",
         "clustering", "int"},
        {"id", "partition_key", "uuid"}};
    assert_int_equal(s->ntables, GEN_NTABLES);
    for (int t = 0; t < GEN_NTABLES; t++) {
        const merge_table *mt = merge_schema_table(s, tables[t].name);
        assert_non_null(mt);
        const sstable_header *h = &tables[t].header;
        assert_int_equal(mt->ncolumns, (t ? 1 : 4) + h->nstatic + h->nregular);
        for (size_t i = 0; i < 4 && want[t][3 * i]; i++) {
            assert_string_equal(mt->columns[i].name, want[t][3 * i]);
            assert_string_equal(mt->columns[i].kind, want[t][3 * i + 1]);
            assert_string_equal(mt->columns[i].type, want[t][3 * i + 2]);
        }
        for (size_t i = 0; i < h->nregular + h->nstatic; i++) {
            const sstable_column *c = i < h->nregular ? &h->regulars[i] : &h->statics[i - h->nregular];
            int found_it = 0;
            for (size_t k = 0; k < mt->ncolumns; k++) {
                if (strcmp(mt->columns[k].name, c->name)) continue;
                char *cql = sstable_type_cql(c->type);
                assert_string_equal(mt->columns[k].type, cql);
                assert_string_equal(mt->columns[k].kind, i < h->nregular ? "regular" : "static");
                free(cql);
                found_it = 1;
            }
            assert_true(found_it);
        }
        assert_int_equal(mt->ndropped, 0);
    }
    merge_schema_free(s);
}

/* system_schema describes its own tables as a real Cassandra 4.0 node
 * does, so a backup writes their schema.cql: every one reads back from a
 * generated node exactly as from rf3-a's node1. */
static void test_system_schema_as_cassandra(void **state) {
    (void)state;
    const char *real_dir = "../shared/corpus/cluster/rf3-a/node1/system_schema";
    char *gen_dir = xasprintf("%s/node1/system_schema", root);
    merge_schema *real, *gen;
    if (merge_schema_read(&real_dir, 1, "system_schema", &real)) fail_msg("rf3-a: %s", strata_errmsg());
    if (merge_schema_read((const char *const *)&gen_dir, 1, "system_schema", &gen)) fail_msg("gen: %s", strata_errmsg());
    assert_int_equal(real->ntables, 10);
    assert_int_equal(gen->ntables, real->ntables);
    for (size_t i = 0; i < real->ntables; i++) {
        const merge_table *g = merge_schema_table(gen, real->tables[i].name);
        assert_non_null(g);
        char *want, *got;
        assert_int_equal(merge_table_cql(real, &real->tables[i], &want), STRATA_OK);
        assert_int_equal(merge_table_cql(gen, g, &got), STRATA_OK);
        assert_string_equal(got, want);
        free(want), free(got);
    }
    merge_schema_free(real), merge_schema_free(gen);
    free(gen_dir);
}

/* All nodes merged hold exactly the account's newest cells; node1 alone
 * misses some of them. */
static void test_merge_holds_every_applied_write(void **state) {
    (void)state;
    assert_true(observed > 1000);
    size_t matched, alone;
    assert_int_equal(differences(0, &matched), 0);
    assert_true(matched > 5000);
    size_t differ1 = differences(1, &alone);
    assert_true(differ1 > 100);
    assert_true(alone < matched);
}

static int64_t max_timestamp(void) {
    int64_t max = INT64_MIN;
    list_data(root);
    for (size_t i = 0; i < nfound; i++) {
        if (!strstr(found[i], "/" GEN_KEYSPACE "/")) continue;
        sstable *s;
        assert_int_equal(sstable_open(found[i], &s), STRATA_OK);
        if (sstable_get_meta(s)->max_timestamp > max) max = sstable_get_meta(s)->max_timestamp;
        sstable_close(s);
    }
    return max;
}

/* The next version adds SSTables on every node whose writes all come
 * after the first version's, and the account still holds. */
static void test_next_version(void **state) {
    (void)state;
    int64_t before = max_timestamp();
    size_t nbefore = nfound;
    char **old = xmalloc(nbefore * sizeof *old);
    for (size_t i = 0; i < nbefore; i++) old[i] = xstrdup(found[i]);
    size_t seen = observed;
    if (gen_cluster_next(root, 5, observe, NULL)) fail_msg("next: %s", strata_errmsg());
    assert_true(observed > seen);
    list_data(root);
    size_t added = 0;
    for (size_t i = 0; i < nfound; i++) {
        int is_old = 0;
        for (size_t k = 0; k < nbefore; k++) is_old |= !strcmp(old[k], found[i]);
        if (is_old) continue;
        added++;
        sstable *s;
        assert_int_equal(sstable_open(found[i], &s), STRATA_OK);
        assert_true(sstable_get_meta(s)->min_timestamp > before);
        sstable_close(s);
    }
    assert_true(added >= 3);
    for (size_t i = 0; i < nbefore; i++) free(old[i]);
    free(old);
    size_t matched;
    assert_int_equal(differences(0, &matched), 0);
}

/* The SHA-256 of every field of node `node`'s merged stream of a table. */
static void merged_digest(int table, int node, uint8_t out[STRATA_HASH_LEN]) {
    char **paths;
    size_t n = table_paths(table, node, &paths);
    merge *m;
    assert_int_equal(merge_open((const char *const *)paths, n, NULL, &m), STRATA_OK);
    strata_sha256_ctx *c = strata_sha256_new();
    const sstable_partition *p;
    const sstable_unfiltered *u;
    while (!merge_next_partition(m, &p) && p) {
        strata_sha256_update(c, p->key, p->key_len);
        strata_sha256_update(c, &p->deletion, sizeof p->deletion);
        while (!merge_next_unfiltered(m, &u) && u) {
            int64_t f[6] = {u->kind, u->bound_kind, u->has_liveness, u->timestamp, u->ttl, (int64_t)u->ncells};
            strata_sha256_update(c, f, sizeof f);
            strata_sha256_update(c, &u->row_deletion, sizeof u->row_deletion);
            strata_sha256_update(c, &u->deletion, sizeof u->deletion);
            for (size_t i = 0; i < u->nclustering; i++)
                strata_sha256_update(c, u->clustering[i].p, u->clustering[i].len);
            for (size_t i = 0; i < u->ncells; i++) {
                const sstable_cell *cell = &u->cells[i];
                int64_t g[5] = {(int64_t)cell->column_index, cell->deleted, cell->timestamp, cell->ttl,
                                cell->local_deletion_time};
                strata_sha256_update(c, g, sizeof g);
                strata_sha256_update(c, cell->column->name, strlen(cell->column->name));
                if (cell->path.p) strata_sha256_update(c, cell->path.p, cell->path.len);
                strata_sha256_update(c, cell->value.p, cell->value.len);
            }
        }
    }
    strata_sha256_final(c, out);
    merge_close(m);
    free_paths(paths, n);
}

/* Compacting node1 leaves one SSTable per table holding the same content. */
static void test_compaction_keeps_content(void **state) {
    (void)state;
    uint8_t before[GEN_NTABLES][STRATA_HASH_LEN], after[STRATA_HASH_LEN];
    for (int t = 0; t < GEN_NTABLES; t++) merged_digest(t, 1, before[t]);
    if (gen_cluster_compact(root, "node1")) fail_msg("compact: %s", strata_errmsg());
    for (int t = 0; t < GEN_NTABLES; t++) {
        char **paths;
        size_t n = table_paths(t, 1, &paths);
        assert_int_equal(n, 1);
        sstable *s;
        assert_int_equal(sstable_open(paths[0], &s), STRATA_OK);
        uint64_t keys, blocks;
        assert_int_equal(sstable_verify_digest(s), STRATA_OK);
        assert_int_equal(sstable_verify_index(s, &keys, &blocks), STRATA_OK);
        sstable_close(s);
        free_paths(paths, n);
        merged_digest(t, 1, after);
        assert_memory_equal(before[t], after, STRATA_HASH_LEN);
    }
    size_t matched;
    assert_int_equal(differences(0, &matched), 0);
}

static int same_tree(const char *a, const char *b) {
    char *cmd = xasprintf("diff -r '%s' '%s' >/dev/null", a, b);
    int r = system(cmd);
    free(cmd);
    return r == 0;
}

/* The range of `p` holding `token`: the first whose end is at or past it,
 * the first one when the token is past the last end (it wraps). */
static const cluster_range *range_of(const cluster_placement *p, int64_t token) {
    size_t lo = 0, hi = p->n_ranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->ranges[mid].end < token) lo = mid + 1;
        else hi = mid;
    }
    return &p->ranges[lo == p->n_ranges ? 0 : lo];
}

static int holds_replica(const cluster_config *c, const cluster_range *r, size_t node) {
    for (size_t i = 0; i < r->n_replicas; i++)
        if (c->ring->endpoints[r->replicas[i]].node == node) return 1;
    return 0;
}

/* A new small data set of five nodes, RF=3, in a temporary directory. */
static char *five_nodes(void) {
    char tmpl[] = "/tmp/strata-gen-XXXXXX";
    char *dir = xstrdup(mkdtemp(tmpl));
    gen_options o;
    gen_options_init(&o);
    o.out = dir, o.mb = 1, o.flush_mb = 0.3, o.seed = 5, o.nodes = 5;
    if (gen_cluster_create(&o)) fail_msg("create: %s", strata_errmsg());
    return dir;
}

/* On five nodes with three replicas each, the cluster file's tokens make
 * the ring the writes were placed by: strata's placement (from the
 * keyspace's replication as system_schema has it) names every node a
 * replica of every partition its SSTables hold. */
static void test_cluster_file_ring(void **state) {
    (void)state;
    char *dir = five_nodes();
    char *ini = xasprintf("%s/cluster.ini", dir);
    cluster_config *c;
    if (cluster_config_load(ini, &c)) fail_msg("%s", strata_errmsg());
    assert_int_equal(c->n_nodes, 5);
    assert_non_null(c->ring);
    const cluster_replication_option rf3[] = {
        {"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}, {"datacenter1", "3"}};
    cluster_placement *p;
    assert_int_equal(cluster_placement_compute(c->ring, rf3, 2, &p), STRATA_OK);
    size_t checked = 0;
    for (size_t k = 0; k < c->n_nodes; k++) {
        char *node = xasprintf("%s/%s/" GEN_KEYSPACE, dir, c->nodes[k].name);
        list_data(node);
        assert_true(nfound > 0);
        for (size_t i = 0; i < nfound; i++) {
            sstable *s;
            if (sstable_open(found[i], &s)) fail_msg("%s: %s", found[i], strata_errmsg());
            const sstable_partition *part;
            while (!sstable_next_partition(s, &part) && part) {
                if (!holds_replica(c, range_of(p, part->token), k))
                    fail_msg("%s holds token %lld, of a range it is no replica of", found[i], (long long)part->token);
                checked++;
            }
            sstable_close(s);
        }
        free(node);
    }
    assert_true(checked > 100);
    forget_data();
    cluster_placement_free(p);
    cluster_config_free(c);
    free(ini);
    remove_tree(dir);
    free(dir);
}

/* A copy of the cluster file without its tokens, and without the nodes
 * from `drop_from` (1-based; 0 keeps all). */
static char *strip_tokens(const char *dir, int drop_from) {
    char *in = xasprintf("%s/cluster.ini", dir), *out = xasprintf("%s/self-%d.ini", dir, drop_from);
    FILE *f = fopen(in, "r"), *g = fopen(out, "w");
    assert_non_null(f);
    assert_non_null(g);
    char line[512];
    int tokens = 0, dropped = 0;
    while (fgets(line, sizeof line, f)) {
        int node;
        if (sscanf(line, "[node node%d]", &node) == 1) dropped = drop_from && node >= drop_from;
        if (!strncmp(line, "tokens =", 8)) tokens = 1;
        else if (line[0] != ' ') tokens = 0;
        if (!tokens && !dropped) fputs(line, g);
    }
    fclose(f);
    fclose(g);
    free(in);
    return out;
}

/* The owner of every token: a cluster file node's index, or the ring
 * member's address for the others. */
static char *owner_of(const cluster_config *c, size_t t) {
    const cluster_endpoint *e = &c->ring->endpoints[c->ring->tokens[t].endpoint];
    return e->node != CLUSTER_NO_NODE ? xasprintf("node %zu", e->node) : xstrdup(e->address);
}

/* Without tokens in the cluster file, the ring comes from the nodes'
 * system.local (two SSTables to reconcile: the tokens in the first, the
 * metadata rewritten in the second) and system.peers_v2, and is the ring
 * the writes were placed by; with node5 left out of the file, node5 is
 * still a ring member (known from the others' peers), holding its tokens,
 * so its replicas count as not captured; and still when one node's peers
 * lack it. */
static void test_ring_from_system_tables(void **state) {
    (void)state;
    char *dir = five_nodes();
    char *ini = xasprintf("%s/cluster.ini", dir), *all = strip_tokens(dir, 0), *four = strip_tokens(dir, 5);
    cluster_config *listed = NULL, *self = NULL, *part = NULL;
    if (cluster_config_load(ini, &listed) || cluster_config_load(all, &self) || cluster_config_load(four, &part))
        fail_msg("%s", strata_errmsg());
    assert_non_null(listed->ring);
    assert_null(self->ring);
    assert_null(part->ring);
    if (backup_ring_from_nodes(self) || backup_ring_from_nodes(part)) fail_msg("%s", strata_errmsg());
    assert_int_equal(part->n_nodes, 4);
    assert_int_equal(self->ring->n_endpoints, 5);
    assert_int_equal(part->ring->n_endpoints, 5);
    assert_int_equal(self->ring->n_tokens, listed->ring->n_tokens);
    assert_int_equal(part->ring->n_tokens, listed->ring->n_tokens);
    assert_int_equal(listed->ring->n_tokens, 5 * 16);
    for (size_t t = 0; t < listed->ring->n_tokens; t++) {
        assert_int_equal(self->ring->tokens[t].token, listed->ring->tokens[t].token);
        assert_int_equal(part->ring->tokens[t].token, listed->ring->tokens[t].token);
        char *want = owner_of(listed, t), *got = owner_of(self, t), *got_part = owner_of(part, t);
        assert_string_equal(got, want);
        assert_string_equal(got_part, strcmp(want, "node 4") ? want : "127.0.0.5");
        free(want), free(got), free(got_part);
    }
    for (size_t e = 0; e < self->ring->n_endpoints; e++) {
        assert_string_equal(self->ring->endpoints[e].dc, "datacenter1");
        assert_string_equal(self->ring->endpoints[e].rack, "rack1");
    }
    assert_string_equal(self->ring->endpoints[0].address, "127.0.0.1");

    /* node1's gossip view stale: its peers are node5's (nodes 1 to 4, not
     * node5); node5 is still known from the other nodes' peers */
    char *stale = xasprintf("rm -r '%s'/node1/system/peers_v2-* && cp -r '%s'/node5/system/peers_v2-* '%s'/node1/system/",
                            dir, dir, dir);
    assert_int_equal(system(stale), 0);
    cluster_config *stale_part;
    if (cluster_config_load(four, &stale_part) || backup_ring_from_nodes(stale_part)) fail_msg("%s", strata_errmsg());
    assert_int_equal(stale_part->ring->n_endpoints, 5);
    assert_int_equal(stale_part->ring->n_tokens, listed->ring->n_tokens);
    for (size_t t = 0; t < listed->ring->n_tokens; t++) {
        assert_int_equal(stale_part->ring->tokens[t].token, listed->ring->tokens[t].token);
        char *want = owner_of(part, t), *got = owner_of(stale_part, t);
        assert_string_equal(got, want);
        free(want), free(got);
    }
    cluster_config_free(stale_part);
    free(stale);
    cluster_config_free(listed), cluster_config_free(self), cluster_config_free(part);
    free(ini), free(all), free(four);
    remove_tree(dir);
    free(dir);
}

/* The same seed and arguments give byte-identical data sets; another seed
 * does not. */
static void test_same_seed_same_bytes(void **state) {
    (void)state;
    char *dirs[3];
    for (int i = 0; i < 3; i++) {
        char tmpl[] = "/tmp/strata-gen-XXXXXX";
        dirs[i] = xstrdup(mkdtemp(tmpl));
        gen_options o;
        gen_options_init(&o);
        o.out = dirs[i], o.mb = 1, o.flush_mb = 0.3, o.seed = i < 2 ? 3 : 4;
        if (gen_cluster_create(&o)) fail_msg("create: %s", strata_errmsg());
    }
    assert_true(same_tree(dirs[0], dirs[1]));
    assert_false(same_tree(dirs[0], dirs[2]));
    for (int i = 0; i < 3; i++) remove_tree(dirs[i]), free(dirs[i]);
}

/* --wide sends every write but partition deletions to one partition of
 * readings, and --next goes on writing to it: every SSTable of every
 * node holds that one partition, and the merge of all nodes holds it
 * with thousands of rows, range tombstone markers, collection cells and
 * its static row. */
static void test_wide_partition(void **state) {
    (void)state;
    char tmpl[] = "/tmp/strata-gen-XXXXXX";
    char *dir = xstrdup(mkdtemp(tmpl));
    gen_options o;
    gen_options_init(&o);
    o.out = dir, o.mb = 2, o.flush_mb = 0.3, o.seed = 9, o.wide = 1;
    if (gen_cluster_create(&o) || gen_cluster_next(dir, 20, NULL, NULL)) fail_msg("%s", strata_errmsg());
    list_data(dir);
    size_t n = 0;
    for (size_t i = 0; i < nfound; i++)
        if (strstr(found[i], "/" GEN_KEYSPACE "/")) found[n++] = found[i];
        else free(found[i]);
    nfound = n;
    assert_true(nfound >= 6);
    uint8_t key[64];
    size_t key_len = 0;
    for (size_t i = 0; i < nfound; i++) {
        if (!strstr(found[i], "/readings-")) fail_msg("%s: not of readings", found[i]);
        sstable *s;
        const sstable_partition *p;
        assert_int_equal(sstable_open(found[i], &s), STRATA_OK);
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_non_null(p);
        assert_true(p->key_len <= sizeof key);
        if (!i) memcpy(key, p->key, key_len = p->key_len);
        assert_memory_equal(p->key, key, key_len);
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_null(p);
        sstable_close(s);
    }
    merge *m;
    assert_int_equal(merge_open((const char *const *)found, nfound, NULL, &m), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    size_t partitions = 0, rows = 0, markers = 0, statics = 0, tags = 0;
    while (!merge_next_partition(m, &p) && p) {
        partitions++;
        while (!merge_next_unfiltered(m, &u) && u) {
            rows += u->kind == SSTABLE_ROW;
            statics += u->kind == SSTABLE_STATIC_ROW;
            markers += u->kind == SSTABLE_RT_BOUND || u->kind == SSTABLE_RT_BOUNDARY;
            for (size_t c = 0; c < u->ncells; c++) tags += !strcmp(u->cells[c].column->name, "tags");
        }
    }
    merge_close(m);
    assert_int_equal(partitions, 1);
    assert_true(rows > 5000);
    assert_true(markers > 10);
    assert_int_equal(statics, 1);
    assert_true(tags > 1000);
    forget_data();
    remove_tree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sstables_verify),
        cmocka_unit_test(test_schema_reads_back),
        cmocka_unit_test(test_system_schema_as_cassandra),
        cmocka_unit_test(test_merge_holds_every_applied_write),
        cmocka_unit_test(test_next_version),
        cmocka_unit_test(test_compaction_keeps_content),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_cluster_file_ring),
        cmocka_unit_test(test_ring_from_system_tables),
        cmocka_unit_test(test_wide_partition),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
