/* store.c - turning a file into chunks in the repository.
 *
 * The file is read sequentially in large blocks, cut at content-defined
 * boundaries, each chunk hashed (SHA-256 is its id) and handed to the
 * caller's pack writer, which drops chunks the repository already has. */
#include "engine/repo/repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SAMPLE_EDGE (64u * 1024)
#define READ_BLOCK (2 * REPO_CHUNK_MAX)

static strata_err read_full(int fd, uint8_t *p, size_t len, uint64_t offset, size_t *got) {
    *got = 0;
    while (*got < len) {
        ssize_t n = pread(fd, p + *got, len - *got, (off_t)(offset + *got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return strata_fail_errno(STRATA_EIO, errno, "reading");
        if (n == 0) break;
        *got += (size_t)n;
    }
    return STRATA_OK;
}

strata_err repo_file_sample(int fd, uint64_t size, uint8_t out[STRATA_HASH_LEN]) {
    uint8_t *buf = xmalloc(2 * SAMPLE_EDGE + 8);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(size >> (8 * i));
    size_t head = size < SAMPLE_EDGE ? (size_t)size : SAMPLE_EDGE, got, got_tail = 0;
    strata_err e = read_full(fd, buf + 8, head, 0, &got);
    if (!e && size > SAMPLE_EDGE) {
        uint64_t tail_at = size > 2 * SAMPLE_EDGE ? size - SAMPLE_EDGE : SAMPLE_EDGE;
        e = read_full(fd, buf + 8 + head, (size_t)(size - tail_at), tail_at, &got_tail);
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

strata_err repo_store_file(repo_pack_writer *w, int fd, repo_file *rec,
                           strata_progress *progress, uint64_t *stored_bytes, uint32_t *crc32) {
    uint8_t *buf = xmalloc(READ_BLOCK);
    size_t len = 0;
    uint64_t offset = 0, total = 0;
    uint32_t cap = rec->n_chunks = 0;
    int eof = 0;
    strata_err e = STRATA_OK;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (crc32) *crc32 = 0;
    while (!e && !(eof && len == 0)) {
        size_t got = 0;
        if (!eof) {
            e = read_full(fd, buf + len, READ_BLOCK - len, offset, &got);
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
            e = repo_pack_writer_add(w, id, buf + pos, (uint32_t)n, &stored);
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
    if (!e && total != rec->size)
        e = strata_fail(STRATA_EIO, "size changed while reading (%llu bytes, expected %llu)",
                        (unsigned long long)total, (unsigned long long)rec->size);
    return e;
}
