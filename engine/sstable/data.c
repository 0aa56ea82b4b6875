/* data.c - the uncompressed byte stream of Data.db, one chunk at a time.
 *
 * A compressed Data.db is a sequence of independently compressed chunks,
 * each followed by the CRC32 of its stored bytes; CompressionInfo.db names
 * the compressor and lists every chunk's file offset.  An uncompressed
 * Data.db is checksummed the same way by CRC.db (a chunk size, then one
 * CRC32 per chunk).  Either way the reader keeps a window of decompressed
 * bytes around the read position, loads and verifies the next chunk only
 * when a decoder runs past the window's end, and never holds more than the
 * item being decoded plus one chunk.  Compressed chunks read one after
 * another are fetched several per read, up to READ_AHEAD stored bytes: a
 * read costs a system call locally and a round trip to a repository, and
 * a run of small chunks is what a scan asks for; after a seek the run
 * starts again at one chunk, so a point lookup reads no more than it
 * needs. */
#include "engine/sstable/sstable_int.h"

#include <errno.h>
#include <lz4.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* Largest chunk Cassandra accepts (chunk_length_in_kb is at most 2 GiB but
 * anything past a few MiB is corrupt in practice). */
#define MAX_CHUNK (64u << 20)
/* Uncompressed Data.db without CRC.db is read in blocks of this size. */
#define PLAIN_BLOCK (64u << 10)
/* Most stored bytes of compressed chunks one sequential read fetches. */
#define READ_AHEAD (128u << 10)

static int compressor_id(const char *name) {
    const char *dot = strrchr(name, '.');
    const char *cls = dot ? dot + 1 : name;
    if (!strcmp(cls, "LZ4Compressor")) return SST_COMP_LZ4;
    if (!strcmp(cls, "SnappyCompressor")) return SST_COMP_SNAPPY;
    if (!strcmp(cls, "DeflateCompressor")) return SST_COMP_DEFLATE;
    if (!strcmp(cls, "ZstdCompressor")) return SST_COMP_ZSTD;
    if (!strcmp(cls, "NoopCompressor")) return SST_COMP_NONE;
    return -1;
}

static strata_err read_compression_info(sst_data *d, const char *path, const sst_version *v,
                                        sstable_meta *m) {
    uint8_t *buf;
    size_t len;
    strata_err e = sst_read_file(d->file.vfs, path, &buf, &len);
    if (e) return e;
    sst_cur c;
    sst_cur_init(&c, buf, len);
    uint16_t nlen = sst_u16(&c);
    const uint8_t *name = sst_take(&c, nlen);
    if (name) m->compressor = xstrndup((const char *)name, nlen);
    uint32_t nopts = sst_u32(&c);
    for (uint32_t i = 0; i < nopts * 2 && !c.failed; i++) sst_take(&c, sst_u16(&c));
    d->chunk_length = sst_u32(&c);
    d->max_compressed = v->max_compressed_length ? sst_u32(&c) : UINT32_MAX;
    d->data_length = sst_u64(&c);
    uint64_t declared = sst_u32(&c);
    if (!c.failed && declared * 8 != sst_cur_left(&c)) c.failed = 1;
    strata_err err = STRATA_OK;
    if (c.failed || !m->compressor) {
        err = strata_fail(STRATA_ECORRUPT, "%s: offset %zu: malformed compression info", path, sst_cur_pos(&c));
    } else if ((d->compressor = compressor_id(m->compressor)) < 0) {
        err = strata_fail(STRATA_EFORMAT, "%s: unsupported compressor %s", path, m->compressor);
    } else if (d->chunk_length == 0 || d->chunk_length > MAX_CHUNK ||
               (d->chunk_length & (d->chunk_length - 1)) ||
               (d->nchunks = (d->data_length + d->chunk_length - 1) / d->chunk_length) > declared ||
               declared > d->nchunks + 1) {
        /* a writer may leave one trailing empty chunk */
        err = strata_fail(STRATA_ECORRUPT, "%s: chunk length %u and %llu chunks do not fit %llu data bytes",
                          path, d->chunk_length, (unsigned long long)declared,
                          (unsigned long long)d->data_length);
    } else {
        d->offsets = xmalloc((declared + 1) * sizeof *d->offsets);
        for (uint64_t i = 0; i < declared; i++) {
            d->offsets[i] = sst_u64(&c);
            if (i && d->offsets[i] < d->offsets[i - 1] + 4) {
                err = strata_fail(STRATA_ECORRUPT, "%s: offset %zu: chunk %llu offset %llu out of order",
                                  path, sst_cur_pos(&c) - 8, (unsigned long long)i,
                                  (unsigned long long)d->offsets[i]);
                break;
            }
            if (d->offsets[i] > d->file_size) {
                err = strata_fail(STRATA_ECORRUPT,
                                  "%s: truncated: chunk %llu starts at offset %llu, past its %llu bytes", d->path,
                                  (unsigned long long)i, (unsigned long long)d->offsets[i],
                                  (unsigned long long)d->file_size);
                break;
            }
        }
        d->offsets[declared] = d->file_size;
        if (!err && declared && d->file_size < d->offsets[declared - 1] + 4)
            err = strata_fail(STRATA_ECORRUPT, "%s: truncated: last chunk ends past the file", d->path);
    }
    free(buf);
    m->chunk_length = d->chunk_length;
    m->chunk_count = d->nchunks;
    return err;
}

static strata_err read_crc_file(sst_data *d, const char *path) {
    uint8_t *buf;
    size_t len;
    strata_err e = sst_read_file(d->file.vfs, path, &buf, &len);
    if (e) return e;
    sst_cur c;
    sst_cur_init(&c, buf, len);
    d->chunk_length = sst_u32(&c);
    d->nchunks = d->chunk_length ? (d->file_size + d->chunk_length - 1) / d->chunk_length : 0;
    if (c.failed || d->chunk_length == 0 || d->chunk_length > MAX_CHUNK ||
        sst_cur_left(&c) != d->nchunks * 4) {
        free(buf);
        return strata_fail(STRATA_ECORRUPT, "%s: checksum count does not match Data.db size %llu",
                           path, (unsigned long long)d->file_size);
    }
    d->crcs = xmalloc((d->nchunks ? d->nchunks : 1) * sizeof *d->crcs);
    for (uint64_t i = 0; i < d->nchunks; i++) d->crcs[i] = sst_u32(&c);
    free(buf);
    return STRATA_OK;
}

strata_err sst_data_open(sst_data *d, const sstable_vfs *vfs, const char *data_path, const char *cinfo,
                         const char *crc_path, const sst_version *v, sstable_meta *m) {
    memset(d, 0, sizeof *d);
    d->path = data_path;
    strata_err e = sst_file_open(vfs, data_path, &d->file);
    if (e) return e;
    d->file_size = d->file.size;
    m->data_file_size = d->file_size;
    if (cinfo) {
        e = read_compression_info(d, cinfo, v, m);
    } else {
        d->compressor = SST_COMP_NONE;
        d->data_length = d->file_size;
        if (crc_path) {
            e = read_crc_file(d, crc_path);
        } else {
            d->chunk_length = PLAIN_BLOCK;
            d->nchunks = (d->file_size + PLAIN_BLOCK - 1) / PLAIN_BLOCK;
            e = STRATA_OK;
        }
        m->chunk_length = d->chunk_length;
        m->chunk_count = d->nchunks;
    }
    m->data_length = d->data_length;
    return e;
}

void sst_data_close(sst_data *d) {
    sst_file_close(&d->file);
    free(d->offsets);
    free(d->crcs);
    free(d->win);
    free(d->cbuf);
    memset(d, 0, sizeof *d);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int inflate_chunk(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, size_t *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) return -1;
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    int r = inflate(&z, Z_FINISH);
    *out = z.total_out;
    inflateEnd(&z);
    return r == Z_STREAM_END ? 0 : -1;
}

/* Decompresses `n` stored bytes into dst (room for `expect` bytes); returns
 * the decompressed length or -1. */
static long decompress(int comp, const uint8_t *src, size_t n, uint8_t *dst, size_t expect) {
    size_t out = 0;
    switch (comp) {
    case SST_COMP_LZ4: {
        if (n < 4) return -1;
        uint32_t declared = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 |
                            (uint32_t)src[3] << 24;
        if (declared != expect) return -1;
        int r = LZ4_decompress_safe((const char *)src + 4, (char *)dst, (int)(n - 4), (int)expect);
        return r < 0 ? -1 : r;
    }
    case SST_COMP_SNAPPY: {
        size_t ulen;
        if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK || ulen != expect)
            return -1;
        out = expect;
        return snappy_uncompress((const char *)src, n, (char *)dst, &out) == SNAPPY_OK ? (long)out : -1;
    }
    case SST_COMP_DEFLATE:
        return inflate_chunk(src, n, dst, expect, &out) == 0 ? (long)out : -1;
    case SST_COMP_ZSTD: {
        size_t r = ZSTD_decompress(dst, expect, src, n);
        return ZSTD_isError(r) ? -1 : (long)r;
    }
    default:
        if (n > expect) return -1;
        memcpy(dst, src, n);
        return (long)n;
    }
}

/* Reads the stored bytes of a run of compressed chunks starting at `i`
 * into cbuf: one chunk after a seek, then twice as many each time the
 * stream goes on from where the run ended, up to READ_AHEAD bytes (always
 * at least the one chunk).  load_chunk() checks each chunk's length. */
static strata_err read_run(sst_data *d, uint64_t i) {
    d->run_next = i == d->run_end && d->run_end ? d->run_next * 2 : 1;
    uint64_t end = i + 1;
    while (end < d->nchunks && end - i < d->run_next && d->offsets[end + 1] - d->offsets[i] <= READ_AHEAD) end++;
    d->run_next = end - i;
    size_t n = (size_t)(d->offsets[end] - d->offsets[i]);
    if (d->cbuf_cap < n) {
        d->cbuf_cap = n;
        d->cbuf = xrealloc(d->cbuf, d->cbuf_cap);
    }
    d->run_first = d->run_end = 0;
    strata_err e = sst_file_read(&d->file, d->cbuf, n, d->offsets[i]);
    if (e) return e;
    d->run_first = i;
    d->run_end = end;
    return STRATA_OK;
}

/* Appends chunk `i`, verified and decompressed, to the window. */
static strata_err load_chunk(sst_data *d, uint64_t i) {
    uint64_t upos = i * d->chunk_length;
    size_t ulen = (size_t)(d->data_length - upos < d->chunk_length ? d->data_length - upos : d->chunk_length);
    if (d->win_cap - d->win_len < d->chunk_length) {
        d->win_cap = d->win_len + d->chunk_length;
        d->win = xrealloc(d->win, d->win_cap);
    }
    uint8_t *dst = d->win + d->win_len;
    if (!d->offsets) {
        strata_err e = sst_file_read(&d->file, dst, ulen, upos);
        if (e) return e;
        if (d->crcs && strata_crc32(0, dst, ulen) != d->crcs[i])
            return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: chunk %llu checksum mismatch (CRC.db)",
                               d->path, (unsigned long long)upos, (unsigned long long)i);
        d->win_len += ulen;
        return STRATA_OK;
    }
    uint64_t off = d->offsets[i];
    uint64_t stored = d->offsets[i + 1] - off;
    if (stored < 4 || stored - 4 > (uint64_t)d->chunk_length + d->chunk_length / 2 + 1024)
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: chunk %llu has impossible length %llu",
                           d->path, (unsigned long long)off, (unsigned long long)i,
                           (unsigned long long)stored);
    if (i < d->run_first || i >= d->run_end) {
        strata_err e = read_run(d, i);
        if (e) return e;
    }
    const uint8_t *src = d->cbuf + (off - d->offsets[d->run_first]);
    size_t clen = (size_t)stored - 4;
    if (strata_crc32(0, src, clen) != be32(src + clen))
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: chunk %llu checksum mismatch",
                           d->path, (unsigned long long)off, (unsigned long long)i);
    int raw = clen >= d->max_compressed;
    long got = decompress(raw ? SST_COMP_NONE : d->compressor, src, clen, dst, ulen);
    if (got != (long)ulen)
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: chunk %llu does not decompress to %zu bytes",
                           d->path, (unsigned long long)off, (unsigned long long)i, ulen);
    d->win_len += ulen;
    return STRATA_OK;
}

strata_err sst_data_fill(sst_data *d, size_t want, size_t *avail) {
    if (want > SST_MAX_UNFILTERED)
        return strata_fail(STRATA_ENOMEM, "%s: offset %llu: item larger than %u bytes",
                           d->path, (unsigned long long)sst_data_tell(d), SST_MAX_UNFILTERED);
    while (d->win_len - d->cur < want && d->next_chunk < d->nchunks) {
        if (d->cur) {
            memmove(d->win, d->win + d->cur, d->win_len - d->cur);
            d->win_pos += d->cur;
            d->win_len -= d->cur;
            d->cur = 0;
        }
        strata_err e = load_chunk(d, d->next_chunk);
        if (e) return e;
        d->next_chunk++;
    }
    *avail = d->win_len - d->cur;
    return STRATA_OK;
}

strata_err sst_data_seek(sst_data *d, uint64_t pos) {
    if (pos > d->data_length)
        return strata_fail(STRATA_ECORRUPT, "%s: offset %llu is past the end of the data (%llu bytes)",
                           d->path, (unsigned long long)pos, (unsigned long long)d->data_length);
    if (pos >= d->win_pos && pos <= d->win_pos + d->win_len) {
        d->cur = (size_t)(pos - d->win_pos);
        return STRATA_OK;
    }
    uint64_t chunk = pos / d->chunk_length;
    d->win_len = d->cur = 0;
    d->win_pos = chunk * d->chunk_length;
    d->next_chunk = chunk;
    size_t avail;
    strata_err e = sst_data_fill(d, 1, &avail);
    if (e) return e;
    d->cur = (size_t)(pos - d->win_pos);
    return STRATA_OK;
}
