/* test_sstable_token.c - Murmur3 tokens against values Cassandra computed:
 * the int keys every CQL tutorial shows, and key/token pairs published with
 * the DataStax drivers' token tests (inputs and results from Cassandra),
 * several of which end in bytes >= 0x80 and so depend on Cassandra's
 * sign-extension of the tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

typedef struct {
    const char *key;
    size_t len;
    int64_t token;
} pair;

static const pair pairs[] = {
    {"\0\0\0\1", 4, -4069959284402364209LL}, /* int 1 */
    {"123", 3, -7468325962851647638LL},
    {"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16, -5563837382979743776LL},
    {"\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11", 16, -1513403162740402161LL},
    {"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe", 8, -8927430733708461935LL},
    {"\xfe\xfe\xfe\xfe", 4, 4566408979886474012LL},
    {"\x00\xff\xff\xff", 4, 123573637386978882LL},
    {"\xff\x01\x02\x03", 4, -2839127690952877842LL},
    {"\xe2\xe7", 2, -8582699461035929883LL},
    {"\xe2\xe7\xe2\xe7\xe2\xe7\x01", 7, 2222373981930033306LL},
    {"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe", 17, -1672437813826982685LL},
};

static void test_known_pairs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        assert_int_equal(sstable_murmur3_token((const uint8_t *)pairs[i].key, pairs[i].len), pairs[i].token);
}

/* The empty key is the minimum token. */
static void test_empty_key(void **state) {
    (void)state;
    assert_int_equal(sstable_murmur3_token((const uint8_t *)"", 0), INT64_MIN);
}

/* MANIFEST: int keys 1..5 sort 5, 1, 2, 4, 3 under Murmur3 (from Index.db). */
static void test_index_order_of_int_keys(void **state) {
    (void)state;
    sstable *s;
    assert_int_equal(sstable_open("../shared/corpus/scylla/uncompressed-simple", &s), STRATA_OK);
    const int order[5] = {5, 1, 2, 4, 3};
    const sstable_partition *p;
    int64_t prev = INT64_MIN;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_int_equal(p->key[3], order[i]);
        assert_true(p->token > prev);
        prev = p->token;
    }
    sstable_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_pairs),
        cmocka_unit_test(test_empty_key),
        cmocka_unit_test(test_index_order_of_int_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
