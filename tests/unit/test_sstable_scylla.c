/* test_sstable_scylla.c - the Cassandra-written mc SSTables kept in
 * ScyllaDB's test tree (../shared/corpus/scylla, MANIFEST.md part C): every
 * compressor (none with CRC.db, LZ4, Snappy, Deflate, Zstd), static rows,
 * compound clustering, collections, counters, cell tombstones, range
 * tombstone bounds and boundaries, sparse column subsets (small and large
 * encodings) and compact storage.  Expected rows are written from the
 * manifest's statements; pk 1..5 appear in Murmur3 order 5, 1, 2, 4, 3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/sstable_lines.h"

#define SCYLLA "../shared/corpus/scylla/"

static const int murmur_order[5] = {5, 1, 2, 4, 3};

static void expect_lines(const char *dir, const char *want) {
    char *got = lines_of(dir);
    if (!got) print_error("%s: %s\n", dir, strata_errmsg());
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Builds the expected text from one printf format per partition, called
 * with N in Murmur3 order. */
static char *per_pk(void (*line)(strata_buf *, int)) {
    strata_buf b;
    strata_buf_init(&b);
    for (int i = 0; i < 5; i++) line(&b, murmur_order[i]);
    strata_buf_put_u8(&b, 0);
    return (char *)b.data;
}

static void put(strata_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(strata_buf *b, const char *fmt, ...) {
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    strata_buf_put(b, tmp, (size_t)n);
}

static void simple_line(strata_buf *b, int n) { put(b, "%d [%d] val=%d\n", n, 100 + n, 1000 + n); }
static void static_line(strata_buf *b, int n) { put(b, "%d static s=%d\n%d [%d] val=%d\n", n, 100 + n, n, 10 + n, 1000 + n); }
static void compound_static_line(strata_buf *b, int n) {
    put(b, "%d static s_inet=\"10.0.0.%d\" s_int=%d s_text=\"Text for %d\"\n%d [%d] val=%d\n", n, n, 100 + n, n, n,
        10 + n, 1000 + n);
}
static void compound_ck_line(strata_buf *b, int n) {
    static const char *uuids[] = {"f7fdcbd2-4544-482c-85fd-d9572adc3cd6", "c25ae960-07a2-467d-8f35-5bd38647b367",
                                  "f7e8ebc0-dbae-4c06-bae0-656c23f6af6a", "4549e2c2-786e-4b30-90aa-5dd37ae1db8f",
                                  "f1badb6f-80a0-4eef-90df-b3651d9a5578"};
    put(b, "%d [%d,\"This is a string for %d\",\"%s\",\"10.0.0.%d\"] val=%d\n", n, 100 + n, n, uuids[n - 1], n,
        1000 + n);
}
static void collections_line(strata_buf *b, int n) {
    int a = 3 * n - 2;
    put(b, "%d [] list_val[]=\"Text %d\" list_val[]=\"Text %d\" list_val[]=\"Text %d\" map_val[%d]=\"Text %d\" "
           "map_val[%d]=\"Text %d\" map_val[%d]=\"Text %d\" set_val[%d] set_val[%d] set_val[%d]\n",
        n, a, a + 1, a + 2, a, a, a + 1, a + 1, a + 2, a + 2, a, a + 1, a + 2);
}
static void key_only_line(strata_buf *b, int n) { put(b, "%d []\n", n); }
static void key_value_line(strata_buf *b, int n) { put(b, "%d [] val=%d\n", n, 100 + n); }

static const char *const doubles[] = {"0.11", "0.22", "0.33", "0.44", "0.55"};
static const char *const floats[] = {"0.100000001490116", "0.200000002980232", "0.300000011920929",
                                     "0.400000005960464", "0.5"};
static void types_line(strata_buf *b, int n) {
    put(b, "%d [] bool_val=%s double_val=%s float_val=%s int_val=%d long_val=%d text_val=\"variable length text %d\" "
           "timestamp_val=\"2015-05-0%d %02d:30:54.234Z\" timeuuid_val=\"50554d6e-29bb-11e5-b345-feff819cdc9f\" "
           "uuid_val=\"01234567-0123-0123-0123-0123456789ab\"\n",
        n, n % 2 ? "true" : "false", doubles[n - 1], floats[n - 1], n, 11 * n, n, n, 8 + n);
}

static void test_simple_and_static(void **state) {
    (void)state;
    char *want = per_pk(simple_line);
    expect_lines(SCYLLA "uncompressed-simple", want);
    free(want);
    want = per_pk(static_line);
    expect_lines(SCYLLA "uncompressed-static_row", want);
    free(want);
    want = per_pk(compound_static_line);
    expect_lines(SCYLLA "uncompressed-compound_static_row", want);
    free(want);
    want = per_pk(compound_ck_line);
    expect_lines(SCYLLA "uncompressed-compound_ck", want);
    free(want);
    want = per_pk(key_only_line);
    expect_lines(SCYLLA "uncompressed-partition_key_only", want);
    free(want);
    want = per_pk(key_value_line);
    expect_lines(SCYLLA "uncompressed-partition_key_with_value", want);
    free(want);
}

static void test_collections(void **state) {
    (void)state;
    char *want = per_pk(collections_line);
    expect_lines(SCYLLA "uncompressed-collections", want);
    free(want);
}

/* The same rows through every compressor. */
static void test_compressors(void **state) {
    (void)state;
    const char *dirs[] = {"uncompressed", "lz4", "snappy", "deflate"};
    const char *names[] = {NULL, "LZ4Compressor", "SnappyCompressor", "DeflateCompressor"};
    char *want = per_pk(types_line);
    for (int i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, SCYLLA "%s-partition_key_with_values_of_different_types", dirs[i]);
        expect_lines(path, want);
        sstable *s;
        assert_int_equal(sstable_open(path, &s), STRATA_OK);
        const sstable_meta *m = sstable_get_meta(s);
        if (names[i]) assert_non_null(strstr(m->compressor, names[i]));
        else assert_null(m->compressor);
        assert_int_equal(sstable_verify_digest(s), STRATA_OK);
        sstable_close(s);
    }
    free(want);
}

/* One partition val1=0, clustering rows 1..2000 without cells, spread over
 * six 4 KiB Zstd chunks holding 22011 bytes. */
static void test_zstd_multiple_chunks(void **state) {
    (void)state;
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "zstd-multiple_chunks", &s), STRATA_OK);
    const sstable_meta *m = sstable_get_meta(s);
    assert_non_null(strstr(m->compressor, "ZstdCompressor"));
    assert_int_equal(m->chunk_count, 6);
    assert_int_equal(m->data_length, 22011);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_memory_equal(p->key, "\0\0\0\0", 4);
    int32_t want = 1;
    while (sstable_next_unfiltered(s, &u) == STRATA_OK && u) {
        assert_int_equal(u->kind, SSTABLE_ROW);
        assert_int_equal(u->ncells, 0);
        const uint8_t *c = u->clustering[0].p;
        assert_int_equal((int32_t)((uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3]), want);
        want++;
    }
    assert_int_equal(want, 2001);
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_null(p);
    sstable_close(s);
}

static void test_counters(void **state) {
    (void)state;
    expect_lines(SCYLLA "uncompressed-counters", "1 [] val=3\n2 [] val=2\n3 [] val=6\n");
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "uncompressed-counters", &s), STRATA_OK);
    const int64_t ts[3] = {1528799884266910, 1528799884272645, 1528799885105152};
    const int64_t clock[3] = {1528799884268000, 1528799884274000, 1528799885107000};
    const sstable_partition *p;
    const sstable_unfiltered *u;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        const sstable_cell *c = &u->cells[0];
        assert_int_equal(c->timestamp, ts[i]);
        assert_int_equal(c->value.len, 36);
        uint8_t id[16];
        assert_int_equal(strata_unhex("59b8272099b04033885ce94d62106a35", id, 16), 0);
        assert_memory_equal(c->value.p + 4, id, 16);
        int64_t clk = 0;
        for (int k = 0; k < 8; k++) clk = clk << 8 | c->value.p[20 + k];
        assert_int_equal(clk, clock[i]);
    }
    sstable_close(s);
}

static void test_deleted_cells(void **state) {
    (void)state;
    expect_lines(SCYLLA "uncompressed-deleted_cells",
                 "1 [101] val=1001\n1 [102] val=<deleted>\n1 [103] val=1003\n1 [104] val=<deleted>\n1 [105] val=1005\n");
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "uncompressed-deleted_cells", &s), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    const int64_t ts[2] = {1529586065552460, 1529586067568210};
    const int64_t ldt[2] = {1529586065, 1529586067};
    int k = 0;
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    while (sstable_next_unfiltered(s, &u) == STRATA_OK && u) {
        if (!u->cells[0].deleted) continue;
        assert_int_equal(u->cells[0].timestamp, ts[k]);
        assert_int_equal(u->cells[0].local_deletion_time, ldt[k]);
        k++;
    }
    assert_int_equal(k, 2);
    sstable_close(s);
}

/* Row 101; RT opens after 101; boundary at 104; RT closes before 105; rows
 * 105..108; RT from after 108 to the partition end. */
static void test_range_tombstones(void **state) {
    (void)state;
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "uncompressed-range_tombstones_simple", &s), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    struct {
        sstable_unfiltered_kind kind;
        sstable_bound_kind bound;
        int ck;
        int64_t ts, end_ts;
        int64_t ldt;
    } want[] = {
        {SSTABLE_ROW, SSTABLE_CLUSTERING, 101, 0, 0, 0},
        {SSTABLE_RT_BOUND, SSTABLE_EXCL_START_BOUND, 101, 1529519641211958, 0, 1529519641},
        {SSTABLE_RT_BOUNDARY, SSTABLE_EXCL_END_INCL_START_BOUNDARY, 104, 1529519641215380, 1529519641211958, 1529519641},
        {SSTABLE_RT_BOUND, SSTABLE_EXCL_END_BOUND, 105, 1529519641215380, 0, 1529519641},
        {SSTABLE_ROW, SSTABLE_CLUSTERING, 105, 0, 0, 0},
        {SSTABLE_ROW, SSTABLE_CLUSTERING, 106, 0, 0, 0},
        {SSTABLE_ROW, SSTABLE_CLUSTERING, 107, 0, 0, 0},
        {SSTABLE_ROW, SSTABLE_CLUSTERING, 108, 0, 0, 0},
        {SSTABLE_RT_BOUND, SSTABLE_EXCL_START_BOUND, 108, 1529519643267068, 0, 1529519643},
        {SSTABLE_RT_BOUND, SSTABLE_INCL_END_BOUND, -1, 1529519643267068, 0, 1529519643},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_non_null(u);
        assert_int_equal(u->kind, want[i].kind);
        assert_int_equal(u->bound_kind, want[i].bound);
        if (want[i].ck < 0) {
            assert_int_equal(u->nclustering, 0);
        } else {
            assert_int_equal(u->nclustering, 1);
            const uint8_t *c = u->clustering[0].p;
            assert_int_equal(c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3], want[i].ck);
        }
        if (want[i].kind == SSTABLE_ROW) continue;
        assert_int_equal(u->deletion.marked_for_delete_at, want[i].ts);
        assert_int_equal(u->deletion.local_deletion_time, want[i].ldt);
        if (want[i].kind == SSTABLE_RT_BOUNDARY) {
            assert_int_equal(u->end_deletion.marked_for_delete_at, want[i].end_ts);
            assert_int_equal(u->end_deletion.local_deletion_time, want[i].ldt);
        }
    }
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_null(u);
    sstable_close(s);
}

static void test_column_subsets(void **state) {
    (void)state;
    const char *t = "\"50554d6e-29bb-11e5-b345-feff819cdc9f\"", *id = "\"01234567-0123-0123-0123-0123456789ab\"";
    char want[4096];
    snprintf(want, sizeof want,
             "5 [] int_val=5 long_val=55 timeuuid_val=%s uuid_val=%s\n"
             "1 [] double_val=0.11 float_val=%s int_val=1 long_val=11 text_val=\"variable length text 1\" "
             "timestamp_val=\"2015-05-01 09:30:54.234Z\" timeuuid_val=%s uuid_val=%s\n"
             "2 [] bool_val=false int_val=2 long_val=22 text_val=\"variable length text 2\" "
             "timestamp_val=\"2015-05-02 10:30:54.234Z\" timeuuid_val=%s uuid_val=%s\n"
             "4 [] bool_val=false text_val=\"variable length text 4\"\n"
             "3 [] bool_val=true double_val=0.33 float_val=%s long_val=33 text_val=\"variable length text 3\" "
             "timestamp_val=\"2015-05-03 11:30:54.234Z\"\n",
             t, id, floats[0], t, id, t, id, floats[2]);
    expect_lines(SCYLLA "uncompressed-subset_of_columns", want);
    /* 64 columns: the large subset encoding (missing or present indexes) */
    strata_buf b;
    strata_buf_init(&b);
    put(&b, "5 []");
    for (int i = 34; i <= 64; i++) put(&b, " val%d=%d", i, i - 33);
    put(&b, "\n1 [] val1=11\n2 [] val2=22 val5=222 val6=2222 val60=222222 val7=22222\n4 []");
    /* columns are ordered by name bytes: val1, val10..val19, val2, val20.. */
    const int order[] = {1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 2, 20, 21, 22, 23,
                         24, 25, 26, 27, 28, 29, 3, 30, 31, 4, 5, 6, 7, 8, 9};
    for (int i = 0; i < 31; i++) put(&b, " val%d=%d", order[i], order[i]);
    put(&b, "\n3 [] val32=33 val33=333\n");
    strata_buf_put_u8(&b, 0);
    expect_lines(SCYLLA "uncompressed-large_subset_of_columns_sparse", (char *)b.data);
    strata_buf_free(&b);
}

static void test_forwarding_and_partitioners(void **state) {
    (void)state;
    strata_buf b;
    strata_buf_init(&b);
    put(&b, "1 static s=1\n");
    for (int pk = 1; pk <= 2; pk++)
        for (int ck = 101; ck <= 110; ck++) put(&b, "%d [%d] val=%d\n", pk, ck, ck + 900);
    strata_buf_put_u8(&b, 0);
    expect_lines(SCYLLA "uncompressed-filtering_and_forwarding", (char *)b.data);
    strata_buf_free(&b);
    expect_lines(SCYLLA "uncompressed-random_partitioner", "1 [10] v=100\n2 [20] v=200\n3 [30] v=300\n");
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "uncompressed-random_partitioner", &s), STRATA_OK);
    assert_string_equal(sstable_get_meta(s)->partitioner, "org.apache.cassandra.dht.RandomPartitioner");
    assert_false(sstable_is_murmur3(s));
    sstable_close(s);
}

static void test_compact_storage(void **state) {
    (void)state;
    expect_lines(SCYLLA "cassandra_static_compact", "\"a\" static c1=\"abc\" c2=\"cde\"\n");
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "cassandra_static_compact", &s), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    do assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    while (u && !u->ncells);
    for (size_t i = 0; i < u->ncells; i++) assert_int_equal(u->cells[i].timestamp, 1551785032379079);
    sstable_close(s);
    expect_lines(SCYLLA "uncompressed-compact_deleted_cell/mc-1-big-Data.db", "\"key\" [\"ck\"] rc=\"rc\"\n");
    expect_lines(SCYLLA "uncompressed-compact_deleted_cell/2", "\"key\" [\"ck\"] rc=<deleted>\n");
    assert_int_equal(sstable_open(SCYLLA "uncompressed-compact_deleted_cell/2", &s), STRATA_OK);
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_int_equal(u->cells[0].timestamp, 1533601605680156);
    assert_int_equal(u->cells[0].local_deletion_time, 1533601605);
    sstable_close(s);
}

/* Summary.db + Index.db lookups find every partition, and no other. */
static void test_seek(void **state) {
    (void)state;
    sstable *s;
    assert_int_equal(sstable_open(SCYLLA "uncompressed-simple", &s), STRATA_OK);
    for (int n = 1; n <= 6; n++) {
        uint8_t key[4] = {0, 0, 0, (uint8_t)n};
        int found;
        assert_int_equal(sstable_seek(s, key, 4, &found), STRATA_OK);
        assert_int_equal(found, n <= 5);
        if (!found) continue;
        const sstable_partition *p;
        const sstable_unfiltered *u;
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_memory_equal(p->key, key, 4);
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_int_equal(u->clustering[0].p[3], 100 + n);
    }
    sstable_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_and_static),    cmocka_unit_test(test_collections),
        cmocka_unit_test(test_compressors),          cmocka_unit_test(test_zstd_multiple_chunks),
        cmocka_unit_test(test_counters),             cmocka_unit_test(test_deleted_cells),
        cmocka_unit_test(test_range_tombstones),     cmocka_unit_test(test_column_subsets),
        cmocka_unit_test(test_forwarding_and_partitioners), cmocka_unit_test(test_compact_storage),
        cmocka_unit_test(test_seek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
