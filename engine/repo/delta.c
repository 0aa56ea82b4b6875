/* delta.c - a chunk stored as copies from other chunks (codec 2).
 *
 * Some files repeat bytes of another file of the same SSTable: every entry
 * of Index.db begins with its partition key exactly as Data.db begins the
 * partition, and keys such as uuids do not compress: stored as it is,
 * Index.db costs a key-value table about a fifth of its stored bytes.
 * Such a chunk is stored as a list of base chunks (stored on their own,
 * never deltas themselves) and a program of literal runs and copies from
 * the bases' bytes.  The caller says where the repeats are (engine/sstable
 * knows Index.db, this file knows no format), and the store checks every
 * delta by decoding it from the base's bytes before it keeps it.
 *
 * Copies come in base order (the encoder leaves out of order repeats
 * literal), so decoding reads each base once and holds one at a time: a
 * delta costs at most DELTA_MAX_BASES chunk reads and one chunk of memory,
 * and one that would read a base twice is malformed. */
#include "engine/repo/repo_int.h"

#include <stdlib.h>
#include <string.h>

/* Copies shorter than this cost more to describe than to keep literal. */
#define DELTA_MIN_COPY 8

static int index_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The base chunk holding byte `off` of the base file (starts: n + 1
 * offsets, the last one the file's size). */
static uint32_t chunk_at(const uint64_t *starts, uint32_t n, uint64_t off) {
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (starts[mid] <= off) lo = mid;
        else hi = mid;
    }
    return lo;
}

static int has_index(const uint32_t *set, size_t n, uint32_t k) {
    for (size_t i = 0; i < n; i++)
        if (set[i] == k) return 1;
    return 0;
}

/* Clips span s to the chunk [at, at + size); 0 when too little is left. */
static int clip(const repo_span *s, uint64_t at, uint32_t size, uint64_t base_size, repo_span *out) {
    uint64_t from = s->at > at ? s->at : at, to = s->at + s->len < at + size ? s->at + s->len : at + size;
    if (to <= from || to - from < DELTA_MIN_COPY) return 0;
    out->at = from;
    out->base_at = s->base_at + (from - s->at);
    out->len = (uint32_t)(to - from);
    return out->base_at <= base_size && out->len <= base_size - out->base_at;
}

size_t delta_encode(const uint8_t *chunk, uint64_t at, uint32_t size, const repo_span *spans, size_t n,
                    const repo_file *base, const uint64_t *starts, strata_buf *out) {
    uint32_t set[DELTA_MAX_BASES];
    size_t n_set = 0;
    char *usable = xcalloc(n ? n : 1, 1);
    uint64_t end = at;
    uint32_t last_used = 0;
    for (size_t i = 0; i < n; i++) {
        repo_span c;
        if (!clip(&spans[i], at, size, starts[base->n_chunks], &c) || c.at < end) continue;
        uint32_t first = chunk_at(starts, base->n_chunks, c.base_at);
        uint32_t last = chunk_at(starts, base->n_chunks, c.base_at + c.len - 1);
        if (first < last_used) continue;
        size_t need = 0;
        for (uint32_t k = first; k <= last; k++) need += !has_index(set, n_set, k);
        if (n_set + need > DELTA_MAX_BASES) continue;
        for (uint32_t k = first; k <= last; k++)
            if (!has_index(set, n_set, k)) set[n_set++] = k;
        usable[i] = 1;
        end = c.at + c.len;
        last_used = last;
    }
    out->len = 0;
    if (!n_set) {
        free(usable);
        return 0;
    }
    qsort(set, n_set, sizeof *set, index_cmp);
    /* where each base chunk starts in the bases' concatenation */
    uint64_t concat[DELTA_MAX_BASES];
    strata_buf_put_varint(out, n_set);
    for (size_t k = 0, pos = 0; k < n_set; k++) {
        concat[k] = pos;
        pos += base->chunks[set[k]].size;
        strata_buf_put(out, base->chunks[set[k]].id, STRATA_HASH_LEN);
        strata_buf_put_varint(out, base->chunks[set[k]].size);
    }
    uint64_t pos = at, next = 0;
    size_t copied = 0;
    for (size_t i = 0; i < n; i++) {
        repo_span c;
        if (!usable[i] || !clip(&spans[i], at, size, starts[base->n_chunks], &c)) continue;
        if (c.at > pos) {
            strata_buf_put_varint(out, (c.at - pos) << 1);
            strata_buf_put(out, chunk + (pos - at), (size_t)(c.at - pos));
        }
        uint32_t k = chunk_at(starts, base->n_chunks, c.base_at);
        size_t slot = 0;
        while (set[slot] != k) slot++;
        uint64_t from = concat[slot] + (c.base_at - starts[k]);
        strata_buf_put_varint(out, (uint64_t)c.len << 1 | 1);
        strata_buf_put_zigzag(out, (int64_t)(from - next));
        next = from + c.len;
        pos = c.at + c.len;
        copied += c.len;
    }
    if (pos < at + size) {
        strata_buf_put_varint(out, (at + size - pos) << 1);
        strata_buf_put(out, chunk + (pos - at), (size_t)(at + size - pos));
    }
    free(usable);
    return copied;
}

static strata_err malformed(const char *what) {
    return strata_fail(STRATA_ECORRUPT, "malformed delta: %s", what);
}

strata_err delta_apply(const uint8_t *payload, size_t len, delta_base_fn fetch, void *ctx, uint8_t *out,
                       uint32_t out_len) {
    strata_reader rd;
    strata_reader_init(&rd, payload, len);
    uint64_t n = strata_read_varint(&rd);
    if (rd.failed || n == 0 || n > DELTA_MAX_BASES) return malformed("base count");
    const uint8_t *ids[DELTA_MAX_BASES];
    uint64_t starts[DELTA_MAX_BASES + 1] = {0};
    uint32_t max_size = 0;
    for (uint64_t k = 0; k < n; k++) {
        ids[k] = strata_read_ptr(&rd, STRATA_HASH_LEN);
        uint64_t size = strata_read_varint(&rd);
        if (rd.failed || size == 0 || size > REPO_CHUNK_MAX) return malformed("base size");
        starts[k + 1] = starts[k] + size;
        if (size > max_size) max_size = (uint32_t)size;
    }
    uint8_t *base = NULL;
    uint64_t held = n; /* the base in `base`; n: none */
    uint64_t done = 0, next = 0, reads = 0;
    strata_err e = STRATA_OK;
    while (!e && rd.left) {
        uint64_t tag = strata_read_varint(&rd), run = tag >> 1;
        if (rd.failed || run == 0 || run > out_len - done) {
            e = malformed("run length");
            break;
        }
        if (!(tag & 1)) {
            const uint8_t *lit = strata_read_ptr(&rd, (size_t)run);
            if (!lit) e = malformed("literal past the end");
            else memcpy(out + done, lit, (size_t)run);
            done += run;
            continue;
        }
        uint64_t from = next + (uint64_t)strata_read_zigzag(&rd);
        if (rd.failed || from > starts[n] || run > starts[n] - from) {
            e = malformed("copy outside its bases");
            break;
        }
        next = from + run;
        while (!e && run) {
            uint32_t k = chunk_at(starts, (uint32_t)n, from);
            if (k != held) {
                if (++reads > n) {
                    e = malformed("copies out of base order");
                    break;
                }
                if (!base) base = xmalloc(max_size);
                held = n;
                e = fetch(ctx, ids[k], base, (uint32_t)(starts[k + 1] - starts[k]));
                if (!e) held = k;
            }
            uint64_t piece = starts[k + 1] - from < run ? starts[k + 1] - from : run;
            if (!e) memcpy(out + done, base + (from - starts[k]), (size_t)piece);
            done += piece;
            from += piece;
            run -= piece;
        }
    }
    free(base);
    if (!e && done != out_len) e = malformed("shorter than its chunk");
    return e;
}
