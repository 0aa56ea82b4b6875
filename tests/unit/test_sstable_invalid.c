/* test_sstable_invalid.c - bad input: Cassandra's deliberately invalid
 * tombstone fixtures, the overflowed-TTL fixtures, and damage done here to
 * copies of real SSTables (flipped bytes in every component, truncation,
 * absurd lengths behind a removed checksum).  Every failure must be an
 * error naming the file (and, in Data.db, the offset); none may crash or
 * run away, which the sanitizer build of this test enforces. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

#define MISC "../shared/corpus/cassandra-misc"

/* Opens and reads everything: data, index, digest.  Returns the first error. */
static strata_err read_all(const char *path) {
    sstable *s;
    strata_err e = sstable_open(path, &s);
    if (e) return e;
    const sstable_partition *p;
    const sstable_unfiltered *u;
    while (!(e = sstable_next_partition(s, &p)) && p)
        while (!(e = sstable_next_unfiltered(s, &u)) && u) {}
    if (!e) e = sstable_verify_digest(s);
    uint64_t n, b;
    if (!e && access(sstable_component_path(s, "Index.db"), F_OK) == 0) e = sstable_verify_index(s, &n, &b);
    sstable_close(s);
    return e;
}

/* CompactionsCQLTest expects Cassandra to reject these deletions. */
static void test_negative_deletion_times_rejected(void **state) {
    (void)state;
    const char *dirs[] = {"invalid_partition_deletion/nc-1-big-Data.db", "invalid_tombstones/nc-1-big-Data.db",
                          "invalid_range_tombstone_compaction/nb-1-big-Data.db",
                          "invalid_range_tombstone_reader/nb-1-big-Data.db"};
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, MISC "/negative-ldts-invalid-deletions-test/%s", dirs[i]);
        sstable *s;
        assert_int_equal(sstable_open(path, &s), STRATA_OK); /* metadata is fine, nc included */
        assert_true(sstable_get_meta(s)->stats_complete);
        sstable_close(s);
        assert_int_equal(read_all(path), STRATA_ECORRUPT);
        const char *msg = strata_errmsg();
        assert_non_null(strstr(msg, path));
        assert_non_null(strstr(msg, "offset"));
        assert_non_null(strstr(msg, "negative local deletion time"));
    }
}

/* Before the failing partition the valid rows read normally: partition
 * order 1, 0, 22 with rows (1,1,'1') and (0,0,'0'). */
static void test_rows_before_invalid_partition(void **state) {
    (void)state;
    sstable *s;
    assert_int_equal(sstable_open(MISC "/negative-ldts-invalid-deletions-test/invalid_tombstones", &s), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    for (int k = 1; k >= 0; k--) {
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_memory_equal(p->key, ((uint8_t[]){0, 0, 0, (uint8_t)k}), 4);
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_int_equal(u->ncells, 1);
        assert_int_equal(u->cells[0].value.len, 1);
        assert_int_equal(u->cells[0].value.p[0], '0' + k);
    }
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_memory_equal(p->key, ((uint8_t[]){0, 0, 0, 22}), 4);
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_ECORRUPT);
    sstable_close(s);
}

/* TTLTest: cells written with TTL 630720000 whose expiry overflowed int32.
 * They read, with the TTL intact and the expiry visibly negative. */
static void test_overflowed_ttl(void **state) {
    (void)state;
    const int cells_k1[4] = {2, 1, 5, 5}; /* table1: a,b; table2: b; table3/4: a + 4 set elements, or b */
    for (int t = 1; t <= 4; t++) {
        char path[256];
        snprintf(path, sizeof path, MISC "/negative-local-expiration-test/table%d", t);
        sstable *s;
        assert_int_equal(sstable_open(path, &s), STRATA_OK);
        const sstable_meta *m = sstable_get_meta(s);
        assert_int_equal(m->min_ttl, 630720000);
        assert_int_equal(m->max_ttl, 630720000);
        assert_int_equal(m->min_local_deletion_time, t <= 2 ? -2146700401 : -2146700400);
        const sstable_partition *p;
        const sstable_unfiltered *u;
        for (int k = 1; k <= 2; k++) {
            assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
            assert_int_equal(p->key[3], k);
            assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
            size_t live = 0;
            for (size_t i = 0; i < u->ncells; i++) {
                if (u->cells[i].deleted) continue;
                assert_true(u->cells[i].expiring);
                assert_int_equal(u->cells[i].ttl, 630720000);
                assert_true(u->cells[i].local_deletion_time < 0);
                live++;
            }
            if (k == 1 && t != 4) assert_int_equal(live, (size_t)cells_k1[t - 1]);
            if (k == 2 && (t == 1 || t == 2)) assert_true(u->has_liveness && u->ttl == 630720000);
        }
        sstable_close(s);
    }
}

static char tmpdir[64];

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    fclose(b);
}

static const char *const components[] = {"Data.db", "Statistics.db", "CompressionInfo.db", "CRC.db", "Index.db",
                                          "Summary.db", "Digest.crc32", "TOC.txt", "Filter.db"};

/* Copies one SSTable's components into tmpdir as nb-1-big-* / mc-1-big-*. */
static void copy_sstable(const char *src_prefix, const char *dst_prefix) {
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++) {
        char from[512], to[512];
        snprintf(from, sizeof from, "%s%s", src_prefix, components[i]);
        snprintf(to, sizeof to, "%s%s", dst_prefix, components[i]);
        unlink(to);
        if (access(from, F_OK) == 0) copy_file(from, to);
    }
}

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void patch(const char *path, long off, uint8_t x) {
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= x;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Flips bytes across each component: components whose every byte is
 * checksummed or cross-checked must fail (Statistics.db only from na on,
 * when it gained checksums), and every failure names a file of the copy.
 * Filter.db and TOC.txt are not needed to read the data. */
static void flip_each_component(const char *src_prefix, const char *name, int stats_checksummed) {
    char dst[256];
    snprintf(dst, sizeof dst, "%s/%s", tmpdir, name);
    for (size_t c = 0; c < sizeof components / sizeof components[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", dst, components[c]);
        copy_sstable(src_prefix, dst);
        long size = file_size(path);
        if (size <= 0) continue;
        int must_fail = c == 0 || (c == 1 && stats_checksummed) || c == 2 || c == 3 || c == 6;
        for (int k = 0; k < 12; k++) {
            long off = size * k / 12;
            copy_sstable(src_prefix, dst);
            patch(path, off, 0x5a);
            strata_err e = read_all(dst);
            /* a larger CRC.db chunk size still covers a file smaller than both */
            int harmless = c == 3 && off < 4;
            if (must_fail && !harmless && !e) fail_msg("flip at %s:%ld went unnoticed", path, off);
            if (e) assert_non_null(strstr(strata_errmsg(), tmpdir));
        }
        copy_sstable(src_prefix, dst);
        assert_int_equal(truncate(path, size / 2), 0);
        strata_err e = read_all(dst);
        if (must_fail || c == 1 || c == 4) assert_int_not_equal(e, STRATA_OK);
        if (e) assert_non_null(strstr(strata_errmsg(), tmpdir));
        /* a cut Data.db is named, not the component that reveals it */
        if (c == 0) assert_non_null(strstr(strata_errmsg(), "-Data.db"));
    }
}

static void test_flips_and_truncation(void **state) {
    (void)state;
    flip_each_component("../shared/corpus/cassandra-legacy/nb/legacy_tables/legacy_nb_clust/nb-1-big-", "nb-1-big-", 1);
    flip_each_component("../shared/corpus/scylla/uncompressed-compound_static_row/mc-1-big-", "mc-1-big-", 0);
    flip_each_component("../shared/corpus/cassandra-legacy/ma/legacy_tables/legacy_ma_clust/ma-1-big-", "ma-1-big-", 0);
}

/* With CRC.db gone nothing vouches for Data.db: absurd lengths must still
 * end in an error naming Data.db and an offset. */
static void test_absurd_lengths(void **state) {
    (void)state;
    char dst[256], data[300], crc[300];
    snprintf(dst, sizeof dst, "%s/mc-1-big-", tmpdir);
    snprintf(data, sizeof data, "%sData.db", dst);
    snprintf(crc, sizeof crc, "%sCRC.db", dst);
    /* partition key length 0xffff; row size VInt 0xff (8 more bytes); a
     * huge text length inside the static row; garbage flags */
    const long offsets[] = {0, 0, 22, 30, 21, 40};
    const uint8_t masks[] = {0xff, 0x80, 0xff, 0xff, 0x7f, 0xff};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        copy_sstable("../shared/corpus/scylla/uncompressed-compound_static_row/mc-1-big-", dst);
        unlink(crc);
        patch(data, offsets[i], masks[i]);
        sstable *s;
        assert_int_equal(sstable_open(dst, &s), STRATA_OK);
        const sstable_partition *p;
        const sstable_unfiltered *u;
        strata_err e;
        while (!(e = sstable_next_partition(s, &p)) && p)
            while (!(e = sstable_next_unfiltered(s, &u)) && u) {}
        sstable_close(s);
        if (e) {
            assert_non_null(strstr(strata_errmsg(), data));
            assert_non_null(strstr(strata_errmsg(), "offset"));
        }
    }
}

/* Versions before ma and unknown ones are refused by name. */
static void test_unsupported_versions(void **state) {
    (void)state;
    char dst[256];
    snprintf(dst, sizeof dst, "%s/ka-1-big-", tmpdir);
    copy_sstable("../shared/corpus/scylla/uncompressed-simple/mc-1-big-", dst);
    sstable *s;
    assert_int_equal(sstable_open(dst, &s), STRATA_EFORMAT);
    assert_non_null(strstr(strata_errmsg(), "unsupported SSTable version 'ka'"));
    snprintf(dst, sizeof dst, "%s/ks-cf-ka-1-Data.db", tmpdir);
    copy_file("../shared/corpus/scylla/uncompressed-simple/mc-1-big-Data.db", dst);
    assert_int_equal(sstable_open(dst, &s), STRATA_EFORMAT);
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strata-sstable-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negative_deletion_times_rejected),
        cmocka_unit_test(test_rows_before_invalid_partition),
        cmocka_unit_test(test_overflowed_ttl),
        cmocka_unit_test(test_flips_and_truncation),
        cmocka_unit_test(test_absurd_lengths),
        cmocka_unit_test(test_unsupported_versions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
