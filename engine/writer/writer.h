/* writer.h - writing Apache Cassandra SSTables ("big" formats oa, nb, na
 * and ma to me).
 *
 * The writer takes a stream of partitions in partitioner order, each as
 * its key, its partition deletion and its unfiltereds (the static row,
 * rows and range tombstone markers in clustering order, exactly the
 * sstable_unfiltered items the reader yields), and produces every
 * component Cassandra writes for them: Data.db (compressed in chunks with
 * CompressionInfo.db, or plain with CRC.db), Index.db with the row index
 * of wide partitions, Summary.db, Filter.db, Statistics.db, Digest.crc32
 * and TOC.txt.  Unfiltereds are re-serialized from their fields, never
 * copied from raw bytes, so merged content can be written too.
 *
 * Given the same content and parameters the files are byte-identical to
 * the ones Cassandra writes; that is how the writer is tested.  Memory is
 * one chunk, one row, a partition's row index blocks, the summary samples
 * and the bloom filter, never a whole partition.  Components are written
 * under temporary names and renamed by sstable_writer_finish(), Data.db
 * and then TOC.txt last, so a crash never leaves an SSTable that looks
 * complete.
 */
#ifndef STRATA_WRITER_H
#define STRATA_WRITER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/base.h"
#include "engine/sstable/sstable.h"

typedef struct sstable_writer sstable_writer;

/* A commit log position (segment id, offset); Cassandra's "none" is (-1, 0). */
typedef struct {
    int64_t segment;
    int32_t position;
} sstable_writer_position;

/* Everything the content does not say.  Zero fields take Cassandra's
 * defaults where one exists. */
typedef struct {
    const char *dir;             /* output directory (must exist) */
    char version[3];             /* "oa", "nb", "na", "me", "md", "mc", "mb", "ma" */
    long generation;
    const sstable_header *header; /* schema and encoding minimums; borrowed,
                                     must outlive the writer */
    const char *partitioner;     /* class name; NULL: Murmur3Partitioner */
    const char *compressor;      /* "LZ4Compressor", "ZstdCompressor",
                                    "SnappyCompressor", "DeflateCompressor"
                                    (short or org.apache... name), or NULL
                                    for uncompressed Data.db + CRC.db */
    const char *const *compression_options; /* NULL-terminated key, value
                                               pairs as CompressionInfo.db
                                               lists them */
    uint32_t chunk_length;       /* bytes, a power of two; 0: 16 KiB */
    uint32_t max_compressed_length; /* na+: chunks compressing to this or more
                                       are stored raw (min_compress_ratio);
                                       0: never (Integer.MAX_VALUE) */
    double bloom_fp_chance;      /* 0: 0.01 */
    uint64_t expected_keys;      /* sizes the bloom filter, as Cassandra's
                                    estimated key count does; 0: 1 */
    int min_index_interval;      /* Summary.db sampling; 0: 128 */
    uint32_t column_index_size;  /* row index block size (the writing node's
                                    column_index_size); 0: 64 KiB */
    int trailing_empty_chunk;    /* end compressed Data.db with an empty chunk,
                                    as Cassandra's compaction writer does */
    int doubled_cell_counts;     /* early 3.0 releases: each partition's cell
                                    count entered twice in its histogram */
    int exact_drop_times;        /* early 3.0 releases: tombstone drop times
                                    kept unrounded, live cells' "none" too */
    int no_compression_ratio;    /* some 3.0.0 writes: ratio -1 though compressed */
    int old_bloom_layout;        /* na, nb: Filter.db words byte-reversed as
                                    before na (a pre-release 4.0 build) */
    int no_transient_flag;       /* na, nb: no is-transient byte in the stats
                                    (the same pre-release build) */
    int partition_size_buckets;  /* Statistics.db histogram sizes, which
                                    depend on the Cassandra release: 150
                                    partition-size buckets before 4.1, 155
                                    from it; 0: 150 */
    int cell_count_buckets;      /* 114 or 118 cell-count buckets; 0: 118 */
    /* Statistics.db facts the content cannot give */
    int64_t repaired_at;
    int32_t sstable_level;
    int has_host_id;
    uint8_t host_id[16];
    int has_pending_repair;
    uint8_t pending_repair[16];
    int is_transient;
    sstable_writer_position commitlog_lower, commitlog_upper; /* zero: none */
    size_t ncommitlog_intervals;
    const sstable_writer_position *commitlog_intervals; /* pairs: start, end */
    int no_sync;                 /* write without fsync: files the caller
                                    stores elsewhere and removes at once (a
                                    backup's spool), where syncing only
                                    forces them to the disk and waits; the
                                    caller then checks what it reads back
                                    against `written` */
    struct sstable_writer_written *written; /* NULL, or filled by
                                               sstable_writer_finish() */
    const atomic_int *cancel; /* NULL, or a flag (Ctrl-C) that stops
                                 the write once non-zero: the next
                                 partition, row or finish fails with
                                 STRATA_EINTR before anything is
                                 renamed, for the caller to abort */
    const char *const *toc_order; /* NULL-terminated component names: the
                                     TOC.txt order (Cassandra's is a hash
                                     set's); NULL: a fixed order */
    struct sstable_writer_owned *owned; /* storage of sstable_writer_params_from() */
} sstable_writer_params;

/* The component files sstable_writer_finish() wrote and the CRC32 of the
 * bytes written to each.  Without fsync a write error surfaces only when a
 * page that failed writeback is read back from the disk, stale: a caller
 * that reads the files again compares their CRC32 with these. */
#define SSTABLE_WRITER_COMPONENTS 8
typedef struct sstable_writer_written {
    size_t n;
    struct {
        const char *component; /* "Data.db", "Index.db"... (static) */
        uint32_t crc32;
    } files[SSTABLE_WRITER_COMPONENTS];
} sstable_writer_written;

/* Creates the temporary component files in params->dir.  Fails with
 * STRATA_EEXIST when a file of one of the SSTable's component names
 * already exists there (the writer would replace it) and with
 * STRATA_EFORMAT for versions or compressors it does not write. */
strata_err sstable_writer_open(const sstable_writer_params *params, sstable_writer **out);

/* Starts a partition.  Keys must strictly increase in partitioner order;
 * for Murmur3 and ByteOrdered partitioners a key that does not fails with
 * STRATA_EINVAL (other partitioners are not checked). */
strata_err sstable_writer_begin_partition(sstable_writer *w, const uint8_t *key, size_t key_len,
                                          const sstable_deletion *deletion);

/* Appends a static row, row or range tombstone marker to the current
 * partition; a static row, if any, must come first.  Only the fields are
 * used (not raw/raw_len/offset). */
strata_err sstable_writer_add_unfiltered(sstable_writer *w, const sstable_unfiltered *u);

/* Ends the current partition: end marker, index entry, summary sample,
 * bloom filter key, statistics. */
strata_err sstable_writer_end_partition(sstable_writer *w);

/* Writes the remaining components, syncs them (unless no_sync) and their
 * directory, renames them to their final names (TOC.txt last) and frees
 * the writer, also on failure, which leaves none of its files behind. */
strata_err sstable_writer_finish(sstable_writer *w);

/* Removes the temporary files and frees the writer. */
void sstable_writer_abort(sstable_writer *w);

/* Uncompressed Data.db bytes written so far. */
uint64_t sstable_writer_data_length(const sstable_writer *w);

/* Streams every partition of `s`, from its first, into `w` (which the
 * caller then finishes or aborts). */
strata_err sstable_writer_copy(sstable *s, sstable_writer *w);

/* Fills *p from an open SSTable so that rewriting its content with *p
 * reproduces it: version, generation, header, partitioner, compressor
 * with its options, chunk length, bloom filter chance and key count,
 * level, repair state, host id, commit log positions, TOC order, and what
 * the files show of the writing node's settings and release (column index
 * size, histogram sizes, compaction's trailing chunk, early-release
 * habits).  Strings are owned by *p until sstable_writer_params_free();
 * p->dir is left NULL for the caller. */
strata_err sstable_writer_params_from(sstable *s, sstable_writer_params *p);
void sstable_writer_params_free(sstable_writer_params *p);

/* Switches *p to another compressor (NULL: uncompressed with CRC.db) with
 * Cassandra's defaults: no options, no raw chunks, 16 KiB chunks unless
 * the original was compressed in chunks of another size. */
void sstable_writer_use_compressor(sstable_writer_params *p, const char *compressor);

/* Changes the parameters taken from the original before writing. */
typedef void (*sstable_writer_adjust)(sstable_writer_params *p, void *arg);

/* Reads the SSTable at `path` and writes it into `dir` with the parameters
 * sstable_writer_params_from() gives, after `adjust` (may be NULL) has
 * changed them.  *data_length (may be NULL) receives the uncompressed
 * Data.db size. */
strata_err sstable_writer_rewrite(const char *path, const char *dir, sstable_writer_adjust adjust, void *arg,
                                  uint64_t *data_length);

#endif
