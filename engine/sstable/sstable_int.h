/* sstable_int.h - what the files of the SSTable reader share: the open
 * handle, version feature flags, the big-endian cursor Cassandra's
 * encodings need, and the chunked Data.db window. */
#ifndef STRATA_SSTABLE_INT_H
#define STRATA_SSTABLE_INT_H

#include "engine/sstable/sstable.h"

#include <string.h>

/* Largest single unfiltered (row or marker) the reader holds in memory. */
#define SST_MAX_UNFILTERED (256u << 20)
/* Largest metadata component read whole (Statistics, CompressionInfo...). */
#define SST_MAX_COMPONENT (512u << 20)

/* Feature flags of a format version, after BigFormat's version notes. */
typedef struct {
    int commitlog_lower_bound; /* mb+ */
    int commitlog_intervals;   /* mc+ */
    int accurate_min_max;      /* md+ */
    int host_id;               /* me, nb+ */
    int max_compressed_length; /* na+ */
    int pending_repair;        /* na+ */
    int is_transient;          /* na+ */
    int metadata_checksum;     /* na+ */
    int old_bf_format;         /* before na */
    int uint_deletion_time;    /* oa+: new DeletionTime layout, unsigned ldt */
    int legacy_min_max;        /* before oa */
    int improved_min_max;      /* oa+ */
    int partition_deletion_marker; /* oa+ */
    int key_range;             /* oa+ */
    int token_space_coverage;  /* oa+ */
} sst_version;

/* Fills *v for "ma".."oa" ("big") or "da" ("bti"); -1 for anything else. */
int sst_version_parse(const char *ver, int bti, sst_version *v);

/* ---- Big-endian cursor ----------------------------------------------------
 * Like strata_reader, but for Cassandra's big-endian and VInt encodings:
 * a short read latches `failed` and later reads return zero. */
typedef struct {
    const uint8_t *p;
    const uint8_t *start;
    const uint8_t *end;
    int failed;
} sst_cur;

static inline void sst_cur_init(sst_cur *c, const uint8_t *p, size_t n) {
    c->p = c->start = p;
    c->end = p ? p + n : p; /* an absent component reads as empty */
    c->failed = 0;
}

static inline size_t sst_cur_left(const sst_cur *c) { return (size_t)(c->end - c->p); }
static inline size_t sst_cur_pos(const sst_cur *c) { return (size_t)(c->p - c->start); }

static inline const uint8_t *sst_take(sst_cur *c, size_t n) {
    if (c->failed || (size_t)(c->end - c->p) < n) {
        c->failed = 1;
        return NULL;
    }
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}

/* n (1 to 8) big-endian bytes.  Away from the end of the window, one
 * unaligned 8-byte load and a byte swap instead of a loop of n dependent
 * shifts: every varint longer than a byte of every cell comes through here. */
static inline uint64_t sst_be(sst_cur *c, int n) {
    const uint8_t *b = sst_take(c, (size_t)n);
    uint64_t v = 0;
    if (!b) return 0;
    if (c->end - b >= 8) {
        memcpy(&v, b, 8);
        v = __builtin_bswap64(v);
        return n == 8 ? v : v >> (64 - 8 * n);
    }
    for (int i = 0; i < n; i++) v = (v << 8) | b[i];
    return v;
}

static inline uint8_t sst_u8(sst_cur *c) {
    if (c->failed || c->p >= c->end) {
        c->failed = 1;
        return 0;
    }
    return *c->p++;
}
static inline uint16_t sst_u16(sst_cur *c) { return (uint16_t)sst_be(c, 2); }
static inline uint32_t sst_u32(sst_cur *c) { return (uint32_t)sst_be(c, 4); }
static inline uint64_t sst_u64(sst_cur *c) { return sst_be(c, 8); }

/* Cassandra's unsigned VInt: the count of leading one bits of the first
 * byte is the number of extra bytes, big-endian. */
static inline uint64_t sst_uvint(sst_cur *c) {
    if (c->failed || c->p >= c->end) {
        c->failed = 1;
        return 0;
    }
    uint8_t first = *c->p++;
    if (first < 0x80) return first;
    /* the sentinel bit caps the count at 8 for a first byte of 0xff */
    int extra = __builtin_clz(((~(uint32_t)first & 0xffu) << 24) | 0x800000u);
    if (extra == 8) return sst_be(c, 8);
    uint64_t v = first & (0xffu >> extra);
    return (v << (8 * extra)) | sst_be(c, extra);
}

static inline int64_t sst_svint(sst_cur *c) {
    uint64_t u = sst_uvint(c);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* ---- Component files (file.c) ----------------------------------------------
 * One component opened through an sstable_vfs (NULL: the local file system). */
typedef struct {
    const sstable_vfs *vfs;
    void *h;          /* the vfs's handle; NULL when closed */
    const char *path; /* borrowed, for messages */
    uint64_t size;
} sst_file;

const sstable_vfs *sst_vfs_or_local(const sstable_vfs *vfs);
strata_err sst_file_open(const sstable_vfs *vfs, const char *path, sst_file *f);
/* Reads exactly n bytes at off: STRATA_ECORRUPT when the file ends first. */
strata_err sst_file_read(sst_file *f, void *buf, size_t n, uint64_t off);
void sst_file_close(sst_file *f);
int sst_file_exists(const sstable_vfs *vfs, const char *path);
/* Reads a whole small file (bounded by SST_MAX_COMPONENT). */
strata_err sst_read_file(const sstable_vfs *vfs, const char *path, uint8_t **out, size_t *len);

/* ---- Statistics.db -------------------------------------------------------- */
strata_err sst_stats_read(const sstable_vfs *vfs, const char *path, const sst_version *v, sstable_meta *m,
                          sstable_header *h);
void sst_header_free(sstable_header *h);

/* ---- Data.db access ---------------------------------------------------------
 * The uncompressed content of Data.db is read chunk by chunk into a window:
 * [win_pos, win_pos + win_len) of the uncompressed stream.  Decoders work on
 * the window and ask for more when an item crosses its end. */
typedef struct {
    const char *path;
    sst_file file;
    uint64_t file_size;
    uint64_t data_length;     /* uncompressed */
    int compressor;           /* SST_COMP_* */
    uint32_t chunk_length;
    uint32_t max_compressed;  /* na+: chunks this large or larger are stored raw */
    uint64_t nchunks;
    uint64_t *offsets;        /* compressed: chunk start offsets */
    uint32_t *crcs;           /* uncompressed: CRC.db checksums */
    uint64_t next_chunk;
    uint8_t *win;
    size_t win_cap, win_len, cur; /* cur: read position inside win */
    uint64_t win_pos;
    uint8_t *cbuf;            /* compressed: stored chunks [run_first, run_end) */
    size_t cbuf_cap;
    uint64_t run_first, run_end;
    uint64_t run_next;        /* chunks the next sequential read asks for */
} sst_data;

enum { SST_COMP_NONE, SST_COMP_LZ4, SST_COMP_SNAPPY, SST_COMP_DEFLATE, SST_COMP_ZSTD };

/* Reads CompressionInfo.db (when `cinfo` is non-NULL) or CRC.db and opens
 * Data.db; fills the compression fields of *m. */
strata_err sst_data_open(sst_data *d, const sstable_vfs *vfs, const char *data_path, const char *cinfo,
                         const char *crc_path, const sst_version *v, sstable_meta *m);
void sst_data_close(sst_data *d);
/* Moves the read position to uncompressed offset `pos`. */
strata_err sst_data_seek(sst_data *d, uint64_t pos);
/* Makes at least `want` bytes available after the read position (fewer
 * only at the end of the data).  Returns the bytes available. */
strata_err sst_data_fill(sst_data *d, size_t want, size_t *avail);
static inline uint64_t sst_data_tell(const sst_data *d) { return d->win_pos + d->cur; }

/* ---- The handle -------------------------------------------------------------- */
typedef struct {
    sstable_value *clustering;
    size_t clustering_cap;
    sstable_cell *cells;
    size_t cells_cap;
    sstable_complex_deletion *cdel;
    size_t cdel_cap;
} sst_scratch;

#define SST_LAYOUT_MULTICELL (-2)

struct sstable {
    const sstable_vfs *vfs; /* where the component files are read */
    char *prefix;      /* path up to and including "<ver>-<gen>-<big|bti>-" */
    char *comp_path;   /* last sstable_component_path() result */
    sst_version v;
    sstable_meta meta;
    sstable_header header;
    /* Per header column, what decoding its cells needs of its type: the
     * fixed value length, -1 when variable, SST_LAYOUT_MULTICELL for cells
     * with paths.  [0] regulars, [1] statics.  One load per column where
     * the column, its type and the type's fields would be three. */
    int32_t *column_layout[2];
    int murmur3;
    int random;        /* RandomPartitioner: keys in MD5 token order */
    sst_data data;
    /* stream state */
    int in_partition;  /* between a partition header and its end marker */
    int replay;        /* sstable_skip_to() stopped on `unf`: return it next */
    int at_end;
    uint64_t prev_unfiltered_size;
    sstable_partition part;
    uint8_t *key_copy;
    size_t key_cap;
    sstable_unfiltered unf;
    sst_scratch scratch;
    char *index_path;       /* Index.db, opened on first use (index.c) */
    sst_file index_file;
    struct sst_seek_state *seek; /* where the last sstable_seek() left Index.db (index.c) */
    uint8_t *summary;       /* Summary.db, loaded on first seek */
    size_t summary_len;
    int summary_loaded;
    uint8_t *filter;        /* Filter.db, loaded on first use */
    uint32_t filter_hashes;
    uint64_t filter_bits;
};

/* Reads the component `name` ("Index.db") whole; *path receives its newly
 * allocated path, on failure too, for messages. */
strata_err sst_read_component(const sstable *s, const char *name, char **path, uint8_t **buf, size_t *len);

/* Positions the stream at uncompressed offset `pos`, a partition start. */
strata_err sst_position(sstable *s, uint64_t pos);

/* Frees what sstable_seek() keeps between lookups (index.c). */
void sst_seek_state_free(sstable *s);

/* Decodes one DeletionTime in the version's layout; 0 on success. */
int sst_read_deletion(sst_cur *c, const sst_version *v, sstable_deletion *d);

/* Data.db stream operations (partition.c). */
strata_err sst_stream_next_partition(sstable *s);
strata_err sst_stream_next_unfiltered(sstable *s, int *end);

/* Decodes a clustering prefix of `n` values with the clustering types
 * (ClusteringPrefix value encoding); 0 on success, -1 when malformed. */
int sst_read_clustering_values(sst_cur *c, sstable_type *const *types, size_t ntypes,
                               size_t n, sstable_value *out);

#endif
