/* test_s3_readahead.c - the read-ahead windows of the S3 backend: which
 * reads count as sequential, that kept windows serve exactly their bytes,
 * that a reader waits for a window still being fetched, and that a failed
 * fetch leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fetch/s3_int.h"

static void fill_pattern(strata_buf *b, uint64_t start, size_t n) {
    strata_buf_init(b);
    for (size_t i = 0; i < n; i++) strata_buf_put_u8(b, (uint8_t)((start + i) * 7 + 3));
}

/* A window as a finished fetch leaves it: claimed, then filled. */
static void keep(s3_readahead *ra, const char *key, uint64_t start, size_t planned, strata_buf *data) {
    int slot = s3_readahead_claim(ra, key, start, planned);
    assert_true(slot >= 0);
    s3_readahead_fill(ra, slot, data);
}

static void test_sequential_detection(void **state) {
    (void)state;
    s3_readahead *ra = s3_readahead_new();
    assert_false(s3_readahead_continues(ra, "p/a", 0, 100));
    assert_true(s3_readahead_continues(ra, "p/a", 100, 50));      /* right after */
    assert_true(s3_readahead_continues(ra, "p/a", 150 + 4096, 10)); /* a small skip */
    assert_false(s3_readahead_continues(ra, "p/a", 0, 10));        /* backwards */
    assert_false(s3_readahead_continues(ra, "p/b", 10, 10));       /* another object */
    assert_false(s3_readahead_continues(ra, "p/a", 50u << 20, 10)); /* far ahead */
    s3_readahead_free(ra);
}

static void test_windows_serve_their_bytes(void **state) {
    (void)state;
    s3_readahead *ra = s3_readahead_new();
    strata_buf w;
    fill_pattern(&w, 1000, 5000);
    keep(ra, "p/a", 1000, 5000, &w);
    assert_int_equal(w.len, 0);
    uint8_t out[300];
    uint64_t end = 0;
    assert_true(s3_readahead_copy(ra, "p/a", 1200, sizeof out, out, &end));
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(out[i], (uint8_t)((1200 + i) * 7 + 3));
    assert_int_equal(end, 6000);
    assert_true(s3_readahead_copy(ra, "p/a", 5700, 300, out, &end));  /* the last bytes */
    assert_false(s3_readahead_copy(ra, "p/a", 5701, 300, out, &end)); /* one past */
    assert_false(s3_readahead_copy(ra, "p/a", 999, 10, out, &end));
    assert_false(s3_readahead_copy(ra, "p/b", 1200, 10, out, &end));
    /* A window shorter than planned ends at the object's end: no next window. */
    fill_pattern(&w, 0, 100);
    keep(ra, "p/c", 0, 4096, &w);
    assert_true(s3_readahead_copy(ra, "p/c", 0, 100, out, &end));
    assert_int_equal(end, 0);
    s3_readahead_free(ra);
}

typedef struct {
    s3_readahead *ra;
    int slot;
    int fail;
} filler;

static void *fill_later(void *arg) {
    filler *f = arg;
    usleep(100 * 1000);
    strata_buf w;
    fill_pattern(&w, 8192, 4096);
    s3_readahead_fill(f->ra, f->slot, f->fail ? NULL : &w);
    strata_buf_free(&w);
    return NULL;
}

static void test_reader_waits_for_a_loading_window(void **state) {
    (void)state;
    s3_readahead *ra = s3_readahead_new();
    for (int fail = 0; fail <= 1; fail++) {
        filler f = {.ra = ra, .fail = fail};
        f.slot = s3_readahead_claim(ra, fail ? "p/f" : "p/a", 8192, 4096);
        assert_true(f.slot >= 0);
        assert_int_equal(s3_readahead_claim(ra, fail ? "p/f" : "p/a", 8192, 4096), -1);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, fill_later, &f), 0);
        uint8_t out[16];
        uint64_t end;
        double t0 = strata_mono_s();
        int hit = s3_readahead_copy(ra, fail ? "p/f" : "p/a", 8192 + 100, sizeof out, out, &end);
        assert_true(strata_mono_s() - t0 >= 0.05); /* it waited */
        pthread_join(t, NULL);
        if (fail) {
            assert_false(hit); /* the reader fetches for itself */
        } else {
            assert_true(hit);
            assert_int_equal(out[0], (uint8_t)((8192 + 100) * 7 + 3));
        }
    }
    s3_readahead_free(ra);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_detection),
        cmocka_unit_test(test_windows_serve_their_bytes),
        cmocka_unit_test(test_reader_waits_for_a_loading_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
