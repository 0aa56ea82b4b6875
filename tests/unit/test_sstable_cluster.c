/* test_sstable_cluster.c - the real 3-node nb cluster of
 * ../shared/corpus/cluster/rf3-a: every SSTable of both versions (including
 * system_schema and the secondary index) reads completely with checksums and
 * Digest.crc32 verified, Index.db agrees with Data.db in the Murmur3 token
 * order strata computes, and every row Cassandra returned at CONSISTENCY ALL
 * (expected/<version>/<table>.jsonl) is found by key in at least one node's
 * SSTables. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "engine/sstable/sstable.h"

#define CLUSTER "../shared/corpus/cluster/rf3-a"

static char **data_files;
static size_t ndata_files;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 8 && !strcmp(path + n - 8, "-Data.db")) {
        data_files = xrealloc(data_files, (ndata_files + 1) * sizeof *data_files);
        data_files[ndata_files++] = xstrdup(path);
    }
    return 0;
}

static void collect_dir(const char *dir) { assert_int_equal(nftw(dir, collect, 16, FTW_PHYS), 0); }

static void free_files(void) {
    for (size_t i = 0; i < ndata_files; i++) free(data_files[i]);
    free(data_files);
    data_files = NULL;
    ndata_files = 0;
}

/* "table|hex(partition key)|hex(ck1):hex(ck2)..." */
static char *row_id(const char *table, const uint8_t *key, size_t klen, const sstable_value *ck, size_t nck) {
    strata_buf b;
    strata_buf_init(&b);
    strata_buf_put(&b, table, strlen(table));
    strata_buf_put_u8(&b, '|');
    char *hex = xmalloc(2 * klen + 1);
    strata_hex(key, klen, hex);
    strata_buf_put(&b, hex, 2 * klen);
    free(hex);
    strata_buf_put_u8(&b, '|');
    for (size_t i = 0; i < nck; i++) {
        if (i) strata_buf_put_u8(&b, ':');
        hex = xmalloc(2 * ck[i].len + 1);
        strata_hex(ck[i].p, ck[i].len, hex);
        strata_buf_put(&b, hex, 2 * ck[i].len);
        free(hex);
    }
    strata_buf_put_u8(&b, 0);
    return (char *)b.data;
}

static char **ids;
static size_t nids, ids_cap;

static void add_id(char *id) {
    if (nids == ids_cap) {
        ids_cap = ids_cap ? 2 * ids_cap : 4096;
        ids = xrealloc(ids, ids_cap * sizeof *ids);
    }
    ids[nids++] = id;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *table_of(const char *path, char *out, size_t cap) {
    const char *app = strstr(path, "/app/");
    if (!app || strstr(path, "users_name_idx")) return NULL;
    const char *dash = strchr(app + 5, '-');
    snprintf(out, cap, "%.*s", (int)(dash - app - 5), app + 5);
    return out;
}

/* Reads every SSTable of one version; records the row ids of app tables. */
static void read_version(const char *dirs[], size_t ndirs, uint64_t *rows_out, uint64_t *blocks_out) {
    for (size_t d = 0; d < ndirs; d++) collect_dir(dirs[d]);
    assert_true(ndata_files > 50);
    uint64_t rows = 0, blocks = 0;
    for (size_t f = 0; f < ndata_files; f++) {
        sstable *s;
        strata_err e = sstable_open(data_files[f], &s);
        if (e) print_error("%s\n", strata_errmsg());
        assert_int_equal(e, STRATA_OK);
        char tbuf[64];
        const char *table = table_of(data_files[f], tbuf, sizeof tbuf);
        const sstable_partition *p;
        const sstable_unfiltered *u;
        while ((e = sstable_next_partition(s, &p)) == STRATA_OK && p) {
            while ((e = sstable_next_unfiltered(s, &u)) == STRATA_OK && u) {
                if (u->kind != SSTABLE_ROW && u->kind != SSTABLE_STATIC_ROW) continue;
                rows++;
                if (table) add_id(row_id(table, p->key, p->key_len, u->clustering,
                                         u->kind == SSTABLE_STATIC_ROW ? 0 : u->nclustering));
            }
            if (e) break;
        }
        if (e) print_error("%s\n", strata_errmsg());
        assert_int_equal(e, STRATA_OK);
        assert_int_equal(sstable_verify_digest(s), STRATA_OK);
        uint64_t n, b;
        e = sstable_verify_index(s, &n, &b);
        if (e) print_error("%s\n", strata_errmsg());
        assert_int_equal(e, STRATA_OK);
        blocks += b;
        sstable_close(s);
    }
    free_files();
    qsort(ids, nids, sizeof *ids, cmp_str);
    *rows_out = rows;
    *blocks_out = blocks;
}

static void put_be(strata_buf *b, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) strata_buf_put_u8(b, (uint8_t)(v >> (8 * i)));
}

/* CQL's JSON forms back to the stored bytes. */
static void encode(strata_buf *b, const char *type, json_t *v) {
    if (!strcmp(type, "text")) {
        strata_buf_put(b, json_string_value(v), strlen(json_string_value(v)));
    } else if (!strcmp(type, "uuid") || !strcmp(type, "timeuuid")) {
        char hex[33];
        size_t n = 0;
        for (const char *s = json_string_value(v); *s && n < 32; s++)
            if (*s != '-') hex[n++] = *s;
        hex[n] = 0;
        uint8_t raw[16];
        assert_int_equal(strata_unhex(hex, raw, 16), 0);
        strata_buf_put(b, raw, 16);
    } else if (!strcmp(type, "date")) {
        struct tm tm = {0};
        assert_non_null(strptime(json_string_value(v), "%Y-%m-%d", &tm));
        int64_t days = (int64_t)timegm(&tm) / 86400;
        put_be(b, (uint64_t)(days + (1LL << 31)), 4);
    } else if (!strcmp(type, "int")) {
        put_be(b, (uint64_t)json_integer_value(v), 4);
    } else if (!strcmp(type, "bigint")) {
        put_be(b, (uint64_t)json_integer_value(v), 8);
    } else {
        fail_msg("unexpected key type %s", type);
    }
}

typedef struct {
    const char *table;
    const char *pk[2], *pk_type[2];
    const char *ck[2], *ck_type[2];
} key_schema;

static const key_schema schemas[] = {
    {"users", {"id"}, {"uuid"}, {NULL}, {NULL}},
    {"readings", {"device", "day"}, {"text", "date"}, {"ts", "seq"}, {"timeuuid", "int"}},
    {"events", {"bucket"}, {"text"}, {"seq"}, {"bigint"}},
    {"page_counts", {"page"}, {"text"}, {"day"}, {"date"}},
};

static int expected_found(const key_schema *k, json_t *row) {
    strata_buf key;
    strata_buf_init(&key);
    int composite = k->pk[1] != NULL;
    for (int i = 0; i < 2 && k->pk[i]; i++) {
        strata_buf part;
        strata_buf_init(&part);
        encode(&part, k->pk_type[i], json_object_get(row, k->pk[i]));
        if (composite) put_be(&key, part.len, 2);
        strata_buf_put(&key, part.data, part.len);
        if (composite) strata_buf_put_u8(&key, 0);
        strata_buf_free(&part);
    }
    strata_buf cks[2];
    sstable_value vals[2];
    size_t nck = 0;
    for (int i = 0; i < 2 && k->ck[i]; i++) {
        json_t *v = json_object_get(row, k->ck[i]);
        if (json_is_null(v)) break; /* a static-only partition */
        strata_buf_init(&cks[nck]);
        encode(&cks[nck], k->ck_type[i], v);
        vals[nck].p = cks[nck].data;
        vals[nck].len = cks[nck].len;
        nck++;
    }
    char *id = row_id(k->table, key.data, key.len, vals, nck);
    int found = bsearch(&id, ids, nids, sizeof *ids, cmp_str) != NULL;
    free(id);
    for (size_t i = 0; i < nck; i++) strata_buf_free(&cks[i]);
    strata_buf_free(&key);
    return found;
}

static void check_expected_rows(const char *version) {
    for (size_t t = 0; t < sizeof schemas / sizeof schemas[0]; t++) {
        char path[256];
        snprintf(path, sizeof path, CLUSTER "/expected/%s/%s.jsonl", version, schemas[t].table);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *line = NULL;
        size_t cap = 0;
        int lines = 0, found = 0;
        while (getline(&line, &cap, f) > 0) {
            json_t *row = json_loads(line, 0, NULL);
            assert_non_null(row);
            lines++;
            if (expected_found(&schemas[t], row)) found++;
            else print_error("%s line %d not found\n", path, lines);
            json_decref(row);
        }
        free(line);
        fclose(f);
        assert_true(lines > 100);
        assert_int_equal(found, lines);
    }
}

static void free_ids(void) {
    for (size_t i = 0; i < nids; i++) free(ids[i]);
    free(ids);
    ids = NULL;
    nids = ids_cap = 0;
}

static void test_version(const char *version, const char *dirs[], size_t ndirs) {
    uint64_t rows, blocks;
    read_version(dirs, ndirs, &rows, &blocks);
    assert_true(rows > 5000);
    /* hot-0 of events is 257 KB: its SSTables carry IndexInfo blocks */
    assert_true(blocks > 0);
    check_expected_rows(version);
    free_ids();
}

static void test_v1(void **state) {
    (void)state;
    const char *dirs[] = {CLUSTER "/node1", CLUSTER "/node2", CLUSTER "/node3"};
    test_version("v1", dirs, 3);
}

static void test_v2(void **state) {
    (void)state;
    const char *dirs[] = {CLUSTER "/v2/node1", CLUSTER "/v2/node2", CLUSTER "/v2/node3"};
    test_version("v2", dirs, 3);
}

typedef struct {
    uint8_t *key;
    size_t len;
    uint64_t offset;
} key_at;

static void expect_seek(sstable *s, const key_at *k) {
    int found;
    const sstable_partition *p;
    assert_int_equal(sstable_seek(s, k->key, k->len, &found), STRATA_OK);
    assert_true(found);
    assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
    assert_int_equal(p->offset, k->offset);
}

/* A key no partition of the file has: k's with two more bytes, whose
 * token lands anywhere. */
static void expect_absent(sstable *s, const key_at *k, const key_at *all, size_t n) {
    uint8_t key[4096];
    if (k->len + 2 > sizeof key) return;
    memcpy(key, k->key, k->len);
    key[k->len] = 0x5a, key[k->len + 1] = 0xa5;
    for (size_t i = 0; i < n; i++)
        if (all[i].len == k->len + 2 && !memcmp(all[i].key, key, k->len + 2)) return;
    int found;
    assert_int_equal(sstable_seek(s, key, k->len + 2, &found), STRATA_OK);
    assert_false(found);
}

/* Seeking by key (Summary.db + Index.db, or a scan for bti and
 * RandomPartitioner) finds every partition of every corpus SSTable, and
 * not a key that is absent.  A lookup goes on from where the last one
 * left the index when it can: keys sought forwards with absent keys
 * between them, every third key, and backwards, each on one handle, find
 * exactly the scan's partitions. */
static void test_seek_every_key(void **state) {
    (void)state;
    collect_dir("../shared/corpus");
    for (size_t f = 0; f < ndata_files; f++) {
        if (strstr(data_files[f], "invalid")) continue;
        sstable *a, *b;
        assert_int_equal(sstable_open(data_files[f], &a), STRATA_OK);
        key_at *keys = NULL;
        size_t n = 0;
        const sstable_partition *p;
        while (sstable_next_partition(a, &p) == STRATA_OK && p) {
            keys = xrealloc(keys, (n + 1) * sizeof *keys);
            keys[n] = (key_at){xmalloc(p->key_len + 1), p->key_len, p->offset};
            memcpy(keys[n++].key, p->key, p->key_len);
        }
        sstable_close(a);
        assert_int_equal(sstable_open(data_files[f], &b), STRATA_OK);
        for (size_t i = 0; i < n; i++) {
            expect_absent(b, &keys[i], keys, n);
            expect_seek(b, &keys[i]);
        }
        for (size_t i = 0; i < n; i += 3) expect_seek(b, &keys[i]);
        for (size_t i = n; i-- > 0;) expect_seek(b, &keys[i]);
        int found;
        assert_int_equal(sstable_seek(b, (const uint8_t *)"\xee\xee\xee", 3, &found), STRATA_OK);
        assert_false(found);
        /* the empty key, twice: the second lookup compares it with the first */
        for (int i = 0; i < 2; i++) {
            assert_int_equal(sstable_seek(b, (const uint8_t *)"", 0, &found), STRATA_OK);
            assert_int_equal(found, n && keys[0].len == 0);
        }
        sstable_close(b);
        for (size_t i = 0; i < n; i++) free(keys[i].key);
        free(keys);
    }
    free_files();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_seek_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
