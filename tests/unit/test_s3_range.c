/* test_s3_range.c - what the S3 backend accepts as the answer to a ranged
 * GET: Content-Range parsing, and the judgement of 206 and 200 answers
 * against the range asked for, so that an answer about other bytes (cut
 * short, shifted, disowned by its own headers) is told from an object that
 * really ends before the range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fetch/s3_int.h"

static void test_content_range_parsing(void **state) {
    (void)state;
    uint64_t first, last, total;
    assert_int_equal(s3_parse_content_range("bytes 100-199/1000", &first, &last, &total), 0);
    assert_int_equal(first, 100);
    assert_int_equal(last, 199);
    assert_int_equal(total, 1000);
    assert_int_equal(s3_parse_content_range("bytes 0-0/*", &first, &last, &total), 0);
    assert_int_equal(total, 0);
    assert_int_equal(s3_parse_content_range("bytes 0-18446744073709551615/1", &first, &last, &total), -1);
    assert_int_equal(s3_parse_content_range("bytes 5-4/10", &first, &last, &total), -1);   /* backwards */
    assert_int_equal(s3_parse_content_range("bytes 0-9/10x", &first, &last, &total), -1);
    assert_int_equal(s3_parse_content_range("bytes 0-9/9", &first, &last, &total), -1);   /* past the total */
    assert_int_equal(s3_parse_content_range("bytes */1000", &first, &last, &total), -1);  /* a 416's */
    assert_int_equal(s3_parse_content_range("items 0-9/10", &first, &last, &total), -1);
    assert_int_equal(s3_parse_content_range("bytes -9/10", &first, &last, &total), -1);
}

static void test_partial_answers(void **state) {
    (void)state;
    /* 206 answers naming bytes first..last of total (0: "*") with `got`
     * bytes of body, to a GET of `want` bytes at offset of which `need`
     * are required */
    static const struct {
        uint64_t first, last, total;
        size_t got;
        uint64_t offset;
        size_t want, need;
        s3_range_verdict verdict;
    } cases[] = {
        {1000, 1099, 5000, 100, 1000, 100, 100, S3_RANGE_OK},
        /* cut short while the object goes on: a fault, not the object's end */
        {1000, 1049, 5000, 50, 1000, 100, 100, S3_RANGE_WRONG},
        {1000, 1049, 5000, 50, 1000, 100, 10, S3_RANGE_WRONG},
        /* shifted by a byte, same length */
        {1001, 1100, 5000, 100, 1000, 100, 100, S3_RANGE_WRONG},
        /* more than asked */
        {1000, 1199, 5000, 200, 1000, 100, 100, S3_RANGE_WRONG},
        /* a body shorter than its Content-Range */
        {1000, 1099, 5000, 99, 1000, 100, 100, S3_RANGE_WRONG},
        /* the object ends inside the window: fine when the needed bytes came */
        {4096, 4999, 5000, 904, 4096, 4096, 900, S3_RANGE_OK},
        {4096, 4999, 5000, 904, 4096, 4096, 1000, S3_RANGE_PAST_END},
        /* ending short without a known total is not the object's end */
        {4096, 4999, 0, 904, 4096, 4096, 900, S3_RANGE_WRONG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s3_request r = {.status = 206, .have_length = 1, .content_length = cases[i].got, .have_range = 1,
                        .range_first = cases[i].first, .range_last = cases[i].last,
                        .range_total = cases[i].total};
        assert_int_equal(s3_range_judge(&r, cases[i].got, cases[i].offset, cases[i].want, cases[i].need),
                         cases[i].verdict);
        /* the same answer without its Content-Range says nothing of the range */
        r.have_range = 0;
        assert_int_equal(s3_range_judge(&r, cases[i].got, cases[i].offset, cases[i].want, cases[i].need),
                         S3_RANGE_WRONG);
    }
}

static void test_whole_object_answers(void **state) {
    (void)state;
    s3_request r = {.status = 200, .have_length = 1, .content_length = 5000};
    assert_int_equal(s3_range_judge(&r, 5000, 1000, 100, 100), S3_RANGE_OK);
    assert_int_equal(s3_range_judge(&r, 5000, 4950, 100, 100), S3_RANGE_PAST_END);
    assert_int_equal(s3_range_judge(&r, 4999, 1000, 100, 100), S3_RANGE_WRONG);
    /* any other status is not an answer with bytes */
    r.status = 304;
    assert_int_equal(s3_range_judge(&r, 5000, 1000, 100, 100), S3_RANGE_WRONG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_range_parsing),
        cmocka_unit_test(test_partial_answers),
        cmocka_unit_test(test_whole_object_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
