/* test_base.c - the shared vocabulary: error messages, whole writes, byte
 * decoding and CRC32.
 *
 * All of them are used on every failure path and every stored structure, so
 * the properties that matter there are pinned down here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "engine/base/base.h"

/* Wrapping the previous message (a common idiom) must not read the buffer
 * it is writing. */
static void test_error_wraps_previous_message(void **state) {
    (void)state;
    strata_fail(STRATA_ECORRUPT, "chunk %s: checksum mismatch", "d9ea5de3");
    assert_int_equal(strata_fail(STRATA_ECORRUPT, "%s: %s", "/data/nb-1-big-Data.db", strata_errmsg()),
                     STRATA_ECORRUPT);
    assert_string_equal(strata_errmsg(), "/data/nb-1-big-Data.db: chunk d9ea5de3: checksum mismatch");
    strata_fail_errno(STRATA_ENOSPC, ENOSPC, "writing %s", "pack");
    assert_string_equal(strata_errmsg(), "writing pack: No space left on device");
    strata_clear_error();
    assert_string_equal(strata_errmsg(), "success");
}

/* Every writer of whole files reports a failed write alike: the path and
 * the code the errno maps to; what it writes arrives whole. */
static void test_write_all(void **state) {
    (void)state;
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0) skip();
    uint8_t bytes[3000];
    for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (uint8_t)(i * 7);
    assert_int_equal(strata_write_all(fd, bytes, sizeof bytes, "/dev/full"), STRATA_ENOSPC);
    assert_string_equal(strata_errmsg(), "writing /dev/full: No space left on device");
    close(fd);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(strata_write_all(fileno(f), bytes, sizeof bytes, "tmpfile"), STRATA_OK);
    uint8_t back[sizeof bytes + 1];
    assert_int_equal(pread(fileno(f), back, sizeof back, 0), sizeof bytes);
    assert_memory_equal(back, bytes, sizeof bytes);
    fclose(f);
}

static void test_buffer_reader_bounds(void **state) {
    (void)state;
    strata_buf b;
    strata_buf_init(&b);
    strata_buf_put_varint(&b, 300);
    strata_buf_put_str(&b, "keyspace");
    strata_buf_put_u64(&b, 0x0102030405060708ull);
    strata_reader rd;
    strata_reader_init(&rd, b.data, b.len);
    assert_int_equal(strata_read_varint(&rd), 300);
    char *s = strata_read_str(&rd, 100);
    assert_string_equal(s, "keyspace");
    free(s);
    assert_int_equal(strata_read_u64(&rd), 0x0102030405060708ull);
    assert_false(rd.failed);
    assert_int_equal(strata_read_u32(&rd), 0);
    assert_true(rd.failed);
    /* A string longer than allowed fails instead of allocating. */
    strata_reader_init(&rd, b.data + 2, b.len - 2);
    s = strata_read_str(&rd, 3);
    assert_true(rd.failed);
    free(s);
    strata_buf_free(&b);
}

/* Zigzag varints (times before 1970, the INT64_MIN of "no time") as
 * docs/FORMAT.md spells them: -1 is one byte 0x01, 1 is 0x02. */
static void test_zigzag_varints(void **state) {
    (void)state;
    const int64_t values[] = {0, -1, 1, -64, 64, INT64_MIN, INT64_MAX};
    strata_buf b;
    strata_buf_init(&b);
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) strata_buf_put_zigzag(&b, values[i]);
    assert_int_equal(b.data[1], 0x01);
    assert_int_equal(b.data[2], 0x02);
    strata_reader rd;
    strata_reader_init(&rd, b.data, b.len);
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) assert_true(strata_read_zigzag(&rd) == values[i]);
    assert_int_equal(rd.left, 0);
    assert_false(rd.failed);
    strata_buf_free(&b);
}

/* strata_crc32 is zlib's CRC32 (gzip's polynomial, reflected) at every
 * length the vector code paths split on, and chains across calls. */
static void test_crc32_is_zlibs(void **state) {
    (void)state;
    static uint8_t data[70000];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof data; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1000, 4096, 16384, 65536, 70000};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint32_t want = (uint32_t)crc32(0, data, (uInt)lens[i]);
        assert_int_equal(strata_crc32(0, data, lens[i]), want);
        size_t half = lens[i] / 2 + 3 < lens[i] ? lens[i] / 2 + 3 : lens[i];
        assert_int_equal(strata_crc32(strata_crc32(0, data, half), data + half, lens[i] - half), want);
    }
}

/* After strata_crc32 the upper halves of the vector registers are not in
 * use: ISA-L's AVX-512 CRC32 leaves them so, and every SSE instruction
 * after that paid for it (a merge ran 1.3 to 1.8 times slower).  XGETBV
 * with ECX=1 reports which register state is in use (XINUSE): bit 2 the
 * upper halves of ymm0-15, bit 6 those of zmm0-15.  Where the CPU cannot
 * report it there is nothing to check. */
static void test_crc32_leaves_no_upper_vector_state(void **state) {
    (void)state;
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & (1u << 2))) skip();
    static uint8_t data[65536];
    memset(data, 0x5a, sizeof data);
    uint32_t crc = strata_crc32(0, data, sizeof data), lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    assert_int_equal(lo & ((1u << 2) | (1u << 6)), 0);
    assert_int_equal(crc, (uint32_t)crc32(0, data, sizeof data));
#else
    skip();
#endif
}

/* A cut given to the microsecond (Cassandra's write times are) survives
 * parsing and printing; malformed times are refused, not truncated. */
static void test_ends_with(void **state) {
    (void)state;
    assert_true(strata_ends_with("nb-1-big-Data.db", "-Data.db"));
    assert_true(strata_ends_with("-Data.db", "-Data.db"));
    assert_true(strata_ends_with("x", ""));
    assert_false(strata_ends_with("Data.db", "-Data.db"));
    assert_false(strata_ends_with("nb-1-big-Data.db.tmp", "-Data.db"));
}

static void test_iso8601_microseconds(void **state) {
    (void)state;
    int64_t us;
    assert_int_equal(strata_parse_iso8601_us("2026-11-21T23:19:56.550666Z", &us), 0);
    assert_int_equal(us, 1795303196550666LL);
    assert_int_equal(strata_parse_iso8601_us("2026-11-21T23:19:56.5Z", &us), 0);
    assert_int_equal(us, 1795303196500000LL);
    assert_int_equal(strata_parse_iso8601_us("2026-11-21T23:19:56Z", &us), 0);
    assert_int_equal(us, 1795303196000000LL);
    char out[32];
    strata_iso8601_us(1795303196550666LL, out);
    assert_string_equal(out, "2026-11-21T23:19:56.550666Z");
    strata_iso8601_us(1795303196000000LL, out);
    assert_string_equal(out, "2026-11-21T23:19:56Z");
    strata_iso8601_us(1795303196000007LL, out);
    assert_string_equal(out, "2026-11-21T23:19:56.000007Z");
    const char *bad[] = {"2026-11-21T23:19:56.5506661Z", "2026-11-21T23:19:56.Z", "2026-11-21T23:19:56",
                         "2026-11-21T23:19:56.55x666Z", "2026-11-21T23:19:56ZZ", "2026-11-21 23:19:56Z",
                         "2026-11-21T23:19:60Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_int_equal(strata_parse_iso8601_us(bad[i], &us), -1);
    assert_int_equal(strata_parse_seconds_us("1795303196.550666", &us), 0);
    assert_int_equal(us, 1795303196550666LL);
    assert_int_equal(strata_parse_seconds_us("1795303196", &us), 0);
    assert_int_equal(us, 1795303196000000LL);
    const char *bad_seconds[] = {"1795303196.", ".5", "1795303196.5506661", "1795303196x", "1234567890123", ""};
    for (size_t i = 0; i < sizeof bad_seconds / sizeof *bad_seconds; i++)
        assert_int_equal(strata_parse_seconds_us(bad_seconds[i], &us), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_wraps_previous_message),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_buffer_reader_bounds),
        cmocka_unit_test(test_zigzag_varints),
        cmocka_unit_test(test_crc32_is_zlibs),
        cmocka_unit_test(test_crc32_leaves_no_upper_vector_state),
        cmocka_unit_test(test_ends_with),
        cmocka_unit_test(test_iso8601_microseconds),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
