/* tombhist.c - the tombstone drop-time histogram of Statistics.db.
 *
 * Cassandra's StreamingTombstoneHistogramBuilder(100, 100000, 60): every
 * local deletion or expiry time is rounded up to a minute and counted in
 * a spool (an open-addressing table of 2^17 cells probed linearly from a
 * multiplicative hash); when the spool cannot take a point, and at the
 * end, its cells are flushed in table order into at most 100 sorted bins,
 * merging the two closest bins into their weighted mean whenever a 101st
 * appears.  Flush order decides which bins merge, so the spool is
 * reproduced exactly.
 *
 * Early 3.0 releases used StreamingHistogram instead: every deletion time,
 * the "none" of live cells included, kept exactly in at most 100 bins of
 * (double point, count), the closest two merged into their weighted mean
 * whenever a bin is added past the limit. */
#include "engine/writer/writer_int.h"

#include <string.h>

#define MAX_BINS 100
#define SPOOL_CAPACITY 131072 /* 100000 rounded up to a power of two */
#define ROUND_SECONDS 60
#define MAX_DELETION_TIME (INT32_MAX - 1)
#define EMPTY INT64_MAX

typedef struct {
    double point;
    int64_t count;
} exact_bin;

struct wr_tombhist {
    int exact;
    exact_bin ebins[MAX_BINS + 1];
    size_t nebins;
    int32_t *points; /* SPOOL_CAPACITY * 2 cells, -1 when free */
    int32_t *values;
    size_t size;
    int64_t bins[MAX_BINS + 1]; /* point << 32 | count, sorted, EMPTY after */
};

static int32_t sat_int(int64_t v) { return v > INT32_MAX ? INT32_MAX : (int32_t)v; }

static int32_t ceil_key(int32_t point) {
    int32_t delta = point % ROUND_SECONDS;
    if (delta == 0) return point;
    int64_t v = (int64_t)point + ROUND_SECONDS - delta;
    return v < 0 || v > MAX_DELETION_TIME ? MAX_DELETION_TIME : (int32_t)v;
}

static int64_t wrap(int32_t point, int64_t value) { return (int64_t)((uint64_t)(int64_t)point << 32) | sat_int(value); }
static int32_t bin_point(int64_t b) { return (int32_t)(b >> 32); }
static int32_t bin_value(int64_t b) { return (int32_t)(b & 0xffffffff); }

wr_tombhist *wr_tombhist_new(int exact) {
    wr_tombhist *t = xcalloc(1, sizeof *t);
    t->exact = exact;
    for (int i = 0; i <= MAX_BINS; i++) t->bins[i] = EMPTY;
    return t;
}

static size_t lower_bound(const wr_tombhist *t, int64_t key) {
    size_t lo = 0, hi = MAX_BINS + 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->bins[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void merge_nearest(wr_tombhist *t) {
    int32_t p1 = 0, p2 = INT32_MAX;
    for (int i = 0; i < MAX_BINS; i++) {
        int32_t a = bin_point(t->bins[i]), b = bin_point(t->bins[i + 1]);
        if ((int64_t)p2 - p1 > (int64_t)b - a) p1 = a, p2 = b;
    }
    size_t i = lower_bound(t, wrap(p1, 0));
    int64_t v1 = bin_value(t->bins[i]), v2 = bin_value(t->bins[i + 1]);
    int64_t sum = v1 + v2;
    int32_t point = ceil_key(sat_int(((int64_t)p1 * v1 + (int64_t)p2 * v2) / sum));
    t->bins[i] = wrap(point, sum);
    memmove(&t->bins[i + 1], &t->bins[i + 2], (MAX_BINS - 1 - i) * sizeof *t->bins);
    t->bins[MAX_BINS] = EMPTY;
}

static void add_bin(wr_tombhist *t, int32_t point, int32_t value) {
    size_t i = lower_bound(t, wrap(point, 0));
    if (bin_point(t->bins[i]) != point) {
        memmove(&t->bins[i + 1], &t->bins[i], (MAX_BINS - i) * sizeof *t->bins);
        t->bins[i] = wrap(point, value);
    } else {
        t->bins[i] = wrap(point, (int64_t)bin_value(t->bins[i]) + value);
    }
    if (t->bins[MAX_BINS] != EMPTY) merge_nearest(t);
}

static void flush_spool(wr_tombhist *t) {
    if (t->size == 0) return;
    for (size_t i = 0; i < SPOOL_CAPACITY * 2; i++)
        if (t->points[i] != -1) add_bin(t, t->points[i], t->values[i]);
    memset(t->points, 0xff, SPOOL_CAPACITY * 2 * sizeof *t->points);
    t->size = 0;
}

static int spool_add(wr_tombhist *t, int32_t point) {
    if (!t->points) {
        /* the 2 MiB spool only for SSTables with deletion times */
        t->points = xmalloc(SPOOL_CAPACITY * 2 * sizeof *t->points);
        t->values = xmalloc(SPOOL_CAPACITY * 2 * sizeof *t->values);
        memset(t->points, 0xff, SPOOL_CAPACITY * 2 * sizeof *t->points);
    }
    if (t->size > SPOOL_CAPACITY) return 0;
    uint32_t cell = (SPOOL_CAPACITY - 1) & (uint32_t)((uint64_t)(int64_t)point * 948701839ULL);
    for (uint32_t attempt = 0; attempt < 100; attempt++) {
        size_t c = (cell + attempt) % (SPOOL_CAPACITY * 2);
        if (t->points[c] == -1) {
            t->points[c] = point;
            t->values[c] = 1;
            t->size++;
            return 1;
        }
        if (t->points[c] == point) {
            t->values[c] = sat_int((int64_t)t->values[c] + 1);
            return 1;
        }
    }
    return 0;
}

static void add_point(wr_tombhist *t, int32_t point) {
    if (spool_add(t, point)) return;
    flush_spool(t);
    spool_add(t, point);
}

static void exact_merge_closest(wr_tombhist *t) {
    size_t q = 0;
    double smallest = t->ebins[1].point - t->ebins[0].point;
    for (size_t i = 1; i + 1 < t->nebins; i++)
        if (t->ebins[i + 1].point - t->ebins[i].point < smallest) smallest = t->ebins[i + 1].point - t->ebins[i].point, q = i;
    exact_bin a = t->ebins[q], b = t->ebins[q + 1];
    memmove(&t->ebins[q], &t->ebins[q + 2], (t->nebins - q - 2) * sizeof *t->ebins);
    t->nebins -= 2;
    exact_bin m = {(a.point * (double)a.count + b.point * (double)b.count) / (double)(a.count + b.count),
                   a.count + b.count};
    size_t i = 0;
    while (i < t->nebins && t->ebins[i].point < m.point) i++;
    if (i < t->nebins && t->ebins[i].point == m.point) {
        t->ebins[i].count += m.count;
        return;
    }
    memmove(&t->ebins[i + 1], &t->ebins[i], (t->nebins - i) * sizeof *t->ebins);
    t->ebins[i] = m;
    t->nebins++;
}

static void exact_add(wr_tombhist *t, double p) {
    size_t i = 0;
    while (i < t->nebins && t->ebins[i].point < p) i++;
    if (i < t->nebins && t->ebins[i].point == p) {
        t->ebins[i].count++;
        return;
    }
    memmove(&t->ebins[i + 1], &t->ebins[i], (t->nebins - i) * sizeof *t->ebins);
    t->ebins[i] = (exact_bin){p, 1};
    t->nebins++;
    if (t->nebins > MAX_BINS) exact_merge_closest(t);
}

void wr_tombhist_update(wr_tombhist *t, int32_t ldt) {
    if (t->exact) exact_add(t, ldt);
    else if (ldt != INT32_MAX) add_point(t, ceil_key(ldt));
}

void wr_tombhist_serialize(wr_tombhist *t, const wr_version *v, strata_buf *out) {
    int oa = v->oa;
    if (t->exact) {
        wr_u32(out, MAX_BINS);
        wr_u32(out, (uint32_t)t->nebins);
        for (size_t i = 0; i < t->nebins; i++) {
            uint64_t bits;
            memcpy(&bits, &t->ebins[i].point, sizeof bits);
            wr_u64(out, bits);
            wr_u64(out, (uint64_t)t->ebins[i].count);
        }
        return;
    }
    flush_spool(t);
    uint32_t n = 0;
    while (n <= MAX_BINS && t->bins[n] != EMPTY) n++;
    wr_u32(out, v->na ? n : MAX_BINS);
    wr_u32(out, n);
    for (uint32_t i = 0; i < n; i++) {
        int32_t p = bin_point(t->bins[i]), v = bin_value(t->bins[i]);
        if (oa) {
            wr_u32(out, (uint32_t)p);
            wr_u32(out, (uint32_t)v);
        } else {
            double d = p;
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            wr_u64(out, bits);
            wr_u64(out, (uint64_t)(int64_t)v);
        }
    }
}

void wr_tombhist_free(wr_tombhist *t) {
    if (!t) return;
    free(t->points);
    free(t->values);
    free(t);
}
