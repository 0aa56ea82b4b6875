/* pack.c - pack objects: many chunks in one stored object.
 *
 * One object per chunk would mean millions of tiny files or S3 requests;
 * packs of ~32 MiB keep object counts low and uploads efficient.  A pack
 * is self-describing: its trailer lists every chunk it holds, so the index
 * can be rebuilt from packs alone, reading only trailers.
 *
 * Chunks are compressed with zstd unless a sample shows they will not
 * shrink (Cassandra's Data.db is usually LZ4-compressed already): the test
 * costs a compression of 64 KiB instead of the whole chunk.  Each entry
 * records XXH3-64 of the chunk so every read is checked cheaply; SHA-256
 * (the chunk id) is rechecked by verify and restore.  A chunk that repeats
 * bytes of stored chunks may be stored as copies of them (delta.c) when
 * that is smaller. */
#include "engine/repo/repo_int.h"

#include <string.h>
#include <xxhash.h>
#include <zstd.h>

/* On real LZ4-compressed Data.db, level 1 saves 15% at ~480 MB/s while
 * level 3 saves 1.4% more at ~110 MB/s: the bulk of a backup is such data. */
#define ZSTD_LEVEL 1
#define SAMPLE_LEN (64u * 1024)
/* A full pack: the target, the largest chunk's zstd bound, the trailer. */
#define PACK_CAPACITY (REPO_PACK_TARGET + REPO_CHUNK_MAX + (1u << 20))
/* A sample that does not shrink below 97% marks a chunk as incompressible. */
#define SAMPLE_GAIN_NUM 97
#define SAMPLE_GAIN_DEN 100

struct repo_pack_writer {
    repo *r;
    strata_buf data;    /* header + stored chunks */
    strata_buf entries; /* trailer entries, PACK_ENTRY_LEN each */
    uint32_t count;
    ZSTD_CCtx *cctx;
    int level;          /* zstd level of this writer's chunks */
    strata_buf scratch;
};

void pack_key(const uint8_t pack_id[STRATA_HASH_LEN], char out[96]) {
    char hex[2 * STRATA_HASH_LEN + 1];
    strata_hex(pack_id, STRATA_HASH_LEN, hex);
    snprintf(out, 96, "packs/%.2s/%s", hex, hex);
}

static void start_pack(repo_pack_writer *w) {
    w->data.len = w->entries.len = 0;
    w->count = 0;
    strata_buf_put(&w->data, PACK_MAGIC, 8);
    strata_buf_put_u32(&w->data, PACK_FORMAT);
    strata_buf_put_u32(&w->data, 0);
}

repo_pack_writer *repo_pack_writer_new(repo *r) {
    if (!r->flusher) {
        fprintf(stderr, "strata: pack writer on a repository not opened for writing\n");
        abort();
    }
    repo_pack_writer *w = xcalloc(1, sizeof *w);
    w->r = r;
    w->cctx = ZSTD_createCCtx();
    w->level = ZSTD_LEVEL;
    if (!w->cctx) {
        fprintf(stderr, "strata: out of memory creating a zstd context\n");
        abort();
    }
    flusher_take_buffer(r->flusher, &w->data, PACK_CAPACITY);
    start_pack(w);
    return w;
}

void repo_pack_writer_free(repo_pack_writer *w) {
    if (!w) return;
    /* Chunks of an unsealed pack were never stored: forget them. */
    for (uint32_t i = 0; i < w->count; i++)
        pending_set_remove(w->r->pending, w->entries.data + (size_t)i * PACK_ENTRY_LEN);
    ZSTD_freeCCtx(w->cctx);
    strata_buf_free(&w->data);
    strata_buf_free(&w->entries);
    strata_buf_free(&w->scratch);
    free(w);
}

static strata_err seal(repo_pack_writer *w);
static strata_err locate(repo *r, const uint8_t id[STRATA_HASH_LEN], chunk_location *loc);
static strata_err read_located(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc,
                               int full_check, const repo_base_source *src, uint8_t *dst, size_t cap);

static int looks_compressible(repo_pack_writer *w, const uint8_t *data, uint32_t size) {
    size_t n = size < SAMPLE_LEN ? size : SAMPLE_LEN;
    const uint8_t *sample = data + (size - n) / 2;
    w->scratch.len = 0;
    strata_buf_reserve(&w->scratch, ZSTD_compressBound(n));
    size_t c = ZSTD_compressCCtx(w->cctx, w->scratch.data, w->scratch.cap, sample, n, 1);
    return !ZSTD_isError(c) && c * SAMPLE_GAIN_DEN < n * SAMPLE_GAIN_NUM;
}

/* Appends the chunk's stored form to the pack; returns the codec used. */
static uint8_t append_stored(repo_pack_writer *w, const uint8_t *data, uint32_t size) {
    if (looks_compressible(w, data, size)) {
        size_t bound = ZSTD_compressBound(size);
        strata_buf_reserve(&w->data, bound);
        size_t c = ZSTD_compressCCtx(w->cctx, w->data.data + w->data.len, bound, data, size, w->level);
        if (!ZSTD_isError(c) && c < size) {
            w->data.len += c;
            return CODEC_ZSTD;
        }
    }
    strata_buf_put(&w->data, data, size);
    return CODEC_RAW;
}

/* Whether the chunk needs storing: not indexed, nor queued by a writer
 * (it is queued from now on). */
static strata_err is_new(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN], int *fresh) {
    chunk_location loc;
    strata_err e = index_chunk_get(w->r, id, &loc);
    *fresh = 0;
    if (e == STRATA_OK) return STRATA_OK;
    if (e != STRATA_ENOENT) return e;
    *fresh = !pending_set_add(w->r->pending, id);
    return STRATA_OK;
}

/* Records the chunk whose stored form was appended at `offset`. */
static strata_err add_entry(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data,
                            uint32_t size, uint64_t offset, uint8_t codec, uint64_t *stored_bytes) {
    uint32_t stored = (uint32_t)(w->data.len - offset);
    strata_buf_put(&w->entries, id, STRATA_HASH_LEN);
    strata_buf_put_u64(&w->entries, offset);
    strata_buf_put_u32(&w->entries, stored);
    strata_buf_put_u32(&w->entries, size);
    strata_buf_put_u8(&w->entries, codec);
    strata_buf_put_u64(&w->entries, XXH3_64bits(data, size));
    strata_buf_put_u64(&w->entries, 0);
    w->count++;
    if (stored_bytes) *stored_bytes = stored;
    return w->data.len >= REPO_PACK_TARGET ? seal(w) : STRATA_OK;
}

strata_err repo_pack_writer_add(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN],
                                const uint8_t *data, uint32_t size, uint64_t *stored_bytes) {
    return pack_writer_add_delta(w, id, data, size, NULL, stored_bytes);
}

strata_err pack_writer_add_delta(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data,
                                 uint32_t size, const strata_buf *delta, uint64_t *stored_bytes) {
    if (stored_bytes) *stored_bytes = 0;
    int fresh;
    strata_err e = is_new(w, id, &fresh);
    if (e || !fresh) return e;
    uint64_t offset = w->data.len;
    uint8_t codec = append_stored(w, data, size);
    size_t plain = w->data.len - offset;
    if (delta) {
        w->scratch.len = 0;
        strata_buf_reserve(&w->scratch, ZSTD_compressBound(delta->len));
        size_t c = ZSTD_compressCCtx(w->cctx, w->scratch.data, w->scratch.cap, delta->data, delta->len, w->level);
        if (!ZSTD_isError(c) && c < plain) {
            w->data.len = offset;
            strata_buf_put(&w->data, w->scratch.data, c);
            codec = CODEC_DELTA;
        }
    }
    return add_entry(w, id, data, size, offset, codec, stored_bytes);
}

/* Compresses a frame into one zstd frame whose blocks end where its
 * sections do.  Each stream holds one kind of field (flags, timestamps,
 * text, random keys), and a block of its own gets entropy tables fitted
 * to it: the corpus's layers store 3 to 9% smaller so, and any zstd
 * decoder reads the frame as ever.  Returns the compressed size, or 0
 * when it does not fit in `cap`. */
static size_t compress_sections(ZSTD_CCtx *cctx, int level, const rows_frame *frame, uint8_t *dst, size_t cap) {
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setPledgedSrcSize(cctx, frame->bytes.len);
    ZSTD_outBuffer out = {dst, cap, 0};
    size_t from = 0;
    for (size_t i = 0; i <= frame->n_ends; i++) {
        size_t to = i < frame->n_ends ? frame->ends[i] : frame->bytes.len;
        ZSTD_inBuffer in = {frame->bytes.data + from, to - from, 0};
        ZSTD_EndDirective how = i < frame->n_ends ? ZSTD_e_flush : ZSTD_e_end;
        size_t left;
        do {
            left = ZSTD_compressStream2(cctx, &out, &in, how);
            if (ZSTD_isError(left) || (left && out.pos == out.size)) return 0;
        } while (left);
        from = to;
    }
    return out.pos;
}

/* Row streams compress smaller than the chunk's own bytes on every layer
 * measured, and compressing both only to compare would double the work:
 * the chunk is compressed itself only when its streams do not compress
 * below its size. */
strata_err pack_writer_add_rows(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data,
                                uint32_t size, const rows_frame *frame, uint64_t *stored_bytes) {
    if (stored_bytes) *stored_bytes = 0;
    int fresh;
    strata_err e = is_new(w, id, &fresh);
    if (e || !fresh) return e;
    uint64_t offset = w->data.len;
    size_t bound = ZSTD_compressBound(frame->bytes.len) + 3 * (frame->n_ends + 1);
    strata_buf_reserve(&w->data, bound);
    size_t c = compress_sections(w->cctx, w->level, frame, w->data.data + offset, bound);
    uint8_t codec = CODEC_ROWS;
    if (c && c < size) w->data.len += c;
    else codec = append_stored(w, data, size);
    return add_entry(w, id, data, size, offset, codec, stored_bytes);
}

/* Completes the pack object and hands it to the flusher; the writer
 * starts a new pack at once. */
static strata_err seal(repo_pack_writer *w) {
    if (!w->count) return STRATA_OK;
    sealed_pack *p = xcalloc(1, sizeof *p);
    strata_sha256(w->entries.data, w->entries.len, p->id);
    strata_buf_put(&w->data, w->entries.data, w->entries.len);
    strata_buf_put_u32(&w->data, w->count);
    strata_buf_put_u32(&w->data, (uint32_t)w->entries.len);
    strata_buf_put(&w->data, p->id, STRATA_HASH_LEN);
    strata_buf_put(&w->data, PACK_END_MAGIC, 8);
    p->data = w->data;
    p->entries = w->entries;
    p->count = w->count;
    flusher_take_buffer(w->r->flusher, &w->data, PACK_CAPACITY);
    strata_buf_init(&w->entries);
    start_pack(w);
    return flusher_submit(w->r->flusher, p);
}

strata_err repo_pack_writer_flush(repo_pack_writer *w) {
    strata_err e = seal(w);
    strata_err wait = flusher_wait(w->r->flusher);
    return e ? e : wait;
}

void pack_entry_decode(const uint8_t *p, uint8_t id[STRATA_HASH_LEN], chunk_location *loc) {
    strata_reader rd;
    strata_reader_init(&rd, p, PACK_ENTRY_LEN);
    strata_read(&rd, id, STRATA_HASH_LEN);
    loc->offset = strata_read_u64(&rd);
    loc->stored_len = strata_read_u32(&rd);
    loc->raw_len = strata_read_u32(&rd);
    loc->codec = strata_read_u8(&rd);
    loc->xxh3 = strata_read_u64(&rd);
}

strata_err pack_check_footer(const char *key, const uint8_t *footer, uint64_t size,
                             uint32_t *count, uint32_t *trailer_len, uint8_t pack_id[STRATA_HASH_LEN]) {
    strata_reader rd;
    strata_reader_init(&rd, footer, PACK_FOOTER_LEN);
    *count = strata_read_u32(&rd);
    *trailer_len = strata_read_u32(&rd);
    strata_read(&rd, pack_id, STRATA_HASH_LEN);
    if (memcmp(footer + 40, PACK_END_MAGIC, 8))
        return strata_fail(STRATA_ECORRUPT, "pack %s: bad end marker", key);
    if ((uint64_t)*count * PACK_ENTRY_LEN != *trailer_len ||
        *trailer_len > size - PACK_HEADER_LEN - PACK_FOOTER_LEN)
        return strata_fail(STRATA_ECORRUPT, "pack %s: inconsistent trailer length", key);
    return STRATA_OK;
}

strata_err pack_check_trailer(const char *key, const uint8_t *entries, uint32_t len,
                              const uint8_t pack_id[STRATA_HASH_LEN]) {
    uint8_t digest[STRATA_HASH_LEN];
    strata_sha256(entries, len, digest);
    if (memcmp(digest, pack_id, STRATA_HASH_LEN))
        return strata_fail(STRATA_ECORRUPT, "pack %s: trailer checksum mismatch", key);
    return STRATA_OK;
}

strata_err pack_read_trailer(repo *r, const char *key, uint64_t size, strata_buf *entries,
                             uint32_t *count, uint8_t pack_id[STRATA_HASH_LEN]) {
    uint8_t footer[PACK_FOOTER_LEN];
    uint32_t tlen;
    if (size < PACK_HEADER_LEN + PACK_FOOTER_LEN)
        return strata_fail(STRATA_ECORRUPT, "pack %s: too short (%llu bytes)", key,
                           (unsigned long long)size);
    strata_err e = storage_get_range(r->store, key, size - PACK_FOOTER_LEN, PACK_FOOTER_LEN, footer);
    if (!e) e = pack_check_footer(key, footer, size, count, &tlen, pack_id);
    if (e) return e;
    entries->len = 0;
    strata_buf_reserve(entries, tlen);
    e = storage_get_range(r->store, key, size - PACK_FOOTER_LEN - tlen, tlen, entries->data);
    if (e) return e;
    entries->len = tlen;
    return pack_check_trailer(key, entries->data, tlen, pack_id);
}

typedef struct {
    repo *r;
    const repo_base_source *src; /* tried first; may be NULL */
} base_fetch;

/* Reads a delta's base chunk: stored on its own, never a delta itself,
 * so a decode reads at most one level of chunks.  A base that is missing
 * or damaged is the base's fault, not the delta's: STRATA_ENOENT or
 * STRATA_EIO, never STRATA_ECORRUPT, so that a repair drops only the
 * base, and the delta reads again once the base is stored again. */
static strata_err fetch_base(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size) {
    const base_fetch *f = ctx;
    if (f->src && f->src->get(f->src->ctx, id, buf, size)) return STRATA_OK;
    repo *r = f->r;
    chunk_location loc;
    char hex[2 * STRATA_HASH_LEN + 1];
    strata_err e = locate(r, id, &loc);
    if (e) return e;
    strata_hex(id, STRATA_HASH_LEN, hex);
    if (loc.codec == CODEC_DELTA) return strata_fail(STRATA_ECORRUPT, "base chunk %s is a delta itself", hex);
    if (loc.raw_len != size)
        return strata_fail(STRATA_ECORRUPT, "base chunk %s has %u bytes, the delta says %u", hex, loc.raw_len, size);
    e = read_located(r, id, &loc, 0, NULL, buf, size);
    if (!e) base_cache_put(&r->bases, id, buf, size);
    return e == STRATA_ECORRUPT ? strata_fail(STRATA_EIO, "base %s", strata_errmsg()) : e;
}

/* The content of a chunk's zstd frame, at most `max` bytes, in a new
 * buffer; `what` names it in the error. */
static strata_err decompress_payload(ZSTD_DCtx *dctx, const chunk_location *loc, const uint8_t *stored, uint64_t max,
                                     const char *what, uint8_t **out, size_t *len) {
    unsigned long long n = ZSTD_getFrameContentSize(stored, loc->stored_len);
    if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR || n > max)
        return strata_fail(STRATA_ECORRUPT, "cannot decompress its %s", what);
    uint8_t *p = xmalloc(n ? (size_t)n : 1);
    size_t got = dctx ? ZSTD_decompressDCtx(dctx, p, (size_t)n, stored, loc->stored_len)
                      : ZSTD_decompress(p, (size_t)n, stored, loc->stored_len);
    if (ZSTD_isError(got) || got != n) {
        free(p);
        return strata_fail(STRATA_ECORRUPT, "cannot decompress its %s", what);
    }
    *out = p;
    *len = (size_t)n;
    return STRATA_OK;
}

/* The chunk from its delta: the zstd frame's payload applied to the bases. */
static strata_err decode_delta(repo *r, const repo_base_source *src, ZSTD_DCtx *dctx, const chunk_location *loc,
                               const uint8_t *stored, uint8_t *dst) {
    base_fetch fetch = {r, src};
    uint8_t *payload;
    size_t n;
    strata_err e = decompress_payload(dctx, loc, stored, DELTA_MAX_PAYLOAD(loc->raw_len), "delta", &payload, &n);
    if (e) return e;
    e = delta_apply(payload, n, fetch_base, &fetch, dst, loc->raw_len);
    free(payload);
    return e;
}

/* The chunk from its row streams: the zstd frame's payload joined. */
static strata_err decode_rows(ZSTD_DCtx *dctx, const chunk_location *loc, const uint8_t *stored, uint8_t *dst) {
    uint8_t *frame;
    size_t n;
    strata_err e = decompress_payload(dctx, loc, stored, ROWS_MAX_FRAME(loc->raw_len), "row streams", &frame, &n);
    if (e) return e;
    e = rows_join(frame, n, dst, loc->raw_len);
    free(frame);
    return e;
}

/* Turns stored bytes back into the chunk in dst (cap bytes) and checks it;
 * dctx may be NULL (zstd then makes a context for the call). */
static strata_err decode_to(repo *r, const repo_base_source *src, ZSTD_DCtx *dctx, const uint8_t id[STRATA_HASH_LEN],
                            const chunk_location *loc, const uint8_t *stored, int full_check, uint8_t *dst,
                            size_t cap) {
    char hex[2 * STRATA_HASH_LEN + 1];
    if (loc->raw_len > cap) {
        strata_hex(id, STRATA_HASH_LEN, hex);
        return strata_fail(STRATA_ECORRUPT, "chunk %s has %u bytes, more than the %zu expected", hex,
                           loc->raw_len, cap);
    }
    if (loc->codec == CODEC_RAW && loc->stored_len == loc->raw_len) {
        memcpy(dst, stored, loc->raw_len);
    } else if (loc->codec == CODEC_ZSTD) {
        size_t n = dctx ? ZSTD_decompressDCtx(dctx, dst, loc->raw_len, stored, loc->stored_len)
                        : ZSTD_decompress(dst, loc->raw_len, stored, loc->stored_len);
        if (ZSTD_isError(n) || n != loc->raw_len) {
            strata_hex(id, STRATA_HASH_LEN, hex);
            return strata_fail(STRATA_ECORRUPT, "chunk %s: cannot decompress", hex);
        }
    } else if (loc->codec == CODEC_DELTA || loc->codec == CODEC_ROWS) {
        strata_err e = loc->codec == CODEC_DELTA ? decode_delta(r, src, dctx, loc, stored, dst)
                                                 : decode_rows(dctx, loc, stored, dst);
        if (e) {
            strata_hex(id, STRATA_HASH_LEN, hex);
            return strata_fail(e, "chunk %s: %s", hex, strata_errmsg());
        }
    } else {
        strata_hex(id, STRATA_HASH_LEN, hex);
        return strata_fail(STRATA_ECORRUPT, "chunk %s: unknown codec %u", hex, loc->codec);
    }
    int bad = XXH3_64bits(dst, loc->raw_len) != loc->xxh3;
    if (!bad && full_check) {
        uint8_t digest[STRATA_HASH_LEN];
        strata_sha256(dst, loc->raw_len, digest);
        bad = memcmp(digest, id, STRATA_HASH_LEN) != 0;
    }
    if (bad) {
        strata_hex(id, STRATA_HASH_LEN, hex);
        return strata_fail(STRATA_ECORRUPT, "chunk %s: checksum mismatch", hex);
    }
    return STRATA_OK;
}

strata_err pack_decode_chunk(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc,
                             const uint8_t *stored, int full_check, strata_buf *out) {
    out->len = 0;
    strata_buf_reserve(out, loc->raw_len);
    strata_err e = decode_to(r, NULL, NULL, id, loc, stored, full_check, out->data, out->cap);
    if (!e) out->len = loc->raw_len;
    return e;
}

int repo_chunk_known(repo *r, const uint8_t id[STRATA_HASH_LEN]) {
    chunk_location loc;
    return index_chunk_get(r, id, &loc) == STRATA_OK || pending_set_has(r->pending, id);
}

int repo_file_chunks_known(repo *r, const repo_file *f) {
    for (uint32_t c = 0; c < f->n_chunks; c++)
        if (!repo_chunk_known(r, f->chunks[c].id)) return 0;
    return 1;
}

static ZSTD_DCtx *take_dctx(repo *r) {
    pthread_mutex_lock(&r->dctx_lock);
    ZSTD_DCtx *d = r->n_dctx_spare ? r->dctx_spare[--r->n_dctx_spare] : NULL;
    pthread_mutex_unlock(&r->dctx_lock);
    if (!d && !(d = ZSTD_createDCtx())) {
        fprintf(stderr, "strata: out of memory creating a zstd context\n");
        abort();
    }
    return d;
}

static void give_dctx(repo *r, ZSTD_DCtx *d) {
    pthread_mutex_lock(&r->dctx_lock);
    if (r->n_dctx_spare < DCTX_SPARE) {
        r->dctx_spare[r->n_dctx_spare++] = d;
        d = NULL;
    }
    pthread_mutex_unlock(&r->dctx_lock);
    ZSTD_freeDCtx(d);
}

void pack_free_dctx_spares(repo *r) {
    while (r->n_dctx_spare) ZSTD_freeDCtx(r->dctx_spare[--r->n_dctx_spare]);
}

/* One chunk to decode from a view of its stored bytes. */
typedef struct {
    repo *r;
    const repo_base_source *src;
    ZSTD_DCtx *dctx;
    const uint8_t *id;
    const chunk_location *loc;
    int full_check;
    uint8_t *dst;
    size_t cap;
} decode_job;

static strata_err decode_view(void *ctx, const uint8_t *stored, size_t len) {
    (void)len;
    const decode_job *j = ctx;
    return decode_to(j->r, j->src, j->dctx, j->id, j->loc, stored, j->full_check, j->dst, j->cap);
}

/* Reads the located chunk into dst: a base read lately as it was decoded
 * (unless the caller wants its SHA-256 checked), else from the disk cache
 * when it has it, else from a view of its pack, so a local pack is
 * decompressed where it lies in the page cache. */
static strata_err read_located(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc,
                               int full_check, const repo_base_source *src, uint8_t *dst, size_t cap) {
    if (!full_check && loc->raw_len <= cap && base_cache_get(&r->bases, id, dst, loc->raw_len)) return STRATA_OK;
    decode_job job = {r, src, take_dctx(r), id, loc, full_check, dst, cap};
    strata_buf scratch;
    strata_buf_init(&scratch);
    disk_cache *cache = r->disk_cache;
    strata_err e = STRATA_ENOENT;
    if (cache) {
        strata_buf_reserve(&scratch, loc->stored_len);
        if (disk_cache_get(cache, id, scratch.data, loc->stored_len)) {
            e = decode_view(&job, scratch.data, loc->stored_len);
            if (e) disk_cache_drop(cache, id);
        }
    }
    if (e) {
        char key[96];
        pack_key(loc->pack, key);
        storage_view v;
        e = storage_view_open(r->store, key, loc->offset, loc->stored_len, &scratch, &v);
        if (e == STRATA_ENOENT) e = strata_fail(STRATA_EIO, "pack %s is missing", key);
        if (!e) e = storage_view_read(&v, decode_view, &job);
        /* Only remote repositories have a disk cache, and their views are
         * never mappings. */
        if (!e && cache) disk_cache_put(cache, id, v.data, v.len);
        storage_view_close(&v);
    }
    strata_buf_free(&scratch);
    give_dctx(r, job.dctx);
    return e;
}

static strata_err locate(repo *r, const uint8_t id[STRATA_HASH_LEN], chunk_location *loc) {
    strata_err e = index_chunk_get(r, id, loc);
    if (e == STRATA_ENOENT) {
        char hex[2 * STRATA_HASH_LEN + 1];
        strata_hex(id, STRATA_HASH_LEN, hex);
        return strata_fail(STRATA_ENOENT, "chunk %s is not in the repository", hex);
    }
    return e;
}

strata_err repo_read_chunk(repo *r, const uint8_t id[STRATA_HASH_LEN], int full_check,
                           strata_buf *out) {
    return repo_read_chunk_using(r, id, full_check, NULL, out);
}

strata_err repo_read_chunk_using(repo *r, const uint8_t id[STRATA_HASH_LEN], int full_check,
                                 const repo_base_source *src, strata_buf *out) {
    chunk_location loc;
    strata_err e = locate(r, id, &loc);
    if (e) return e;
    out->len = 0;
    strata_buf_reserve(out, loc.raw_len);
    e = read_located(r, id, &loc, full_check, src, out->data, out->cap);
    /* bytes at hand that do not make the chunk: the repository's do */
    if (e == STRATA_ECORRUPT && src && loc.codec == CODEC_DELTA) {
        strata_clear_error();
        e = read_located(r, id, &loc, full_check, NULL, out->data, out->cap);
    }
    if (!e) out->len = loc.raw_len;
    return e;
}

/* Whether a copy lies inside its pack of `size` bytes (a pack cut short
 * lost the copies past its end). */
static int copy_inside(const chunk_location *loc, uint64_t size) {
    return loc->offset <= size && loc->stored_len <= size - loc->offset;
}

/* Whether the copy of chunk `id` that the index points at is gone for
 * good: its pack missing or shorter than the copy, or the copy damaged.  0
 * when it reads well or is not indexed; -1 on other errors (a failing
 * network), which say nothing of the copy. */
static int indexed_copy_lost(repo *r, const uint8_t id[STRATA_HASH_LEN]) {
    chunk_location loc;
    strata_err e = index_chunk_get(r, id, &loc);
    if (e) return e == STRATA_ENOENT ? (strata_clear_error(), 0) : -1;
    char key[96];
    pack_key(loc.pack, key);
    uint64_t size;
    e = storage_size(r->store, key, &size);
    if (e == STRATA_ENOENT) return 1;
    if (e) return -1;
    if (!copy_inside(&loc, size)) return 1;
    strata_buf out;
    strata_buf_init(&out);
    strata_buf_reserve(&out, loc.raw_len);
    e = read_located(r, id, &loc, 1, NULL, out.data, out.cap);
    strata_buf_free(&out);
    /* a delta that cannot be read for want of a base keeps its copy */
    if (e && e != STRATA_ECORRUPT && loc.codec == CODEC_DELTA) {
        strata_clear_error();
        return 0;
    }
    return !e ? 0 : e == STRATA_ECORRUPT ? 1 : -1;
}

typedef struct {
    repo *r;
    pending_set *lost;  /* chunks whose indexed copy is lost */
    pending_set *moved; /* those the index now finds in another pack */
    strata_buf entries;
    strata_err error;
} copy_search;

/* Points the index at a whole copy, in this pack, of each lost chunk it
 * holds: a chunk stored twice keeps its first home in the index, which an
 * index rebuild may give to the damaged copy. */
static int move_to_copies_in(void *ctx, const char *key, uint64_t size) {
    copy_search *cs = ctx;
    uint32_t count;
    uint8_t pack_id[STRATA_HASH_LEN];
    strata_err e = pack_read_trailer(cs->r, key, size, &cs->entries, &count, pack_id);
    if (e == STRATA_ECORRUPT) return strata_clear_error(), 0;
    strata_buf out;
    strata_buf_init(&out);
    for (uint32_t i = 0; !e && i < count; i++) {
        uint8_t id[STRATA_HASH_LEN];
        chunk_location loc;
        pack_entry_decode(cs->entries.data + (size_t)i * PACK_ENTRY_LEN, id, &loc);
        if (!pending_set_has(cs->lost, id) || pending_set_has(cs->moved, id)) continue;
        memcpy(loc.pack, pack_id, STRATA_HASH_LEN);
        if (!copy_inside(&loc, size)) continue;
        out.len = 0;
        strata_buf_reserve(&out, loc.raw_len);
        e = read_located(cs->r, id, &loc, 1, NULL, out.data, out.cap);
        if (e == STRATA_ECORRUPT) {
            strata_clear_error();
            e = STRATA_OK;
            continue;
        }
        if (!e) e = index_move_chunk(cs->r, id, &loc);
        if (!e) pending_set_add(cs->moved, id);
    }
    strata_buf_free(&out);
    cs->error = e;
    return e != STRATA_OK;
}

strata_err repo_forget_chunks(repo *r, const uint8_t *ids, size_t n, size_t *forgotten, size_t *moved) {
    strata_buf lost;
    strata_buf_init(&lost);
    copy_search cs = {r, pending_set_new(), pending_set_new(), {0}, STRATA_OK};
    strata_buf_init(&cs.entries);
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < n && !e; i++) {
        int gone = indexed_copy_lost(r, ids + i * STRATA_HASH_LEN);
        if (gone < 0) e = strata_fail(STRATA_EIO, "checking a damaged chunk's copy: %s", strata_errmsg());
        if (gone > 0 && !pending_set_add(cs.lost, ids + i * STRATA_HASH_LEN))
            strata_buf_put(&lost, ids + i * STRATA_HASH_LEN, STRATA_HASH_LEN);
    }
    *forgotten = *moved = 0;
    if (!e && lost.len) {
        e = storage_list(r->store, "packs/", move_to_copies_in, &cs);
        if (e == STRATA_EINTR) e = cs.error;
    }
    /* only the chunks no pack holds whole are dropped */
    strata_buf gone;
    strata_buf_init(&gone);
    for (size_t i = 0; !e && i < lost.len / STRATA_HASH_LEN; i++) {
        if (pending_set_has(cs.moved, lost.data + i * STRATA_HASH_LEN))
            ++*moved;
        else
            strata_buf_put(&gone, lost.data + i * STRATA_HASH_LEN, STRATA_HASH_LEN);
    }
    if (!e) e = index_forget_chunks(r, gone.data, gone.len / STRATA_HASH_LEN, forgotten);
    strata_buf_free(&gone);
    strata_buf_free(&lost);
    strata_buf_free(&cs.entries);
    pending_set_free(cs.lost);
    pending_set_free(cs.moved);
    return e;
}

strata_err repo_read_chunk_into(repo *r, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, size_t cap,
                                size_t *len) {
    chunk_location loc;
    strata_err e = locate(r, id, &loc);
    if (!e) e = read_located(r, id, &loc, 0, NULL, buf, cap);
    *len = e ? 0 : loc.raw_len;
    return e;
}

void repo_pack_writer_set_level(repo_pack_writer *w, int level) { w->level = level; }

repo *pack_writer_repo(const repo_pack_writer *w) { return w->r; }

int pack_chunk_is_delta(repo *r, const uint8_t id[STRATA_HASH_LEN]) {
    chunk_location loc;
    if (index_chunk_get(r, id, &loc)) {
        strata_clear_error();
        return 0;
    }
    return loc.codec == CODEC_DELTA;
}
