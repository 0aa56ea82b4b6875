/* index.c - Index.db, Summary.db and Digest.crc32: finding a partition by
 * key, and checking that the index files agree with Data.db.
 *
 * Index.db lists every partition in Data.db order: key, Data.db position,
 * and for wide partitions a row index (IndexInfo blocks: first and last
 * clustering, offset and width of each ~64 KiB block, open range tombstone
 * at its end).  Summary.db samples every Nth index entry (key + Index.db
 * position) and records the first and last key, so a lookup reads one
 * summary and a short run of the index. */
#include "engine/sstable/sstable_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef struct {
    const uint8_t *key;
    size_t key_len;
    uint64_t position;
    uint64_t blocks; /* row index entries */
} index_entry;

static int skip_clustering_prefix(sstable *s, sst_cur *c) {
    uint8_t kind = sst_u8(c);
    size_t n = s->header.nclustering;
    if (kind != SSTABLE_CLUSTERING) n = sst_u16(c);
    if (c->failed || kind > 7 || n > s->header.nclustering) return -1;
    sstable_value tmp[64];
    sstable_value *vals = n <= 64 ? tmp : xmalloc(n * sizeof *vals);
    int r = sst_read_clustering_values(c, s->header.clustering, s->header.nclustering, n, vals);
    if (vals != tmp) free(vals);
    return r;
}

/* Parses one Index.db entry; checks the row index when present. */
static int read_index_entry(sstable *s, sst_cur *c, index_entry *e) {
    uint16_t kl = sst_u16(c);
    e->key_len = kl;
    e->key = sst_take(c, kl);
    e->position = sst_uvint(c);
    uint64_t size = sst_uvint(c);
    e->blocks = 0;
    if (c->failed || size > sst_cur_left(c)) return -1;
    if (size == 0) return 0;
    sst_cur p;
    sst_cur_init(&p, sst_take(c, (size_t)size), (size_t)size);
    sst_uvint(&p); /* partition header length */
    sstable_deletion del;
    if (sst_read_deletion(&p, &s->v, &del)) return -1;
    uint64_t count = sst_uvint(&p);
    if (count > sst_cur_left(&p)) return -1;
    uint64_t prev_end = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (skip_clustering_prefix(s, &p) || skip_clustering_prefix(s, &p)) return -1;
        uint64_t off = sst_uvint(&p);
        int64_t width = sst_svint(&p) + 65536;
        if (sst_u8(&p) && sst_read_deletion(&p, &s->v, &del)) return -1;
        if (p.failed || off < prev_end || width <= 0) return -1;
        prev_end = off + (uint64_t)width;
    }
    for (uint64_t i = 0; i < count; i++) sst_u32(&p);
    if (p.failed || sst_cur_left(&p) != 0) return -1;
    e->blocks = count;
    return 0;
}

static strata_err index_error(const char *path, size_t off) {
    return strata_fail(STRATA_ECORRUPT, "%s: offset %zu: malformed index entry", path, off);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Summary.db: the Index.db position to start scanning for `key`. */
static uint64_t summary_start(sstable *s, const uint8_t *key, size_t klen) {
    char *path;
    uint8_t *buf;
    size_t len;
    uint64_t start = 0;
    if (sst_read_component(s, "Summary.db", &path, &buf, &len) != STRATA_OK) {
        strata_clear_error();
        free(path);
        return 0;
    }
    sst_cur c;
    sst_cur_init(&c, buf, len);
    sst_u32(&c);
    uint32_t count = sst_u32(&c);
    uint64_t region_len = sst_u64(&c); /* offsets and entries, contiguous */
    sst_u32(&c);
    sst_u32(&c);
    const uint8_t *region = c.p;
    if (c.failed || region_len > sst_cur_left(&c) || (uint64_t)count * 4 > region_len) goto out;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t from = le32(region + i * 4);
        uint32_t to = i + 1 < count ? le32(region + i * 4 + 4) : (uint32_t)region_len;
        if (from < count * 4 || from > to || to > region_len || to - from < 8) break;
        size_t kl = to - from - 8;
        if (sstable_key_compare(s, region + from, kl, key, klen) > 0) break;
        const uint8_t *pp = region + from + kl;
        uint64_t pos = 0;
        for (int b = 7; b >= 0; b--) pos = (pos << 8) | pp[b];
        start = pos;
    }
out:
    free(buf);
    free(path);
    return start;
}

static strata_err seek_by_scan(sstable *s, const uint8_t *key, size_t klen, int *found) {
    strata_err e = sstable_rewind(s);
    const sstable_partition *p;
    while (!e && !(e = sstable_next_partition(s, &p)) && p) {
        if (p->key_len == klen && !memcmp(p->key, key, klen)) {
            *found = 1;
            return sst_position(s, p->offset);
        }
    }
    return e;
}

strata_err sstable_seek(sstable *s, const uint8_t *key, size_t klen, int *found) {
    *found = 0;
    char *path = NULL;
    uint8_t *buf;
    size_t len;
    if (s->meta.bti || (!s->murmur3 && s->meta.partitioner && !strstr(s->meta.partitioner, "ByteOrdered")) ||
        sst_read_component(s, "Index.db", &path, &buf, &len) != STRATA_OK) {
        strata_clear_error();
        free(path);
        return seek_by_scan(s, key, klen, found);
    }
    uint64_t start = summary_start(s, key, klen);
    sst_cur c;
    sst_cur_init(&c, buf, len);
    if (start > len) start = 0;
    c.p += start;
    strata_err e = STRATA_OK;
    while (sst_cur_left(&c)) {
        index_entry ie;
        size_t at = sst_cur_pos(&c);
        if (read_index_entry(s, &c, &ie)) {
            e = index_error(path, at);
            break;
        }
        int cmp = sstable_key_compare(s, ie.key, ie.key_len, key, klen);
        if (cmp > 0) break;
        if (cmp == 0) {
            *found = 1;
            e = sst_position(s, ie.position);
            break;
        }
    }
    free(buf);
    free(path);
    return e;
}

strata_err sstable_verify_index(sstable *s, uint64_t *partitions, uint64_t *row_index_blocks) {
    *partitions = *row_index_blocks = 0;
    char *path;
    uint8_t *buf;
    size_t len;
    strata_err e = sst_read_component(s, "Index.db", &path, &buf, &len);
    if (e) {
        free(path);
        return e;
    }
    if ((e = sstable_rewind(s))) goto out;
    sst_cur c;
    sst_cur_init(&c, buf, len);
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    while (sst_cur_left(&c)) {
        index_entry ie;
        size_t at = sst_cur_pos(&c);
        if (read_index_entry(s, &c, &ie)) {
            e = index_error(path, at);
            goto out;
        }
        if (prev && sstable_key_compare(s, prev, prev_len, ie.key, ie.key_len) >= 0) {
            e = strata_fail(STRATA_ECORRUPT, "%s: offset %zu: keys out of partitioner order", path, at);
            goto out;
        }
        prev = ie.key, prev_len = ie.key_len;
        const sstable_partition *p;
        if ((e = sstable_next_partition(s, &p))) goto out;
        if (!p || p->offset != ie.position || p->key_len != ie.key_len || memcmp(p->key, ie.key, ie.key_len)) {
            e = strata_fail(STRATA_ECORRUPT, "%s: offset %zu: entry does not match the partition at Data.db offset %llu",
                            path, at, (unsigned long long)ie.position);
            goto out;
        }
        (*partitions)++;
        *row_index_blocks += ie.blocks;
    }
    const sstable_partition *p;
    if (!(e = sstable_next_partition(s, &p)) && p)
        e = strata_fail(STRATA_ECORRUPT, "%s: Data.db holds partitions past the last index entry (offset %llu)",
                        path, (unsigned long long)p->offset);
out:
    free(buf);
    free(path);
    return e;
}

strata_err sstable_verify_digest(sstable *s) {
    char *dpath;
    uint8_t *dig;
    size_t dlen;
    strata_err e = sst_read_component(s, "Digest.crc32", &dpath, &dig, &dlen);
    if (e) {
        free(dpath);
        return e;
    }
    char *text = xstrndup((const char *)dig, dlen);
    free(dig);
    char *end;
    errno = 0;
    unsigned long long want = strtoull(text, &end, 10);
    int bad = errno || end == text || want > UINT32_MAX;
    free(text);
    if (bad) {
        e = strata_fail(STRATA_ECORRUPT, "%s: offset 0: not a decimal CRC32", dpath);
        free(dpath);
        return e;
    }
    free(dpath);
    uLong crc = crc32(0, NULL, 0);
    uint8_t *buf = xmalloc(1 << 20);
    uint64_t off = 0;
    for (;;) {
        ssize_t r = pread(s->data.fd, buf, 1 << 20, (off_t)off);
        if (r < 0) {
            e = strata_fail_errno(STRATA_EIO, errno, "%s: read", s->data.path);
            break;
        }
        if (r == 0) break;
        crc = crc32(crc, buf, (uInt)r);
        off += (uint64_t)r;
    }
    free(buf);
    if (!e && crc != want)
        e = strata_fail(STRATA_ECORRUPT, "%s: CRC32 %lu of %llu bytes does not match Digest.crc32 (%llu)",
                        s->data.path, (unsigned long)crc, (unsigned long long)off, want);
    return e;
}
