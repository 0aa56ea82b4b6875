/* fuzz_schema.c - libFuzzer target for reading a keyspace's schema from
 * system_schema SSTables and writing its schema.cql.
 *
 * The nodes' system_schema is outside data like any SSTable, and what
 * strata makes of it decides how every table is reconciled: a column
 * type, a kind, a position or an option map it did not expect must give
 * an error or odd CQL, never a crash.  The reader itself is fuzz_sstable's
 * target; here the bytes that reach the schema code matter, so the inputs
 * are edits to the real system_schema SSTables of rf3-a's node1 (keyspace
 * `app`: a user type, an index, an added and a dropped column), stored
 * uncompressed so that edited values are read as they are.  Input: byte 0
 * picks the SSTable to edit, then (u16 offset, xor) edits to its Data.db. */
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/merge/merge.h"
#include "fuzz/fuzz_sstable_files.h"

#define SCHEMA "../shared/corpus/cluster/rf3-a/node1/system_schema/"
#define MAX_SOURCES 32

static const char *const tables[] = {"keyspaces", "tables", "columns", "types", "dropped_columns", "indexes", "views"};

typedef struct {
    const char *table;
    uint8_t *stats, *data;
    size_t stats_len, data_len;
} source;

static source src[MAX_SOURCES];
static size_t nsrc;
static char dir[64];

static void load_table(const char *table) {
    char *pattern = xasprintf(SCHEMA "%s-*/*-Data.db", table);
    glob_t g;
    if (!glob(pattern, 0, NULL, &g))
        for (size_t i = 0; i < g.gl_pathc && nsrc < MAX_SOURCES; i++) {
            source *s = &src[nsrc];
            if (!fuzz_load_sstable(g.gl_pathv[i], &s->stats, &s->stats_len, &s->data, &s->data_len))
                s->table = table, nsrc++;
        }
    globfree(&g);
    free(pattern);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_temp_dir(dir, "fuzz-schema");
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) load_table(tables[i]);
    if (nsrc < 6) {
        fprintf(stderr, "fuzz_schema: no system_schema SSTables under " SCHEMA " (run from the project root)\n");
        abort();
    }
    return 0;
}

/* Writes source i as <dir>/<i>/nb-1-big-*, its Data.db edited when asked;
 * returns the Data.db path. */
static char *write_source(size_t i, const uint8_t *edits, size_t nedits) {
    const source *s = &src[i];
    char *sub = xasprintf("%s/%zu", dir, i);
    mkdir(sub, 0700);
    char *stats = xasprintf("%s/nb-1-big-Statistics.db", sub);
    char *data = xasprintf("%s/nb-1-big-Data.db", sub);
    fuzz_write_file(stats, s->stats, s->stats_len);
    uint8_t *copy = xmalloc(s->data_len + 1);
    memcpy(copy, s->data, s->data_len);
    for (size_t e = 0; e + 3 <= nedits && s->data_len; e += 3)
        copy[((size_t)edits[e] << 8 | edits[e + 1]) % s->data_len] ^= edits[e + 2];
    fuzz_write_file(data, copy, s->data_len);
    free(copy);
    free(stats);
    free(sub);
    return data;
}

/* What a backup asks of the schema: every keyspace in one read (the table
 * ids), then the keyspace app with every table's schema.cql. */
static void consume(const merge_schema_file *files, size_t n) {
    merge_schema_set set;
    if (merge_schema_read_all(files, n, &set)) return;
    const merge_schema *s;
    if (!merge_schema_set_get(&set, "app", &s))
        for (size_t i = 0; i < s->ntables; i++) {
            char *cql;
            if (!merge_table_cql(s, &s->tables[i], &cql)) free(cql);
        }
    merge_schema_set_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
    if (size < 1) return 0;
    size_t edited = in[0] % nsrc;
    merge_schema_file files[MAX_SOURCES];
    for (size_t i = 0; i < nsrc; i++) {
        files[i].table = src[i].table;
        files[i].path = write_source(i, i == edited ? in + 1 : NULL, i == edited ? size - 1 : 0);
    }
    consume(files, nsrc);
    for (size_t i = 0; i < nsrc; i++) free((char *)files[i].path);
    fuzz_clear_dir(dir);
    strata_clear_error();
    return 0;
}
