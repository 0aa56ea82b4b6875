/* chunk.c - the Data.db file: the uncompressed stream cut into chunks.
 *
 * Compressed (CompressedSequentialWriter): each chunk of chunk_length
 * uncompressed bytes is stored compressed and followed by the big-endian
 * CRC32 of the stored bytes; CompressionInfo.db lists the compressor, its
 * options, the chunk length, (na+) the max compressed length, the data
 * length and each chunk's file offset.  LZ4 chunks are a little-endian
 * uncompressed length and an LZ4 block from liblz4's default (fast)
 * compressor, which reproduces the chunks of every Cassandra release in
 * the corpus but the earliest 3.0 one.  Uncompressed
 * (ChecksummedSequentialWriter): Data.db is the stream itself and CRC.db
 * the chunk size and one CRC32 per 64 KiB.  Either way the CRC32 of the
 * whole file is kept for Digest.crc32, combined from the chunks' CRC32s
 * rather than computed over the bytes a second time.
 *
 * Unfiltereds are serialized straight onto the stream's tail, so their
 * bytes are copied once, into the compressed output or not at all: a
 * compressed chunk goes into the output buffer, written when it holds a
 * megabyte, and uncompressed chunks are written from the tail itself a
 * megabyte at a time. */
#include "engine/writer/writer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <snappy-c.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum { C_NONE, C_LZ4, C_SNAPPY, C_DEFLATE, C_ZSTD };

/* Uncompressed SSTables checksum Data.db in these units. */
#define CRC_CHUNK (64u * 1024)
#define OUT_BUFFER (1u << 20)

struct wr_data {
    char *path, *aux_path;
    int fd;
    int sync;   /* fsync Data.db and its checksums at the end */
    int comp;
    int na;
    int zstd_level;
    ZSTD_CCtx *zstd;     /* kept across chunks: ZSTD_compress() makes one a call */
    int trailing_empty_chunk;
    uint32_t max_compressed; /* na+: chunks that do not shrink below it are stored raw */
    const char *compressor;
    const char *const *options;
    uint32_t chunk_length;
    size_t batch;        /* tail length at which chunks are cut */
    strata_buf tail;     /* the uncompressed stream from the first byte not
                            yet cut into chunks */
    uint64_t data_length; /* uncompressed bytes cut into chunks */
    uint64_t compressed;  /* stored chunk bytes, checksums excluded */
    uint64_t file_pos;   /* on-disk bytes, buffered ones included */
    uint32_t digest;
    strata_buf out;      /* compressed on-disk bytes not yet written */
    strata_buf aux;      /* chunk offsets (compressed) or CRCs (plain) */
    uint64_t nchunks;
};

static const struct {
    const char *name;
    int comp;
} compressors[] = {
    {"LZ4Compressor", C_LZ4},
    {"SnappyCompressor", C_SNAPPY},
    {"DeflateCompressor", C_DEFLATE},
    {"ZstdCompressor", C_ZSTD},
};

static int compressor_id(const char *name) {
    const char *dot = strrchr(name, '.');
    const char *base = dot ? dot + 1 : name;
    for (size_t i = 0; i < sizeof compressors / sizeof *compressors; i++)
        if (!strcmp(base, compressors[i].name)) return compressors[i].comp;
    return -1;
}

const char *wr_compressor_name(const char *name) {
    int id = compressor_id(name);
    for (size_t i = 0; i < sizeof compressors / sizeof *compressors; i++)
        if (compressors[i].comp == id) return compressors[i].name;
    return NULL;
}

static strata_err flush_out(wr_data *d) {
    strata_err e = strata_write_all(d->fd, d->out.data, d->out.len, d->path);
    d->out.len = 0;
    return e;
}

static int zstd_level_of(const char *const *options) {
    for (size_t i = 0; options && options[i] && options[i + 1]; i += 2)
        if (!strcmp(options[i], "compression_level")) return atoi(options[i + 1]);
    return 3; /* ZstdCompressor.DEFAULT_COMPRESSION_LEVEL */
}

static size_t compress_bound(const wr_data *d, size_t n) {
    switch (d->comp) {
    case C_LZ4: return 4 + (size_t)LZ4_compressBound((int)n);
    case C_SNAPPY: return snappy_max_compressed_length(n);
    case C_DEFLATE: return compressBound((uLong)n);
    default: return ZSTD_compressBound(n);
    }
}

/* Compresses n bytes at src into dst (room for compress_bound()); *len
 * receives the compressed length. */
static strata_err compress_chunk(wr_data *d, const uint8_t *src, size_t n, uint8_t *dst, size_t bound, size_t *len) {
    switch (d->comp) {
    case C_LZ4: {
        dst[0] = (uint8_t)n, dst[1] = (uint8_t)(n >> 8), dst[2] = (uint8_t)(n >> 16), dst[3] = (uint8_t)(n >> 24);
        int r = LZ4_compress_default((const char *)src, (char *)dst + 4, (int)n, (int)(bound - 4));
        if (r <= 0) return strata_fail(STRATA_EIO, "%s: LZ4 compression failed", d->path);
        *len = 4 + (size_t)r;
        return STRATA_OK;
    }
    case C_SNAPPY: {
        size_t out = bound;
        if (snappy_compress((const char *)src, n, (char *)dst, &out) != SNAPPY_OK)
            return strata_fail(STRATA_EIO, "%s: Snappy compression failed", d->path);
        *len = out;
        return STRATA_OK;
    }
    case C_DEFLATE: {
        uLongf out = (uLongf)bound;
        if (compress2(dst, &out, src, (uLong)n, Z_DEFAULT_COMPRESSION) != Z_OK)
            return strata_fail(STRATA_EIO, "%s: Deflate compression failed", d->path);
        *len = out;
        return STRATA_OK;
    }
    default: {
        if (!d->zstd && !(d->zstd = ZSTD_createCCtx())) return strata_fail(STRATA_ENOMEM, "%s: Zstd context", d->path);
        size_t r = ZSTD_compressCCtx(d->zstd, dst, bound, src, n, d->zstd_level);
        if (ZSTD_isError(r)) return strata_fail(STRATA_EIO, "%s: Zstd: %s", d->path, ZSTD_getErrorName(r));
        *len = r;
        return STRATA_OK;
    }
    }
}

/* One plain chunk: its CRC32 in CRC.db and the digest (the bytes are
 * written from the tail by the caller). */
static void checksum_plain(wr_data *d, const uint8_t *src, size_t n) {
    uint32_t c = strata_crc32(0, src, n);
    wr_u32(&d->aux, c);
    d->digest = (uint32_t)crc32_combine(d->digest, c, (z_off_t)n);
    d->file_pos += n;
}

/* One compressed chunk onto the output buffer: the stored bytes and
 * their big-endian CRC32. */
static strata_err store_compressed(wr_data *d, const uint8_t *src, size_t n) {
    size_t bound = compress_bound(d, n);
    uint8_t *dst = wr_room(&d->out, (bound > d->chunk_length ? bound : d->chunk_length) + 4);
    size_t len = 0;
    strata_err e = compress_chunk(d, src, n, dst, bound, &len);
    if (e) return e;
    wr_u64(&d->aux, d->file_pos);
    if (d->na && len >= d->max_compressed) {
        /* stored raw; a short last chunk is padded with zeroes to the max */
        memcpy(dst, src, n);
        len = n;
        if (len < d->max_compressed && d->max_compressed <= d->chunk_length) {
            memset(dst + len, 0, d->max_compressed - len);
            len = d->max_compressed;
        }
    }
    d->compressed += len;
    uint32_t c = strata_crc32(0, dst, len);
    wr_store_be32(dst + len, c);
    d->digest = (uint32_t)crc32_combine(d->digest, c, (z_off_t)len);
    d->digest = strata_crc32(d->digest, dst + len, 4);
    d->out.len += len + 4;
    d->file_pos += len + 4;
    return d->out.len >= OUT_BUFFER ? flush_out(d) : STRATA_OK;
}

/* Cuts the tail's complete chunks, and with `last` the short one after
 * them, and keeps the rest at the tail's start. */
static strata_err cut(wr_data *d, int last) {
    size_t done = 0, len = d->tail.len;
    strata_err e = STRATA_OK;
    while (!e && done < len && (len - done >= d->chunk_length || last)) {
        size_t n = len - done < d->chunk_length ? len - done : d->chunk_length;
        if (d->comp == C_NONE) checksum_plain(d, d->tail.data + done, n);
        else e = store_compressed(d, d->tail.data + done, n);
        d->nchunks++;
        done += n;
    }
    if (!e && d->comp == C_NONE) e = strata_write_all(d->fd, d->tail.data, done, d->path);
    d->data_length += done;
    memmove(d->tail.data, d->tail.data + done, len - done);
    d->tail.len = len - done;
    return e;
}

strata_err wr_data_open(wr_data **out, const char *path, const char *aux_path, const wr_version *v,
                        const sstable_writer_params *p) {
    const char *compressor = p->compressor;
    const char *const *options = p->compression_options;
    uint32_t chunk_length = p->chunk_length ? p->chunk_length : 16384;
    int comp = C_NONE;
    if (compressor && (comp = compressor_id(compressor)) < 0)
        return strata_fail(STRATA_EFORMAT, "unsupported compressor %s", compressor);
    if (comp == C_NONE) chunk_length = CRC_CHUNK;
    if (chunk_length == 0 || (chunk_length & (chunk_length - 1)) || chunk_length > (1u << 30))
        return strata_fail(STRATA_EINVAL, "chunk length %u is not a power of two", chunk_length);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s: create", path);
    wr_data *d = xcalloc(1, sizeof *d);
    d->path = xstrdup(path);
    d->aux_path = xstrdup(aux_path);
    d->fd = fd;
    d->sync = !p->no_sync;
    d->comp = comp;
    d->na = v->na;
    d->compressor = comp == C_NONE ? NULL : wr_compressor_name(compressor);
    d->options = options;
    d->zstd_level = zstd_level_of(options);
    d->chunk_length = chunk_length;
    d->batch = comp == C_NONE ? OUT_BUFFER : chunk_length;
    d->trailing_empty_chunk = comp != C_NONE && p->trailing_empty_chunk;
    d->max_compressed = p->max_compressed_length ? p->max_compressed_length : (uint32_t)INT32_MAX;
    strata_buf_init(&d->tail);
    strata_buf_reserve(&d->tail, d->batch);
    strata_buf_init(&d->out);
    strata_buf_init(&d->aux);
    *out = d;
    return STRATA_OK;
}

strata_buf *wr_data_stream(wr_data *d) { return &d->tail; }

strata_err wr_data_commit(wr_data *d) { return d->tail.len >= d->batch ? cut(d, 0) : STRATA_OK; }

uint64_t wr_data_position(const wr_data *d) { return d->data_length + d->tail.len; }

static strata_err write_aux(wr_data *d, uint32_t *crc) {
    strata_buf b;
    strata_buf_init(&b);
    if (d->comp == C_NONE) {
        wr_u32(&b, CRC_CHUNK);
    } else {
        wr_utf(&b, d->compressor);
        size_t nopt = 0;
        while (d->options && d->options[nopt] && d->options[nopt + 1]) nopt += 2;
        wr_u32(&b, (uint32_t)(nopt / 2));
        for (size_t i = 0; i < nopt; i += 2) {
            wr_utf(&b, d->options[i]);
            wr_utf(&b, d->options[i + 1]);
        }
        wr_u32(&b, d->chunk_length);
        if (d->na) wr_u32(&b, d->max_compressed);
        wr_u64(&b, d->data_length);
        wr_u32(&b, (uint32_t)d->nchunks);
    }
    strata_buf_put(&b, d->aux.data, d->aux.len);
    strata_err e = wr_write_file(d->aux_path, b.data, b.len, d->sync, crc);
    strata_buf_free(&b);
    return e;
}

strata_err wr_data_finish(wr_data *d, uint32_t *digest, uint64_t *compressed, uint32_t *aux_crc) {
    strata_err e = cut(d, 1);
    if (!e && d->trailing_empty_chunk) {
        e = store_compressed(d, d->tail.data, 0);
        d->nchunks++;
    }
    if (!e) e = flush_out(d);
    if (!e && d->sync && fsync(d->fd) != 0) e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s: fsync", d->path);
    if (!e) e = write_aux(d, aux_crc);
    *digest = d->digest;
    *compressed = d->compressed;
    return e;
}

void wr_data_free(wr_data *d) {
    if (!d) return;
    if (d->fd >= 0) close(d->fd);
    free(d->path);
    free(d->aux_path);
    ZSTD_freeCCtx(d->zstd);
    strata_buf_free(&d->tail);
    strata_buf_free(&d->out);
    strata_buf_free(&d->aux);
    free(d);
}
