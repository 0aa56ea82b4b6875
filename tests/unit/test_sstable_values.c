/* test_sstable_values.c - CQL value rendering for every type, from byte
 * encodings written out by hand after the CQL protocol specification (the
 * corpus holds no varint, decimal, duration, tuple or frozen values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

static void expect(const char *type, const char *hex, const char *json) {
    sstable_type *t = sstable_type_parse(type);
    assert_non_null(t);
    size_t n = strlen(hex) / 2;
    uint8_t *raw = malloc(n + 1);
    assert_int_equal(strata_unhex(hex, raw, n), 0);
    json_t *j = sstable_value_json(t, raw, n);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (strcmp(s, json)) fail_msg("%s %s: got %s, want %s", type, hex, s, json);
    free(s);
    json_decref(j);
    free(raw);
    sstable_type_free(t);
}

#define M "org.apache.cassandra.db.marshal."

static void test_scalars(void **state) {
    (void)state;
    expect(M "Int32Type", "fffffffe", "-2");
    expect(M "LongType", "0000000100000000", "4294967296");
    expect(M "ShortType", "8000", "-32768");
    expect(M "ByteType", "7f", "127");
    expect(M "IntegerType", "ff", "-1");
    expect(M "IntegerType", "0100000000000000000000", "\"1208925819614629174706176\""); /* 2^80 */
    expect(M "IntegerType", "ff00000000000000000000", "\"-1208925819614629174706176\"");
    expect(M "DecimalType", "00000002" "04d2", "\"12.34\"");          /* 1234 scale 2 */
    expect(M "DecimalType", "00000005" "fb2e", "\"-0.01234\"");       /* -1234 scale 5 */
    expect(M "DecimalType", "fffffffe" "07", "\"7E+2\"");             /* 7 scale -2 */
    expect(M "FloatType", "3fc00000", "1.5");
    expect(M "DoubleType", "400921fb54442d18", "3.14159265358979");
    expect(M "DoubleType", "7ff8000000000000", "\"NaN\"");
    expect(M "BooleanType", "01", "true");
    expect(M "BytesType", "cafe", "\"0xcafe\"");
    expect(M "AsciiType", "6869", "\"hi\"");
    expect(M "UTF8Type", "c3a9", "\"\xc3\xa9\"");
    expect(M "UUIDType", "0123456789abcdef0123456789abcdef", "\"01234567-89ab-cdef-0123-456789abcdef\"");
    expect(M "TimestampType", "0000014d2445a79a", "\"2015-05-05 13:30:54.234Z\"");
    expect(M "SimpleDateType", "80004bbc", "\"2023-01-31\""); /* 2^31 + 19388 days */
    expect(M "TimeType", "00000c2b4d817515", "\"03:43:00.123456789\"");
    expect(M "InetAddressType", "0a000001", "\"10.0.0.1\"");
    expect(M "InetAddressType", "20010db8000000000000000000000001", "\"2001:db8::1\"");
    expect(M "CounterColumnType", "000000000000002a", "42");
    /* (months 14, days 3) and nanos 3723004005006: zig-zag VInts */
    expect(M "DurationType", "1c" "06" "00", "\"1y2mo3d\"");
    expect(M "DurationType", "00" "00" "fc06c5a8a9951c", "\"1h2m3s4ms5us6ns\"");
    expect(M "EmptyType", "", "\"\"");
}

static void test_composites(void **state) {
    (void)state;
    expect(M "FrozenType(" M "ListType(" M "Int32Type))", "00000002" "00000004" "00000001" "00000004" "00000002",
           "[1,2]");
    expect(M "FrozenType(" M "SetType(" M "UTF8Type))", "00000001" "00000001" "61", "[\"a\"]");
    expect(M "FrozenType(" M "MapType(" M "UTF8Type," M "Int32Type))",
           "00000001" "00000001" "6b" "00000004" "00000007", "{\"k\":7}");
    expect(M "TupleType(" M "Int32Type," M "UTF8Type)", "00000004" "00000009" "ffffffff", "[9,null]");
    expect(M "FrozenType(" M "UserType(ks,61646472,63697479:" M "UTF8Type,7a6970:" M "Int32Type))",
           "00000004" "436f726b" "00000004" "00003039", "{\"city\":\"Cork\",\"zip\":12345}");
    expect(M "CompositeType(" M "UTF8Type," M "Int32Type)", "0002" "6869" "00" "0004" "00000005" "00", "[\"hi\",5]");
    expect(M "ReversedType(" M "TimeUUIDType)", "50554d6e29bb11e5b345feff819cdc9f",
           "\"50554d6e-29bb-11e5-b345-feff819cdc9f\"");
    /* a counter context: two shards, counts 2 and 3 */
    expect(M "CounterColumnType",
           "0000" "11111111111111111111111111111111" "0000000000000001" "0000000000000002"
           "22222222222222222222222222222222" "0000000000000001" "0000000000000003",
           "5");
}

static void test_malformed_values_show_hex(void **state) {
    (void)state;
    expect(M "Int32Type", "0102", "\"0x0102\"");
    expect(M "FrozenType(" M "ListType(" M "Int32Type))", "7fffffff", "\"0x7fffffff\"");
    expect(M "UTF8Type", "ff", "\"0xff\"");
}

static void test_cql_names(void **state) {
    (void)state;
    sstable_type *t = sstable_type_parse(M "FrozenType(" M "MapType(" M "UTF8Type," M "ListType(" M "Int32Type)))");
    char *s = sstable_type_cql(t);
    assert_string_equal(s, "frozen<map<text, frozen<list<int>>>>");
    free(s);
    sstable_type_free(t);
    t = sstable_type_parse(M "SetType(" M "UTF8Type)");
    assert_true(t->multicell);
    sstable_type_free(t);
    assert_null(sstable_type_parse(M "MapType(" M "UTF8Type"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_composites),
        cmocka_unit_test(test_malformed_values_show_hex),
        cmocka_unit_test(test_cql_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
