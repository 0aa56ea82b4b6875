/* store.c - turning a file into chunks in the repository.
 *
 * The file is read sequentially in large blocks, cut at content-defined
 * boundaries, each chunk hashed (SHA-256 is its id) and handed to the
 * caller's pack writer, which drops chunks the repository already has.
 * A file that repeats bytes of another one (Index.db repeats Data.db's
 * keys) may have its chunks stored as copies from that file's (delta.c),
 * and a reconciled Data.db as streams of its fields (rows.c). */
#include "engine/repo/repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SAMPLE_EDGE (64u * 1024)
#define READ_BLOCK (2 * REPO_CHUNK_MAX)

strata_err repo_file_sample(int fd, uint64_t size, uint8_t out[STRATA_HASH_LEN]) {
    uint8_t *buf = xmalloc(2 * SAMPLE_EDGE + 8);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(size >> (8 * i));
    size_t head = size < SAMPLE_EDGE ? (size_t)size : SAMPLE_EDGE, got, got_tail = 0;
    strata_err e = strata_pread_all(fd, buf + 8, head, 0, &got);
    if (!e && size > SAMPLE_EDGE) {
        uint64_t tail_at = size > 2 * SAMPLE_EDGE ? size - SAMPLE_EDGE : SAMPLE_EDGE;
        e = strata_pread_all(fd, buf + 8 + head, (size_t)(size - tail_at), tail_at, &got_tail);
        if (!e && got_tail != size - tail_at) got = 0;
    }
    if (!e && got != head) e = strata_fail(STRATA_EIO, "file is shorter than its size");
    if (!e) strata_sha256(buf, 8 + head + got_tail, out);
    free(buf);
    return e;
}

static void add_ref(repo_file *rec, uint32_t *cap, const uint8_t id[STRATA_HASH_LEN], uint32_t size) {
    if (rec->n_chunks == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        rec->chunks = xrealloc(rec->chunks, *cap * sizeof *rec->chunks);
    }
    memcpy(rec->chunks[rec->n_chunks].id, id, STRATA_HASH_LEN);
    rec->chunks[rec->n_chunks++].size = size;
}

/* The spans of the chunk being stored, taken from the base's iterator: a
 * span reaching past the chunk is kept for the next one. */
typedef struct {
    repo *r;
    const repo_store_base *base;
    uint64_t *starts; /* where each base chunk starts; the last, its size */
    repo_span *spans;
    size_t n, cap;
    int ended;
    strata_buf delta, check;
} delta_state;

static void delta_state_init(delta_state *d, repo *r, const repo_store_base *base) {
    memset(d, 0, sizeof *d);
    d->r = r;
    d->base = base;
    if (!base) return;
    const repo_file *f = base->file;
    d->starts = xmalloc((f->n_chunks + 1) * sizeof *d->starts);
    d->starts[0] = 0;
    for (uint32_t i = 0; i < f->n_chunks; i++) d->starts[i + 1] = d->starts[i] + f->chunks[i].size;
    strata_buf_init(&d->delta);
    strata_buf_init(&d->check);
}

static void delta_state_free(delta_state *d) {
    free(d->starts);
    free(d->spans);
    strata_buf_free(&d->delta);
    strata_buf_free(&d->check);
}

/* Keeps the spans that reach into [at, end) and later, reading more from
 * the iterator until one starts at or past `end`. */
static strata_err collect_spans(delta_state *d, uint64_t at, uint64_t end) {
    size_t keep = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->spans[i].at + d->spans[i].len > at) d->spans[keep++] = d->spans[i];
    d->n = keep;
    while (!d->ended && (!d->n || d->spans[d->n - 1].at < end)) {
        if (d->n == d->cap) {
            d->cap = d->cap ? 2 * d->cap : 1024;
            d->spans = xrealloc(d->spans, d->cap * sizeof *d->spans);
        }
        strata_err e = d->base->next(d->base->ctx, &d->spans[d->n], &d->ended);
        if (e) return e;
        if (!d->ended) d->n++;
    }
    return STRATA_OK;
}

strata_err repo_file_read_chunk_from(const repo_file *f, int fd, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf,
                                     uint32_t size) {
    uint64_t off = 0;
    for (uint32_t i = 0; i < f->n_chunks; off += f->chunks[i++].size) {
        if (memcmp(f->chunks[i].id, id, STRATA_HASH_LEN) || f->chunks[i].size != size) continue;
        size_t got;
        strata_err e = strata_pread_all(fd, buf, size, off, &got);
        if (!e && got != size) e = strata_fail(STRATA_EIO, "the file is shorter than its record");
        return e;
    }
    return strata_fail(STRATA_ENOENT, "no such chunk in the file");
}

/* Reads base chunk `id` from the base file, for checking a delta.  A
 * chunk the repository holds as a delta (the same bytes stored before
 * from another file) cannot be a base: readers never chain deltas. */
static strata_err base_from_file(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size) {
    delta_state *d = ctx;
    if (pack_chunk_is_delta(d->r, id)) return strata_fail(STRATA_ECORRUPT, "a base chunk is stored as a delta");
    strata_err e = repo_file_read_chunk_from(d->base->file, d->base->fd, id, buf, size);
    return e == STRATA_ENOENT ? strata_fail(STRATA_ECORRUPT, "base chunk not in the base file") : e;
}

/* Adds one chunk at file offset `at`, as a delta of the base when it has
 * spans there and its delta decodes back to it. */
static strata_err add_chunk(repo_pack_writer *w, delta_state *d, const uint8_t id[STRATA_HASH_LEN],
                            const uint8_t *data, uint32_t n, uint64_t at, uint64_t *stored) {
    if (!d->base) return repo_pack_writer_add(w, id, data, n, stored);
    strata_err e = collect_spans(d, at, at + n);
    if (e) return e;
    if (!d->n || repo_chunk_known(d->r, id) ||
        !delta_encode(data, at, n, d->spans, d->n, d->base->file, d->starts, &d->delta) ||
        d->delta.len > DELTA_MAX_PAYLOAD(n))
        return repo_pack_writer_add(w, id, data, n, stored);
    d->check.len = 0;
    strata_buf_reserve(&d->check, n);
    e = delta_apply(d->delta.data, d->delta.len, base_from_file, d, d->check.data, n);
    if (e == STRATA_ECORRUPT || (!e && memcmp(d->check.data, data, n))) {
        strata_clear_error();
        return repo_pack_writer_add(w, id, data, n, stored);
    }
    return e ? e : pack_writer_add_delta(w, id, data, n, &d->delta, stored);
}

/* Adds one chunk at file offset `at` as streams of its fields, when it
 * holds whole items and its frame joins back to it. */
static strata_err add_rows_chunk(repo_pack_writer *w, rows_splitter *rs, rows_frame *frame, strata_buf *check,
                                 const uint8_t id[STRATA_HASH_LEN], const uint8_t *data, uint32_t n, uint64_t at,
                                 uint64_t *stored) {
    if (repo_chunk_known(pack_writer_repo(w), id) || !rows_split(rs, at, n, frame))
        return repo_pack_writer_add(w, id, data, n, stored);
    check->len = 0;
    strata_buf_reserve(check, n);
    if (rows_join(frame->bytes.data, frame->bytes.len, check->data, n) || memcmp(check->data, data, n)) {
        strata_clear_error();
        return repo_pack_writer_add(w, id, data, n, stored);
    }
    return pack_writer_add_rows(w, id, data, n, frame, stored);
}

strata_err repo_store_file(repo_pack_writer *w, int fd, repo_file *rec,
                           strata_progress *progress, uint64_t *stored_bytes, uint32_t *crc32) {
    return repo_store_file_with(w, fd, rec, NULL, progress, stored_bytes, crc32);
}

strata_err repo_store_file_with(repo_pack_writer *w, int fd, repo_file *rec, const repo_store_hints *hints,
                                strata_progress *progress, uint64_t *stored_bytes, uint32_t *crc32) {
    uint8_t *buf = xmalloc(READ_BLOCK);
    size_t len = 0;
    uint64_t offset = 0, total = 0;
    uint32_t cap = rec->n_chunks = 0;
    int eof = 0;
    strata_err e = STRATA_OK;
    delta_state d;
    repo *r = pack_writer_repo(w);
    delta_state_init(&d, r, r->format_version >= 2 && hints ? hints->base : NULL);
    const repo_store_rows *rows = r->format_version >= 3 && hints && hints->rows && hints->rows->size == rec->size
                                      ? hints->rows
                                      : NULL;
    rows_splitter *rs = rows ? rows_splitter_new(rows, r->format_version) : NULL;
    rows_frame frame;
    strata_buf check;
    strata_buf_init(&frame.bytes);
    strata_buf_init(&check);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (crc32) *crc32 = 0;
    while (!e && !(eof && len == 0)) {
        size_t got = 0;
        if (!eof) {
            e = strata_pread_all(fd, buf + len, READ_BLOCK - len, offset, &got);
            if (crc32) *crc32 = strata_crc32(*crc32, buf + len, got);
            offset += got;
            len += got;
            eof = len < READ_BLOCK;
        }
        size_t pos = 0;
        while (!e && pos < len) {
            size_t n = repo_chunk_boundary(buf + pos, len - pos);
            if (!n && !eof) break;
            if (!n) n = len - pos;
            uint8_t id[STRATA_HASH_LEN];
            uint64_t stored = 0;
            strata_sha256(buf + pos, n, id);
            e = rs ? add_rows_chunk(w, rs, &frame, &check, id, buf + pos, (uint32_t)n, total, &stored)
                   : add_chunk(w, &d, id, buf + pos, (uint32_t)n, total, &stored);
            add_ref(rec, &cap, id, (uint32_t)n);
            *stored_bytes += stored;
            total += n;
            pos += n;
            strata_progress_add(progress, n);
        }
        memmove(buf, buf + pos, len - pos);
        len -= pos;
    }
    free(buf);
    delta_state_free(&d);
    rows_splitter_free(rs);
    strata_buf_free(&frame.bytes);
    strata_buf_free(&check);
    if (!e && total != rec->size)
        e = strata_fail(STRATA_EIO, "size changed while reading (%llu bytes, expected %llu)",
                        (unsigned long long)total, (unsigned long long)rec->size);
    return e;
}
