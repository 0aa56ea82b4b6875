/* layer.c - one table's reconciled layer of a cluster version.
 *
 * A table of a version is a stack of reconciled SSTables ("layers"): the
 * earlier versions' layers plus, on top, what this version adds.  That
 * addition comes from the nodes' SSTables the stack does not cover yet:
 *
 *   - an SSTable never seen before is read for everything written up to
 *     the cut (and what is dated far beyond it: no clock time, kept now);
 *     when it may hold older facts (its minimum timestamp is before the
 *     previous cut: a compaction's output, a repair stream, read repairs)
 *     its partitions are looked up in the stack, and what the stack holds
 *     already is left out;
 *   - an SSTable read before that held facts past that version's cut is
 *     read again, for those facts only, up to this cut;
 *   - an SSTable whose facts are all covered is not read at all.
 *
 * All of it is merged with Cassandra's rules (engine/merge) and written
 * uncompressed (the repository compresses it better than Cassandra's LZ4
 * would) as one SSTable in the cluster's own format, then stored. */
#include "engine/backup/backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/writer/writer.h"

/* The formats the writer writes, oldest first: layers take the newest the
 * table's SSTables use. */
static const char *const writable[] = {"ma", "mb", "mc", "md", "me", "na", "nb", "oa"};

static int format_rank(const char *sstable) {
    for (int i = 0; i < (int)(sizeof writable / sizeof *writable); i++)
        if (!strncmp(sstable, writable[i], 2)) return i;
    /* bti and 5.0 development formats share oa's data layout */
    if (!strncmp(sstable, "da", 2) || !strncmp(sstable, "nc", 2)) return 7;
    return -1;
}

static const char *layer_format(const backup_table *t) {
    int best = -1;
    for (size_t i = 0; i < t->n_sstables; i++) {
        int r = format_rank(t->sstables[i].sstable);
        if (r > best) best = r;
    }
    return writable[best < 0 ? 6 : best];
}

/* The next generation above every layer of the stack. */
static long next_generation(const layer_job *job) {
    long gen = 0;
    for (size_t i = 0; i < job->n_stack; i++) {
        const char *dash = strchr(job->stack[i]->sstable, '-');
        long g = dash ? strtol(dash + 1, NULL, 10) : 0;
        if (g > gen) gen = g;
    }
    return gen + 1;
}

static int is_data_file(const repo_file *f) {
    size_t n = strlen(f->sstable);
    return n && !strncmp(f->rel_path, f->sstable, n) && !strcmp(f->rel_path + n, "-Data.db");
}

/* ---- Deciding what to read ------------------------------------------------- */

typedef struct {
    merge_input *in;
    char **paths;
    size_t n, cap;
    int may_repeat;          /* some input may hold what the stack holds */
    uint64_t data_bytes;     /* of the nodes' Data.db files among the inputs */
} input_set;

static void add_input(input_set *s, char *path, const sstable_vfs *vfs, int64_t from, int64_t to, int64_t beyond,
                      int64_t later, int reference, int may_repeat, int replica) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->in = xrealloc(s->in, s->cap * sizeof *s->in);
        s->paths = xrealloc(s->paths, s->cap * sizeof *s->paths);
    }
    s->paths[s->n] = path;
    s->in[s->n] = (merge_input){path, vfs, from, to, beyond, later, reference, may_repeat, replica};
    s->n++;
    s->may_repeat |= may_repeat;
}

static void input_set_free(input_set *s) {
    for (size_t i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    free(s->in);
}

/* Fills the source record of a node's SSTable: sizes and the identity
 * sample of its Data.db. */
static strata_err describe(const layer_job *job, const backup_sstable *b, repo_source *src) {
    memset(src, 0, sizeof *src);
    src->node = xstrdup(job->opt->cluster->nodes[b->node].name);
    src->keyspace = xstrdup(job->table->keyspace);
    src->table = xstrdup(job->table->table);
    src->table_id = xstrdup(job->table->table_id);
    src->sstable = xstrdup(b->sstable);
    src->bytes = b->bytes;
    src->data_size = b->data->size;
    int fd = open(b->data->abs_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s", b->data->abs_path);
    strata_err e = repo_file_sample(fd, b->data->size, src->sample);
    close(fd);
    return e;
}

/* The SSTable's timestamp range, from its statistics. */
static strata_err read_timestamps(const backup_sstable *b, repo_source *src) {
    sstable *st;
    strata_err e = sstable_open(b->data->abs_path, &st);
    if (e) return e;
    const sstable_meta *m = sstable_get_meta(st);
    src->min_timestamp = m->min_timestamp;
    src->max_timestamp = m->max_timestamp;
    sstable_close(st);
    return STRATA_OK;
}

static int same_identity(const repo_source *a, const repo_source *b) {
    return a->data_size == b->data_size && !memcmp(a->sample, b->sample, STRATA_HASH_LEN);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The last time whose facts an SSTable first read at `first_cut` can hold
 * that a later version still has to take: past it they were kept at once. */
static int64_t clock_horizon(const repo_source *s) {
    return s->first_cut > INT64_MAX - BACKUP_FUTURE_TOLERANCE_US ? INT64_MAX
                                                                  : s->first_cut + BACKUP_FUTURE_TOLERANCE_US;
}

/* Decides for one SSTable: not read, read past its covered time, or read
 * whole; records it in *src for the version. */
static strata_err plan_sstable(const layer_job *job, const backup_sstable *b, repo_source *src, input_set *s,
                               uint64_t *read_bytes) {
    strata_err e = describe(job, b, src);
    if (e) return e;
    repo_source known;
    e = job->fresh ? STRATA_ENOENT
                   : repo_source_lookup(job->r, src->node, src->keyspace, src->table_id, src->sstable, &known);
    if (e && e != STRATA_ENOENT) return e;
    strata_clear_error();
    if (!e && !same_identity(&known, src)) {
        repo_source_clear(&known);
        e = STRATA_ENOENT;
    }
    const int64_t cut = job->cut, beyond_cut = cut > INT64_MAX - BACKUP_FUTURE_TOLERANCE_US
                                                   ? INT64_MAX
                                                   : cut + BACKUP_FUTURE_TOLERANCE_US;
    if (!e) {
        int64_t horizon = clock_horizon(&known);
        int64_t covered = known.covered_to;
        repo_source_clear(src);
        *src = known;
        if (covered >= min64(known.max_timestamp, horizon) || covered >= cut) return STRATA_OK;
        src->covered_to = cut;
        *read_bytes += b->bytes;
        add_input(s, xstrdup(b->data->abs_path), NULL, covered, min64(cut, horizon), INT64_MAX, horizon, 0, 0,
                  (int)b->node);
        s->data_bytes += b->data->size;
        return STRATA_OK;
    }
    if ((e = read_timestamps(b, src))) return e;
    src->first_cut = cut;
    src->covered_to = cut;
    *read_bytes += b->bytes;
    int may_repeat = job->n_stack && src->min_timestamp <= job->previous_cut;
    add_input(s, xstrdup(b->data->abs_path), NULL, INT64_MIN, cut, beyond_cut, beyond_cut, 0, may_repeat,
              (int)b->node);
    s->data_bytes += b->data->size;
    return STRATA_OK;
}

/* ---- Writing and storing ------------------------------------------------------ */

/* Index.db's entries as spans of Data.db: each begins with its partition
 * key as the partition in Data.db begins, and keys such as uuids do not
 * compress, so the repository stores them once (as copies). */
typedef struct {
    int fd;
    uint64_t size;
    uint64_t base; /* file offset of buf[0] */
    uint8_t *buf;
    size_t len, cur, cap;
} index_spans;

static strata_err next_index_span(void *ctx, repo_span *out, int *end) {
    index_spans *it = ctx;
    for (;;) {
        size_t entry, key;
        uint64_t position;
        if (it->cur < it->len &&
            sstable_index_entry_parse(it->buf + it->cur, it->len - it->cur, &entry, &key, &position) == 0) {
            *out = (repo_span){it->base + it->cur, position, (uint32_t)(2 + key)};
            it->cur += entry;
            *end = 0;
            return STRATA_OK;
        }
        /* the rest is stored as it is: spans only make it smaller */
        *end = it->base + it->len >= it->size;
        if (*end) return STRATA_OK;
        if (it->cur < it->len) memmove(it->buf, it->buf + it->cur, it->len - it->cur);
        it->base += it->cur;
        it->len -= it->cur;
        it->cur = 0;
        if (it->cap - it->len < 65536) {
            it->cap = it->cap ? 2 * it->cap : 1u << 20;
            it->buf = xrealloc(it->buf, it->cap);
        }
        size_t got;
        strata_err e = strata_pread_all(it->fd, it->buf + it->len, it->cap - it->len, it->base + it->len, &got);
        if (e) return e;
        if (!got) return strata_fail(STRATA_EIO, "Index.db is shorter than its size");
        it->len += got;
    }
}

/* Layers are uncompressed SSTables, written once and read seldom, their
 * Data.db stored as row streams, which compress more at higher levels than
 * an SSTable's bytes do: on a 100 MB generated cluster, level 6 stores
 * 4.3% less than level 3 for 19% more CPU time, level 9 5.4% less for
 * 63% more.  A small table takes little time at any level, so it gets
 * zstd's strongest: on the corpus cluster's tables of 380 KB, level 19
 * takes 50 to 70 ms where level 6 takes 3.4 ms, and stores 6 to 12% less;
 * a table whose layers hold less than SMALL_TABLE_BYTES of Data.db costs
 * at most about 0.2 s more a version.  The level follows the table's
 * size, not the new layer's: the small layers of a large table's
 * incremental versions are compressed as its full version was, so an
 * incremental backup's time stays in proportion to its new data. */
#define LAYER_ZSTD_LEVEL 6
#define SMALL_TABLE_ZSTD_LEVEL 19
#define SMALL_TABLE_BYTES (1u << 20)

/* The zstd level of a table's files, `more` bytes of Data.db beside the
 * layers it holds so far (res->files: the stack, then the new layer). */
static int layer_zstd_level(const layer_result *res, uint64_t more) {
    uint64_t table_bytes = more;
    for (size_t i = 0; i < res->n_files; i++)
        if (is_data_file(&res->files[i])) table_bytes += res->files[i].size;
    return table_bytes < SMALL_TABLE_BYTES ? SMALL_TABLE_ZSTD_LEVEL : LAYER_ZSTD_LEVEL;
}

/* Stores file `name` of the spool directory as a file of the table,
 * checking that the bytes read back have the CRC32 `written` of the bytes
 * written: the spool is not synced, and a page whose writeback failed is
 * read back from the disk stale, with no error of its own.  `data` (may
 * be NULL) is the layer's Data.db, stored already, for Index.db. */
static strata_err store_file(const layer_job *job, const char *dir, const char *name, const char *sstable,
                             uint32_t written, const repo_file *data, repo_file *rec, uint64_t *stored) {
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    strata_err e = STRATA_OK;
    if (fd < 0 || fstat(fd, &st) != 0) e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s", path);
    memset(rec, 0, sizeof *rec);
    rec->node = xstrdup("");
    rec->keyspace = xstrdup(job->table->keyspace);
    rec->table = xstrdup(job->table->table);
    rec->table_id = xstrdup(job->table->table_id);
    rec->rel_path = xstrdup(name);
    rec->sstable = xstrdup(sstable);
    rec->mtime_ns = job->cut * 1000;
    rec->mode = 0644;
    if (!e) {
        rec->size = (uint64_t)st.st_size;
        e = repo_file_sample(fd, rec->size, rec->sample);
    }
    index_spans spans = {.fd = fd, .size = rec->size};
    repo_store_base base = {data, -1, next_index_span, &spans};
    if (!e && data) {
        char *data_path = xasprintf("%s/%s", dir, data->rel_path);
        base.fd = open(data_path, O_RDONLY | O_CLOEXEC);
        if (base.fd < 0) e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s", data_path);
        free(data_path);
    }
    repo_store_hints hints = {data ? &base : NULL, NULL};
    layer_rows rows = {0};
    if (!e && strata_ends_with(name, "-Data.db")) {
        char *at = xasprintf("%s/%s", dir, sstable);
        if (layer_rows_open(at, fd, rec->size, &rows)) hints.rows = &rows.rows;
        free(at);
    }
    uint32_t crc;
    if (!e) e = repo_store_file_with(job->w, fd, rec, &hints, NULL, stored, &crc);
    layer_rows_close(&rows);
    if (!e && crc != written)
        e = strata_fail(STRATA_EIO, "%s: read back with CRC32 %08x, written with %08x: a write error in the spool",
                        path, crc, written);
    free(spans.buf);
    if (base.fd >= 0) close(base.fd);
    if (fd >= 0) close(fd);
    free(path);
    return e;
}

static void push_file(layer_result *res, const repo_file *f) {
    res->files = xrealloc(res->files, (res->n_files + 1) * sizeof *res->files);
    res->files[res->n_files++] = *f;
}

/* The components the writer made, stored in the order of their names;
 * the spool is emptied. */
static strata_err store_layer(const layer_job *job, const char *dir, const char *prefix,
                              const sstable_writer_written *written, layer_result *res) {
    static const char *const components[] = {"CRC.db",     "CompressionInfo.db", "Data.db",     "Digest.crc32",
                                             "Filter.db",  "Index.db",           "Statistics.db", "Summary.db",
                                             "TOC.txt"};
    strata_err e = STRATA_OK;
    size_t data = SIZE_MAX;
    char *data_path = xasprintf("%s/%s-Data.db", dir, prefix);
    struct stat st;
    /* a Data.db that cannot be measured counts as a large one */
    uint64_t data_bytes = stat(data_path, &st) ? SMALL_TABLE_BYTES : (uint64_t)st.st_size;
    repo_pack_writer_set_level(job->w, layer_zstd_level(res, data_bytes));
    free(data_path);
    for (size_t i = 0; i < sizeof components / sizeof *components && !e; i++)
        for (size_t k = 0; k < written->n && !e; k++) {
            if (strcmp(written->files[k].component, components[i])) continue;
            char *name = xasprintf("%s-%s", prefix, components[i]);
            const repo_file *base = !strcmp(components[i], "Index.db") && data != SIZE_MAX ? &res->files[data] : NULL;
            repo_file rec;
            e = store_file(job, dir, name, prefix, written->files[k].crc32, base, &rec, &res->summary.stored_bytes);
            if (e) {
                repo_file_clear(&rec);
            } else {
                if (!strcmp(components[i], "Data.db")) data = res->n_files;
                push_file(res, &rec);
            }
            free(name);
        }
    for (size_t i = 0; i < written->n; i++) {
        char *path = xasprintf("%s/%s-%s", dir, prefix, written->files[i].component);
        unlink(path);
        free(path);
    }
    return e;
}

static strata_err store_schema(const layer_job *job, const char *dir, layer_result *res) {
    if (!job->schema_cql) return STRATA_OK;
    char *path = xasprintf("%s/schema.cql", dir);
    FILE *f = fopen(path, "w");
    strata_err e = STRATA_OK;
    if (!f || fputs(job->schema_cql, f) < 0) e = strata_fail_errno(STRATA_EIO, errno, "%s", path);
    if (f && fclose(f) != 0 && !e) e = strata_fail_errno(STRATA_EIO, errno, "%s", path);
    repo_file rec = {0};
    uint32_t crc = strata_crc32(0, job->schema_cql, strlen(job->schema_cql));
    repo_pack_writer_set_level(job->w, layer_zstd_level(res, 0));
    if (!e) e = store_file(job, dir, "schema.cql", "", crc, NULL, &rec, &res->summary.stored_bytes);
    unlink(path);
    free(path);
    if (!e) push_file(res, &rec);
    else repo_file_clear(&rec);
    return e;
}

/* Merges the inputs into a new layer SSTable in `dir` and stores it. */
static strata_err merge_and_store(const layer_job *job, input_set *s, const char *dir, layer_result *res) {
    stored_sstables *stack = NULL;
    if (s->may_repeat) {
        stack = stored_sstables_new(job->r, job->stack, job->n_stack);
        for (size_t i = 0; i < job->n_stack; i++) {
            if (!is_data_file(job->stack[i])) continue;
            add_input(s, stored_sstables_path(job->stack[i]->sstable), stored_sstables_vfs(stack), MERGE_WINDOW_ALL, 1,
                      0, 0);
        }
    }
    merge *m;
    strata_err e = merge_open_inputs(s->in, s->n, job->schema, &m);
    if (e) {
        stored_sstables_free(stack);
        return e;
    }
    merge_set_progress(m, job->progress);
    const char *format = layer_format(job->table);
    long gen = next_generation(job);
    sstable_writer_params wp = {0};
    merge_writer_params(m, &wp);
    wp.dir = dir;
    memcpy(wp.version, format, 3);
    wp.generation = gen;
    wp.no_sync = 1; /* the spool's files are stored and removed at once */
    sstable_writer_written written = {0};
    wp.written = &written;
    sstable_writer *w;
    uint64_t partitions = 0;
    e = sstable_writer_open(&wp, &w);
    if (!e) {
        e = merge_write(m, w, &partitions);
        if (e) sstable_writer_abort(w);
        else e = sstable_writer_finish(w);
    }
    merge_window_counts(m, &res->facts_later, &res->facts_beyond);
    merge_close(m);
    stored_sstables_free(stack);
    char *prefix = xasprintf("%s-%ld-big", format, gen);
    if (!e && partitions) e = store_layer(job, dir, prefix, &written, res);
    if (!e && partitions) res->summary.layers++, res->new_layer = 1;
    free(prefix);
    return e;
}

static uint64_t data_size(const layer_result *res, const char *sstable) {
    for (size_t i = 0; i < res->n_files; i++)
        if (is_data_file(&res->files[i]) && !strcmp(res->files[i].sstable, sstable)) return res->files[i].size;
    return 0;
}

static long generation_of(const char *sstable) {
    const char *dash = strchr(sstable, '-');
    return dash ? strtol(dash + 1, NULL, 10) : 0;
}

static int older_first(const void *a, const void *b) {
    long x = generation_of(*(char *const *)a), y = generation_of(*(char *const *)b);
    return (x > y) - (x < y);
}

/* Merges the table's layers into one when there are more than the
 * maximum: all of them, or all but the oldest when it outweighs the rest
 * (so that a large base is not rewritten for a few small layers). */
static strata_err merge_layers(const layer_job *job, const char *dir, layer_result *res) {
    int max = job->opt->max_layers > 0 ? job->opt->max_layers : BACKUP_DEFAULT_MAX_LAYERS;
    if (res->summary.layers <= (uint32_t)max) return STRATA_OK;
    char **layers = xcalloc(res->summary.layers + 1, sizeof *layers);
    size_t n = 0;
    uint64_t rest = 0;
    for (size_t i = 0; i < res->n_files; i++)
        if (is_data_file(&res->files[i])) layers[n++] = xstrdup(res->files[i].sstable);
    qsort(layers, n, sizeof *layers, older_first);
    for (size_t i = 1; i < n; i++) rest += data_size(res, layers[i]);
    size_t from = data_size(res, layers[0]) > rest ? 1 : 0;
    /* the new layer's chunks must be stored before they can be read back */
    strata_err e = repo_pack_writer_flush(job->w);
    const repo_file **files = xcalloc(res->n_files + 1, sizeof *files);
    for (size_t i = 0; i < res->n_files; i++) files[i] = &res->files[i];
    stored_sstables *stored = stored_sstables_new(job->r, files, res->n_files);
    input_set s = {0};
    for (size_t i = from; i < n; i++)
        add_input(&s, stored_sstables_path(layers[i]), stored_sstables_vfs(stored), MERGE_WINDOW_ALL, 0, 0, 0);
    merge *m = NULL;
    if (!e) e = merge_open_inputs(s.in, s.n, job->schema, &m);
    long gen = generation_of(layers[n - 1]) + 1;
    const char *format = layer_format(job->table);
    uint64_t partitions = 0;
    sstable_writer *w = NULL;
    sstable_writer_written written = {0};
    if (!e) {
        sstable_writer_params wp = {0};
        merge_writer_params(m, &wp);
        wp.dir = dir;
        memcpy(wp.version, format, 3);
        wp.generation = gen;
        wp.no_sync = 1;
        wp.written = &written;
        e = sstable_writer_open(&wp, &w);
    }
    if (!e) e = merge_write(m, w, &partitions);
    if (w && e) sstable_writer_abort(w);
    else if (w) e = sstable_writer_finish(w);
    merge_close(m);
    input_set_free(&s);
    stored_sstables_free(stored);
    free(files);
    /* the merged layers leave the version; the new one takes their place */
    size_t kept = 0;
    for (size_t i = 0; i < res->n_files && !e; i++) {
        int merged = 0;
        for (size_t j = from; j < n && !merged; j++) merged = !strcmp(res->files[i].sstable, layers[j]);
        if (merged) repo_file_clear(&res->files[i]);
        else res->files[kept++] = res->files[i];
    }
    for (size_t i = 0; i < n; i++) free(layers[i]);
    free(layers);
    if (e) return e;
    res->n_files = kept;
    res->summary.layers = (uint32_t)(from + (partitions > 0));
    res->layers_merged = 1;
    char *prefix = xasprintf("%s-%ld-big", format, gen);
    if (partitions) e = store_layer(job, dir, prefix, &written, res);
    free(prefix);
    return e;
}

static strata_err make_spool(const layer_job *job, char **dir) {
    *dir = xasprintf("%s/strata-layer-XXXXXX", job->spool);
    if (mkdtemp(*dir)) return STRATA_OK;
    strata_err e = strata_fail_errno(strata_err_from_errno(errno), errno, "spool directory %s", *dir);
    free(*dir);
    *dir = NULL;
    return e;
}

/* Removes what is left in the spool (the writer's files after a failure). */
static void remove_spool(char *dir) {
    if (!dir) return;
    layer_remove_spool(dir);
    free(dir);
}

void layer_remove_spool(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *f;
    while (d && (f = readdir(d))) {
        if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, "..")) continue;
        char *p = xasprintf("%s/%s", dir, f->d_name);
        unlink(p);
        free(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

strata_err layer_build(const layer_job *job, layer_result *res) {
    memset(res, 0, sizeof *res);
    const backup_table *t = job->table;
    res->summary.keyspace = xstrdup(t->keyspace);
    res->summary.table = xstrdup(t->table);
    res->summary.table_id = xstrdup(t->table_id);
    input_set s = {0};
    res->sources = xcalloc(t->n_sstables + 1, sizeof *res->sources);
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < t->n_sstables && !e; i++) {
        const backup_sstable *b = &t->sstables[i];
        res->summary.replica_bytes += b->bytes;
        if (!b->data) {
            /* Cassandra does not load it either */
            strata_log(STRATA_LOG_WARN, "node %s: %s.%s: SSTable %s has no Data.db; left out",
                       job->opt->cluster->nodes[b->node].name, t->keyspace, t->table, b->sstable);
            continue;
        }
        e = plan_sstable(job, b, &res->sources[res->n_sources], &s, &res->bytes_read);
        res->n_sources++;
    }
    res->summary.sstables_read = (uint32_t)s.n;
    for (size_t i = 0; i < job->n_stack && !e; i++) {
        repo_file copy;
        repo_file_copy(&copy, job->stack[i]);
        copy.mtime_ns = job->cut * 1000;
        if (job->schema_cql && !*copy.sstable) repo_file_clear(&copy); /* replaced below */
        else push_file(res, &copy);
    }
    for (size_t i = 0; i < res->n_files; i++) res->summary.layers += is_data_file(&res->files[i]);
    char *spool = NULL;
    if (!e) e = make_spool(job, &spool);
    if (!e && s.n) e = merge_and_store(job, &s, spool, res);
    if (!e) e = merge_layers(job, spool, res);
    if (!e) e = store_schema(job, spool, res);
    if (e) e = strata_fail(e, "%s.%s: %s", t->keyspace, t->table, strata_errmsg());
    remove_spool(spool);
    for (size_t i = 0; i < res->n_files; i++)
        if (*res->files[i].sstable) res->summary.layer_bytes += res->files[i].size;
    /* the merge counted the Data.db files it read; the rest counts now */
    strata_progress_add(job->progress, t->bytes - s.data_bytes);
    input_set_free(&s);
    return e;
}

void layer_result_free(layer_result *res) {
    for (size_t i = 0; i < res->n_files; i++) repo_file_clear(&res->files[i]);
    for (size_t i = 0; i < res->n_sources; i++) repo_source_clear(&res->sources[i]);
    repo_table_summary_clear(&res->summary);
    free(res->files);
    free(res->sources);
    memset(res, 0, sizeof *res);
}
