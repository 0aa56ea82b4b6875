/* test_sstable_order.c - the comparators against the order Cassandra wrote:
 * in every corpus SSTable each unfiltered of a partition sorts strictly
 * after the previous one (text, int, bigint, date, uuid and inet
 * clusterings, a DESC timeuuid, range tombstone bounds and boundaries) and
 * each partition after the previous one in partitioner order; clustering
 * order keys never contradict that order. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

static uint64_t pairs, files;

typedef struct {
    sstable_value *v;
    size_t n;
    sstable_bound_kind kind;
    strata_buf bytes;
    int keyed;
    uint64_t key;
} saved_prefix;

static uint64_t keyed_pairs;

static void save(saved_prefix *sp, const sstable_unfiltered *u) {
    sp->bytes.len = 0;
    for (size_t i = 0; i < u->nclustering; i++)
        if (u->clustering[i].p) strata_buf_put(&sp->bytes, u->clustering[i].p, u->clustering[i].len);
    sp->v = xrealloc(sp->v, (u->nclustering + 1) * sizeof *sp->v);
    size_t off = 0;
    for (size_t i = 0; i < u->nclustering; i++) {
        sp->v[i].len = u->clustering[i].len;
        sp->v[i].p = u->clustering[i].p ? sp->bytes.data + off : NULL;
        if (u->clustering[i].p) off += u->clustering[i].len;
    }
    sp->n = u->nclustering;
    sp->kind = u->bound_kind;
}

static int check(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    size_t n = strlen(path);
    if (flag != FTW_F || n < 8 || strcmp(path + n - 8, "-Data.db") || strstr(path, "invalid")) return 0;
    sstable *s;
    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    const sstable_header *h = sstable_get_header(s);
    int random = strstr(sstable_get_meta(s)->partitioner, "RandomPartitioner") != NULL;
    const sstable_partition *p;
    const sstable_unfiltered *u;
    strata_buf prev_key;
    strata_buf_init(&prev_key);
    saved_prefix prev = {0};
    int have_key = 0;
    while (sstable_next_partition(s, &p) == STRATA_OK && p) {
        if (have_key && !random && sstable_key_compare(s, prev_key.data, prev_key.len, p->key, p->key_len) >= 0)
            fail_msg("%s: partition at %llu out of order", path, (unsigned long long)p->offset);
        prev_key.len = 0;
        strata_buf_put(&prev_key, p->key, p->key_len);
        have_key = 1;
        int have_prev = 0;
        while (sstable_next_unfiltered(s, &u) == STRATA_OK && u) {
            if (have_prev) {
                int c = sstable_clustering_compare(h, prev.v, prev.n, prev.kind, u->clustering, u->nclustering,
                                                   u->bound_kind);
                if (c >= 0) fail_msg("%s: unfiltered at %llu not after the previous one", path,
                                     (unsigned long long)u->offset);
                pairs++;
                uint64_t key;
                if (prev.keyed && sstable_clustering_order_key(h, u->clustering, u->nclustering, &key)) {
                    if (prev.key > key) fail_msg("%s: order key at %llu before the previous one", path,
                                                 (unsigned long long)u->offset);
                    keyed_pairs++;
                }
            }
            save(&prev, u);
            prev.keyed = sstable_clustering_order_key(h, u->clustering, u->nclustering, &prev.key);
            have_prev = 1;
        }
    }
    strata_buf_free(&prev_key);
    strata_buf_free(&prev.bytes);
    free(prev.v);
    sstable_close(s);
    files++;
    return 0;
}

static void test_corpus_order(void **state) {
    (void)state;
    assert_int_equal(nftw("../shared/corpus", check, 16, FTW_PHYS), 0);
    assert_true(files > 300);
    assert_true(pairs > 20000);
    assert_true(keyed_pairs > 1000);
}

static int cmp(const char *type, const char *ahex, const char *bhex) {
    sstable_type *t = sstable_type_parse(type);
    uint8_t a[64], b[64];
    size_t al = strlen(ahex) / 2, bl = strlen(bhex) / 2;
    assert_int_equal(strata_unhex(ahex, a, al), 0);
    assert_int_equal(strata_unhex(bhex, b, bl), 0);
    sstable_value x = {a, al}, y = {b, bl};
    int c = sstable_value_compare(t, &x, &y);
    sstable_type_free(t);
    return c;
}

#define M "org.apache.cassandra.db.marshal."

/* Orders of types the corpus has no clustering of, from their definitions. */
static void test_numeric_orders(void **state) {
    (void)state;
    assert_true(cmp(M "IntegerType", "ff", "00") < 0);          /* -1 < 0 */
    assert_true(cmp(M "IntegerType", "0100", "7f") > 0);        /* 256 > 127 */
    assert_true(cmp(M "IntegerType", "ff7f", "ff") < 0);        /* -129 < -1 */
    assert_true(cmp(M "IntegerType", "00ff", "0100") < 0);      /* 255 < 256 */
    assert_true(cmp(M "DecimalType", "00000001" "0f", "00000000" "02") < 0); /* 1.5 < 2 */
    assert_true(cmp(M "DoubleType", "8000000000000000", "0000000000000000") < 0); /* -0 < 0 */
    assert_true(cmp(M "DoubleType", "c000000000000000", "bff0000000000000") < 0); /* -2 < -1 */
    assert_true(cmp(M "FloatType", "7fc00000", "7f800000") > 0); /* NaN > inf */
    assert_true(cmp(M "Int32Type", "ffffffff", "00000001") < 0);
    assert_true(cmp(M "ReversedType(" M "Int32Type)", "ffffffff", "00000001") > 0);
    assert_true(cmp(M "UTF8Type", "", "00") < 0);
}

/* Checks the order keys of two values of `type` (a one-column clustering)
 * against the comparator; returns how many of the two have a key. */
static int keys_agree(const char *type, const char *ahex, const char *bhex) {
    sstable_type *t = sstable_type_parse(type);
    sstable_header h = {.nclustering = 1, .clustering = &t};
    uint8_t a[64], b[64];
    size_t al = strlen(ahex) / 2, bl = strlen(bhex) / 2;
    assert_int_equal(strata_unhex(ahex, a, al), 0);
    assert_int_equal(strata_unhex(bhex, b, bl), 0);
    sstable_value x = {a, al}, y = {b, bl};
    uint64_t ka = 0, kb = 0;
    int keyed = sstable_clustering_order_key(&h, &x, 1, &ka) + sstable_clustering_order_key(&h, &y, 1, &kb);
    int c = sstable_value_compare(t, &x, &y);
    if (keyed == 2 && ka != kb && (ka < kb) != (c < 0)) fail_msg("%s: keys of %s and %s disagree", type, ahex, bhex);
    if (keyed == 2 && !c) assert_true(ka == kb);
    sstable_type_free(t);
    return keyed;
}

/* Order keys of the types a merge meets most, including the edges: signs,
 * lengths that are not the type's, prefixes, empty values, DESC. */
static void test_order_keys(void **state) {
    (void)state;
    assert_int_equal(keys_agree(M "Int32Type", "ffffffff", "00000001"), 2);
    assert_int_equal(keys_agree(M "Int32Type", "80000000", "7fffffff"), 2);
    assert_int_equal(keys_agree(M "LongType", "fffffffffffffffe", "ffffffffffffffff"), 2);
    assert_int_equal(keys_agree(M "TimestampType", "0000019a1b2c3d4e", "0000019a1b2c3d4f"), 2);
    assert_int_equal(keys_agree(M "ShortType", "8000", "0001"), 0); /* of variable length */
    assert_int_equal(keys_agree(M "ReversedType(" M "Int32Type)", "ffffffff", "00000001"), 2);
    assert_int_equal(keys_agree(M "ReversedType(" M "UTF8Type)", "6162", "616263"), 2);
    assert_int_equal(keys_agree(M "Int32Type", "0001", "00000001"), 1); /* not the type's length */
    assert_int_equal(keys_agree(M "UTF8Type", "6162", "616200"), 2);       /* equal keys, prefix first */
    assert_int_equal(keys_agree(M "UTF8Type", "6162", "616263"), 2);
    assert_int_equal(keys_agree(M "UTF8Type", "61626364656667686a", "616263646566676869"), 2);
    assert_int_equal(keys_agree(M "BytesType", "ff", "7f"), 2);
    assert_int_equal(keys_agree(M "UTF8Type", "", "00"), 1);               /* empty: no key */
    assert_int_equal(keys_agree(M "SimpleDateType", "80000001", "7fffffff"), 2);
    assert_int_equal(keys_agree(M "DoubleType", "c000000000000000", "bff0000000000000"), 0);
    /* timeuuids: equal timestamps, then the timestamp's high, middle and
     * low fields in that order, a version nibble that makes the signed
     * comparison negative, DESC, and a length that is not 16 */
    assert_int_equal(keys_agree(M "TimeUUIDType", "00000000000010008000000000000000",
                                "00000000000010007f00000000000000"), 2);
    assert_int_equal(keys_agree(M "TimeUUIDType", "ffffffffffff10008000000000000000",
                                "00000000000010018000000000000000"), 2);
    assert_int_equal(keys_agree(M "TimeUUIDType", "00000000ffff11ec8000000000000000",
                                "ffffffff000011ec8000000000000000"), 2);
    assert_int_equal(keys_agree(M "TimeUUIDType", "000000000000100080000000000000",
                                "00000000000010008000000000000000"), 1);
    assert_int_equal(keys_agree(M "TimeUUIDType", "00000000000090008000000000000000",
                                "00000000000010008000000000000000"), 2);
    assert_int_equal(keys_agree(M "ReversedType(" M "TimeUUIDType)", "82580574509511ec92886b5bef6947ff",
                                "e6364328509011ec89a869d3b7c091b1"), 2);
    assert_int_equal(keys_agree(M "TimeUUIDType", "82580574509511ec92886b5bef6947ff",
                                "82580574509511ec92886b5bef6947ff"), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_order),
        cmocka_unit_test(test_numeric_orders),
        cmocka_unit_test(test_order_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
