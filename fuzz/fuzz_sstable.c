/* fuzz_sstable.c - libFuzzer target for the SSTable reader's parsing of
 * Data.db and Statistics.db, and of Index.db (also entry by entry, as
 * the repository walks it), Summary.db and CompressionInfo.db.
 *
 * Random bytes rarely get past Statistics.db, so most inputs are edits to
 * real SSTables: at start-up a set of corpus SSTables (every version, most
 * row shapes) is loaded and stored uncompressed without CRC.db, so nothing
 * vouches for the bytes and mutations reach the row, cell and header
 * decoders.  Input: byte 0 picks the mode, byte 1 the SSTable, then
 * (u16 offset, xor) edits to Data.db (mode 0), Statistics.db (1), Index.db
 * (3), Summary.db (4) or CompressionInfo.db over the original compressed
 * Data.db (5); mode 2 takes the rest as a whole Data.db. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz_sstable_files.h"

#define CORPUS "../shared/corpus/"

static const char *const sources[] = {
    "scylla/uncompressed-collections/mc-1-big-",
    "scylla/uncompressed-compound_static_row/mc-1-big-",
    "scylla/uncompressed-compound_ck/mc-1-big-",
    "scylla/uncompressed-counters/mc-1-big-",
    "scylla/uncompressed-deleted_cells/mc-1-big-",
    "scylla/uncompressed-range_tombstones_simple/mc-1-big-",
    "scylla/uncompressed-subset_of_columns/mc-1-big-",
    "scylla/uncompressed-large_subset_of_columns_sparse/mc-1-big-",
    "cassandra-legacy/ma/legacy_tables/legacy_ma_simple_compact/ma-1-big-",
    "cassandra-legacy/mc/legacy_tables/legacy_mc_inaccurate_min_max/mc-1-big-",
    "cassandra-legacy/na/legacy_tables/legacy_na_simple_counter/na-1-big-",
    "cassandra-legacy/oa/legacy_tables/legacy_oa_simple/oa-1-big-",
    "cassandra-misc/negative-local-expiration-test/table3/mc-1-big-",
    "cluster/rf3-a/node1/app/users-8f4956a0e60111f1b5720f8cceb1328b/nb-8-big-",
    "cluster/rf3-a/node1/app/readings-90c680c0e60111f1b5720f8cceb1328b/nb-6-big-",
    "cluster/rf3-a/node1/app/events-91814540e60111f1b5720f8cceb1328b/nb-6-big-",
};
#define NSOURCES (sizeof sources / sizeof sources[0])

typedef struct {
    uint8_t *p;
    size_t len;
} blob;

typedef struct {
    char version[3];
    uint8_t *stats, *data;
    size_t stats_len, data_len;
    blob index, summary, cinfo, packed; /* packed: the on-disk Data.db */
} source;

static source src[NSOURCES];
static size_t nsrc;
static char dir[64];

static int load_optional(const char *prefix, const char *name, blob *b) {
    char *path = xasprintf("%s%s", prefix, name);
    int r = sst_read_file(NULL, path, &b->p, &b->len) == STRATA_OK ? 0 : -1;
    free(path);
    return r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_temp_dir(dir, "fuzz-sstable");
    for (size_t i = 0; i < NSOURCES; i++) {
        char *prefix = xasprintf(CORPUS "%s", sources[i]);
        char *data = xasprintf("%sData.db", prefix);
        source *s = &src[nsrc];
        const char *base = strrchr(sources[i], '/') + 1;
        memcpy(s->version, base, 2);
        if (!fuzz_load_sstable(data, &s->stats, &s->stats_len, &s->data, &s->data_len)) {
            load_optional(prefix, "Index.db", &s->index);
            load_optional(prefix, "Summary.db", &s->summary);
            if (load_optional(prefix, "CompressionInfo.db", &s->cinfo) == 0) load_optional(prefix, "Data.db", &s->packed);
            nsrc++;
        }
        strata_clear_error();
        free(data);
        free(prefix);
    }
    if (!nsrc) {
        fprintf(stderr, "fuzz_sstable: no corpus SSTables under " CORPUS " (run from the project root)\n");
        abort();
    }
    return 0;
}

static void apply_edits(uint8_t *buf, size_t len, const uint8_t *e, size_t n) {
    for (size_t i = 0; i + 3 <= n && len; i += 3) buf[((size_t)e[i] << 8 | e[i + 1]) % len] ^= e[i + 2];
}

/* Reads everything and renders every value, as `sstable dump` does. */
static void consume(const char *prefix) {
    sstable *s;
    if (sstable_open(prefix, &s)) return;
    const sstable_header *h = sstable_get_header(s);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    while (!sstable_next_partition(s, &p) && p) {
        json_decref(sstable_value_json(h->key_type, p->key, p->key_len));
        while (!sstable_next_unfiltered(s, &u) && u) {
            for (size_t i = 0; i < u->nclustering && i < h->nclustering; i++)
                json_decref(sstable_value_json(h->clustering[i], u->clustering[i].p, u->clustering[i].len));
            for (size_t i = 0; i < u->ncells; i++)
                json_decref(sstable_value_json(u->cells[i].column->type, u->cells[i].value.p, u->cells[i].value.len));
        }
    }
    sstable_close(s);
}

static char *write_component(const char *prefix, const char *name, const uint8_t *p, size_t n) {
    char *path = xasprintf("%s%s", prefix, name);
    fuzz_write_file(path, p, n);
    return path;
}

/* Writes the (possibly edited) component, or nothing when the source has none. */
static char *write_blob(const char *prefix, const char *name, const blob *b, int edit, const uint8_t *e, size_t n) {
    if (!b->p) return NULL;
    uint8_t *copy = xmalloc(b->len + 1);
    memcpy(copy, b->p, b->len);
    if (edit) apply_edits(copy, b->len, e, n);
    char *path = write_component(prefix, name, copy, b->len);
    free(copy);
    return path;
}

/* Index.db's entries as the repository walks them to store its keys as
 * copies of Data.db's (sstable_index_entry_parse), on edited bytes. */
static void walk_index_entries(const blob *b, const uint8_t *e, size_t n) {
    if (!b->p) return;
    uint8_t *copy = xmalloc(b->len + 1);
    memcpy(copy, b->p, b->len);
    apply_edits(copy, b->len, e, n);
    size_t at = 0, entry, key;
    uint64_t position;
    while (at < b->len && !sstable_index_entry_parse(copy + at, b->len - at, &entry, &key, &position))
        at += entry;
    free(copy);
}

/* Index.db and Summary.db: the whole-index check, then for the first
 * partitions a lookup by key and a skip through the row index to a
 * clustering made of the input bytes. */
static void consume_index(const char *prefix, const uint8_t *in, size_t len) {
    sstable *s;
    if (sstable_open(prefix, &s)) return;
    uint64_t n, blocks;
    sstable_verify_index(s, &n, &blocks);
    uint8_t keys[16][64];
    size_t klen[16], nkeys = 0;
    const sstable_partition *p;
    const sstable_unfiltered *u;
    if (!sstable_rewind(s))
        while (nkeys < 16 && !sstable_next_partition(s, &p) && p) {
            klen[nkeys] = p->key_len < 64 ? p->key_len : 64;
            memcpy(keys[nkeys], p->key, klen[nkeys]);
            nkeys++;
        }
    sstable_value target = {in, len < 8 ? len : 8};
    sstable_deletion open;
    for (size_t i = 0; i < nkeys; i++) {
        int found;
        if (sstable_seek(s, keys[i], klen[i], &found) || !found || sstable_next_partition(s, &p) || !p) continue;
        if (sstable_skip_to(s, &target, sstable_get_header(s)->nclustering ? 1 : 0, &open)) continue;
        while (!sstable_next_unfiltered(s, &u) && u) {}
    }
    sstable_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
    if (size < 2) return 0;
    const source *s = &src[in[1] % nsrc];
    int mode = in[0] % 6;
    const uint8_t *edits = in + 2;
    size_t nedits = size - 2;
    char *prefix = xasprintf("%s/%s-1-big-", dir, s->version);
    char *paths[5] = {0};
    uint8_t *stats = xmalloc(s->stats_len + 1);
    memcpy(stats, s->stats, s->stats_len);
    if (mode == 1) apply_edits(stats, s->stats_len, edits, nedits);
    paths[0] = write_component(prefix, "Statistics.db", stats, s->stats_len);
    free(stats);
    if (mode == 5 && s->cinfo.p) {
        paths[1] = write_blob(prefix, "Data.db", &s->packed, 0, NULL, 0);
        paths[2] = write_blob(prefix, "CompressionInfo.db", &s->cinfo, 1, edits, nedits);
    } else if (mode == 2) {
        paths[1] = write_component(prefix, "Data.db", edits, nedits);
    } else {
        uint8_t *data = xmalloc(s->data_len + 1);
        memcpy(data, s->data, s->data_len);
        if (mode == 0) apply_edits(data, s->data_len, edits, nedits);
        paths[1] = write_component(prefix, "Data.db", data, s->data_len);
        free(data);
    }
    if (mode == 3 || mode == 4) {
        paths[3] = write_blob(prefix, "Index.db", &s->index, mode == 3, edits, nedits);
        paths[4] = write_blob(prefix, "Summary.db", &s->summary, mode == 4, edits, nedits);
        consume_index(prefix, edits, nedits);
        if (mode == 3) walk_index_entries(&s->index, edits, nedits);
    } else {
        consume(prefix);
    }
    for (int i = 0; i < 5; i++) {
        if (paths[i]) unlink(paths[i]);
        free(paths[i]);
    }
    free(prefix);
    return 0;
}
