/* sstable.h - reading Apache Cassandra SSTables ("big" format ma..oa, and
 * the Data.db of "bti" da).
 *
 * An SSTable is a set of component files sharing a name prefix
 * (<version>-<generation>-<big|bti>-<Component>).  This module opens one,
 * parses its metadata (Statistics.db: validation, compaction, stats and the
 * serialization header that types every value), and streams Data.db:
 * partitions in file order, and inside each partition its "unfiltereds"
 * (static row, rows, range tombstone bounds and boundaries) exactly as
 * Cassandra's UnfilteredSerializer wrote them.  Chunks are decompressed
 * one at a time (LZ4, Snappy, Deflate, Zstd, or uncompressed with CRC.db)
 * and every chunk checksum is verified as it is read, so memory stays
 * bounded by the largest single row, never by the partition or the file.
 *
 * Values are handed out raw (the bytes Cassandra stored) together with
 * their types, so a writer can re-serialize them byte for byte and a merge
 * can compare them; sstable_value_json() renders them as CQL values.
 *
 * Pointers returned by the iteration functions stay valid until the next
 * iteration call on the same handle.  A handle is not thread-safe; open
 * one handle per thread.  Errors are reported through strata_fail() with
 * the file name and the (uncompressed) offset of the problem.
 */
#ifndef STRATA_SSTABLE_H
#define STRATA_SSTABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/base/base.h"

typedef struct sstable sstable;

/* ---- Types ---------------------------------------------------------------
 * A parsed Cassandra AbstractType name such as
 * "org.apache.cassandra.db.marshal.MapType(UTF8Type,Int32Type)". */
typedef enum {
    SSTABLE_T_CUSTOM, /* unknown class: shown as blob */
    SSTABLE_T_ASCII,
    SSTABLE_T_TEXT,
    SSTABLE_T_INT,
    SSTABLE_T_BIGINT,
    SSTABLE_T_SMALLINT,
    SSTABLE_T_TINYINT,
    SSTABLE_T_VARINT,
    SSTABLE_T_DECIMAL,
    SSTABLE_T_FLOAT,
    SSTABLE_T_DOUBLE,
    SSTABLE_T_BOOLEAN,
    SSTABLE_T_BLOB,
    SSTABLE_T_UUID,
    SSTABLE_T_TIMEUUID,
    SSTABLE_T_TIMESTAMP,
    SSTABLE_T_DATE,
    SSTABLE_T_TIME,
    SSTABLE_T_DURATION,
    SSTABLE_T_INET,
    SSTABLE_T_COUNTER,
    SSTABLE_T_EMPTY,
    SSTABLE_T_LIST,
    SSTABLE_T_SET,
    SSTABLE_T_MAP,
    SSTABLE_T_TUPLE,
    SSTABLE_T_UDT,
    SSTABLE_T_COMPOSITE, /* multi-column partition key */
    SSTABLE_T_PARTITIONER_ORDER, /* secondary index clustering: a partition
                                    key ordered by its token; the one param
                                    names the partitioner */
} sstable_type_kind;

typedef struct sstable_type {
    sstable_type_kind kind;
    char *name;        /* Cassandra's full type string, as stored */
    int reversed;      /* wrapped in ReversedType (descending clustering) */
    int frozen;        /* wrapped in FrozenType */
    int multicell;     /* non-frozen collection or UDT: cells carry paths */
    int fixed_len;     /* serialized length when fixed, else -1 */
    size_t nparams;    /* element types: list/set 1, map 2, tuple/UDT/composite n */
    struct sstable_type **params;
    char **field_names; /* UDT only: nparams decoded field names */
    char *udt_keyspace; /* UDT only */
    char *udt_name;     /* UDT only, decoded */
} sstable_type;

/* Parses a type string; returns NULL (and records an error) on syntax it
 * cannot read.  Unknown class names become SSTABLE_T_CUSTOM. */
sstable_type *sstable_type_parse(const char *name);
void sstable_type_free(sstable_type *t);
/* The CQL spelling ("map<text, int>", "frozen<address>"); caller frees. */
char *sstable_type_cql(const sstable_type *t);

/* ---- Metadata ------------------------------------------------------------- */
typedef struct {
    char *name;
    sstable_type *type;
} sstable_column;

/* The serialization header of Statistics.db: the schema the rows were
 * written with.  Columns are in Cassandra's order (simple columns first,
 * then complex ones, each by name bytes), which is the order their cells
 * appear in a row. */
typedef struct {
    int64_t min_timestamp; /* bases of the delta-encoded row fields */
    int64_t min_local_deletion_time;
    int64_t min_ttl;
    sstable_type *key_type;
    size_t nclustering;
    sstable_type **clustering;
    size_t nstatic;
    sstable_column *statics;
    size_t nregular;
    sstable_column *regulars;
} sstable_header;

/* Everything else Statistics.db, CompressionInfo.db and the file names say;
 * fields absent in the SSTable's version are zero / NULL. */
typedef struct {
    char version[3];       /* "nb" */
    int bti;               /* 1 for the trie-indexed "bti" format */
    long generation;
    char *partitioner;     /* class name */
    double bloom_fp_chance;
    int64_t min_timestamp, max_timestamp;
    int64_t min_local_deletion_time, max_local_deletion_time;
    int32_t min_ttl, max_ttl;
    double compression_ratio;
    int32_t sstable_level;
    int64_t repaired_at;
    int64_t total_columns_set, total_rows;
    int has_legacy_counter_shards;
    int is_transient;
    int has_pending_repair;
    uint8_t pending_repair[16];
    int has_host_id;
    uint8_t host_id[16];
    size_t estimated_partitions; /* sum of the partition size histogram */
    int stats_complete;          /* 1 when the stats component decoded to its
                                    last byte; 0 when its layout differs from
                                    the version's (pre-release writers) */
    char *compressor;            /* NULL when uncompressed (CRC.db) */
    uint32_t chunk_length;
    uint64_t data_length;        /* uncompressed Data.db bytes */
    uint64_t data_file_size;     /* on-disk Data.db bytes */
    uint64_t chunk_count;
    size_t ncomponents;          /* TOC.txt entries */
    char **components;
} sstable_meta;

/* Opens an SSTable.  `path` is any component file ("…/nb-1-big-Data.db"),
 * the common prefix ("…/nb-1-big" or "…/nb-1-big-"), a directory holding
 * exactly one SSTable, or "DIR/GEN" (a directory and a generation number).
 * Reads TOC.txt, Statistics.db (checking its CRC32s from na on) and
 * CompressionInfo.db or CRC.db; Data.db is read lazily, chunk by chunk.
 * Fails with STRATA_EFORMAT for versions older than ma or unknown. */
strata_err sstable_open(const char *path, sstable **out);
void sstable_close(sstable *s);

/* Where component files are read from, for SSTables that are not plain
 * local files (the backup reads the SSTables it stored in its repository).
 * `open` returns a handle and the file's size, or NULL with errno set
 * (ENOENT when the component does not exist); `pread` behaves as pread(2).
 * Several handles may be open at once; calls come from the thread using
 * the sstable. */
typedef struct {
    void *(*open)(void *ctx, const char *path, uint64_t *size);
    ssize_t (*pread)(void *ctx, void *file, void *buf, size_t n, uint64_t off);
    void (*close)(void *ctx, void *file);
    void *ctx;
} sstable_vfs;

/* sstable_open() through `vfs` (borrowed; must outlive the handle).  `path`
 * must be a component file or the component prefix: directories cannot
 * be searched through a vfs. */
strata_err sstable_open_vfs(const char *path, const sstable_vfs *vfs, sstable **out);

/* The serialization header and the metadata read at open; borrowed, valid
 * until sstable_close(). */
const sstable_header *sstable_get_header(const sstable *s);
const sstable_meta *sstable_get_meta(const sstable *s);
/* Path of one component ("Data.db", "Index.db"...); valid until the next
 * call on the same handle. */
const char *sstable_component_path(sstable *s, const char *component);
/* True when the partitioner is Murmur3Partitioner (tokens are meaningful). */
int sstable_is_murmur3(const sstable *s);

/* ---- Data ------------------------------------------------------------------ */

/* A deletion: markedForDeleteAt (µs) and localDeletionTime (s).  Live is
 * (INT64_MIN, INT64_MAX). */
typedef struct {
    int64_t marked_for_delete_at;
    int64_t local_deletion_time;
} sstable_deletion;

/* True when d is no deletion (the live pair above). */
int sstable_deletion_is_live(const sstable_deletion *d);

/* The flags of Cassandra's UnfilteredSerializer, shared by the reader and
 * the writer: F_ in an unfiltered's first flags byte, X_ in its extended
 * flags byte, C_ in a cell's flags byte. */
enum {
    SSTABLE_F_END_OF_PARTITION = 0x01,
    SSTABLE_F_IS_MARKER = 0x02,
    SSTABLE_F_HAS_TIMESTAMP = 0x04,
    SSTABLE_F_HAS_TTL = 0x08,
    SSTABLE_F_HAS_DELETION = 0x10,
    SSTABLE_F_HAS_ALL_COLUMNS = 0x20,
    SSTABLE_F_HAS_COMPLEX_DELETION = 0x40,
    SSTABLE_F_EXTENSION = 0x80,
    SSTABLE_X_IS_STATIC = 0x01,
    SSTABLE_X_HAS_SHADOWABLE_DELETION = 0x02,
    SSTABLE_C_IS_DELETED = 0x01,
    SSTABLE_C_IS_EXPIRING = 0x02,
    SSTABLE_C_HAS_EMPTY_VALUE = 0x04,
    SSTABLE_C_USE_ROW_TIMESTAMP = 0x08,
    SSTABLE_C_USE_ROW_TTL = 0x10,
};

typedef struct {
    const uint8_t *key; /* raw partition key (CompositeType-encoded if compound) */
    size_t key_len;
    int64_t token;      /* Murmur3 token of the key */
    sstable_deletion deletion;
    uint64_t offset;    /* uncompressed Data.db offset of the partition */
} sstable_partition;

typedef enum {
    SSTABLE_ROW,
    SSTABLE_STATIC_ROW,
    SSTABLE_RT_BOUND,    /* range tombstone start or end */
    SSTABLE_RT_BOUNDARY, /* end of one range tombstone and start of the next */
} sstable_unfiltered_kind;

/* ClusteringPrefix.Kind, in Cassandra's ordinal order. */
typedef enum {
    SSTABLE_EXCL_END_BOUND = 0,
    SSTABLE_INCL_START_BOUND = 1,
    SSTABLE_EXCL_END_INCL_START_BOUNDARY = 2,
    SSTABLE_STATIC_CLUSTERING = 3,
    SSTABLE_CLUSTERING = 4,
    SSTABLE_INCL_END_EXCL_START_BOUNDARY = 5,
    SSTABLE_INCL_END_BOUND = 6,
    SSTABLE_EXCL_START_BOUND = 7,
} sstable_bound_kind;

typedef struct {
    const uint8_t *p; /* NULL when the value is null */
    size_t len;
} sstable_value;

typedef struct {
    const sstable_column *column;
    int is_static;        /* column comes from the static list */
    size_t column_index;  /* index in the header's static or regular list */
    int deleted;          /* cell tombstone */
    int expiring;         /* has a TTL */
    int64_t timestamp;
    int32_t ttl;
    int64_t local_deletion_time; /* expiry for expiring cells, deletion time
                                    for tombstones; INT64_MAX when live.
                                    Negative on an expiring cell before oa:
                                    its expiry overflowed int32 when written
                                    (CASSANDRA-14092); Cassandra treats it as
                                    expired until scrub repairs it.  Negative
                                    on a tombstone is rejected as corrupt. */
    sstable_value path;   /* cell path of a multi-cell column, else p NULL */
    sstable_value value;  /* empty (len 0, p non-NULL) for tombstones */
} sstable_cell;

typedef struct {
    size_t column_index; /* in the row's (static or regular) column list */
    sstable_deletion deletion;
} sstable_complex_deletion;

typedef struct {
    sstable_unfiltered_kind kind;
    sstable_bound_kind bound_kind;
    uint64_t offset;             /* uncompressed Data.db offset */
    const uint8_t *raw;          /* the serialized unfiltered, flags to end */
    size_t raw_len;
    size_t nclustering;
    const sstable_value *clustering;
    /* rows */
    int has_liveness;            /* primary key liveness (row marker) present */
    int64_t timestamp;
    int32_t ttl;                 /* 0 when not expiring */
    int64_t local_expiration;    /* INT64_MAX when not expiring */
    sstable_deletion row_deletion;
    int shadowable;              /* row deletion is shadowable (views) */
    size_t ncells;
    const sstable_cell *cells;
    size_t ncomplex_deletions;
    const sstable_complex_deletion *complex_deletions;
    /* range tombstone markers: for a bound, `deletion`; for a boundary,
     * `end_deletion` closes and `deletion` opens */
    sstable_deletion deletion;
    sstable_deletion end_deletion;
} sstable_unfiltered;

/* Advances to the next partition in file order, skipping what is left of
 * the current one.  *out is NULL at the end of the file. */
strata_err sstable_next_partition(sstable *s, const sstable_partition **out);

/* The next unfiltered of the current partition; *out is NULL at its end. */
strata_err sstable_next_unfiltered(sstable *s, const sstable_unfiltered **out);

/* Positions the stream at the partition with this raw key using Summary.db
 * and Index.db (a scan of Data.db for bti); *found tells whether it exists.
 * When found, the next sstable_next_partition() returns it. */
strata_err sstable_seek(sstable *s, const uint8_t *key, size_t key_len, int *found);

/* Inside the current partition, skips to the first unfiltered that sorts
 * at or after the clustering prefix c of n values taken as an inclusive
 * start (every row with that prefix is kept), so the next
 * sstable_next_unfiltered() returns it.  A wide partition's row index
 * (Index.db) lets it jump over whole blocks; only forward moves are made.
 * The static row and markers passed over are skipped, so the range
 * tombstone deletion open at the landing point is returned in *open (live
 * when none). */
strata_err sstable_skip_to(sstable *s, const sstable_value *c, size_t n, sstable_deletion *open);

/* Rewinds to the first partition. */
strata_err sstable_rewind(sstable *s);

/* Parses the Index.db entry at p (the "big" formats ma..oa) without the
 * table's schema: *entry_len its bytes, *key_len its partition key's
 * length, *position its partition's offset in an uncompressed Data.db.
 * An entry begins with the 2 + key_len bytes its partition begins with,
 * which is what the repository stores once.  Returns 0, or -1 when the
 * bytes are malformed or end before the entry does. */
int sstable_index_entry_parse(const uint8_t *p, size_t len, size_t *entry_len, size_t *key_len, uint64_t *position);

/* Reads the whole on-disk Data.db and compares its CRC32 with Digest.crc32. */
strata_err sstable_verify_digest(sstable *s);

/* Cross-checks Index.db against Data.db: every indexed key appears at its
 * recorded position, in partitioner order, and every wide partition's row
 * index is well formed.  Counts index entries and row index blocks.
 * Leaves the stream at the end of the data (sstable_rewind() to reuse). */
strata_err sstable_verify_index(sstable *s, uint64_t *partitions, uint64_t *row_index_blocks);

/* Asks Filter.db's bloom filter about a raw partition key: *may_contain is
 * 0 when the key is certainly absent, 1 when it may be present (false
 * positives at the table's bloom_filter_fp_chance). */
strata_err sstable_filter_check(sstable *s, const uint8_t *key, size_t len, int *may_contain);

/* ---- Order -------------------------------------------------------------------
 * Cassandra's orders, for merging and slicing: negative, zero or positive. */

/* Two values of type t; a null value (p NULL) sorts first, an empty one
 * before any non-empty one; ReversedType inverts the order. */
int sstable_value_compare(const sstable_type *t, const sstable_value *a, const sstable_value *b);

/* Two clustering prefixes with their kinds (rows are SSTABLE_CLUSTERING,
 * markers their bound kind), as Cassandra's ClusteringComparator does: an
 * exclusive start after its prefix sorts after every row it prefixes. */
int sstable_clustering_compare(const sstable_header *h, const sstable_value *a, size_t na, sstable_bound_kind ka,
                               const sstable_value *b, size_t nb, sstable_bound_kind kb);

/* An order-preserving summary of a clustering prefix's first value, for
 * merges that compare one prefix many times: returns 1 with *key when the
 * first column's type allows one.  Two prefixes that both have one and
 * whose keys differ order as their keys do (unsigned); equal keys say
 * nothing. */
int sstable_clustering_order_key(const sstable_header *h, const sstable_value *c, size_t n, uint64_t *key);

/* Two raw partition keys in the SSTable's partitioner order: by Murmur3
 * or RandomPartitioner (MD5) token, then bytes; by bytes for
 * order-preserving partitioners. */
int sstable_key_compare(const sstable *s, const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

/* ---- Tokens ------------------------------------------------------------------ */

/* Cassandra's Murmur3Partitioner token of a raw partition key, including
 * its sign-extension of the tail bytes. */
int64_t sstable_murmur3_token(const uint8_t *key, size_t len);

/* Cassandra's MurmurHash.hash3_x64_128 with seed; out[0] is the token word. */
void sstable_murmur3_x64_128(const uint8_t *key, size_t len, uint64_t seed, int64_t out[2]);

/* ---- Values ------------------------------------------------------------------ */

/* A raw value rendered as JSON in sstabledump's style: numbers as numbers,
 * text as strings, uuids/inet/dates as strings, blobs as "0x…",
 * collections as arrays/objects.  Malformed values become "0x…" hex. */
json_t *sstable_value_json(const sstable_type *t, const uint8_t *p, size_t len);

/* The components of a partition key: one value per key column, decoded
 * from CompositeType when compound.  Returns the count (<= max), or -1
 * when the key is malformed. */
int sstable_key_split(const sstable_type *key_type, const uint8_t *key, size_t len,
                      sstable_value *parts, size_t max);

#endif
