/* rf3a.h - what the tests on the rf3-a cluster share: its SSTables by
 * version, table and node, its schema, Cassandra's CONSISTENCY ALL answers
 * (expected/) and their comparison with a merged stream's CQL view, and
 * writing a merged stream as an SSTable.  Included by test files only;
 * they include cmocka first. */
#ifndef STRATA_TEST_RF3A_H
#define STRATA_TEST_RF3A_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "engine/merge/merge.h"
#include "engine/writer/writer.h"

#define CORPUS "../shared/corpus/cluster/rf3-a"
#define TTL_SLACK 5

static inline const char *version_dir(const char *ver) { return strcmp(ver, "v1") ? CORPUS "/v2" : CORPUS; }

/* The Data.db files of app.<table> on node `only` (0: node1..3), not
 * those of the index's hidden directory. */
static inline size_t table_paths(const char *ver, const char *table, int only, char ***paths) {
    size_t n = 0, tl = strlen(table);
    *paths = NULL;
    for (int node = only ? only : 1; node <= (only ? only : 3); node++) {
        char *app = xasprintf("%s/node%d/app", version_dir(ver), node);
        DIR *d = opendir(app);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, table, tl) || e->d_name[tl] != '-') continue;
            char *tdir = xasprintf("%s/%s", app, e->d_name);
            DIR *td = opendir(tdir);
            struct dirent *f;
            while (td && (f = readdir(td))) {
                size_t fl = strlen(f->d_name);
                if (fl < 8 || strcmp(f->d_name + fl - 8, "-Data.db")) continue;
                *paths = xrealloc(*paths, (n + 1) * sizeof **paths);
                (*paths)[n++] = xasprintf("%s/%s", tdir, f->d_name);
            }
            if (td) closedir(td);
            free(tdir);
        }
        closedir(d);
        free(app);
    }
    return n;
}

static inline merge_schema *read_schema(const char *ver) {
    char *dirs[3];
    for (int i = 0; i < 3; i++) dirs[i] = xasprintf("%s/node%d/system_schema", version_dir(ver), i + 1);
    merge_schema *s;
    strata_err e = merge_schema_read((const char *const *)dirs, 3, "app", &s);
    if (e) fail_msg("schema %s: %s", ver, strata_errmsg());
    for (int i = 0; i < 3; i++) free(dirs[i]);
    return s;
}

static inline int64_t export_start(const char *ver, const char *table) {
    char *path = xasprintf(CORPUS "/expected/%s/_meta.json", ver);
    json_error_t err;
    json_t *meta = json_load_file(path, 0, &err);
    assert_non_null(meta);
    json_t *t = json_object_get(json_object_get(json_object_get(meta, "tables"), table), "export_start_epoch_s");
    assert_true(json_is_integer(t));
    int64_t s = json_integer_value(t);
    json_decref(meta);
    free(path);
    return s;
}

/* A row's primary key as one string. */
static inline char *row_key(const merge_table *t, json_t *row) {
    strata_buf b;
    strata_buf_init(&b);
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (strcmp(t->columns[i].kind, "partition_key") && strcmp(t->columns[i].kind, "clustering")) continue;
        char *s = json_dumps(json_object_get(row, t->columns[i].name), JSON_ENCODE_ANY | JSON_COMPACT);
        strata_buf_put(&b, s ? s : "?", strlen(s ? s : "?"));
        strata_buf_put(&b, "|", 1);
        free(s);
    }
    strata_buf_put(&b, "", 1);
    return (char *)b.data;
}

/* Every field of expected must match: ttl() within TTL_SLACK. Returns the
 * first differing field or NULL. */
static inline const char *row_diff(json_t *want, json_t *got) {
    const char *k;
    json_t *w;
    json_object_foreach(want, k, w) {
        json_t *g = json_object_get(got, k);
        if (!g) return k;
        if (!strncmp(k, "ttl(", 4) && json_is_integer(w) && json_is_integer(g)) {
            json_int_t d = json_integer_value(w) - json_integer_value(g);
            if (d > TTL_SLACK || d < -TTL_SLACK) return k;
        } else if (!json_equal(w, g)) {
            return k;
        }
    }
    return NULL;
}

static inline void print_diff(const char *what, json_t *want, json_t *got) {
    char *a = want ? json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *b = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    fprintf(stderr, "  %s\n    expected %s\n    merged   %s\n", what, a ? a : "-", b ? b : "-");
    free(a), free(b);
}

/* Writes what is left of the stream of `m` as SSTable nb-<gen> in `dir`
 * (uncompressed when `compressor` is NULL), leaving out partitions that
 * hold nothing (a residual has those); returns the partitions written. */
static inline size_t write_stream(merge *m, const char *dir, long gen, const char *compressor) {
    sstable_writer_params wp = {0};
    merge_writer_params(m, &wp);
    wp.dir = dir;
    memcpy(wp.version, "nb", 3);
    wp.generation = gen;
    wp.compressor = compressor;
    sstable_writer *w;
    if (sstable_writer_open(&wp, &w)) fail_msg("writer: %s", strata_errmsg());
    uint64_t written;
    if (merge_write(m, w, &written)) {
        sstable_writer_abort(w);
        fail_msg("writing the merge: %s", strata_errmsg());
    }
    if (sstable_writer_finish(w)) fail_msg("writer finish: %s", strata_errmsg());
    return written;
}

/* Checks the digest and index of SSTable nb-<gen> in dir. */
static inline void assert_sstable_valid(const char *dir, long gen) {
    char *path = xasprintf("%s/nb-%ld-big-Data.db", dir, gen);
    sstable *s;
    uint64_t keys, blocks;
    assert_int_equal(sstable_open(path, &s), STRATA_OK);
    if (sstable_verify_digest(s) || sstable_verify_index(s, &keys, &blocks))
        fail_msg("%s: %s", path, strata_errmsg());
    sstable_close(s);
    free(path);
}

/* Writes the merge of paths[0..n) as one SSTable in a new temporary
 * directory, checks its digest and index, replaces paths with it and
 * returns the directory. */
static inline char *write_merged(char ***paths, size_t *npaths, const merge_table *t) {
    merge *m;
    assert_int_equal(merge_open((const char *const *)*paths, *npaths, t, &m), STRATA_OK);
    char tmpl[] = "/tmp/strata-merge-XXXXXX";
    char *dir = xstrdup(mkdtemp(tmpl));
    write_stream(m, dir, 1, "LZ4Compressor");
    merge_close(m);
    for (size_t i = 0; i < *npaths; i++) free((*paths)[i]);
    (*paths)[0] = xasprintf("%s/nb-1-big-Data.db", dir);
    *npaths = 1;
    assert_sstable_valid(dir, 1);
    return dir;
}

static inline void remove_dir(char *dir) {
    DIR *d = opendir(dir);
    struct dirent *f;
    while (d && (f = readdir(d))) {
        if (f->d_name[0] == '.') continue;
        char *p = xasprintf("%s/%s", dir, f->d_name);
        remove(p);
        free(p);
    }
    if (d) closedir(d);
    remove(dir);
    free(dir);
}

/* Views the stream of `m` at the export start of `table` in version
 * `ver` and compares it with Cassandra's answer: prints how many expected
 * rows match exactly (and, when `show`, the first differences) and returns
 * the number of rows that differ (expected rows not matched plus rows not
 * expected). */
static inline size_t view_diff(const char *ver, const char *table, merge *m, const merge_table *t, const char *who,
                               int show) {
    merge_view *v;
    assert_int_equal(merge_view_open(m, t, export_start(ver, table), &v), STRATA_OK);
    json_t *got = json_object();
    json_t *row;
    strata_err e;
    while (!(e = merge_view_next(v, &row)) && row) {
        char *k = row_key(t, row);
        json_object_set_new(got, k, row);
        free(k);
    }
    if (e) fail_msg("%s %s: %s", ver, table, strata_errmsg());

    char *epath = xasprintf(CORPUS "/expected/%s/%s.jsonl", ver, table);
    FILE *f = fopen(epath, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, nwant = 0, matched = 0, shown = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *want = json_loads(line, 0, &err);
        assert_non_null(want);
        nwant++;
        char *k = row_key(t, want);
        json_t *g = json_object_get(got, k);
        const char *field = g ? row_diff(want, g) : "(row missing)";
        if (!field) matched++;
        else if (show && shown++ < 5) print_diff(field, want, g);
        if (g) json_object_del(got, k);
        free(k);
        json_decref(want);
    }
    const char *k;
    json_t *extra;
    json_object_foreach(got, k, extra) if (show && shown++ < 10) print_diff("(row not expected)", NULL, extra);
    size_t nextra = json_object_size(got);
    printf("merge %s %-12s %s: %zu of %zu rows match, %zu extra\n", ver, table, who, matched, nwant, nextra);
    free(line);
    fclose(f);
    free(epath);
    json_decref(got);
    merge_view_close(v);
    return nwant - matched + nextra;
}

#endif
