/* fuzz_merge.c - libFuzzer target for reconciling replicas: the merge of
 * one table's SSTables from every node, written out by the writer and
 * read as rows.
 *
 * A backup merges whatever the nodes hold, so one damaged SSTable that
 * the reader still accepts (a timestamp, a deletion, a counter shard or a
 * cell path changed) must give an error or other rows, never a crash or a
 * broken SSTable.  Inputs are edits to the real SSTables of rf3-a's three
 * nodes (v1), loaded uncompressed so that edited values are decoded as
 * they are; the schema is node1's, unedited.  Input: byte 0 picks the
 * table, byte 1 the SSTable of that table to edit, then (u16 offset, xor)
 * edits to its Data.db or (byte 0's next bit) its Statistics.db. */
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/merge/merge.h"
#include "engine/writer/writer.h"
#include "fuzz/fuzz_sstable_files.h"

#define CLUSTER "../shared/corpus/cluster/rf3-a/"
#define MAX_SSTABLES 16
/* rows shown as of the v1 export; any fixed time does */
#define VIEW_NOW 1795303200

static const char *const table_names[] = {"users", "readings", "events", "page_counts"};
#define NTABLES (sizeof table_names / sizeof table_names[0])

typedef struct {
    uint8_t *stats, *data;
    size_t stats_len, data_len;
} sstable_copy;

typedef struct {
    const merge_table *schema;
    sstable_copy sstables[MAX_SSTABLES];
    size_t n;
} table_copies;

static table_copies tables[NTABLES];
static merge_schema *schema;
static char dir[64];

static void load_table(table_copies *t, const char *name) {
    char *pattern = xasprintf(CLUSTER "node[123]/app/%s-*/*-Data.db", name);
    glob_t g;
    if (!glob(pattern, 0, NULL, &g))
        for (size_t i = 0; i < g.gl_pathc && t->n < MAX_SSTABLES; i++) {
            sstable_copy *c = &t->sstables[t->n];
            if (!fuzz_load_sstable(g.gl_pathv[i], &c->stats, &c->stats_len, &c->data, &c->data_len)) t->n++;
        }
    globfree(&g);
    free(pattern);
    t->schema = merge_schema_table(schema, name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_temp_dir(dir, "fuzz-merge");
    const char *schema_dir = CLUSTER "node1/system_schema";
    if (merge_schema_read(&schema_dir, 1, "app", &schema)) {
        fprintf(stderr, "fuzz_merge: no rf3-a cluster under " CLUSTER " (run from the project root)\n");
        abort();
    }
    for (size_t i = 0; i < NTABLES; i++) load_table(&tables[i], table_names[i]);
    for (size_t i = 0; i < NTABLES; i++)
        if (!tables[i].n || !tables[i].schema) abort();
    return 0;
}

static uint8_t *edited_copy(const uint8_t *p, size_t len, const uint8_t *edits, size_t nedits) {
    uint8_t *copy = xmalloc(len + 1);
    memcpy(copy, p, len);
    for (size_t e = 0; e + 3 <= nedits && len; e += 3) copy[((size_t)edits[e] << 8 | edits[e + 1]) % len] ^= edits[e + 2];
    return copy;
}

/* Writes SSTable i of the table as <dir>/<i>/nb-1-big-*; returns its Data.db. */
static char *write_input(const sstable_copy *c, size_t i, int edit_data, const uint8_t *edits, size_t nedits) {
    char *sub = xasprintf("%s/%zu", dir, i);
    mkdir(sub, 0700);
    char *stats = xasprintf("%s/nb-1-big-Statistics.db", sub), *data = xasprintf("%s/nb-1-big-Data.db", sub);
    uint8_t *s = edited_copy(c->stats, c->stats_len, edits, edit_data ? 0 : nedits);
    uint8_t *d = edited_copy(c->data, c->data_len, edits, edit_data ? nedits : 0);
    fuzz_write_file(stats, s, c->stats_len);
    fuzz_write_file(data, d, c->data_len);
    free(s), free(d), free(stats), free(sub);
    return data;
}

/* What a backup does with the inputs (merge and write a layer), then what
 * a restore check does (read the layer's rows). */
static void consume(char *const *paths, size_t n, const merge_table *t) {
    merge *m;
    if (!merge_open((const char *const *)paths, n, t, &m)) {
        sstable_writer_params p = {0};
        merge_writer_params(m, &p);
        char *out = xasprintf("%s/out", dir);
        mkdir(out, 0700);
        p.dir = out;
        p.generation = 1;
        sstable_writer *w;
        uint64_t partitions;
        if (!sstable_writer_open(&p, &w)) {
            if (merge_write(m, w, &partitions)) sstable_writer_abort(w);
            else sstable_writer_finish(w);
        }
        merge_close(m);
        free(out);
    }
    merge_view *v;
    if (merge_open((const char *const *)paths, n, t, &m)) return;
    json_t *row;
    if (!merge_view_open(m, t, VIEW_NOW, &v)) {
        while (!merge_view_next(v, &row) && row) json_decref(row);
        merge_view_close(v);
    }
    merge_close(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
    if (size < 2) return 0;
    const table_copies *t = &tables[in[0] % NTABLES];
    size_t edited = in[1] % t->n;
    char *paths[MAX_SSTABLES];
    for (size_t i = 0; i < t->n; i++)
        paths[i] = write_input(&t->sstables[i], i, !(in[0] / NTABLES & 1), in + 2, i == edited ? size - 2 : 0);
    consume(paths, t->n, t->schema);
    for (size_t i = 0; i < t->n; i++) free(paths[i]);
    fuzz_clear_dir(dir);
    strata_clear_error();
    return 0;
}
