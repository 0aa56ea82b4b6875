/* test_base.c - the shared vocabulary: error messages and byte decoding.
 *
 * Both are used on every failure path and every stored structure, so the
 * properties that matter there are pinned down here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_wraps_previous_message),
        cmocka_unit_test(test_buffer_reader_bounds),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
