/* test_sstable_skip.c - sstable_skip_to() lands where a plain scan does:
 * for rows spread over wide partitions with a row index (the legacy clust
 * tables of every big version, rf3-a's 300 KB events partition) and over
 * partitions without one (range tombstones, DESC clustering), the next
 * unfiltered after the skip is the first one the comparator puts at or
 * after the target, and the reported open range tombstone is the one a
 * scan sees there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

typedef struct {
    uint64_t offset;
    sstable_deletion open; /* open before this unfiltered */
    uint8_t *ck;           /* clustering values, concatenated */
    sstable_value vals[8];
    size_t n;
    sstable_bound_kind kind;
} seen;

static int same_deletion(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time == b->local_deletion_time;
}

static void check_partition(const char *path, uint64_t part_offset, const seen *all, size_t count, size_t step) {
    for (size_t t = 0; t < count; t += step) {
        if (all[t].kind != SSTABLE_CLUSTERING) continue;
        sstable *s;
        assert_int_equal(sstable_open(path, &s), STRATA_OK);
        const sstable_partition *p;
        do assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        while (p && p->offset != part_offset);
        assert_non_null(p);
        sstable_deletion open;
        assert_int_equal(sstable_skip_to(s, all[t].vals, all[t].n, &open), STRATA_OK);
        /* the scan's answer: the first unfiltered at or after the target */
        const sstable_header *h = sstable_get_header(s);
        size_t want = 0;
        while (want < count && sstable_clustering_compare(h, all[want].vals, all[want].n, all[want].kind, all[t].vals,
                                                          all[t].n, SSTABLE_INCL_START_BOUND) < 0)
            want++;
        const sstable_unfiltered *u;
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_non_null(u);
        if (u->offset != all[want].offset)
            fail_msg("%s: skip to row %zu landed at %llu, scan says %llu", path, t, (unsigned long long)u->offset,
                     (unsigned long long)all[want].offset);
        assert_true(same_deletion(&open, &all[want].open));
        sstable_close(s);
    }
}

/* Records every unfiltered of every partition, then checks skips in the
 * partitions with at least `min_rows` rows. */
static int check_sstable(const char *path, size_t min_rows, size_t step) {
    sstable *s;
    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    int checked = 0;
    while (sstable_next_partition(s, &p) == STRATA_OK && p) {
        uint64_t part = p->offset;
        seen *all = NULL;
        size_t n = 0;
        sstable_deletion open = {INT64_MIN, INT64_MAX};
        while (sstable_next_unfiltered(s, &u) == STRATA_OK && u) {
            if (u->kind == SSTABLE_STATIC_ROW) continue;
            all = realloc(all, (n + 1) * sizeof *all);
            seen *e = &all[n++];
            e->offset = u->offset;
            e->open = open;
            e->n = u->nclustering;
            e->kind = u->bound_kind;
            size_t total = 0;
            for (size_t i = 0; i < e->n; i++) total += u->clustering[i].len;
            e->ck = malloc(total + 1);
            for (size_t i = 0, off = 0; i < e->n; i++) {
                memcpy(e->ck + off, u->clustering[i].p ? u->clustering[i].p : (const uint8_t *)"", u->clustering[i].len);
                e->vals[i].p = u->clustering[i].p ? e->ck + off : NULL;
                e->vals[i].len = u->clustering[i].len;
                off += u->clustering[i].len;
            }
            if (u->kind == SSTABLE_RT_BOUNDARY ||
                (u->kind == SSTABLE_RT_BOUND &&
                 (u->bound_kind == SSTABLE_INCL_START_BOUND || u->bound_kind == SSTABLE_EXCL_START_BOUND)))
                open = u->deletion;
            else if (u->kind == SSTABLE_RT_BOUND)
                open = (sstable_deletion){INT64_MIN, INT64_MAX};
        }
        if (n >= min_rows) {
            check_partition(path, part, all, n, step);
            checked++;
        }
        for (size_t i = 0; i < n; i++) free(all[i].ck);
        free(all);
    }
    sstable_close(s);
    return checked;
}

static void test_wide_partitions_with_row_index(void **state) {
    (void)state;
    const char *formats[] = {"ma", "mc", "md", "me", "na", "nb", "oa"};
    for (size_t i = 0; i < 7; i++) {
        char path[256];
        snprintf(path, sizeof path, "../shared/corpus/cassandra-legacy/%s/legacy_tables/legacy_%s_clust/%s-1-big-Data.db",
                 formats[i], formats[i], formats[i]);
        uint64_t parts, blocks;
        sstable *s;
        assert_int_equal(sstable_open(path, &s), STRATA_OK);
        assert_int_equal(sstable_verify_index(s, &parts, &blocks), STRATA_OK);
        assert_true(blocks >= 5); /* ~60 KB per partition: several blocks each */
        sstable_close(s);
        assert_int_equal(check_sstable(path, 50, 3), 5);
    }
    assert_true(check_sstable("../shared/corpus/cluster/rf3-a/node1/app/events-91814540e60111f1b5720f8cceb1328b/nb-5-big-Data.db",
                              1000, 97) >= 1);
}

static void test_partitions_without_row_index(void **state) {
    (void)state;
    assert_int_equal(check_sstable("../shared/corpus/scylla/uncompressed-range_tombstones_simple", 1, 1), 1);
    assert_true(check_sstable("../shared/corpus/cluster/rf3-a/node1/app/readings-90c680c0e60111f1b5720f8cceb1328b/nb-5-big-Data.db",
                              30, 7) > 10);
    assert_true(check_sstable("../shared/corpus/scylla/zstd-multiple_chunks", 100, 101) == 1);
}

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Proof that the row index is used: with a damaged chunk in the middle of
 * events' 300 KB partition hot-0 a scan fails, but a skip to its last row
 * jumps over the damage. */
static void test_skip_jumps_over_blocks(void **state) {
    (void)state;
    const char *src = "../shared/corpus/cluster/rf3-a/node1/app/events-91814540e60111f1b5720f8cceb1328b/nb-5-big-";
    char dir[] = "/tmp/strata-skip-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *comps[] = {"Data.db", "Index.db", "Summary.db", "Statistics.db", "CompressionInfo.db"};
    for (int i = 0; i < 5; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "cp '%s%s' '%s/nb-5-big-%s' && chmod u+w '%s/nb-5-big-%s'", src, comps[i], dir,
                 comps[i], dir, comps[i]);
        assert_int_equal(system(cmd), 0);
    }
    char path[256];
    snprintf(path, sizeof path, "%s/nb-5-big-Data.db", dir);
    /* the widest partition and its last row */
    sstable *s;
    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    uint64_t best_rows = 0, start = 0, last_off = 0;
    uint8_t key[64], ck[8];
    size_t klen = 0;
    while (sstable_next_partition(s, &p) == STRATA_OK && p) {
        uint64_t rows = 0, off = 0, pstart = p->offset;
        uint8_t pk[64], c[8] = {0};
        size_t pl = p->key_len < 64 ? p->key_len : 64;
        memcpy(pk, p->key, pl);
        while (sstable_next_unfiltered(s, &u) == STRATA_OK && u)
            if (u->kind == SSTABLE_ROW) rows++, off = u->offset, memcpy(c, u->clustering[0].p, 8);
        if (rows > best_rows) best_rows = rows, start = pstart, last_off = off, klen = pl, memcpy(key, pk, pl), memcpy(ck, c, 8);
    }
    sstable_close(s);
    assert_true(best_rows > 1000);
    /* damage a chunk halfway through that partition */
    snprintf(path, sizeof path, "%s/nb-5-big-CompressionInfo.db", dir);
    FILE *f = fopen(path, "rb");
    uint8_t ci[4096];
    size_t cl = fread(ci, 1, sizeof ci, f);
    fclose(f);
    size_t o = 2 + be(ci, 2);
    o += 4; /* no options */
    uint64_t chunk = be(ci + o, 4);
    o += 4 + 4 + 8 + 4;
    uint64_t victim = (start + last_off) / 2 / chunk;
    assert_true(o + victim * 8 + 8 <= cl);
    uint64_t at = be(ci + o + victim * 8, 8) + 5;
    snprintf(path, sizeof path, "%s/nb-5-big-Data.db", dir);
    f = fopen(path, "r+b");
    fseek(f, (long)at, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, (long)at, SEEK_SET);
    fputc(byte ^ 0x40, f);
    fclose(f);

    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    int found;
    assert_int_equal(sstable_seek(s, key, klen, &found), STRATA_OK);
    assert_true(found);
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    sstable_value target = {ck, 8};
    sstable_deletion open;
    assert_int_equal(sstable_skip_to(s, &target, 1, &open), STRATA_OK);
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_int_equal(u->offset, last_off);
    sstable_close(s);
    /* a scan of the same partition meets the damage */
    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    assert_int_equal(sstable_seek(s, key, klen, &found), STRATA_OK);
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    strata_err e;
    while (!(e = sstable_next_unfiltered(s, &u)) && u) {}
    assert_int_equal(e, STRATA_ECORRUPT);
    sstable_close(s);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_partitions_with_row_index),
        cmocka_unit_test(test_partitions_without_row_index),
        cmocka_unit_test(test_skip_jumps_over_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
