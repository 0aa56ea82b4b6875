/* rows.c - a chunk of Data.db stored as streams of its fields (codec 3).
 *
 * A reconciled Data.db interleaves fields of very different kinds: flags,
 * VInt sizes and timestamps, clustering values, each column's values.
 * zstd finds few repeats in such a mix (a random blob in every row breaks
 * the matches of the text beside it), and timestamps written as offsets
 * from the table's minimum look random although each row's are close to
 * the row before's.  So a chunk of a layer's Data.db can be stored as
 * streams, one per kind of field and one per column's values, with row
 * timestamps as differences from the row before, cell and deletion
 * timestamps as differences from their row's, timeuuid clustering values
 * as their time (a difference from the row before's) and, in a stream of
 * their own, their clock sequence and node, and body sizes left out
 * (the body gives them); one walk over Cassandra's
 * row layout, run forwards to split and backwards to interleave, makes
 * both directions agree byte for byte.
 *
 * The walk needs only the frame: the table's layout (which values have a
 * fixed length, which columns hold cells with paths) travels in it.  A
 * chunk starts and ends anywhere in the file: the bytes before its first
 * item (a partition header or an unfiltered) and after its last whole one
 * are kept as they are.  The store checks every frame by decoding it
 * before keeping it (store.c). */
#include "engine/repo/repo_int.h"
#include "engine/sstable/sstable.h" /* the flags of Cassandra's UnfilteredSerializer */

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROWS_FRAME_VERSION 1
/* A layout longer than this is no table's: a damaged frame cannot ask
 * for absurd allocations. */
#define ROWS_MAX_COLUMNS 65536

enum {
    S_RAW = 0,      /* bytes before the first item and after the last */
    S_FLAGS = 1,    /* unfiltered, extended and cell flags, marker kinds */
    S_SIZES = 2,    /* key lengths, previous unfiltered sizes */
    S_COLUMNS = 3,  /* clustering headers, column subsets, cell counts, marker lengths */
    S_TIMESTAMP = 4,
    S_CELL_TIMESTAMP = 5,
    S_EXPIRY = 6,   /* TTLs, local deletion and expiry times */
    S_DELETION = 7, /* partition deletions; other deletions' timestamps */
    S_LENGTHS = 8,  /* VInt lengths of clustering values and paths */
    S_KEYS = 9,
    S_CLUSTERING = 10, /* 4 streams */
    S_VALUES = 14,     /* 17 streams, columns past them sharing the last */
    S_PATHS = 31,      /* 17 streams */
    S_VALUE_LENGTHS = 48, /* 17 streams: VInt lengths of each column's values */
    S_UUID_TAILS = 65,    /* clock sequence and node of timeuuid clustering values */
    CLUSTERING_STREAMS = 4,
    COLUMN_STREAMS = 17,
};

enum { SPLIT, SKIP, JOIN };

typedef struct {
    int mode, failed;
    const repo_rows_layout *lay;
    const uint8_t *in_start, *in, *in_end; /* SPLIT, SKIP: the Data.db bytes */
    strata_buf *streams;           /* SPLIT */
    uint32_t item;                 /* SPLIT: the item being split, counting from 1 */
    uint32_t touched[ROWS_STREAMS]; /* SPLIT: the last item that wrote to each stream */
    size_t undo[ROWS_STREAMS];      /* SPLIT: each stream's length before it */
    const uint8_t **sp, **se;      /* JOIN: each stream's next byte and end */
    uint8_t *out;                  /* JOIN */
    size_t pos, out_len;
    int in_partition;
    uint64_t prev_timestamp, row_timestamp; /* VInt values, as stored */
    uint64_t prev_clustering[CLUSTERING_STREAMS]; /* of 8-byte clustering values */
    uint64_t prev_unfiltered; /* where the last unfiltered other than a static row began */
    int prev_known;           /* whether this walk saw it */
} walk;

/* ---- VInts ---------------------------------------------------------------- */

static unsigned vint_extra(uint8_t b) { return b == 0xff ? 8 : (unsigned)__builtin_clz((~(unsigned)b & 0xff) << 24); }

static uint64_t vint_value(const uint8_t *p) {
    unsigned extra = vint_extra(*p);
    uint64_t v = extra == 8 ? 0 : (uint64_t)(*p & (0xff >> extra));
    for (unsigned i = 1; i <= extra; i++) v = v << 8 | p[i];
    return v;
}

static unsigned vint_size(uint64_t v) {
    for (unsigned n = 1; n < 9; n++)
        if (v < (uint64_t)1 << (7 * n)) return n;
    return 9;
}

static void vint_store(uint8_t *p, uint64_t v, unsigned size) {
    if (size == 9) {
        p[0] = 0xff;
        for (int i = 8; i > 0; i--, v >>= 8) p[i] = (uint8_t)v;
        return;
    }
    for (unsigned i = size - 1; i > 0; i--, v >>= 8) p[i] = (uint8_t)v;
    p[0] = (uint8_t)((uint8_t)v | (uint8_t)~(0xffu >> (size - 1)));
}

/* ---- The walk's steps ------------------------------------------------------ */

/* Stream s of a split, its length before the current item kept so that
 * an item cut by the chunk's end can be taken back. */
static inline strata_buf *stream(walk *w, int s) {
    if (w->touched[s] != w->item) {
        w->touched[s] = w->item;
        w->undo[s] = w->streams[s].len;
    }
    return &w->streams[s];
}

/* n bytes of a field of stream s: where they are (in the input when
 * splitting, in the output when joining), NULL once the walk failed. */
static inline const uint8_t *take(walk *w, int s, size_t n) {
    if (w->failed) return NULL;
    const uint8_t *p;
    if (w->mode == JOIN) {
        if ((size_t)(w->se[s] - w->sp[s]) < n || w->out_len - w->pos < n) goto short_input;
        memcpy(w->out + w->pos, w->sp[s], n);
        w->sp[s] += n;
        p = w->out + w->pos;
        w->pos += n;
        return p;
    }
    if ((size_t)(w->in_end - w->in) < n) goto short_input;
    p = w->in;
    w->in += n;
    if (w->mode == SPLIT) strata_buf_put(stream(w, s), p, n);
    return p;
short_input:
    w->failed = 1;
    return NULL;
}

static uint64_t vint(walk *w, int s) {
    const uint8_t *p = take(w, s, 1);
    if (!p || !take(w, s, vint_extra(*p))) return 0;
    return vint_value(p);
}

/* The VInt at the input, which must be the shortest for its value: only
 * those can be rebuilt from the value alone (Cassandra and strata write
 * no other); the walk fails otherwise. */
static uint64_t shortest_input_vint(walk *w) {
    if (w->in >= w->in_end || (size_t)(w->in_end - w->in) < 1 + vint_extra(*w->in)) {
        w->failed = 1;
        return 0;
    }
    uint64_t v = vint_value(w->in);
    unsigned size = 1 + vint_extra(*w->in);
    if (vint_size(v) != size) {
        w->failed = 1;
        return 0;
    }
    w->in += size;
    return v;
}

/* The next zigzag difference of stream s (joining); 0 and the walk
 * failed when the stream holds none. */
static uint64_t stream_difference(walk *w, int s) {
    strata_reader rd;
    strata_reader_init(&rd, w->sp[s], (size_t)(w->se[s] - w->sp[s]));
    int64_t d = strata_read_zigzag(&rd);
    if (rd.failed) {
        w->failed = 1;
        return 0;
    }
    w->sp[s] = rd.p;
    return (uint64_t)d;
}

/* A VInt stored as the zigzag difference from `ref`. */
static uint64_t vint_from(walk *w, int s, uint64_t ref) {
    if (w->failed) return 0;
    if (w->mode == JOIN) {
        uint64_t v = ref + stream_difference(w, s);
        unsigned size = vint_size(v);
        if (w->failed || w->out_len - w->pos < size) {
            w->failed = 1;
            return 0;
        }
        vint_store(w->out + w->pos, v, size);
        w->pos += size;
        return v;
    }
    uint64_t v = shortest_input_vint(w);
    if (w->mode == SPLIT && !w->failed) strata_buf_put_zigzag(stream(w, s), (int64_t)(v - ref));
    return v;
}

/* Where each byte of a number, most significant first, lies in 8 bytes of
 * a value: an 8-byte value is big-endian; a timeuuid begins with its time,
 * low 32 bits first, then the middle 16, then the version and high 12. */
static const uint8_t big_endian_order[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t uuid_time_order[8] = {6, 7, 4, 5, 0, 1, 2, 3};

/* 8 bytes of a value, read as a number whose bytes lie in `order`, stored
 * as the zigzag difference from the one before it: clustering timestamps
 * and timeuuid times grow (or fall) row by row. */
static void number8_from(walk *w, int s, uint64_t *prev, const uint8_t order[8]) {
    if (w->failed) return;
    uint64_t v = 0;
    if (w->mode == JOIN) {
        v = *prev + stream_difference(w, s);
        if (w->failed || w->out_len - w->pos < 8) {
            w->failed = 1;
            return;
        }
        for (int i = 0; i < 8; i++) w->out[w->pos + order[i]] = (uint8_t)(v >> (56 - 8 * i));
        w->pos += 8;
    } else {
        if ((size_t)(w->in_end - w->in) < 8) {
            w->failed = 1;
            return;
        }
        for (int i = 0; i < 8; i++) v = v << 8 | w->in[order[i]];
        w->in += 8;
        if (w->mode == SPLIT) strata_buf_put_zigzag(stream(w, s), (int64_t)(v - *prev));
    }
    *prev = v;
}

/* Where the walk is: bytes since the chunk's (or the file's) start. */
static uint64_t position(const walk *w) { return w->mode == JOIN ? w->pos : (uint64_t)(w->in - w->in_start); }

/* The size of an unfiltered's body, which precedes it: not stored, since
 * the body's end gives it.  Returns where the body starts. */
static uint64_t body_begin(walk *w, uint64_t *size) {
    if (w->failed || w->mode == JOIN) return position(w);
    *size = shortest_input_vint(w);
    return position(w);
}

static void body_end(walk *w, uint64_t start, uint64_t size) {
    if (w->failed) return;
    uint64_t body = position(w) - start;
    if (w->mode != JOIN) {
        if (body != size) w->failed = 1;
        return;
    }
    unsigned n = vint_size(body);
    if (w->out_len - w->pos < n) {
        w->failed = 1;
        return;
    }
    memmove(w->out + start + n, w->out + start, (size_t)body);
    vint_store(w->out + start, body, n);
    w->pos += n;
}

/* An unfiltered's sizes and the previous unfiltered's size, which is how
 * far back that one began (a partition's first counts from the partition's
 * start; a static row says 0); returns where its body starts. */
static uint64_t sizes(walk *w, uint64_t start, int is_static, uint64_t *size) {
    uint64_t body = body_begin(w, size);
    uint64_t guess = is_static || !w->prev_known ? 0 : start - w->prev_unfiltered;
    vint_from(w, S_SIZES, guess);
    if (!is_static) {
        w->prev_unfiltered = start;
        w->prev_known = 1;
    }
    return body;
}

/* A VInt length of stream ls, then that many bytes of stream vs. */
static void length_value(walk *w, int ls, int vs) {
    uint64_t n = vint(w, ls);
    if (n > SIZE_MAX / 2) w->failed = 1;
    else take(w, vs, (size_t)n);
}

static int column_stream(int base, size_t col) {
    return base + (int)(col < COLUMN_STREAMS ? col : COLUMN_STREAMS - 1);
}

/* A deletion's timestamp (from the row's) and local deletion time. */
static void deletion(walk *w) {
    vint_from(w, S_DELETION, w->row_timestamp);
    vint(w, S_EXPIRY);
}

static void clustering(walk *w, size_t n) {
    const repo_rows_layout *lay = w->lay;
    uint64_t header = 0;
    if (n > lay->nclustering) w->failed = 1;
    for (size_t i = 0; i < n && !w->failed; i++) {
        if (i % 32 == 0) header = vint(w, S_COLUMNS);
        if ((header >> ((i % 32) * 2)) & 3) continue; /* null or empty */
        int k = (int)(i < CLUSTERING_STREAMS ? i : CLUSTERING_STREAMS - 1), s = S_CLUSTERING + k;
        if (lay->clustering_len[i] == 8) {
            number8_from(w, s, &w->prev_clustering[k], big_endian_order);
        } else if (lay->clustering_len[i] == REPO_LAYOUT_TIMEUUID) {
            /* a timeuuid's clock sequence and node repeat the writer's,
             * apart from its time, which grows row by row */
            number8_from(w, s, &w->prev_clustering[k], uuid_time_order);
            take(w, S_UUID_TAILS, 8);
        } else if (lay->clustering_len[i] >= 0) {
            take(w, s, (size_t)lay->clustering_len[i]);
        } else {
            length_value(w, S_LENGTHS, s);
        }
    }
}

/* Marks in `present` the row's columns (Columns.serializeSubset). */
static void column_subset(walk *w, uint8_t flags, size_t ncols, uint8_t *present) {
    memset(present, 1, ncols);
    if (flags & SSTABLE_F_HAS_ALL_COLUMNS) return;
    uint64_t enc = vint(w, S_COLUMNS);
    if (ncols < 64) {
        if (enc >> ncols) w->failed = 1;
        for (size_t i = 0; i < ncols; i++) present[i] = !(enc >> i & 1);
        return;
    }
    if (enc > ncols) {
        w->failed = 1;
        return;
    }
    size_t missing = (size_t)enc, count = ncols - missing;
    int listed = count < ncols / 2; /* the present columns are listed, else the missing ones */
    if (listed) memset(present, 0, ncols);
    for (size_t i = 0; i < (listed ? count : missing) && !w->failed; i++) {
        uint64_t idx = vint(w, S_COLUMNS);
        if (idx >= ncols) w->failed = 1;
        else present[idx] = (uint8_t)listed;
    }
}

static void cells(walk *w, uint8_t rflags, const int32_t *layout, size_t first, const uint8_t *present,
                  size_t ncols) {
    for (size_t col = 0; col < ncols && !w->failed; col++) {
        if (!present[col]) continue;
        int multicell = layout[col] == REPO_LAYOUT_MULTICELL;
        uint64_t count = 1;
        if (multicell) {
            if (rflags & SSTABLE_F_HAS_COMPLEX_DELETION) deletion(w);
            count = vint(w, S_COLUMNS);
        }
        for (; count && !w->failed; count--) {
            const uint8_t *f = take(w, S_FLAGS, 1);
            if (!f) break;
            uint8_t flags = *f;
            if (!(flags & SSTABLE_C_USE_ROW_TIMESTAMP)) vint_from(w, S_CELL_TIMESTAMP, w->row_timestamp);
            if (!(flags & SSTABLE_C_USE_ROW_TTL)) {
                if (flags & (SSTABLE_C_IS_DELETED | SSTABLE_C_IS_EXPIRING)) vint(w, S_EXPIRY);
                if (flags & SSTABLE_C_IS_EXPIRING) vint(w, S_EXPIRY);
            }
            if (multicell) length_value(w, S_LENGTHS, column_stream(S_PATHS, first + col));
            if (flags & SSTABLE_C_HAS_EMPTY_VALUE) continue;
            int s = column_stream(S_VALUES, first + col);
            if (multicell || layout[col] < 0) length_value(w, column_stream(S_VALUE_LENGTHS, first + col), s);
            else take(w, s, (size_t)layout[col]);
        }
    }
}

static void row(walk *w, uint64_t start, uint8_t flags, uint8_t ext) {
    const repo_rows_layout *lay = w->lay;
    int is_static = ext & SSTABLE_X_IS_STATIC;
    if (!is_static) clustering(w, lay->nclustering);
    uint64_t size = 0, body = sizes(w, start, is_static, &size);
    if (flags & SSTABLE_F_HAS_TIMESTAMP) {
        w->row_timestamp = w->prev_timestamp = vint_from(w, S_TIMESTAMP, w->prev_timestamp);
        if (flags & SSTABLE_F_HAS_TTL) {
            vint(w, S_EXPIRY);
            vint(w, S_EXPIRY);
        }
    }
    if (flags & SSTABLE_F_HAS_DELETION) deletion(w);
    size_t ncols = is_static ? lay->nstatic : lay->nregular;
    uint8_t stack[256], *present = ncols <= sizeof stack ? stack : xmalloc(ncols);
    column_subset(w, flags, ncols, present);
    cells(w, flags, is_static ? lay->static_layout : lay->regular_layout, is_static ? lay->nregular : 0, present,
          ncols);
    if (present != stack) free(present);
    body_end(w, body, size);
}

static void marker(walk *w, uint64_t start) {
    const uint8_t *k = take(w, S_FLAGS, 1), *n = take(w, S_COLUMNS, 2);
    if (!k || !n) return;
    int boundary = *k == SSTABLE_EXCL_END_INCL_START_BOUNDARY || *k == SSTABLE_INCL_END_EXCL_START_BOUNDARY;
    clustering(w, (size_t)n[0] << 8 | n[1]);
    uint64_t size = 0, body = sizes(w, start, 0, &size);
    deletion(w);
    if (boundary) deletion(w);
    body_end(w, body, size);
}

static void partition_header(walk *w) {
    const uint8_t *len = take(w, S_SIZES, 2);
    if (!len) return;
    take(w, S_KEYS, (size_t)len[0] << 8 | len[1]);
    if (!w->lay->uint_deletion_time) {
        take(w, S_DELETION, 12);
        return;
    }
    const uint8_t *first = take(w, S_DELETION, 1); /* 0x80 alone when live */
    if (first && !(*first & 0x80)) take(w, S_DELETION, 11);
}

/* One item: a partition header, or an unfiltered or the end of a
 * partition.  Sets failed when its bytes run out or do not parse. */
static void item(walk *w) {
    uint64_t start = position(w);
    if (!w->in_partition) {
        partition_header(w);
        w->in_partition = 1;
        w->prev_unfiltered = start;
        w->prev_known = 1;
        return;
    }
    const uint8_t *f = take(w, S_FLAGS, 1);
    if (!f) return;
    uint8_t flags = *f, ext = 0;
    if (flags & SSTABLE_F_END_OF_PARTITION) {
        w->in_partition = 0;
        return;
    }
    if (flags & SSTABLE_F_EXTENSION) {
        const uint8_t *x = take(w, S_FLAGS, 1);
        if (!x) return;
        ext = *x;
    }
    if (flags & SSTABLE_F_IS_MARKER) marker(w, start);
    else row(w, start, flags, ext);
}

/* ---- Splitting ----------------------------------------------------------------- */

/* Bytes of a mapped Data.db walked past before their pages are let go. */
#define DROP_STEP (8u << 20)

struct rows_splitter {
    const repo_store_rows *rows;
    repo_rows_layout layout;   /* rows->layout, as the repository's format has it */
    int32_t *clustering_len;
    uint64_t dropped; /* pages of rows->data before this are let go */
    uint64_t next;    /* an item boundary: where the walk to find the next ones goes on */
    int in_partition; /* at `next` */
    int lost;         /* the file did not parse: no more items */
    strata_buf streams[ROWS_STREAMS];
};

rows_splitter *rows_splitter_new(const repo_store_rows *rows, int format_version) {
    rows_splitter *r = xcalloc(1, sizeof *r);
    r->rows = rows;
    r->layout = *rows->layout;
    size_t n = r->layout.nclustering;
    r->clustering_len = xmalloc((n ? n : 1) * sizeof *r->clustering_len);
    for (size_t i = 0; i < n; i++) {
        int32_t len = r->layout.clustering_len[i];
        /* format 3 knows no timeuuid split */
        r->clustering_len[i] = len == REPO_LAYOUT_TIMEUUID && format_version < 4 ? 16 : len;
    }
    r->layout.clustering_len = r->clustering_len;
    for (int i = 0; i < ROWS_STREAMS; i++) strata_buf_init(&r->streams[i]);
    return r;
}

void rows_splitter_free(rows_splitter *r) {
    if (!r) return;
    for (int i = 0; i < ROWS_STREAMS; i++) strata_buf_free(&r->streams[i]);
    free(r->clustering_len);
    free(r);
}

/* Walks items from the last boundary found to the first at or past `at`. */
static void find_boundary(rows_splitter *r, uint64_t at) {
    while (!r->lost && r->next < at) {
        walk w = {.mode = SKIP, .lay = &r->layout, .in_partition = r->in_partition};
        w.in_start = r->rows->data;
        w.in = r->rows->data + r->next;
        w.in_end = r->rows->data + r->rows->size;
        item(&w);
        if (w.failed || w.in == r->rows->data + r->next) r->lost = 1;
        r->next = (uint64_t)(w.in - r->rows->data);
        r->in_partition = w.in_partition;
    }
}

static void put_layout(strata_buf *out, const repo_rows_layout *lay) {
    strata_buf_put_u8(out, (uint8_t)(lay->uint_deletion_time != 0));
    strata_buf_put_varint(out, lay->nclustering);
    for (size_t i = 0; i < lay->nclustering; i++) strata_buf_put_zigzag(out, lay->clustering_len[i]);
    strata_buf_put_varint(out, lay->nregular);
    for (size_t i = 0; i < lay->nregular; i++) strata_buf_put_zigzag(out, lay->regular_layout[i]);
    strata_buf_put_varint(out, lay->nstatic);
    for (size_t i = 0; i < lay->nstatic; i++) strata_buf_put_zigzag(out, lay->static_layout[i]);
}

/* rows->data is usually a file mapping, whose pages count in the
 * process's memory once read: those the walk has passed are let go, so
 * that storing a large Data.db does not hold it all. */
static void drop_behind(rows_splitter *r, uint64_t at) {
    uint64_t behind = r->next < at ? r->next : at;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t upto = behind / page * page;
    if (upto < r->dropped + DROP_STEP || (uintptr_t)r->rows->data % page) return;
    madvise((void *)(uintptr_t)(r->rows->data + r->dropped), (size_t)(upto - r->dropped), MADV_DONTNEED);
    r->dropped = upto;
}

int rows_split(rows_splitter *r, uint64_t at, uint32_t size, rows_frame *frame) {
    const repo_store_rows *rows = r->rows;
    uint64_t end = at + size;
    if (end > rows->size) return 0;
    find_boundary(r, at);
    drop_behind(r, at);
    if (r->lost || r->next >= end) return 0;
    for (int i = 0; i < ROWS_STREAMS; i++) r->streams[i].len = 0;
    uint64_t prefix = r->next - at;
    int in_partition_first = r->in_partition;
    strata_buf_put(&r->streams[S_RAW], rows->data + at, (size_t)prefix);
    walk w = {.mode = SPLIT, .lay = &r->layout, .streams = r->streams, .in_partition = r->in_partition};
    w.in_start = rows->data + at;
    w.in = rows->data + r->next;
    w.in_end = rows->data + end;
    uint64_t items = 0;
    while (w.in < w.in_end) {
        const uint8_t *before = w.in;
        int in_partition = w.in_partition;
        w.item++;
        item(&w);
        if (w.failed) { /* it runs past the chunk's end: kept as it is */
            for (int i = 0; i < ROWS_STREAMS; i++)
                if (w.touched[i] == w.item) r->streams[i].len = w.undo[i];
            w.in = before;
            w.in_partition = in_partition;
            break;
        }
        items++;
    }
    /* the next chunk's first item is found from the one cut here */
    r->next = (uint64_t)(w.in - rows->data);
    r->in_partition = w.in_partition;
    if (!items) return 0;
    strata_buf_put(&r->streams[S_RAW], w.in, (size_t)(w.in_end - w.in));
    int nstreams = ROWS_STREAMS;
    while (nstreams > 1 && !r->streams[nstreams - 1].len) nstreams--;
    strata_buf *out = &frame->bytes;
    out->len = 0;
    strata_buf_put_u8(out, ROWS_FRAME_VERSION);
    put_layout(out, &r->layout);
    strata_buf_put_varint(out, prefix);
    strata_buf_put_u8(out, (uint8_t)in_partition_first);
    strata_buf_put_varint(out, items);
    strata_buf_put_varint(out, (uint64_t)nstreams);
    for (int i = 0; i < nstreams; i++) strata_buf_put_varint(out, r->streams[i].len);
    frame->n_ends = 0;
    frame->ends[frame->n_ends++] = out->len;
    for (int i = 0; i < nstreams; i++) {
        strata_buf_put(out, r->streams[i].data, r->streams[i].len);
        if (r->streams[i].len) frame->ends[frame->n_ends++] = out->len;
    }
    return out->len <= ROWS_MAX_FRAME(size);
}

/* ---- Joining ----------------------------------------------------------------------- */

/* A layout's lengths, each at least `least`. */
static int32_t *read_lengths(strata_reader *rd, size_t *n, int32_t least) {
    uint64_t count = strata_read_varint(rd);
    if (rd->failed || count > ROWS_MAX_COLUMNS || count > rd->left) {
        rd->failed = 1;
        *n = 0;
        return NULL;
    }
    int32_t *v = xmalloc(count ? (size_t)count * sizeof *v : 1);
    for (uint64_t i = 0; i < count; i++) {
        int64_t x = strata_read_zigzag(rd);
        if (x < least || x > INT32_MAX) rd->failed = 1;
        v[i] = (int32_t)x;
    }
    *n = (size_t)count;
    return v;
}

strata_err rows_join(const uint8_t *frame, size_t len, uint8_t *out, uint32_t out_len) {
    strata_reader rd;
    strata_reader_init(&rd, frame, len);
    repo_rows_layout lay = {0};
    strata_err e = STRATA_OK;
    int32_t *cl = NULL, *rl = NULL, *sl = NULL;
    if (strata_read_u8(&rd) != ROWS_FRAME_VERSION) goto bad;
    lay.uint_deletion_time = strata_read_u8(&rd);
    lay.clustering_len = cl = read_lengths(&rd, &lay.nclustering, REPO_LAYOUT_TIMEUUID);
    lay.regular_layout = rl = read_lengths(&rd, &lay.nregular, REPO_LAYOUT_MULTICELL);
    lay.static_layout = sl = read_lengths(&rd, &lay.nstatic, REPO_LAYOUT_MULTICELL);
    for (size_t i = 0; i < lay.nclustering && cl; i++)
        if (cl[i] == REPO_LAYOUT_MULTICELL) goto bad;
    uint64_t prefix = strata_read_varint(&rd);
    int in_partition = strata_read_u8(&rd);
    uint64_t items = strata_read_varint(&rd), nstreams = strata_read_varint(&rd);
    if (rd.failed || nstreams < 1 || nstreams > ROWS_STREAMS || in_partition > 1) goto bad;
    const uint8_t *sp[ROWS_STREAMS], *se[ROWS_STREAMS];
    walk w = {.mode = JOIN, .lay = &lay, .sp = sp, .se = se, .out = out, .out_len = out_len,
              .in_partition = in_partition};
    uint64_t lens[ROWS_STREAMS], total = 0;
    for (uint64_t i = 0; i < nstreams; i++) {
        lens[i] = strata_read_varint(&rd);
        if (lens[i] > len) goto bad;
        total += lens[i];
    }
    if (rd.failed || total != rd.left || prefix > lens[S_RAW]) goto bad;
    const uint8_t *at = rd.p;
    for (uint64_t i = 0; i < ROWS_STREAMS; i++) {
        w.sp[i] = at;
        w.se[i] = i < nstreams ? at + lens[i] : at;
        at = w.se[i];
    }
    take(&w, S_RAW, (size_t)prefix);
    for (uint64_t i = 0; i < items && !w.failed; i++) item(&w);
    take(&w, S_RAW, (size_t)(w.se[S_RAW] - w.sp[S_RAW]));
    if (w.failed || w.pos != out_len) goto bad;
    for (int i = 0; i < ROWS_STREAMS; i++)
        if (w.sp[i] != w.se[i]) goto bad;
    goto done;
bad:
    e = strata_fail(STRATA_ECORRUPT, "malformed row streams");
done:
    free(cl);
    free(rl);
    free(sl);
    return e;
}
