/* writer_int.h - what the files of the SSTable writer share: Cassandra's
 * big-endian and VInt encodings onto strata_buf, the version features that
 * change bytes, and the component writers (Data.db stream, row index,
 * summary, bloom filter, statistics). */
#ifndef STRATA_WRITER_INT_H
#define STRATA_WRITER_INT_H

#include <string.h>

#include "engine/writer/writer.h"

/* ---- Encodings --------------------------------------------------------------
 * Rows are written a value at a time and this is the writer's innermost
 * loop, so values are stored through a pointer into room reserved ahead
 * rather than appended byte by byte.  A store is a plain unaligned write;
 * a VInt's may write up to 9 bytes whatever its length (its room), the
 * bytes past its end being overwritten by what follows. */

/* The end of b, with room for n bytes. */
static inline uint8_t *wr_room(strata_buf *b, size_t n) {
    if (b->cap - b->len < n) strata_buf_reserve(b, n);
    return b->data + b->len;
}
/* Room for n more bytes at p, a position inside b's data past its length;
 * returns p, moved if the buffer grew. */
static inline uint8_t *wr_more(strata_buf *b, uint8_t *p, size_t n) {
    size_t at = (size_t)(p - b->data);
    if (b->cap - at >= n) return p;
    b->len = at;
    strata_buf_reserve(b, n);
    return b->data + at;
}
/* b now ends at p. */
static inline void wr_end(strata_buf *b, uint8_t *p) { b->len = (size_t)(p - b->data); }

static inline uint8_t *wr_store_be16(uint8_t *p, uint16_t v) {
    v = __builtin_bswap16(v);
    memcpy(p, &v, 2);
    return p + 2;
}
static inline uint8_t *wr_store_be32(uint8_t *p, uint32_t v) {
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
    return p + 4;
}
static inline uint8_t *wr_store_be64(uint8_t *p, uint64_t v) {
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
    return p + 8;
}
/* Values are mostly a few bytes long, for which a call to memcpy costs
 * more than the copy. */
static inline uint8_t *wr_store_bytes(uint8_t *p, const void *src, size_t n) {
    const uint8_t *s = src;
    if (n > 16) {
        memcpy(p, s, n);
    } else if (n >= 8) {
        uint64_t a, z;
        memcpy(&a, s, 8), memcpy(&z, s + n - 8, 8);
        memcpy(p, &a, 8), memcpy(p + n - 8, &z, 8);
    } else if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, s, 4), memcpy(&z, s + n - 4, 4);
        memcpy(p, &a, 4), memcpy(p + n - 4, &z, 4);
    } else {
        for (size_t i = 0; i < n; i++) p[i] = s[i];
    }
    return p + n;
}

/* Cassandra's unsigned VInt: the first byte's leading one bits count the
 * extra bytes; nine bytes (0xff + 8) for values above 56 bits. */
static inline int wr_uvint_size(uint64_t v) { return (639 - __builtin_clzll(v | 1) * 9) >> 6; }
static inline uint8_t *wr_store_uvint(uint8_t *p, uint64_t v) {
    if (v < 0x80) {
        *p = (uint8_t)v;
        return p + 1;
    }
    int size = wr_uvint_size(v);
    if (size == 9) {
        *p = 0xff;
        return wr_store_be64(p + 1, v);
    }
    uint64_t marker = (uint64_t)(uint8_t)~(0xffu >> (size - 1)) << 56;
    wr_store_be64(p, (v << (64 - 8 * size)) | marker);
    return p + size;
}
/* A VInt in exactly its size, for a slot between bytes already written. */
static inline void wr_store_uvint_exact(uint8_t *p, uint64_t v, int size) {
    if (size == 9) {
        *p = 0xff;
        wr_store_be64(p + 1, v);
        return;
    }
    for (int i = size - 1; i > 0; i--, v >>= 8) p[i] = (uint8_t)v;
    p[0] = (uint8_t)v | (uint8_t)~(0xffu >> (size - 1));
}

static inline void wr_u8(strata_buf *b, uint8_t v) {
    *wr_room(b, 1) = v;
    b->len++;
}
static inline void wr_u16(strata_buf *b, uint16_t v) { wr_end(b, wr_store_be16(wr_room(b, 2), v)); }
static inline void wr_u32(strata_buf *b, uint32_t v) { wr_end(b, wr_store_be32(wr_room(b, 4), v)); }
static inline void wr_u64(strata_buf *b, uint64_t v) { wr_end(b, wr_store_be64(wr_room(b, 8), v)); }
static inline void wr_uvint(strata_buf *b, uint64_t v) { wr_end(b, wr_store_uvint(wr_room(b, 9), v)); }
static inline void wr_svint(strata_buf *b, int64_t v) { wr_uvint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }
/* Java's writeUTF for ASCII text: u16 length + bytes. */
static inline void wr_utf(strata_buf *b, const char *s) {
    size_t n = strlen(s);
    wr_u16(b, (uint16_t)n);
    strata_buf_put(b, s, n);
}

/* DeletionTime.isLive(): no markedForDeleteAt and no deletion time, which
 * the reader spells INT64_MAX for partitions and as stored inside rows
 * (Integer.MAX_VALUE, 0xffffffff from oa). */
static inline int wr_deletion_is_live(const sstable_deletion *d) {
    return d->marked_for_delete_at == INT64_MIN &&
           (d->local_deletion_time == INT64_MAX || d->local_deletion_time == INT32_MAX ||
            d->local_deletion_time == (int64_t)UINT32_MAX);
}

/* ---- Versions (version.c) ----------------------------------------------------- */
typedef struct {
    char name[3];
    int oa;               /* 5.0 deletion time layout, stats additions */
    int na;               /* 4.0: max compressed length, new bloom layout,
                             checksummed metadata, pending repair */
    int host_id;          /* me, nb, oa */
    int commitlog_lower;  /* mb+: stats hold the commit log lower bound */
    int commitlog_intervals; /* mc+: and the covered intervals */
    int per_column_min_max;  /* before md: min/max clustering per column */
} wr_version;

/* 0 and *v filled for oa, nb, na, me, md, mc, mb, ma; -1 otherwise. */
int wr_version_parse(const char *name, wr_version *v);

/* ---- Data.db serialization (data.c) ------------------------------------------ */
typedef struct {
    const sstable_header *h;
    int oa;
    int size_len; /* VInt length of the last row's size: the room left for
                     the next one's before its body is written */
    uint8_t *column_kinds[2]; /* WR_COL_* of the static and regular columns */
} wr_serializer;

/* What a column's type means for its cells, looked up once per column
 * rather than through every cell's column and type. */
enum {
    WR_COL_COMPLEX = 1, /* multi-cell: cells carry paths */
    WR_COL_SIZED = 2,   /* values carry their length */
};

void wr_serializer_init(wr_serializer *s, const sstable_header *h, int oa);
void wr_serializer_free(wr_serializer *s);

/* DeletionTime as the partition header and row index store it. */
void wr_put_deletion(strata_buf *b, int oa, const sstable_deletion *d);
void wr_put_partition_header(wr_serializer *s, strata_buf *b, const uint8_t *key, size_t len,
                             const sstable_deletion *d);
/* Appends one unfiltered with its previous-unfiltered size; returns -1
 * (with strata_fail, nothing appended) when the item contradicts the
 * header. */
int wr_put_unfiltered(wr_serializer *s, strata_buf *b, const sstable_unfiltered *u, uint64_t prev_size);
/* ClusteringPrefix as IndexInfo stores it: kind, u16 count for bounds, values. */
void wr_put_clustering_prefix(const sstable_header *h, strata_buf *b, sstable_bound_kind kind,
                              const sstable_value *v, size_t n);

/* ---- Kept clusterings (clustering.c) ------------------------------------------ */
/* A clustering copied out of an unfiltered (zeroed: none yet). */
typedef struct {
    sstable_bound_kind kind;
    size_t n, cap;
    sstable_value *vals;
    strata_buf bytes;
} wr_clustering;
void wr_clustering_keep(wr_clustering *c, sstable_bound_kind kind, const sstable_value *v, size_t n);
/* A row's clustering (kind CLUSTERING) or a marker's bound. */
void wr_clustering_keep_unfiltered(wr_clustering *c, const sstable_unfiltered *u);
void wr_clustering_free(wr_clustering *c);

/* ---- Checksums (crc.c) ---------------------------------------------------------- */

/* ---- Data.db file (chunk.c) -------------------------------------------------- */
typedef struct wr_data wr_data;

/* Opens the data stream writing `path` (and `aux_path`: CompressionInfo.db
 * when compressed, CRC.db when not). */
strata_err wr_data_open(wr_data **out, const char *path, const char *aux_path, const wr_version *v,
                        const sstable_writer_params *p);
/* The uncompressed stream's tail, not yet cut into chunks: unfiltereds are
 * serialized straight onto it, then wr_data_commit() cuts what fills
 * chunks. */
strata_buf *wr_data_stream(wr_data *d);
strata_err wr_data_commit(wr_data *d);
uint64_t wr_data_position(const wr_data *d); /* uncompressed, committed or not */
/* Flushes the last chunk, writes the auxiliary component, syncs both;
 * *digest is the CRC32 of the on-disk Data.db, *compressed the sum of the
 * stored chunk lengths (checksums excluded; 0 when uncompressed), *aux_crc
 * the CRC32 of the CompressionInfo.db or CRC.db written. */
strata_err wr_data_finish(wr_data *d, uint32_t *digest, uint64_t *compressed, uint32_t *aux_crc);
void wr_data_free(wr_data *d);
/* Canonical class name of a compressor ("LZ4Compressor"), NULL if unknown. */
const char *wr_compressor_name(const char *name);

/* ---- Bloom filter (filter.c) ------------------------------------------------- */
typedef struct wr_filter wr_filter;
wr_filter *wr_filter_new(uint64_t expected_keys, double fp_chance);
/* Adds a key by its Murmur3 x64_128 hash (seed 0). */
void wr_filter_add(wr_filter *f, const int64_t hash[2]);
/* Filter.db bytes in the version's layout. */
void wr_filter_serialize(const wr_filter *f, int old_layout, strata_buf *out);
void wr_filter_free(wr_filter *f);

/* ---- Summary.db (summary.c) -------------------------------------------------- */
typedef struct wr_summary wr_summary;
wr_summary *wr_summary_new(int min_index_interval);
void wr_summary_add(wr_summary *s, const uint8_t *key, size_t len, uint64_t index_position);
/* `first` and `last`: the SSTable's first and last partition keys. */
void wr_summary_serialize(const wr_summary *s, const strata_buf *first, const strata_buf *last, strata_buf *out);
void wr_summary_free(wr_summary *s);

/* ---- Statistics.db (stats.c, hll.c, tombhist.c) ---------------------------------- */
typedef struct wr_stats wr_stats;
wr_stats *wr_stats_new(const sstable_writer_params *p, const wr_version *v);
void wr_stats_partition(wr_stats *s, const uint8_t *key, size_t len, const sstable_deletion *d);
void wr_stats_unfiltered(wr_stats *s, const sstable_unfiltered *u);
/* `size`: the partition's Data.db bytes, header to end marker; `last`: the
 * clustering of its last row or marker, if it had any. */
void wr_stats_end_partition(wr_stats *s, uint64_t size, const wr_clustering *last);
/* `ratio`: compressed / uncompressed bytes, -1 when uncompressed. */
void wr_stats_serialize(wr_stats *s, const sstable_writer_params *p, double ratio, const strata_buf *first_key,
                        const strata_buf *last_key, strata_buf *out);
void wr_stats_free(wr_stats *s);

typedef struct wr_hll wr_hll;
wr_hll *wr_hll_new(void);
void wr_hll_offer(wr_hll *h, const uint8_t *key, size_t len);
void wr_hll_serialize(wr_hll *h, strata_buf *out);
void wr_hll_free(wr_hll *h);

typedef struct wr_tombhist wr_tombhist;
/* `exact`: the early 3.0 histogram, which keeps times unrounded and counts
 * Integer.MAX_VALUE ("no deletion") too. */
wr_tombhist *wr_tombhist_new(int exact);
/* One local deletion or expiry time (Integer.MAX_VALUE: none). */
void wr_tombhist_update(wr_tombhist *t, int32_t local_deletion_time);
/* Flushes and serializes: max bin count (100 before na, else the bin
 * count), bin count, then (double, long) bins, (int, int) for oa. */
void wr_tombhist_serialize(wr_tombhist *t, const wr_version *v, strata_buf *out);
void wr_tombhist_free(wr_tombhist *t);

/* Writes a whole file, and syncs it when `sync`; *crc receives the CRC32
 * of its bytes. */
strata_err wr_write_file(const char *path, const void *p, size_t n, int sync, uint32_t *crc);

/* ---- Row index of one partition (rowindex.c) ------------------------------------ */
typedef struct wr_rowindex wr_rowindex;
wr_rowindex *wr_rowindex_new(const sstable_header *h, int oa, uint32_t block_size);
/* Partition start: its deletion and position. */
void wr_rowindex_begin(wr_rowindex *r, uint64_t start, const sstable_deletion *d);
/* After the partition header (and static row): its length. */
void wr_rowindex_header_done(wr_rowindex *r, uint64_t pos);
/* Before serializing an unfiltered: returns its previous-unfiltered size. */
uint64_t wr_rowindex_before(wr_rowindex *r, uint64_t pos, const sstable_unfiltered *u);
/* After serializing it, with the position after it. */
void wr_rowindex_after(wr_rowindex *r, uint64_t pos, const sstable_unfiltered *u);
/* After the end-of-partition byte: appends the Index.db entry; `last` is
 * the clustering of the partition's last row or marker, if it had any. */
void wr_rowindex_finish(wr_rowindex *r, uint64_t pos, const wr_clustering *last, const uint8_t *key, size_t len,
                        strata_buf *index);
void wr_rowindex_free(wr_rowindex *r);

#endif
