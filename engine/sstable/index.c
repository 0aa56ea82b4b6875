/* index.c - Index.db, Summary.db and Digest.crc32: finding a partition by
 * key, and checking that the index files agree with Data.db.
 *
 * Index.db lists every partition in Data.db order: key, Data.db position,
 * and for wide partitions a row index (IndexInfo blocks: first and last
 * clustering, offset and width of each ~64 KiB block, open range tombstone
 * at its end).  Summary.db samples every Nth index entry (key + Index.db
 * position) and records the first and last key, so a lookup reads one
 * summary and a short run of the index.  Index.db is read as a stream, one
 * entry at a time, so neither a lookup nor a check loads the whole file. */
#include "engine/sstable/sstable_int.h"

#include <errno.h>
#include <string.h>

typedef struct {
    const uint8_t *key;
    size_t key_len;
    uint64_t position;
    uint64_t blocks;          /* row index entries */
    const uint8_t *row_index; /* the first IndexInfo entry */
    size_t row_index_len;
} index_entry;

/* One IndexInfo: a block of a wide partition's rows. */
typedef struct {
    sstable_value first[64], last[64];
    size_t nfirst, nlast;
    sstable_bound_kind first_kind, last_kind;
    uint64_t offset; /* from the partition start */
    int64_t width;
    int open_at_end;
    sstable_deletion open; /* range tombstone open at the block's end */
} index_block;

static int read_prefix(sstable *s, sst_cur *c, sstable_value *vals, size_t *n, sstable_bound_kind *kind) {
    uint8_t k = sst_u8(c);
    size_t count = s->header.nclustering;
    if (k != SSTABLE_CLUSTERING) count = sst_u16(c);
    if (c->failed || k > 7 || count > s->header.nclustering || count > 64) return -1;
    *kind = (sstable_bound_kind)k;
    *n = count;
    return sst_read_clustering_values(c, s->header.clustering, s->header.nclustering, count, vals);
}

static int read_block(sstable *s, sst_cur *c, index_block *b) {
    if (read_prefix(s, c, b->first, &b->nfirst, &b->first_kind) ||
        read_prefix(s, c, b->last, &b->nlast, &b->last_kind))
        return -1;
    b->offset = sst_uvint(c);
    b->width = sst_svint(c) + 65536;
    b->open_at_end = sst_u8(c) != 0;
    b->open = (sstable_deletion){INT64_MIN, INT64_MAX};
    if (b->open_at_end && sst_read_deletion(c, &s->v, &b->open)) return -1;
    return c->failed || b->width <= 0 ? -1 : 0;
}

/* Parses one Index.db entry; checks the row index when present. */
static int read_index_entry(sstable *s, sst_cur *c, index_entry *e) {
    uint16_t kl = sst_u16(c);
    e->key_len = kl;
    e->key = sst_take(c, kl);
    e->position = sst_uvint(c);
    uint64_t size = sst_uvint(c);
    e->blocks = 0;
    e->row_index = NULL;
    e->row_index_len = 0;
    if (c->failed || size > sst_cur_left(c)) return -1;
    if (size == 0) return 0;
    sst_cur p;
    sst_cur_init(&p, sst_take(c, (size_t)size), (size_t)size);
    sst_uvint(&p); /* partition header length */
    sstable_deletion del;
    if (sst_read_deletion(&p, &s->v, &del)) return -1;
    uint64_t count = sst_uvint(&p);
    if (count > sst_cur_left(&p)) return -1;
    e->row_index = p.p;
    uint64_t prev_end = 0;
    index_block *b = xmalloc(sizeof *b);
    int r = 0;
    for (uint64_t i = 0; i < count && !r; i++) {
        if (read_block(s, &p, b) || b->offset < prev_end) r = -1;
        prev_end = b->offset + (uint64_t)b->width;
    }
    free(b);
    if (r) return -1;
    e->row_index_len = (size_t)(p.p - e->row_index);
    for (uint64_t i = 0; i < count; i++) sst_u32(&p);
    if (p.failed || sst_cur_left(&p) != 0) return -1;
    e->blocks = count;
    return 0;
}

int sstable_index_entry_parse(const uint8_t *p, size_t len, size_t *entry_len, size_t *key_len, uint64_t *position) {
    sst_cur c;
    sst_cur_init(&c, p, len);
    *key_len = sst_u16(&c);
    sst_take(&c, *key_len);
    *position = sst_uvint(&c);
    uint64_t row_index = sst_uvint(&c);
    if (c.failed || row_index > sst_cur_left(&c)) return -1;
    sst_take(&c, (size_t)row_index);
    *entry_len = sst_cur_pos(&c);
    return 0;
}

static strata_err index_error(const char *path, uint64_t off) {
    return strata_fail(STRATA_ECORRUPT, "%s: offset %llu: malformed index entry", path, (unsigned long long)off);
}

/* Index.db from some offset on, through a buffer that holds at least the
 * current entry (a wide partition's row index grows it). */
typedef struct {
    const char *path;
    sst_file *file;   /* the handle's Index.db, open while the handle is */
    uint64_t size;
    uint64_t base; /* file offset of buf[0] */
    uint8_t *buf;
    size_t len, cap, cur;
} index_stream;

/* Index.db is opened once per handle: lookups by key come in long series,
 * and opening a stored file costs more than reading from it. */
static strata_err open_index(sstable *s) {
    if (s->index_path) return STRATA_OK;
    s->index_path = xasprintf("%sIndex.db", s->prefix);
    strata_err e = sst_file_open(s->vfs, s->index_path, &s->index_file);
    if (e) {
        free(s->index_path);
        s->index_path = NULL;
    }
    return e;
}

static strata_err stream_open(sstable *s, uint64_t start, index_stream *is) {
    memset(is, 0, sizeof *is);
    strata_err e = open_index(s);
    if (e) return e;
    is->path = s->index_path;
    is->file = &s->index_file;
    is->size = is->file->size;
    is->base = start <= is->size ? start : is->size;
    return STRATA_OK;
}

static void stream_close(index_stream *is) { free(is->buf); }

/* Keeps the unread bytes and appends at least `more` bytes of the file. */
static strata_err stream_fill(index_stream *is, size_t more) {
    if (is->cur) memmove(is->buf, is->buf + is->cur, is->len - is->cur);
    is->base += is->cur;
    is->len -= is->cur;
    is->cur = 0;
    if (is->cap < is->len + more) {
        is->cap = is->len + more;
        is->buf = xrealloc(is->buf, is->cap);
    }
    uint64_t left = is->size - is->base - is->len;
    size_t want = is->cap - is->len < left ? is->cap - is->len : (size_t)left;
    strata_err e = sst_file_read(is->file, is->buf + is->len, want, is->base + is->len);
    if (e) return e;
    is->len += want;
    return STRATA_OK;
}

/* The next entry: *end at the end of the file, *at its file offset. */
static strata_err stream_next(sstable *s, index_stream *is, index_entry *e, int *end, uint64_t *at) {
    size_t more = 65536;
    for (;;) {
        *at = is->base + is->cur;
        *end = *at >= is->size;
        if (*end) return STRATA_OK;
        sst_cur c;
        sst_cur_init(&c, is->len > is->cur ? is->buf + is->cur : NULL, is->len - is->cur);
        if (is->len > is->cur && read_index_entry(s, &c, e) == 0) {
            is->cur += sst_cur_pos(&c);
            return STRATA_OK;
        }
        if (is->base + is->len >= is->size || is->len - is->cur > SST_MAX_UNFILTERED) return index_error(is->path, *at);
        strata_err err = stream_fill(is, more);
        if (err) return err;
        more *= 2;
    }
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Summary.db, read once per handle: lookups by key come in long series. */
static void load_summary(sstable *s) {
    if (s->summary_loaded) return;
    s->summary_loaded = 1;
    char *path;
    if (sst_read_component(s, "Summary.db", &path, &s->summary, &s->summary_len) != STRATA_OK) {
        strata_clear_error();
        s->summary = NULL;
        s->summary_len = 0;
    }
    free(path);
}

/* A key looked up in the summary and the index.  Its token is computed
 * once: sstable_key_compare() would hash it again against each of the up
 * to ~140 keys a lookup passes, and a merge looks up every partition of a
 * compacted SSTable in the stored layers. */
typedef struct {
    const uint8_t *key;
    size_t len;
    int64_t token; /* Murmur3Partitioner's, when s->murmur3 */
} sought_key;

static sought_key sought(const sstable *s, const uint8_t *key, size_t len) {
    sought_key k = {key, len, 0};
    if (s->murmur3) k.token = sstable_murmur3_token(key, len);
    return k;
}

/* sstable_key_compare(s, a, al, k->key, k->len) */
static int compare_sought(const sstable *s, const uint8_t *a, size_t al, const sought_key *k) {
    if (s->murmur3) {
        int64_t t = sstable_murmur3_token(a, al);
        if (t != k->token) return t < k->token ? -1 : 1;
    }
    return sstable_key_compare(s, a, al, k->key, k->len);
}

/* Summary.db: the Index.db position to start scanning for `key`: that of
 * the last sampled key not after it, found by binary search.  A damaged
 * summary only costs speed: the scan then starts at the beginning. */
static uint64_t summary_start(sstable *s, const sought_key *key) {
    load_summary(s);
    sst_cur c;
    sst_cur_init(&c, s->summary, s->summary_len);
    sst_u32(&c);
    uint32_t count = sst_u32(&c);
    uint64_t region_len = sst_u64(&c); /* offsets and entries, contiguous */
    sst_u32(&c);
    sst_u32(&c);
    const uint8_t *region = c.p;
    if (c.failed || region_len > sst_cur_left(&c) || (uint64_t)count * 4 > region_len) return 0;
    uint64_t start = 0;
    uint32_t lo = 0, hi = count; /* entries before lo are not after key; from hi on they are */
    while (lo < hi) {
        uint32_t i = lo + (hi - lo) / 2;
        uint32_t from = le32(region + i * 4);
        uint32_t to = i + 1 < count ? le32(region + i * 4 + 4) : (uint32_t)region_len;
        if (from < count * 4 || from > to || to > region_len || to - from < 8) return 0;
        size_t kl = to - from - 8;
        if (compare_sought(s, region + from, kl, key) > 0) {
            hi = i;
            continue;
        }
        const uint8_t *pp = region + from + kl;
        uint64_t pos = 0;
        for (int b = 7; b >= 0; b--) pos = (pos << 8) | pp[b];
        start = pos;
        lo = i + 1;
    }
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

/* Whether sstable_key_compare knows the partitioner's order, so that the
 * summary and the index can be searched by key. */
static int key_order_known(const sstable *s) {
    return s->murmur3 || s->random || (s->meta.partitioner && strstr(s->meta.partitioner, "ByteOrdered"));
}

/* Where the last lookup left Index.db.  A merge looks up partitions in
 * token order, mostly a few entries apart: the next lookup goes on from
 * here instead of from the summary, which would read the index from the
 * sampled entry before the key again (up to 128 entries, 64 KiB). */
struct sst_seek_state {
    index_stream is;       /* just after `stop` */
    strata_buf sought;     /* the key it sought: every entry before `stop` is before it */
    int at_end;            /* no entry was at or after it */
    strata_buf stop_key;   /* else the first entry not before it */
    uint64_t stop_at;      /* that entry's Index.db offset */
    uint64_t stop_position; /* and its partition's Data.db offset */
};

void sst_seek_state_free(sstable *s) {
    if (!s->seek) return;
    stream_close(&s->seek->is);
    strata_buf_free(&s->seek->sought);
    strata_buf_free(&s->seek->stop_key);
    free(s->seek);
    s->seek = NULL;
}

/* Whether the last lookup's place serves `k`: k comes after the key it
 * sought (so not before its stop), and the summary starts no later. */
static int seek_goes_on(sstable *s, const sought_key *k, uint64_t start) {
    struct sst_seek_state *st = s->seek;
    return st && compare_sought(s, st->sought.data, st->sought.len, k) < 0 && (st->at_end || start <= st->stop_at);
}

/* Scans on from the stream for k, leaving in st the entry it stops at;
 * with have_stop, the last lookup's stopping entry is compared first. */
static strata_err scan_for(sstable *s, struct sst_seek_state *st, const sought_key *k, int have_stop, int *found) {
    strata_err e = STRATA_OK;
    st->at_end = 0;
    for (int end = 0;;) {
        if (!have_stop) {
            index_entry ie;
            uint64_t at;
            if ((e = stream_next(s, &st->is, &ie, &end, &at))) return e;
            if (end) {
                st->at_end = 1;
                return STRATA_OK;
            }
            st->stop_key.len = 0;
            strata_buf_put(&st->stop_key, ie.key, ie.key_len);
            st->stop_at = at;
            st->stop_position = ie.position;
        }
        have_stop = 0;
        int cmp = compare_sought(s, st->stop_key.data, st->stop_key.len, k);
        if (cmp > 0) return STRATA_OK;
        if (cmp == 0) {
            *found = 1;
            return sst_position(s, st->stop_position);
        }
    }
}

strata_err sstable_seek(sstable *s, const uint8_t *key, size_t klen, int *found) {
    *found = 0;
    if (s->meta.bti || !key_order_known(s) || open_index(s)) {
        strata_clear_error();
        return seek_by_scan(s, key, klen, found);
    }
    sought_key k = sought(s, key, klen);
    uint64_t start = summary_start(s, &k);
    int goes_on = seek_goes_on(s, &k, start);
    if (goes_on && s->seek->at_end) return STRATA_OK;
    if (!goes_on) {
        sst_seek_state_free(s);
        s->seek = xcalloc(1, sizeof *s->seek);
        strata_err e = stream_open(s, start, &s->seek->is);
        if (e) {
            sst_seek_state_free(s);
            return e;
        }
    }
    struct sst_seek_state *st = s->seek;
    st->sought.len = 0;
    strata_buf_put(&st->sought, key, klen);
    strata_err e = scan_for(s, st, &k, goes_on, found);
    if (e) sst_seek_state_free(s);
    return e;
}

strata_err sstable_verify_index(sstable *s, uint64_t *partitions, uint64_t *row_index_blocks) {
    *partitions = *row_index_blocks = 0;
    index_stream is;
    strata_err e = stream_open(s, 0, &is);
    if (!e) e = sstable_rewind(s);
    strata_buf prev;
    strata_buf_init(&prev);
    int have_prev = 0;
    for (int end = 0; !e;) {
        index_entry ie;
        uint64_t at;
        if ((e = stream_next(s, &is, &ie, &end, &at)) || end) break;
        if (have_prev && sstable_key_compare(s, prev.data, prev.len, ie.key, ie.key_len) >= 0) {
            e = strata_fail(STRATA_ECORRUPT, "%s: offset %llu: keys out of partitioner order", is.path,
                            (unsigned long long)at);
            break;
        }
        prev.len = 0;
        strata_buf_put(&prev, ie.key, ie.key_len);
        have_prev = 1;
        const sstable_partition *p;
        if ((e = sstable_next_partition(s, &p))) break;
        if (!p || p->offset != ie.position || p->key_len != ie.key_len || memcmp(p->key, ie.key, ie.key_len)) {
            e = strata_fail(STRATA_ECORRUPT, "%s: offset %llu: entry does not match the partition at Data.db offset %llu",
                            is.path, (unsigned long long)at, (unsigned long long)ie.position);
            break;
        }
        (*partitions)++;
        *row_index_blocks += ie.blocks;
    }
    const sstable_partition *p;
    if (!e && !(e = sstable_next_partition(s, &p)) && p)
        e = strata_fail(STRATA_ECORRUPT, "%s: Data.db holds partitions past the last index entry (offset %llu)",
                        is.path, (unsigned long long)p->offset);
    strata_buf_free(&prev);
    stream_close(&is);
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
    uint32_t crc = 0;
    uint8_t *buf = xmalloc(1 << 20);
    uint64_t off = 0, size = s->data.file_size;
    while (!e && off < size) {
        size_t n = size - off < (1u << 20) ? (size_t)(size - off) : 1u << 20;
        e = sst_file_read(&s->data.file, buf, n, off);
        if (!e) crc = strata_crc32(crc, buf, n), off += n;
    }
    free(buf);
    if (!e && crc != want)
        e = strata_fail(STRATA_ECORRUPT, "%s: CRC32 %lu of %llu bytes does not match Digest.crc32 (%llu)",
                        s->data.path, (unsigned long)crc, (unsigned long long)off, want);
    return e;
}

/* The current partition's Index.db entry; *found 0 when it has none. */
static strata_err find_entry(sstable *s, index_stream *is, index_entry *ie, int *found) {
    *found = 0;
    sought_key k = sought(s, s->part.key, s->part.key_len);
    strata_err e = stream_open(s, summary_start(s, &k), is);
    for (int end = 0; !e;) {
        uint64_t at;
        if ((e = stream_next(s, is, ie, &end, &at)) || end) break;
        int cmp = compare_sought(s, ie->key, ie->key_len, &k);
        if (cmp > 0) break;
        if (cmp == 0) {
            *found = 1;
            break;
        }
    }
    return e;
}

/* Jumps to the row index block that may hold `c`, when that is ahead. */
static strata_err jump_by_row_index(sstable *s, const sstable_value *c, size_t n, sstable_deletion *open) {
    if (s->meta.bti || !key_order_known(s) || open_index(s)) return strata_clear_error(), STRATA_OK;
    index_stream is;
    index_entry ie;
    int found;
    strata_err e = find_entry(s, &is, &ie, &found);
    if (!e && found && ie.blocks) {
        sst_cur cur;
        sst_cur_init(&cur, ie.row_index, ie.row_index_len);
        index_block *b = xmalloc(sizeof *b);
        sstable_deletion before = *open;
        uint64_t target = s->part.offset;
        for (uint64_t i = 0; i < ie.blocks; i++) {
            if (read_block(s, &cur, b)) break;
            target = s->part.offset + b->offset;
            if (sstable_clustering_compare(&s->header, b->last, b->nlast, b->last_kind, c, n,
                                           SSTABLE_INCL_START_BOUND) >= 0)
                break;
            before = b->open;
        }
        free(b);
        if (target > sst_data_tell(&s->data)) {
            *open = before;
            s->replay = 0;
            e = sst_data_seek(&s->data, target);
        }
    }
    stream_close(&is);
    return e;
}

strata_err sstable_skip_to(sstable *s, const sstable_value *c, size_t n, sstable_deletion *open) {
    *open = (sstable_deletion){INT64_MIN, INT64_MAX};
    if (!s->in_partition) return STRATA_OK;
    strata_err e = jump_by_row_index(s, c, n, open);
    const sstable_unfiltered *u;
    while (!e && !(e = sstable_next_unfiltered(s, &u)) && u) {
        if (sstable_clustering_compare(&s->header, u->clustering, u->nclustering, u->bound_kind, c, n,
                                       SSTABLE_INCL_START_BOUND) >= 0) {
            s->replay = 1;
            break;
        }
        if (u->kind == SSTABLE_RT_BOUNDARY ||
            (u->kind == SSTABLE_RT_BOUND &&
             (u->bound_kind == SSTABLE_INCL_START_BOUND || u->bound_kind == SSTABLE_EXCL_START_BOUND)))
            *open = u->deletion;
        else if (u->kind == SSTABLE_RT_BOUND)
            *open = (sstable_deletion){INT64_MIN, INT64_MAX};
    }
    return e;
}
