/* writer.c - the SSTable writer's life cycle: component files under
 * temporary names, the partition stream fanned out to Data.db, the row
 * index, the summary, the bloom filter and the statistics, and the final
 * renames with TOC.txt last.
 *
 * Temporary files are named ".strata-tmp-<final name>" in the output
 * directory: hidden, and not a name Cassandra or sstableloader parses, so
 * an interrupted write never looks like an SSTable.  Once every component
 * is synced the files are renamed, Data.db and then TOC.txt last, and the
 * directory is synced; an SSTable is complete exactly when its TOC.txt
 * exists.  A writer told no_sync (a backup's spool, whose files are stored
 * and removed at once) skips the syncs and keeps the renames.  A write
 * that fails or is cancelled before the renames removes its temporary
 * files; one that fails during them removes what it renamed too, and
 * never a file it did not create: a component name already taken is
 * refused when the writer opens. */
#include "engine/writer/writer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_FLUSH (1u << 20)

enum { K_DATA, K_AUX, K_INDEX, K_SUMMARY, K_FILTER, K_STATS, K_DIGEST, K_TOC, K_COUNT };
_Static_assert(K_COUNT == SSTABLE_WRITER_COMPONENTS, "sstable_writer_written holds every component");

struct sstable_writer {
    sstable_writer_params p;
    wr_version v;
    char *final[K_COUNT];
    char *tmp[K_COUNT];
    const char *names[K_COUNT];
    uint32_t crc[K_COUNT];   /* of the bytes written to each component */
    wr_serializer ser;
    wr_data *data;
    wr_rowindex *rowindex;
    wr_summary *summary;
    wr_filter *filter;
    wr_stats *stats;
    int index_fd;
    uint64_t index_pos;   /* Index.db bytes, buffered ones included */
    strata_buf index;     /* Index.db bytes not yet written */
    strata_buf *stream;   /* where unfiltereds are serialized: Data.db's */
    int in_partition;
    int saw_unfiltered;   /* something after the partition header */
    strata_buf key;       /* the current, and at the end the last, partition's */
    strata_buf first_key;
    wr_clustering last;   /* the partition's last row or marker's */
    int64_t hash[2];      /* the key's Murmur3 x64_128: bloom filter and token */
    int64_t token;
    int order;            /* ORDER_* of the partitioner */
    uint64_t partitions;
    uint64_t partition_start;
};

/* Partitioners whose order the writer checks, as BigTableWriter does. */
enum { ORDER_UNCHECKED, ORDER_MURMUR3, ORDER_BYTES };

static int partitioner_order(const char *name) {
    if (!name || strstr(name, "Murmur3Partitioner")) return ORDER_MURMUR3;
    if (strstr(name, "ByteOrderedPartitioner")) return ORDER_BYTES;
    return ORDER_UNCHECKED;
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Keys must strictly increase in the partitioner's order. */
static int in_order(sstable_writer *w, const uint8_t *key, size_t len, int64_t token) {
    if (w->partitions == 0 || w->order == ORDER_UNCHECKED) return 1;
    if (w->order == ORDER_MURMUR3 && token != w->token) return token > w->token;
    return bytes_cmp(w->key.data, w->key.len, key, len) < 0;
}

static char *component_path(const sstable_writer *w, const char *component, int tmp) {
    return xasprintf("%s/%s%s-%ld-big-%s", w->p.dir, tmp ? ".strata-tmp-" : "", w->v.name, w->p.generation,
                     component);
}

static strata_err flush_index(sstable_writer *w) {
    strata_err e = strata_write_all(w->index_fd, w->index.data, w->index.len, w->tmp[K_INDEX]);
    if (e) return e;
    w->crc[K_INDEX] = strata_crc32(w->crc[K_INDEX], w->index.data, w->index.len);
    w->index.len = 0;
    return STRATA_OK;
}

static void free_writer(sstable_writer *w) {
    for (int k = 0; k < K_COUNT; k++) {
        free(w->final[k]);
        free(w->tmp[k]);
    }
    wr_data_free(w->data);
    wr_rowindex_free(w->rowindex);
    wr_summary_free(w->summary);
    wr_filter_free(w->filter);
    wr_stats_free(w->stats);
    if (w->index_fd >= 0) close(w->index_fd);
    strata_buf_free(&w->index);
    strata_buf_free(&w->key);
    strata_buf_free(&w->first_key);
    wr_clustering_free(&w->last);
    wr_serializer_free(&w->ser);
    free(w);
}

strata_err sstable_writer_open(const sstable_writer_params *params, sstable_writer **out) {
    *out = NULL;
    wr_version v;
    if (wr_version_parse(params->version, &v))
        return strata_fail(STRATA_EFORMAT, "SSTable format \"%s\" is not written (oa, nb, na and ma to me are)", params->version);
    if (!params->dir || !params->header) return strata_fail(STRATA_EINVAL, "writer: no output directory or header");
    if (params->compressor && !wr_compressor_name(params->compressor))
        return strata_fail(STRATA_EFORMAT, "unsupported compressor %s", params->compressor);
    struct stat dir;
    if (stat(params->dir, &dir) != 0)
        return strata_fail_errno(strata_err_from_errno(errno), errno, "output directory %s", params->dir);
    if (!S_ISDIR(dir.st_mode)) return strata_fail(STRATA_EINVAL, "output directory %s: not a directory", params->dir);
    sstable_writer *w = xcalloc(1, sizeof *w);
    w->p = *params;
    w->v = v;
    static const sstable_writer_position none = {-1, 0};
    if (!params->commitlog_lower.segment && !params->commitlog_lower.position && !params->commitlog_upper.segment &&
        !params->commitlog_upper.position)
        w->p.commitlog_lower = w->p.commitlog_upper = none;
    w->index_fd = -1;
    w->order = partitioner_order(params->partitioner);
    const char *names[K_COUNT] = {"Data.db", params->compressor ? "CompressionInfo.db" : "CRC.db", "Index.db",
                                  "Summary.db", "Filter.db", "Statistics.db", "Digest.crc32", "TOC.txt"};
    for (int k = 0; k < K_COUNT; k++) {
        w->names[k] = names[k];
        w->final[k] = component_path(w, names[k], 0);
        w->tmp[k] = component_path(w, names[k], 1);
    }
    /* a file of a component's name (a leftover of another SSTable) is
     * not ours to replace, nor to remove when the write fails */
    for (int k = 0; k < K_COUNT; k++) {
        struct stat st;
        if (lstat(w->final[k], &st) == 0) {
            strata_err e = strata_fail(STRATA_EEXIST, "%s already exists", w->final[k]);
            free_writer(w);
            return e;
        }
    }
    wr_serializer_init(&w->ser, params->header, v.oa);
    strata_buf_init(&w->index);
    strata_buf_init(&w->key);
    strata_buf_init(&w->first_key);
    strata_err e = wr_data_open(&w->data, w->tmp[K_DATA], w->tmp[K_AUX], &v, params);
    if (e) {
        free_writer(w);
        return e;
    }
    w->stream = wr_data_stream(w->data);
    w->index_fd = open(w->tmp[K_INDEX], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->index_fd < 0) {
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s: create", w->tmp[K_INDEX]);
        sstable_writer_abort(w);
        return e;
    }
    w->rowindex = wr_rowindex_new(params->header, v.oa, params->column_index_size);
    w->summary = wr_summary_new(params->min_index_interval);
    w->filter = wr_filter_new(params->expected_keys, params->bloom_fp_chance > 0 ? params->bloom_fp_chance : 0.01);
    w->stats = wr_stats_new(params, &v);
    *out = w;
    return STRATA_OK;
}

static strata_err check_cancel(const sstable_writer *w) {
    if (!w->p.cancel || !*w->p.cancel) return STRATA_OK;
    return strata_fail(STRATA_EINTR, "%s/%s-%ld-big: write interrupted", w->p.dir, w->v.name, w->p.generation);
}

strata_err sstable_writer_begin_partition(sstable_writer *w, const uint8_t *key, size_t key_len,
                                          const sstable_deletion *deletion) {
    strata_err e = check_cancel(w);
    if (e) return e;
    if (w->in_partition) return strata_fail(STRATA_EINVAL, "writer: partition not ended");
    if (key_len > 0xffff) return strata_fail(STRATA_EINVAL, "partition key of %zu bytes (at most 65535)", key_len);
    /* Murmur3Partitioner's token: the empty key is the minimum, and the
     * hash Long.MIN_VALUE becomes Long.MAX_VALUE */
    sstable_murmur3_x64_128(key, key_len, 0, w->hash);
    int64_t token = key_len == 0 ? INT64_MIN : w->hash[0] == INT64_MIN ? INT64_MAX : w->hash[0];
    if (!in_order(w, key, key_len, token))
        return strata_fail(STRATA_EINVAL, "partition %llu: key not after the previous one in partitioner order",
                           (unsigned long long)w->partitions + 1);
    w->token = token;
    w->partitions++;
    w->in_partition = 1;
    w->saw_unfiltered = 0;
    w->key.len = 0;
    strata_buf_put(&w->key, key, key_len);
    if (w->partitions == 1) strata_buf_put(&w->first_key, key, key_len);
    w->partition_start = wr_data_position(w->data);
    wr_rowindex_begin(w->rowindex, w->partition_start, deletion);
    wr_stats_partition(w->stats, key, key_len, deletion);
    wr_put_partition_header(&w->ser, w->stream, key, key_len, deletion);
    return wr_data_commit(w->data);
}

/* Cassandra writes a static row in every partition of a table with static
 * columns, empty when the partition has none. */
static strata_err header_done(sstable_writer *w, const sstable_unfiltered *u) {
    w->saw_unfiltered = 1;
    if (w->p.header->nstatic > 0 && !(u && u->kind == SSTABLE_STATIC_ROW)) {
        sstable_unfiltered empty = {.kind = SSTABLE_STATIC_ROW, .bound_kind = SSTABLE_STATIC_CLUSTERING,
                                    .timestamp = INT64_MIN, .local_expiration = INT64_MAX,
                                    .row_deletion = {INT64_MIN, INT64_MAX}};
        if (wr_put_unfiltered(&w->ser, w->stream, &empty, 0)) return STRATA_EINVAL;
        strata_err e = wr_data_commit(w->data);
        if (e) return e;
    }
    wr_rowindex_header_done(w->rowindex, wr_data_position(w->data));
    return STRATA_OK;
}

strata_err sstable_writer_add_unfiltered(sstable_writer *w, const sstable_unfiltered *u) {
    if (!w->in_partition) return strata_fail(STRATA_EINVAL, "writer: unfiltered outside a partition");
    strata_err e = check_cancel(w);
    if (e) return e;
    if (u->kind == SSTABLE_STATIC_ROW) {
        if (w->saw_unfiltered) return strata_fail(STRATA_EINVAL, "writer: static row after other unfiltereds");
        if (w->p.header->nstatic == 0) return strata_fail(STRATA_EINVAL, "writer: static row but no static columns");
        wr_stats_unfiltered(w->stats, u);
        if (wr_put_unfiltered(&w->ser, w->stream, u, 0)) return STRATA_EINVAL;
        if ((e = wr_data_commit(w->data))) return e;
        return header_done(w, u);
    }
    if (!w->saw_unfiltered && (e = header_done(w, NULL))) return e;
    wr_stats_unfiltered(w->stats, u);
    uint64_t start = wr_data_position(w->data);
    size_t before = w->stream->len;
    uint64_t prev = wr_rowindex_before(w->rowindex, start, u);
    if (wr_put_unfiltered(&w->ser, w->stream, u, prev)) return STRATA_EINVAL;
    wr_rowindex_after(w->rowindex, start + (w->stream->len - before), u);
    wr_clustering_keep_unfiltered(&w->last, u);
    return wr_data_commit(w->data);
}

strata_err sstable_writer_end_partition(sstable_writer *w) {
    if (!w->in_partition) return strata_fail(STRATA_EINVAL, "writer: no partition to end");
    strata_err e;
    if (!w->saw_unfiltered && (e = header_done(w, NULL))) return e;
    wr_u8(w->stream, 0x01);
    if ((e = wr_data_commit(w->data))) return e;
    uint64_t end = wr_data_position(w->data);
    wr_summary_add(w->summary, w->key.data, w->key.len, w->index_pos);
    size_t before = w->index.len;
    wr_rowindex_finish(w->rowindex, end, &w->last, w->key.data, w->key.len, &w->index);
    w->index_pos += w->index.len - before;
    wr_filter_add(w->filter, w->hash);
    wr_stats_end_partition(w->stats, end - w->partition_start, &w->last);
    w->in_partition = 0;
    return w->index.len >= INDEX_FLUSH ? flush_index(w) : STRATA_OK;
}

uint64_t sstable_writer_data_length(const sstable_writer *w) { return wr_data_position(w->data); }

strata_err wr_write_file(const char *path, const void *p, size_t n, int sync, uint32_t *crc) {
    *crc = strata_crc32(0, p, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s: create", path);
    strata_err e = strata_write_all(fd, p, n, path);
    if (e) {
        close(fd);
        return e;
    }
    if ((sync && fsync(fd) != 0) || close(fd) != 0)
        return strata_fail_errno(strata_err_from_errno(errno), errno, "%s: sync", path);
    return STRATA_OK;
}

/* Writes component k from b, which it empties. */
static strata_err write_buf(sstable_writer *w, int k, strata_buf *b) {
    strata_err e = wr_write_file(w->tmp[k], b->data, b->len, !w->p.no_sync, &w->crc[k]);
    b->len = 0;
    return e;
}

static const char *const default_toc[] = {"Data.db", "CompressionInfo.db", "CRC.db", "Index.db", "Summary.db",
                                          "Filter.db", "Statistics.db", "Digest.crc32", "TOC.txt", NULL};

static void toc_text(const sstable_writer *w, strata_buf *b) {
    const char *const *order = w->p.toc_order ? w->p.toc_order : default_toc;
    uint8_t listed[K_COUNT] = {0};
    for (size_t i = 0; order[i]; i++)
        for (int k = 0; k < K_COUNT; k++)
            if (!listed[k] && !strcmp(order[i], w->names[k])) {
                strata_buf_put(b, order[i], strlen(order[i]));
                strata_buf_put_u8(b, '\n');
                listed[k] = 1;
            }
    for (int k = 0; k < K_COUNT; k++)
        if (!listed[k]) {
            strata_buf_put(b, w->names[k], strlen(w->names[k]));
            strata_buf_put_u8(b, '\n');
        }
}

static strata_err write_components(sstable_writer *w) {
    uint32_t digest;
    uint64_t compressed;
    strata_err e = wr_data_finish(w->data, &digest, &compressed, &w->crc[K_AUX]);
    w->crc[K_DATA] = digest;
    if (!e) e = flush_index(w);
    if (!e && !w->p.no_sync && fsync(w->index_fd) != 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s: fsync", w->tmp[K_INDEX]);
    strata_buf b;
    strata_buf_init(&b);
    if (!e) {
        wr_summary_serialize(w->summary, &w->first_key, &w->key, &b);
        e = write_buf(w, K_SUMMARY, &b);
    }
    if (!e) {
        wr_filter_serialize(w->filter, !w->v.na || w->p.old_bloom_layout, &b);
        e = write_buf(w, K_FILTER, &b);
    }
    if (!e) {
        uint64_t data_length = wr_data_position(w->data);
        double ratio = w->p.compressor && data_length && !w->p.no_compression_ratio
                           ? (double)compressed / (double)data_length
                           : -1.0;
        wr_stats_serialize(w->stats, &w->p, ratio, &w->first_key, &w->key, &b);
        e = write_buf(w, K_STATS, &b);
    }
    if (!e) {
        char text[16];
        int n = snprintf(text, sizeof text, "%u", digest);
        e = wr_write_file(w->tmp[K_DIGEST], text, (size_t)n, !w->p.no_sync, &w->crc[K_DIGEST]);
    }
    if (!e) {
        toc_text(w, &b);
        e = write_buf(w, K_TOC, &b);
    }
    strata_buf_free(&b);
    return e;
}

static strata_err sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s: open", dir);
    int r = fsync(fd);
    int err = errno;
    close(fd);
    return r ? strata_fail_errno(strata_err_from_errno(err), err, "%s: fsync", dir) : STRATA_OK;
}

strata_err sstable_writer_finish(sstable_writer *w) {
    if (w->in_partition) {
        strata_err e = strata_fail(STRATA_EINVAL, "writer: finish inside a partition");
        sstable_writer_abort(w);
        return e;
    }
    strata_err e = write_components(w);
    if (!e && !w->p.no_sync) e = sync_dir(w->p.dir);
    /* the last moment a stop leaves nothing: past it the renames complete */
    if (!e) e = check_cancel(w);
    /* Data.db after the other components and TOC.txt last: Cassandra deletes
     * the components of an SSTable without Data.db as leftovers at startup,
     * and rebuilds a missing TOC.txt from the components present, which by
     * then are all complete */
    static const int order[K_COUNT] = {K_AUX, K_INDEX, K_SUMMARY, K_FILTER, K_STATS, K_DIGEST, K_DATA, K_TOC};
    int renamed = 0;
    for (; renamed < K_COUNT && !e; renamed++) {
        int k = order[renamed];
        if (rename(w->tmp[k], w->final[k]) != 0) {
            e = strata_fail_errno(strata_err_from_errno(errno), errno, "rename %s", w->tmp[k]);
            break;
        }
    }
    if (!e && !w->p.no_sync) e = sync_dir(w->p.dir);
    if (e) {
        for (int i = 0; i < renamed; i++) unlink(w->final[order[i]]);
        sstable_writer_abort(w);
        return e;
    }
    if (w->p.written) {
        w->p.written->n = K_COUNT;
        for (int k = 0; k < K_COUNT; k++) {
            w->p.written->files[k].component = w->names[k];
            w->p.written->files[k].crc32 = w->crc[k];
        }
    }
    free_writer(w);
    return STRATA_OK;
}

void sstable_writer_abort(sstable_writer *w) {
    if (!w) return;
    for (int k = 0; k < K_COUNT; k++) unlink(w->tmp[k]);
    free_writer(w);
}
