/* test_merge_rf3a.c - the merge against what Cassandra returned.
 *
 * The rf3-a corpus holds the SSTables of three diverged replicas at two
 * versions and, for each table, the rows Cassandra answered at CONSISTENCY
 * ALL right after each snapshot (expected/<ver>/<table>.jsonl).  For each
 * version and table, node1+node2+node3's SSTables are merged, the CQL view
 * at the table's export start is derived, and it must hold exactly the
 * same primary keys with the same values and write times, and TTLs within
 * the export's few seconds.  The schema (key names, dropped columns) comes
 * from the nodes' own system_schema SSTables.  Also: the merged stream's
 * order and markers, every corpus SSTable unchanged by a merge with
 * nothing else, the merge written by the SSTable writer and read back, and
 * counter contexts merged by CounterContext's rules. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/merge/merge_int.h"
#include "tests/unit/rf3a.h"

/* Merges node `only`'s SSTables (0: all nodes') of one table of one
 * version, views and compares them with expected; prints how many expected
 * rows match exactly and the first differences, and returns the number of
 * rows that differ (expected rows not matched plus rows not expected).
 * With `rewritten`, the merge is first written as one SSTable by the
 * writer and the view is taken from that SSTable alone. */
static size_t compare_table(const char *ver, const char *table, int only, int rewritten) {
    merge_schema *schema = read_schema(ver);
    const merge_table *t = merge_schema_table(schema, table);
    assert_non_null(t);
    char **paths;
    size_t npaths = table_paths(ver, table, only, &paths);
    assert_true(npaths >= 1);
    char *tmpdir = rewritten ? write_merged(&paths, &npaths, t) : NULL;
    merge *m;
    if (merge_open((const char *const *)paths, npaths, t, &m)) fail_msg("merge_open: %s", strata_errmsg());
    char who[64] = "all nodes";
    if (only) snprintf(who, sizeof who, "node%d alone", only);
    snprintf(who + strlen(who), sizeof who - strlen(who), " (%zu SSTables%s)", npaths,
             rewritten ? ", merge written and read back" : "");
    size_t diff = view_diff(ver, table, m, t, who, !only);
    merge_close(m);
    for (size_t i = 0; i < npaths; i++) free(paths[i]);
    free(paths);
    if (tmpdir) remove_dir(tmpdir);
    merge_schema_free(schema);
    return diff;
}

static void check_table(const char *ver, const char *table, int rewritten) {
    assert_int_equal(compare_table(ver, table, 0, rewritten), 0);
}

static void test_schema(void **state) {
    (void)state;
    merge_schema *s = read_schema("v1");
    const merge_table *users = merge_schema_table(s, "users");
    assert_non_null(users);
    assert_string_equal(users->columns[0].name, "id");
    assert_string_equal(users->columns[0].kind, "partition_key");
    int dropped = 0;
    for (size_t i = 0; i < users->ndropped; i++)
        if (!strcmp(users->dropped[i].name, "legacy_code")) dropped = users->dropped[i].dropped_time > 0;
    assert_true(dropped);
    const merge_table *readings = merge_schema_table(s, "readings");
    assert_non_null(readings);
    assert_string_equal(readings->columns[1].name, "day");
    assert_string_equal(readings->columns[2].name, "ts");
    merge_schema_free(s);
}

/* Cells of column `name` with timestamps at or before `before`. */
static size_t count_cells(const sstable_unfiltered *u, const char *name, int64_t before) {
    size_t n = 0;
    for (size_t i = 0; i < u->ncells; i++)
        n += !strcmp(u->cells[i].column->name, name) && u->cells[i].timestamp <= before;
    return n;
}

static int64_t drop_time(const merge_table *t, const char *name) {
    for (size_t i = 0; i < t->ndropped; i++)
        if (!strcmp(t->dropped[i].name, name)) return t->dropped[i].dropped_time;
    return INT64_MIN;
}

static size_t column_index(const sstable_column *cols, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i].name, name)) return i;
    fail_msg("column %s missing from the merged header", name);
    return n;
}

/* The merged header lists every column of the SSTable at `path` in the
 * order Cassandra wrote them there. */
static void assert_in_header_order(const char *path, const sstable_header *merged) {
    sstable *s;
    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    const sstable_header *h = sstable_get_header(s);
    for (size_t i = 1; i < h->nregular; i++)
        assert_true(column_index(merged->regulars, merged->nregular, h->regulars[i - 1].name) <
                    column_index(merged->regulars, merged->nregular, h->regulars[i].name));
    for (size_t i = 1; i < h->nstatic; i++)
        assert_true(column_index(merged->statics, merged->nstatic, h->statics[i - 1].name) <
                    column_index(merged->statics, merged->nstatic, h->statics[i].name));
    sstable_close(s);
}

/* The merged stream itself: partitions and unfiltereds strictly ordered,
 * range tombstone markers alternating open and close, nothing left open at
 * a partition's end, no cell of a dropped column from before the drop
 * although the inputs hold some, and the united header knows columns some
 * inputs lack and keeps every input's column order. */
static void check_stream(const char *ver, const char *table, const char *dropped) {
    merge_schema *schema = read_schema(ver);
    const merge_table *t = merge_schema_table(schema, table);
    char **paths;
    size_t npaths = table_paths(ver, table, 0, &paths);
    int64_t dtime = dropped ? drop_time(t, dropped) : INT64_MIN;
    size_t in_dropped = 0, out_dropped = 0, partitions = 0, markers = 0;
    for (size_t i = 0; dropped && i < npaths; i++) {
        sstable *s;
        assert_int_equal(sstable_open(paths[i], &s), STRATA_OK);
        const sstable_partition *p;
        const sstable_unfiltered *u;
        while (sstable_next_partition(s, &p) == STRATA_OK && p)
            while (sstable_next_unfiltered(s, &u) == STRATA_OK && u) in_dropped += count_cells(u, dropped, dtime);
        sstable_close(s);
    }
    merge *m;
    assert_int_equal(merge_open((const char *const *)paths, npaths, t, &m), STRATA_OK);
    const sstable_header *h = merge_get_header(m);
    for (size_t i = 0; i < npaths; i++) assert_in_header_order(paths[i], h);
    sstable *first;
    assert_int_equal(sstable_open(paths[0], &first), STRATA_OK);
    strata_buf prev_key, prev_clust;
    strata_buf_init(&prev_key), strata_buf_init(&prev_clust);
    const sstable_partition *p;
    while (merge_next_partition(m, &p) == STRATA_OK && p) {
        if (partitions++ && sstable_key_compare(first, prev_key.data, prev_key.len, p->key, p->key_len) >= 0)
            fail_msg("%s %s: partition %zu out of order", ver, table, partitions);
        prev_key.len = 0;
        strata_buf_put(&prev_key, p->key, p->key_len);
        const sstable_unfiltered *u, *prev = NULL;
        sstable_value pv[8];
        sstable_bound_kind pk = SSTABLE_CLUSTERING;
        size_t pn = 0;
        int open = 0;
        strata_err e;
        while (!(e = merge_next_unfiltered(m, &u)) && u) {
            if (prev && u->kind != SSTABLE_STATIC_ROW &&
                sstable_clustering_compare(h, pv, pn, pk, u->clustering, u->nclustering, u->bound_kind) >= 0)
                fail_msg("%s %s: unfiltered out of order in partition %zu", ver, table, partitions);
            if (u->kind == SSTABLE_RT_BOUND) {
                int opens = u->bound_kind == SSTABLE_INCL_START_BOUND || u->bound_kind == SSTABLE_EXCL_START_BOUND;
                assert_int_equal(opens, !open);
                open = opens, markers++;
            } else if (u->kind == SSTABLE_RT_BOUNDARY) {
                assert_true(open);
                markers++;
            }
            if (dropped) out_dropped += count_cells(u, dropped, dtime);
            prev_clust.len = 0;
            for (size_t i = 0; i < u->nclustering; i++)
                if (u->clustering[i].p) strata_buf_put(&prev_clust, u->clustering[i].p, u->clustering[i].len);
            size_t off = 0;
            pn = u->nclustering < 8 ? u->nclustering : 8, pk = u->bound_kind;
            for (size_t i = 0; i < pn; i++) {
                pv[i].len = u->clustering[i].len;
                pv[i].p = u->clustering[i].p ? prev_clust.data + off : NULL;
                off += u->clustering[i].p ? u->clustering[i].len : 0;
            }
            prev = u;
        }
        assert_int_equal(e, STRATA_OK);
        assert_false(open);
    }
    printf("merge %s %-12s %zu partitions, %zu markers, %zu of %zu %s cells from before its drop left\n", ver, table,
           partitions, markers, out_dropped, in_dropped, dropped ? dropped : "-");
    if (dropped) {
        assert_true(in_dropped > 0);
        assert_int_equal(out_dropped, 0);
        int has_nickname = 0;
        for (size_t i = 0; i < h->nregular; i++) has_nickname |= !strcmp(h->regulars[i].name, "nickname");
        assert_true(has_nickname);
    }
    strata_buf_free(&prev_key), strata_buf_free(&prev_clust);
    sstable_close(first);
    merge_close(m);
    for (size_t i = 0; i < npaths; i++) free(paths[i]);
    free(paths);
    merge_schema_free(schema);
}

static void test_stream(void **state) {
    (void)state;
    check_stream("v1", "users", "legacy_code");
    check_stream("v2", "readings", NULL);
    check_stream("v2", "events", NULL);
    check_stream("v2", "users", NULL);
}

static int value_equal(const sstable_value *a, const sstable_value *b) {
    if (!a->p || !b->p) return !a->p == !b->p;
    return a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len));
}

static int deletion_equal(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time == b->local_deletion_time;
}

static int cell_equal(const sstable_cell *a, const sstable_cell *b) {
    return !strcmp(a->column->name, b->column->name) && a->deleted == b->deleted && a->expiring == b->expiring &&
           a->timestamp == b->timestamp && a->ttl == b->ttl && a->local_deletion_time == b->local_deletion_time &&
           value_equal(&a->path, &b->path) && value_equal(&a->value, &b->value);
}

/* One SSTable and its merge with nothing else hold the same unfiltereds
 * (fields, not bytes): Cassandra wrote each SSTable reconciled already. */
static int unfiltered_equal(const sstable_header *ha, const sstable_unfiltered *a, const sstable_header *hb,
                            const sstable_unfiltered *b) {
    if (a->kind != b->kind || a->bound_kind != b->bound_kind || a->nclustering != b->nclustering) return 0;
    for (size_t i = 0; i < a->nclustering; i++)
        if (!value_equal(&a->clustering[i], &b->clustering[i])) return 0;
    if (a->kind == SSTABLE_RT_BOUND || a->kind == SSTABLE_RT_BOUNDARY)
        return deletion_equal(&a->deletion, &b->deletion) &&
               (a->kind == SSTABLE_RT_BOUND || deletion_equal(&a->end_deletion, &b->end_deletion));
    if (a->has_liveness != b->has_liveness || !deletion_equal(&a->row_deletion, &b->row_deletion) ||
        a->ncells != b->ncells)
        return 0;
    if (a->has_liveness &&
        (a->timestamp != b->timestamp || a->ttl != b->ttl || a->local_expiration != b->local_expiration))
        return 0;
    for (size_t i = 0; i < a->ncells; i++)
        if (!cell_equal(&a->cells[i], &b->cells[i])) return 0;
    /* a row with one collection deletion serializes one for every complex
     * column, live ones included; those delete nothing */
    size_t j = 0;
    for (size_t i = 0; i < a->ncomplex_deletions; i++) {
        if (a->complex_deletions[i].deletion.marked_for_delete_at == INT64_MIN) continue;
        const sstable_column *ca = a->kind == SSTABLE_STATIC_ROW ? ha->statics : ha->regulars;
        const sstable_column *cb = b->kind == SSTABLE_STATIC_ROW ? hb->statics : hb->regulars;
        if (j == b->ncomplex_deletions ||
            strcmp(ca[a->complex_deletions[i].column_index].name, cb[b->complex_deletions[j].column_index].name) ||
            !deletion_equal(&a->complex_deletions[i].deletion, &b->complex_deletions[j].deletion))
            return 0;
        j++;
    }
    return j == b->ncomplex_deletions;
}

/* Scylla writes a static row with nothing in it where Cassandra writes
 * none (an empty static row is "no static row" to Cassandra); the merge
 * drops it. */
static int is_empty_static_row(const sstable_unfiltered *u) {
    return u->kind == SSTABLE_STATIC_ROW && !u->ncells && !u->ncomplex_deletions && !u->has_liveness &&
           u->row_deletion.marked_for_delete_at == INT64_MIN;
}

static size_t identity_files, identity_unfiltereds;

static int check_identity(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    size_t n = strlen(path);
    if (flag != FTW_F || n < 8 || strcmp(path + n - 8, "-Data.db") || strstr(path, "invalid")) return 0;
    sstable *s;
    merge *m;
    if (sstable_open(path, &s)) return 0; /* what the reader refuses is its own tests' business */
    assert_int_equal(merge_open(&path, 1, NULL, &m), STRATA_OK);
    const sstable_header *hs = sstable_get_header(s), *hm = merge_get_header(m);
    const sstable_partition *ps, *pm;
    const sstable_unfiltered *us, *um;
    while (sstable_next_partition(s, &ps) == STRATA_OK && ps) {
        assert_int_equal(merge_next_partition(m, &pm), STRATA_OK);
        assert_non_null(pm);
        if (ps->key_len != pm->key_len || memcmp(ps->key, pm->key, ps->key_len) ||
            !deletion_equal(&ps->deletion, &pm->deletion))
            fail_msg("%s: partition at %llu differs", path, (unsigned long long)ps->offset);
        for (;;) {
            assert_int_equal(sstable_next_unfiltered(s, &us), STRATA_OK);
            if (us && is_empty_static_row(us)) continue;
            assert_int_equal(merge_next_unfiltered(m, &um), STRATA_OK);
            if (!us || !um) {
                if (us || um) fail_msg("%s: partition at %llu: %s ends first", path, (unsigned long long)ps->offset,
                                       us ? "the merge" : "the SSTable");
                break;
            }
            if (!unfiltered_equal(hs, us, hm, um))
                fail_msg("%s: unfiltered at %llu differs in the merge", path, (unsigned long long)us->offset);
            identity_unfiltereds++;
        }
    }
    assert_int_equal(merge_next_partition(m, &pm), STRATA_OK);
    assert_null(pm);
    merge_close(m);
    sstable_close(s);
    identity_files++;
    return 0;
}

static void test_identity(void **state) {
    (void)state;
    assert_int_equal(nftw("../shared/corpus", check_identity, 16, FTW_PHYS), 0);
    printf("merge identity: %zu SSTables, %zu unfiltereds unchanged by a merge with nothing else\n", identity_files,
           identity_unfiltereds);
    assert_true(identity_files > 300);
}

/* ---- Counter contexts, by CounterContext's rules ------------------------ */

enum { G, L, R }; /* global, local, remote shard */

typedef struct {
    int kind;
    uint8_t id;
    int64_t clock, count;
} shard;

static void put_be(strata_buf *b, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) strata_buf_put_u8(b, (uint8_t)(v >> (8 * i)));
}

/* A context of shards (sorted by id), counter id = 15 zero bytes + id. */
static void context(strata_buf *b, const shard *s, size_t n) {
    size_t nh = 0;
    b->len = 0;
    for (size_t i = 0; i < n; i++) nh += s[i].kind != R;
    put_be(b, nh, 2);
    for (size_t i = 0; i < n; i++)
        if (s[i].kind != R) put_be(b, (uint16_t)(s[i].kind == G ? (int16_t)(i + INT16_MIN) : (int16_t)i), 2);
    for (size_t i = 0; i < n; i++) {
        put_be(b, 0, 8), put_be(b, 0, 7), strata_buf_put_u8(b, s[i].id);
        put_be(b, (uint64_t)s[i].clock, 8), put_be(b, (uint64_t)s[i].count, 8);
    }
}

static void assert_merge(const shard *a, size_t na, const shard *b, size_t nb, const shard *want, size_t nwant) {
    strata_buf x, y, w, out;
    strata_buf_init(&x), strata_buf_init(&y), strata_buf_init(&w), strata_buf_init(&out);
    context(&x, a, na), context(&y, b, nb), context(&w, want, nwant);
    assert_int_equal(merge_counter_contexts(x.data, x.len, y.data, y.len, &out), STRATA_OK);
    assert_int_equal(out.len, w.len);
    assert_memory_equal(out.data, w.data, w.len);
    int64_t total = 0;
    for (size_t i = 0; i < nwant; i++) total += want[i].count;
    assert_int_equal(merge_counter_total(out.data, out.len), total);
    strata_buf_free(&x), strata_buf_free(&y), strata_buf_free(&w), strata_buf_free(&out);
}

/* merge_counter_residual(all, ref) returns `ret`, with out `want` when 1. */
static void assert_residual(const shard *all, size_t nall, const shard *ref, size_t nref, int ret, const shard *want,
                            size_t nwant) {
    strata_buf a, r, w, out;
    strata_buf_init(&a), strata_buf_init(&r), strata_buf_init(&w), strata_buf_init(&out);
    context(&a, all, nall), context(&r, ref, nref), context(&w, want, nwant);
    assert_int_equal(merge_counter_residual(a.data, a.len, r.data, r.len, &out), ret);
    if (ret == 1) {
        assert_int_equal(out.len, w.len);
        assert_memory_equal(out.data, w.data, w.len);
    }
    strata_buf_free(&a), strata_buf_free(&r), strata_buf_free(&w), strata_buf_free(&out);
}

/* What a layer holds of a counter beside the stored layers: the shards
 * that moved on, which stacked on the stored ones merge back to `all`. */
static void test_counter_residuals(void **state) {
    (void)state;
    /* global shards that moved on; the one stored as it is stays out */
    assert_residual((shard[]){{G, 1, 3, 3}, {G, 2, 1, 1}}, 2, (shard[]){{G, 1, 2, 2}, {G, 2, 1, 1}}, 2, 1,
                    (shard[]){{G, 1, 3, 3}}, 1);
    assert_residual((shard[]){{G, 1, 3, 3}}, 1, (shard[]){{G, 1, 3, 3}}, 1, 0, NULL, 0);
    /* a global shard beats the stored local one, a local one a stored remote one */
    assert_residual((shard[]){{G, 1, 2, 7}}, 1, (shard[]){{L, 1, 1, 5}}, 1, 1, (shard[]){{G, 1, 2, 7}}, 1);
    assert_residual((shard[]){{L, 1, 3, 4}}, 1, (shard[]){{R, 1, 9, 9}}, 1, 1, (shard[]){{L, 1, 3, 4}}, 1);
    /* a local shard of an id the stored context lacks is new as it is */
    assert_residual((shard[]){{L, 1, 1, 5}, {L, 2, 1, 1}}, 2, (shard[]){{L, 1, 1, 5}}, 1, 1, (shard[]){{L, 2, 1, 1}},
                    1);
    /* two local shards of one id would add up again: no residual can be made */
    assert_residual((shard[]){{L, 1, 3, 12}}, 1, (shard[]){{L, 1, 1, 5}}, 1, -1, NULL, 0);
    assert_residual((shard[]){{L, 1, 1, 5}}, 1, (shard[]){{L, 1, 1, 5}}, 1, -1, NULL, 0);
}

static void test_counter_contexts(void **state) {
    (void)state;
    /* global shards: the higher clock wins, then the higher count */
    assert_merge((shard[]){{G, 1, 5, 10}}, 1, (shard[]){{G, 1, 7, 3}}, 1, (shard[]){{G, 1, 7, 3}}, 1);
    assert_merge((shard[]){{G, 1, 7, 9}}, 1, (shard[]){{G, 1, 7, 3}}, 1, (shard[]){{G, 1, 7, 9}}, 1);
    /* ids each side lacks are kept, in id order */
    assert_merge((shard[]){{G, 1, 2, 2}, {G, 3, 1, 1}}, 2, (shard[]){{G, 2, 4, 4}}, 1,
                 (shard[]){{G, 1, 2, 2}, {G, 2, 4, 4}, {G, 3, 1, 1}}, 3);
    /* a global shard beats a local or remote one of the same id */
    assert_merge((shard[]){{L, 1, 9, 9}}, 1, (shard[]){{G, 1, 1, 1}}, 1, (shard[]){{G, 1, 1, 1}}, 1);
    assert_merge((shard[]){{R, 1, 9, 9}}, 1, (shard[]){{G, 1, 1, 1}}, 1, (shard[]){{G, 1, 1, 1}}, 1);
    /* two local shards of one id add up (pre-2.1 contexts) */
    assert_merge((shard[]){{L, 1, 2, 5}}, 1, (shard[]){{L, 1, 3, 7}}, 1, (shard[]){{L, 1, 5, 12}}, 1);
    /* remote shards: the higher clock, and a negative clock (deleted) wins */
    assert_merge((shard[]){{R, 1, 2, 5}}, 1, (shard[]){{R, 1, 3, 7}}, 1, (shard[]){{R, 1, 3, 7}}, 1);
    assert_merge((shard[]){{R, 1, -2, 5}}, 1, (shard[]){{R, 1, 3, 7}}, 1, (shard[]){{R, 1, -2, 5}}, 1);
}

/* The corpus README's table of how far apart the replicas are: rows of one
 * node's SSTables merged alone that differ from the reconciled result, as
 * the corpus authors' independent merge counted them. */
static void test_nodes_alone(void **state) {
    (void)state;
    static const struct {
        const char *ver, *table;
        int node;
        size_t differ;
    } alone[] = {
        {"v1", "users", 1, 0},      {"v1", "readings", 1, 0},   {"v1", "events", 1, 0},
        {"v1", "users", 2, 412},    {"v1", "readings", 2, 552}, {"v1", "events", 2, 350},
        {"v1", "users", 3, 549},    {"v1", "readings", 3, 676}, {"v1", "events", 3, 327},
        {"v2", "users", 1, 126},    {"v2", "readings", 1, 327}, {"v2", "events", 1, 93},
        {"v2", "users", 2, 0},      {"v2", "readings", 2, 457}, {"v2", "events", 2, 347},
        {"v2", "users", 3, 0},      {"v2", "readings", 3, 643}, {"v2", "events", 3, 277},
    };
    for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++)
        assert_int_equal(compare_table(alone[i].ver, alone[i].table, alone[i].node, 0), alone[i].differ);
}

static void test_v1_users(void **state) { (void)state, check_table("v1", "users", 0); }
static void test_v1_readings(void **state) { (void)state, check_table("v1", "readings", 0); }
static void test_v1_events(void **state) { (void)state, check_table("v1", "events", 0); }
static void test_v1_page_counts(void **state) { (void)state, check_table("v1", "page_counts", 0); }
static void test_v2_users(void **state) { (void)state, check_table("v2", "users", 0); }
static void test_v2_readings(void **state) { (void)state, check_table("v2", "readings", 0); }
static void test_v2_events(void **state) { (void)state, check_table("v2", "events", 0); }
static void test_v2_page_counts(void **state) { (void)state, check_table("v2", "page_counts", 0); }

/* The merged stream is what the SSTable writer takes: written as one
 * SSTable and read back, it shows the same rows. */
static void test_rewritten(void **state) {
    (void)state;
    static const char *const tables[] = {"users", "readings", "events", "page_counts"};
    for (size_t i = 0; i < 4; i++) {
        check_table("v1", tables[i], 1);
        check_table("v2", tables[i], 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema),         cmocka_unit_test(test_stream), cmocka_unit_test(test_identity),
        cmocka_unit_test(test_counter_contexts),
        cmocka_unit_test(test_counter_residuals),
        cmocka_unit_test(test_v1_users),
        cmocka_unit_test(test_v1_readings),    cmocka_unit_test(test_v1_events),
        cmocka_unit_test(test_v1_page_counts), cmocka_unit_test(test_v2_users),
        cmocka_unit_test(test_v2_readings),    cmocka_unit_test(test_v2_events),
        cmocka_unit_test(test_v2_page_counts), cmocka_unit_test(test_rewritten),
        cmocka_unit_test(test_nodes_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
