/* test_sstable_legacy.c - Cassandra's LegacySSTableTest fixtures, every
 * format from ma to oa and the bti da, read against the facts stated in
 * ../shared/corpus/MANIFEST.md (part A): partition keys and order, row
 * counts, clustering order, values, counter contexts, compact-storage
 * static rows and the mc range tombstone fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

#define LEGACY "../shared/corpus/cassandra-legacy"

/* One line of the manifest's per-table list: the 128-char value of a
 * clust table, or the counter id, shard header and whether the clock is 1. */
typedef struct {
    const char *format;
    const char *table;
    const char *clust_val;
    const char *counter_id;
    int shard_header;
    int clock_is_one;
} table_fact;

static const table_fact facts[] = {
    {"ma", "clust", "ftzoazjbohvmcdapafmgerkdrcqqhixhfqoasklsfjbbubbhcahxnljfgxvmiprapmexbduesgleepqpgjdpxtoxeldnokapzqimsgpyshbrosspfgtlpwlasbibibsz", NULL, 0, 0},
    {"ma", "clust_compact", "jwqwvlwohwpcijvmsuuvpaknrzwoatxrfuifsjwcdisxsdbxwocmfjgtszmcabvncgjabxsflisichlvcvuyqpndtobcdgdqgbajknlxleedtdzjkrjrianfnccqseny", NULL, 0, 0},
    {"ma", "clust_counter", NULL, "e2ed855c-5e95-478c-b4be-c26512e28ad8", 0x8000, 1},
    {"ma", "clust_counter_compact", NULL, "f1233a21-b797-41dc-86e1-48059008478e", 0x8000, 1},
    {"ma", "simple", NULL, NULL, 0, 0},
    {"ma", "simple_compact", NULL, NULL, 0, 0},
    {"ma", "simple_counter", NULL, "e2ed855c-5e95-478c-b4be-c26512e28ad8", 0x8000, 1},
    {"ma", "simple_counter_compact", NULL, "f1233a21-b797-41dc-86e1-48059008478e", 0x0000, 1},
    {"mc", "clust", "lcwqmhfwfoddagjtftqbfuvvrbwmdsgrygoscskugthnycyavmokaekgqvnkplaiduxfhpbjrqfejvvxsalbdklrgaqxixmpfjgenclvpdlfdjwklluhkgkbphrrwpxk", NULL, 0, 0},
    {"mc", "clust_compact", "lcwqmhfwfoddagjtftqbfuvvrbwmdsgrygoscskugthnycyavmokaekgqvnkplaiduxfhpbjrqfejvvxsalbdklrgaqxixmpfjgenclvpdlfdjwklluhkgkbphrrwpxk", NULL, 0, 0},
    {"mc", "clust_counter", NULL, "af0b0065-9940-4183-913b-69c254a064d2", 0x8000, 1},
    {"mc", "clust_counter_compact", NULL, "af0b0065-9940-4183-913b-69c254a064d2", 0x8000, 1},
    {"mc", "simple", NULL, NULL, 0, 0},
    {"mc", "simple_compact", NULL, NULL, 0, 0},
    {"mc", "simple_counter", NULL, "af0b0065-9940-4183-913b-69c254a064d2", 0x8000, 1},
    {"mc", "simple_counter_compact", NULL, "af0b0065-9940-4183-913b-69c254a064d2", 0x0000, 1},
    {"md", "clust", "rmutqivrrhbtaatvlazzffickifqhpcgawugxdjwntjunopwdabeabwoigqakgjsinmkblrskzrogjbizvqhwhzchvqlhlzxhoabjgjcxamofytnzhnxlpyhylzlrzdt", NULL, 0, 0},
    {"md", "clust_compact", "rmutqivrrhbtaatvlazzffickifqhpcgawugxdjwntjunopwdabeabwoigqakgjsinmkblrskzrogjbizvqhwhzchvqlhlzxhoabjgjcxamofytnzhnxlpyhylzlrzdt", NULL, 0, 0},
    {"md", "clust_counter", NULL, "3ad08cdf-b9df-4934-9638-c5cb6b2b51b1", 0x8000, 1},
    {"md", "clust_counter_compact", NULL, "3ad08cdf-b9df-4934-9638-c5cb6b2b51b1", 0x8000, 1},
    {"md", "simple", NULL, NULL, 0, 0},
    {"md", "simple_compact", NULL, NULL, 0, 0},
    {"md", "simple_counter", NULL, "3ad08cdf-b9df-4934-9638-c5cb6b2b51b1", 0x8000, 1},
    {"md", "simple_counter_compact", NULL, "3ad08cdf-b9df-4934-9638-c5cb6b2b51b1", 0x8000, 1},
    {"me", "clust", "oixgnbacuexwrsuuwzjuszpgsdswwtwepgqasmaymumevsvgdpogvetmrhbxgwelokmvkqmqdrhxlhzqbtgddexfvfeymprrbgsnmsnuprimiclezljvhsmmvqxcwzvj", NULL, 0, 0},
    {"me", "clust_compact", "oixgnbacuexwrsuuwzjuszpgsdswwtwepgqasmaymumevsvgdpogvetmrhbxgwelokmvkqmqdrhxlhzqbtgddexfvfeymprrbgsnmsnuprimiclezljvhsmmvqxcwzvj", NULL, 0, 0},
    {"me", "clust_counter", NULL, "cd74f90b-b087-4b65-8743-9eb06642c42d", 0x8000, 1},
    {"me", "clust_counter_compact", NULL, "cd74f90b-b087-4b65-8743-9eb06642c42d", 0x8000, 1},
    {"me", "simple", NULL, NULL, 0, 0},
    {"me", "simple_compact", NULL, NULL, 0, 0},
    {"me", "simple_counter", NULL, "cd74f90b-b087-4b65-8743-9eb06642c42d", 0x8000, 1},
    {"me", "simple_counter_compact", NULL, "cd74f90b-b087-4b65-8743-9eb06642c42d", 0x8000, 1},
    {"na", "clust", "tilwrdsqcbziyboacbzwaqbclreiftzigpsrucqodvzsekvwlatkgndaqzbhcxizkybkkcnqdypjmlmaijqmzgqgprpxuawfbbrtvghiouregebrudkhucnbwlagwdaa", NULL, 0, 0},
    {"na", "clust_compact", "ahjeneczajzidcricaboegbkwdzcllprkrdiavcwukizzjcniwaltrnfxsmnxtxegojvviboufaqmtkgejomzgxirmujuouonaoenyfevgjgeszhlzechldgoneogzmm", NULL, 0, 0},
    {"na", "clust_counter", NULL, "9bb7ed77-309c-47fd-8599-3f247153610d", 0x8000, 0},
    {"na", "clust_counter_compact", NULL, "6215ca68-7302-4431-924f-4880a4852f2f", 0x8000, 0},
    {"na", "simple", NULL, NULL, 0, 0},
    {"na", "simple_compact", NULL, NULL, 0, 0},
    {"na", "simple_counter", NULL, "9bb7ed77-309c-47fd-8599-3f247153610d", 0x8000, 0},
    {"na", "simple_counter_compact", NULL, "6215ca68-7302-4431-924f-4880a4852f2f", 0x8000, 0},
    {"nb", "clust", "lxvwpnwfbdpmayjujittwghygywemwpvlemfkutzstfbiednkferyifrvvauhpdowraebccylljbibrbolnnoifwjkspqzgjdihyknypyzricuymwknfitpvjmvpcxob", NULL, 0, 0},
    {"nb", "clust_counter", NULL, "f8474a0c-8218-4948-8397-1005c9147a26", 0x8000, 0},
    {"nb", "simple", NULL, NULL, 0, 0},
    {"nb", "simple_counter", NULL, "f8474a0c-8218-4948-8397-1005c9147a26", 0x8000, 0},
    {"oa", "clust", "rvuxpepvjxefzigbwqiygtxglwthqvrmbvqhewhyaznsquqbfualplyzbeqjeuylznsjivvrwwiajaxykiodasryolrtzpvduxfukbvcrrrjdokvklidxbzdvenrpddn", NULL, 0, 0},
    {"oa", "clust_counter", NULL, "2896de5c-786d-411e-94a8-25c8f24fa728", 0x8000, 0},
    {"oa", "simple", NULL, NULL, 0, 0},
    {"oa", "simple_counter", NULL, "2896de5c-786d-411e-94a8-25c8f24fa728", 0x8000, 0},
    {"da", "clust", "wxappmnfhjwtvqhxcmeeupmryhmmvjmcxrcbvtxfdyeaxbeemxusoynrkhgatseiqrrcseynuwevqdipsgplgvqcelsjdtlkeetrcufulrzonyuscrlbowotizznpmcd", NULL, 0, 0},
    {"da", "clust_counter", NULL, "3224dc40-372a-48c2-b710-081a482f4fdc", 0x8000, 0},
    {"da", "simple", NULL, NULL, 0, 0},
    {"da", "simple_counter", NULL, "3224dc40-372a-48c2-b710-081a482f4fdc", 0x8000, 0},
};

static sstable *open_table(const char *format, const char *table) {
    char path[512];
    const char *kind = strcmp(format, "da") ? "big" : "bti";
    snprintf(path, sizeof path, LEGACY "/%s/legacy_tables/legacy_%s_%s/%s-1-%s-Data.db", format, format, table,
             format, kind);
    sstable *s = NULL;
    strata_err e = sstable_open(path, &s);
    if (e) print_error("%s: %s\n", path, strata_errmsg());
    assert_int_equal(e, STRATA_OK);
    return s;
}

/* The clustering key of row i: decimal(i) followed by "0123456789" x 120. */
static char *clustering_of(int i) {
    char *ck = malloc(1300);
    int n = sprintf(ck, "%d", i);
    for (int r = 0; r < 120; r++) memcpy(ck + n + r * 10, "0123456789", 10);
    ck[n + 1200] = 0;
    return ck;
}

/* Row order stated by the manifest: i sorted by the UTF-8 bytes of ck. */
static const int row_order[50] = {0,  10, 1,  11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 2,  21, 22, 23,
                                  24, 25, 26, 27, 28, 29, 30, 3,  31, 32, 33, 34, 35, 36, 37, 38, 39,
                                  40, 4,  41, 42, 43, 44, 45, 46, 47, 48, 49, 5,  6,  7,  8,  9};

static void check_counter(const table_fact *f, const sstable_cell *c) {
    /* int16 header count 1, int16 entry, then id, clock, count */
    assert_int_equal(c->value.len, 2 + 2 + 32);
    const uint8_t *v = c->value.p;
    assert_int_equal((v[0] << 8) | v[1], 1);
    assert_int_equal((v[2] << 8) | v[3], f->shard_header);
    char hex[33], id[37];
    strata_hex(v + 4, 16, hex);
    snprintf(id, sizeof id, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    assert_string_equal(id, f->counter_id);
    int64_t clock = 0, count = 0;
    for (int i = 0; i < 8; i++) clock = (clock << 8) | v[20 + i], count = (count << 8) | v[28 + i];
    if (f->clock_is_one) assert_int_equal(clock, 1);
    else assert_true(clock > 1000000000000000LL); /* microsecond timestamp */
    assert_int_equal(count, 1);
}

static void check_table(const table_fact *f) {
    sstable *s = open_table(f->format, f->table);
    int clust = strstr(f->table, "clust") != NULL;
    int counter = f->counter_id != NULL;
    int compact = strstr(f->table, "compact") != NULL;
    /* MANIFEST: ByteOrderedPartitioner, LZ4, 64 KiB chunks up to na, 16 KiB from nb */
    const sstable_meta *m = sstable_get_meta(s);
    assert_non_null(strstr(m->partitioner, "ByteOrderedPartitioner"));
    assert_non_null(strstr(m->compressor, "LZ4Compressor"));
    assert_int_equal(m->chunk_length, strcmp(f->format, "nb") < 0 && f->format[0] != 'd' ? 65536 : 16384);
    if (m->stats_complete) assert_int_equal(m->total_rows, clust ? 250 : 5);
    else assert_true(compact && !strcmp(f->format, "na"));
    const sstable_partition *p;
    const sstable_unfiltered *u;
    int parts = 0;
    while (sstable_next_partition(s, &p) == STRATA_OK && p) {
        char key[2] = {(char)('0' + parts), 0};
        assert_int_equal(p->key_len, 1);
        assert_memory_equal(p->key, key, 1);
        assert_true(sstable_deletion_is_live(&p->deletion));
        int rows = 0;
        strata_err e;
        while ((e = sstable_next_unfiltered(s, &u)) == STRATA_OK && u) {
            if (u->kind == SSTABLE_STATIC_ROW && !u->ncells) continue;
            if (!clust && compact) assert_int_equal(u->kind, SSTABLE_STATIC_ROW);
            else assert_int_equal(u->kind, SSTABLE_ROW);
            assert_int_equal(u->ncells, 1);
            if (clust) {
                char *ck = clustering_of(row_order[rows]);
                assert_int_equal(u->nclustering, 1);
                assert_int_equal(u->clustering[0].len, strlen(ck));
                assert_memory_equal(u->clustering[0].p, ck, strlen(ck));
                free(ck);
            }
            const sstable_cell *c = &u->cells[0];
            assert_string_equal(c->column->name, "val");
            if (counter) {
                check_counter(f, c);
            } else {
                const char *want = clust ? f->clust_val : "foo bar baz";
                assert_int_equal(c->value.len, strlen(want));
                assert_memory_equal(c->value.p, want, strlen(want));
            }
            rows++;
        }
        assert_int_equal(e, STRATA_OK);
        assert_int_equal(rows, clust ? 50 : 1);
        parts++;
    }
    assert_int_equal(parts, 5);
    assert_int_equal(sstable_verify_digest(s), STRATA_OK);
    if (strcmp(f->format, "da")) {
        uint64_t n, blocks;
        assert_int_equal(sstable_verify_index(s, &n, &blocks), STRATA_OK);
        assert_int_equal(n, 5);
        if (clust) assert_true(blocks > 0); /* 60 KB partitions carry a row index */
    }
    sstable_close(s);
}

static void test_every_legacy_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) check_table(&facts[i]);
}

/* Simple rows are written by INSERT: row flags 0x24 (timestamp, all
 * columns); counter rows 0x20. */
static void test_simple_row_flags(void **state) {
    (void)state;
    const char *formats[] = {"ma", "mc", "md", "me", "na", "nb", "oa", "da"};
    for (size_t i = 0; i < 8; i++) {
        sstable *s = open_table(formats[i], "simple");
        const sstable_partition *p;
        const sstable_unfiltered *u;
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_int_equal(u->raw[0], 0x24);
        assert_true(u->has_liveness);
        sstable_close(s);
        s = open_table(formats[i], "simple_counter");
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_int_equal(u->raw[0], 0x20);
        sstable_close(s);
    }
}

/* oa and da write a live partition deletion as one byte 0x80, older
 * versions as 12 bytes; both read as live, and the first row starts right
 * after: key length 2 + key 1 + deletion. */
static void test_live_partition_deletion_layouts(void **state) {
    (void)state;
    const char *formats[] = {"mc", "nb", "oa", "da"};
    const int row_at[] = {15, 15, 4, 4};
    for (size_t i = 0; i < 4; i++) {
        sstable *s = open_table(formats[i], "simple");
        const sstable_partition *p;
        const sstable_unfiltered *u;
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        assert_true(sstable_deletion_is_live(&p->deletion));
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_int_equal(u->offset, (uint64_t)row_at[i]);
        sstable_close(s);
    }
}

/* k=100: a range tombstone from the partition start to before c1=3, then
 * the row (4,4,4) with v=4. */
static void test_inaccurate_min_max(void **state) {
    (void)state;
    sstable *s = open_table("mc", "inaccurate_min_max");
    const sstable_partition *p;
    const sstable_unfiltered *u;
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_non_null(p);
    assert_int_equal(p->key_len, 4);
    assert_memory_equal(p->key, "\0\0\0\x64", 4);
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_int_equal(u->kind, SSTABLE_RT_BOUND);
    assert_int_equal(u->bound_kind, SSTABLE_INCL_START_BOUND);
    assert_int_equal(u->nclustering, 0);
    int64_t ts = u->deletion.marked_for_delete_at;
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_int_equal(u->kind, SSTABLE_RT_BOUND);
    assert_int_equal(u->bound_kind, SSTABLE_EXCL_END_BOUND);
    assert_int_equal(u->nclustering, 1);
    assert_memory_equal(u->clustering[0].p, "\0\0\0\x03", 4);
    assert_int_equal(u->deletion.marked_for_delete_at, ts);
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_int_equal(u->kind, SSTABLE_ROW);
    assert_int_equal(u->nclustering, 3);
    for (int i = 0; i < 3; i++) assert_memory_equal(u->clustering[i].p, "\0\0\0\x04", 4);
    assert_int_equal(u->ncells, 1);
    assert_memory_equal(u->cells[0].value.p, "\0\0\0\x04", 4);
    assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
    assert_null(u);
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_null(p);
    sstable_close(s);
}

static void copy_to(const char *from, const char *to, const uint8_t *insert, size_t ilen, long at) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    int c;
    long pos = 0;
    while ((c = fgetc(a)) != EOF) {
        if (pos++ == at) fwrite(insert, 1, ilen, b);
        fputc(c, b);
    }
    fclose(a);
    fclose(b);
}

/* The corpus has no mb SSTable (Cassandra 3.0.7/3.7).  mb differs from ma
 * only by the commit log lower bound (long segment id, int position) that
 * ends the stats component, so an mb SSTable is the ma one with those 12
 * bytes added before the serialization header. */
static void test_mb_from_ma(void **state) {
    (void)state;
    char dir[] = "/tmp/strata-mb-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *comps[] = {"Data.db", "CompressionInfo.db", "Digest.crc32", "Index.db", "Summary.db", "Filter.db"};
    const char *src = LEGACY "/ma/legacy_tables/legacy_ma_simple/ma-1-big-";
    char from[512], to[512];
    for (int i = 0; i < 6; i++) {
        snprintf(from, sizeof from, "%s%s", src, comps[i]);
        snprintf(to, sizeof to, "%s/mb-1-big-%s", dir, comps[i]);
        copy_to(from, to, NULL, 0, -1);
    }
    /* Statistics.db: table of contents (count, then type/offset pairs) */
    snprintf(from, sizeof from, "%sStatistics.db", src);
    FILE *f = fopen(from, "rb");
    uint8_t toc[4 + 4 * 8];
    assert_int_equal(fread(toc, 1, sizeof toc, f), sizeof toc);
    fclose(f);
    assert_int_equal(toc[3], 4);
    long header_at = (long)toc[32] << 24 | toc[33] << 16 | toc[34] << 8 | toc[35];
    assert_int_equal(toc[31], 3); /* the last component is the header */
    const uint8_t lower_bound[12] = {0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 42};
    snprintf(to, sizeof to, "%s/mb-1-big-Statistics.db", dir);
    copy_to(from, to, lower_bound, sizeof lower_bound, header_at);
    f = fopen(to, "r+b");
    fseek(f, 32, SEEK_SET);
    long moved = header_at + 12;
    uint8_t be[4] = {(uint8_t)(moved >> 24), (uint8_t)(moved >> 16), (uint8_t)(moved >> 8), (uint8_t)moved};
    fwrite(be, 1, 4, f);
    fclose(f);

    snprintf(to, sizeof to, "%s/mb-1-big-Data.db", dir);
    sstable *s;
    assert_int_equal(sstable_open(to, &s), STRATA_OK);
    assert_string_equal(sstable_get_meta(s)->version, "mb");
    assert_true(sstable_get_meta(s)->stats_complete);
    assert_int_equal(sstable_get_meta(s)->total_rows, 5);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    int parts = 0;
    while (sstable_next_partition(s, &p) == STRATA_OK && p) {
        assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
        assert_memory_equal(u->cells[0].value.p, "foo bar baz", 11);
        parts++;
    }
    assert_int_equal(parts, 5);
    sstable_close(s);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mb_from_ma),
        cmocka_unit_test(test_every_legacy_table),
        cmocka_unit_test(test_simple_row_flags),
        cmocka_unit_test(test_live_partition_deletion_layouts),
        cmocka_unit_test(test_inaccurate_min_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
