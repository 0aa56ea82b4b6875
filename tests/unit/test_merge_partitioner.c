/* test_merge_partitioner.c - the merge's partition order under
 * RandomPartitioner, on SSTables written for the purpose.
 *
 * RandomPartitioner orders partitions by the absolute value of the key's
 * MD5 read as a signed 128-bit number, then by key bytes (RandomPartitioner
 * .getToken, DecoratedKey.compareTo).  Two replicas holding some of the
 * same keys must merge into one partition per key, in that order. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/rf3a.h"

#define RANDOM "org.apache.cassandra.dht.RandomPartitioner"

/* int keys 0..11 in RandomPartitioner order (MD5s of 0, 1, 2, 4, 5, 6, 8,
 * 10 and 11 are negative as signed numbers: their absolute values order
 * them). */
static const int32_t token_order[12] = {0, 1, 2, 4, 10, 8, 9, 5, 6, 3, 11, 7};

typedef struct {
    sstable_header h;
    sstable_column regular;
} int_table;

static void int_table_init(int_table *t) {
    memset(t, 0, sizeof *t);
    t->h.key_type = sstable_type_parse("org.apache.cassandra.db.marshal.Int32Type");
    t->regular = (sstable_column){"v", sstable_type_parse("org.apache.cassandra.db.marshal.Int32Type")};
    t->h.nregular = 1;
    t->h.regulars = &t->regular;
}

static void int_table_free(int_table *t) {
    sstable_type_free(t->h.key_type);
    sstable_type_free(t->regular.type);
}

static void put_be32(uint8_t *p, int32_t v) {
    for (int i = 3; i >= 0; i--, v = (int32_t)((uint32_t)v >> 8)) p[i] = (uint8_t)v;
}

/* Writes nb-<gen> holding every step-th key of token_order, each a row
 * whose value is `value`, written at 1000 + gen. */
static void write_keys(int_table *t, const char *dir, long gen, int step, int32_t value) {
    sstable_writer_params p = {
        .dir = dir, .version = "nb", .generation = gen, .header = &t->h, .partitioner = RANDOM, .expected_keys = 12};
    sstable_writer *w;
    assert_int_equal(sstable_writer_open(&p, &w), STRATA_OK);
    const sstable_deletion live = {INT64_MIN, INT64_MAX};
    uint8_t key[4], v[4];
    put_be32(v, value);
    sstable_cell cell = {.column = &t->regular, .timestamp = 1000 + gen, .local_deletion_time = INT64_MAX,
                         .value = {v, 4}};
    sstable_unfiltered row = {.kind = SSTABLE_ROW, .bound_kind = SSTABLE_CLUSTERING, .has_liveness = 1,
                              .timestamp = 1000 + gen, .local_expiration = INT64_MAX, .row_deletion = live,
                              .deletion = live, .end_deletion = live, .ncells = 1, .cells = &cell};
    for (size_t i = 0; i < 12; i += (size_t)step) {
        put_be32(key, token_order[i]);
        assert_int_equal(sstable_writer_begin_partition(w, key, 4, &live), STRATA_OK);
        assert_int_equal(sstable_writer_add_unfiltered(w, &row), STRATA_OK);
        assert_int_equal(sstable_writer_end_partition(w), STRATA_OK);
    }
    assert_int_equal(sstable_writer_finish(w), STRATA_OK);
}

static int32_t be32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* One replica holds every third key, the other all of them: the merge
 * yields each key once, in token order, with the newer replica's value. */
static void test_random_partitioner_order(void **state) {
    (void)state;
    int_table t;
    int_table_init(&t);
    char tmpl[] = "/tmp/strata-random-XXXXXX";
    char *dir = xstrdup(mkdtemp(tmpl));
    write_keys(&t, dir, 1, 1, 1);
    write_keys(&t, dir, 2, 3, 2);
    char *paths[2] = {xasprintf("%s/nb-1-big-Data.db", dir), xasprintf("%s/nb-2-big-Data.db", dir)};
    merge *m;
    assert_int_equal(merge_open((const char *const *)paths, 2, NULL, &m), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    size_t n = 0;
    while (!merge_next_partition(m, &p) && p) {
        assert_true(n < 12);
        assert_int_equal(p->key_len, 4);
        assert_int_equal(be32(p->key), token_order[n]);
        assert_int_equal(merge_next_unfiltered(m, &u), STRATA_OK);
        assert_non_null(u);
        assert_int_equal(u->ncells, 1);
        assert_int_equal(be32(u->cells[0].value.p), n % 3 ? 1 : 2);
        assert_int_equal(merge_next_unfiltered(m, &u), STRATA_OK);
        assert_null(u);
        n++;
    }
    assert_int_equal(n, 12);
    merge_close(m);
    /* the merged SSTable's index is in partitioner order */
    assert_int_equal(merge_open((const char *const *)paths, 2, NULL, &m), STRATA_OK);
    char tmpl2[] = "/tmp/strata-random-XXXXXX";
    char *out = xstrdup(mkdtemp(tmpl2));
    assert_int_equal(write_stream(m, out, 1, NULL), 12);
    merge_close(m);
    assert_sstable_valid(out, 1);
    /* and every key is found by its token, as a residual looks it up */
    char *merged = xasprintf("%s/nb-1-big-Data.db", out);
    sstable *s;
    assert_int_equal(sstable_open(merged, &s), STRATA_OK);
    for (int32_t k = 11; k >= 0; k--) {
        uint8_t key[4];
        int found;
        put_be32(key, k);
        assert_int_equal(sstable_seek(s, key, 4, &found), STRATA_OK);
        assert_true(found);
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_non_null(p);
        assert_int_equal(be32(p->key), k);
    }
    sstable_close(s);
    free(merged);
    free(paths[0]), free(paths[1]);
    remove_dir(out);
    remove_dir(dir);
    int_table_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_partitioner_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
