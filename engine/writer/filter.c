/* filter.c - Filter.db: Cassandra's bloom filter over the partition keys.
 *
 * Sizing follows FilterFactory: as many buckets (bits) per key as the key
 * count allows (at most 20), the fewest buckets and then hash functions
 * whose tabulated false-positive rate meets the table's fp chance, and
 * keys * buckets + 20 bits rounded up to 64-bit words.  A key sets the
 * bits |(h1 + i * h0) mod bits| of its Murmur3 x64_128 hash (Java signed
 * remainder), bit i in byte i/8.  Before na each word was written as a
 * big-endian long, which reverses its bytes. */
#include "engine/writer/writer_int.h"

#include <string.h>

/* BloomCalculations.probs: false-positive rate by buckets per element
 * (row) and hash count (column); column 0 is a placeholder. */
static const double probs[21][16] = {
    {1.0},
    {1.0, 1.0},
    {1.0, 0.393, 0.400},
    {1.0, 0.283, 0.237, 0.253},
    {1.0, 0.221, 0.155, 0.147, 0.160},
    {1.0, 0.181, 0.109, 0.092, 0.092, 0.101},
    {1.0, 0.154, 0.0804, 0.0609, 0.0561, 0.0578, 0.0638},
    {1.0, 0.133, 0.0618, 0.0423, 0.0359, 0.0347, 0.0364},
    {1.0, 0.118, 0.0489, 0.0306, 0.024, 0.0217, 0.0216, 0.0229},
    {1.0, 0.105, 0.0397, 0.0228, 0.0166, 0.0141, 0.0133, 0.0135, 0.0145},
    {1.0, 0.0952, 0.0329, 0.0174, 0.0118, 0.00943, 0.00844, 0.00819, 0.00846},
    {1.0, 0.0869, 0.0276, 0.0136, 0.00864, 0.0065, 0.00552, 0.00513, 0.00509},
    {1.0, 0.08, 0.0236, 0.0108, 0.00646, 0.00459, 0.00371, 0.00329, 0.00314},
    {1.0, 0.074, 0.0203, 0.00875, 0.00492, 0.00332, 0.00255, 0.00217, 0.00199, 0.00194},
    {1.0, 0.0689, 0.0177, 0.00718, 0.00381, 0.00244, 0.00179, 0.00146, 0.00129, 0.00121, 0.0012},
    {1.0, 0.0645, 0.0156, 0.00596, 0.003, 0.00183, 0.00128, 0.001, 0.000852, 0.000775, 0.000744},
    {1.0, 0.0606, 0.0138, 0.005, 0.00239, 0.00139, 0.000935, 0.000702, 0.000574, 0.000505, 0.00047, 0.000459},
    {1.0, 0.0571, 0.0123, 0.00423, 0.00193, 0.00107, 0.000692, 0.000499, 0.000394, 0.000335, 0.000302, 0.000287,
     0.000284},
    {1.0, 0.054, 0.0111, 0.00362, 0.00158, 0.000839, 0.000519, 0.00036, 0.000275, 0.000226, 0.000198, 0.000183,
     0.000176},
    {1.0, 0.0513, 0.00998, 0.00312, 0.0013, 0.000663, 0.000394, 0.000264, 0.000194, 0.000155, 0.000132, 0.000118,
     0.000111, 0.000109},
    {1.0, 0.0488, 0.00906, 0.0027, 0.00108, 0.00053, 0.000303, 0.000196, 0.00014, 0.000108, 8.89e-05, 7.77e-05,
     7.12e-05, 6.79e-05, 6.71e-05},
};
/* Hash counts tabulated per row (the row's length in Cassandra's table). */
static const int row_len[21] = {1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 9, 9, 9, 10, 11, 11, 12, 13, 13, 14, 15};

/* The hash count with the lowest rate in a row (the first on ties). */
static int opt_k(int buckets) {
    int k = 1;
    double min = 2.0;
    for (int j = 0; j < row_len[buckets]; j++)
        if (probs[buckets][j] < min) min = probs[buckets][j], k = j < 1 ? 1 : j;
    return k;
}

struct wr_filter {
    int hashes;
    uint64_t bits;
    uint8_t *bytes;
};

wr_filter *wr_filter_new(uint64_t expected_keys, double fp) {
    uint64_t n = expected_keys ? expected_keys : 1;
    double per = (double)(INT64_MAX - 20) / (double)n;
    int max_buckets = per >= 20 ? 20 : (int)per;
    int buckets = 2, k = opt_k(2);
    if (fp >= probs[2][1]) {
        k = 2;
        buckets = opt_k(2);
    } else {
        while (buckets < max_buckets && probs[buckets][k] > fp) k = opt_k(++buckets);
        while (k > 1 && probs[buckets][k - 1] <= fp) k--;
    }
    wr_filter *f = xcalloc(1, sizeof *f);
    f->hashes = k;
    uint64_t words = ((n * (uint64_t)buckets + 20 - 1) >> 6) + 1;
    f->bits = words * 64;
    f->bytes = xcalloc(words, 8);
    return f;
}

void wr_filter_add(wr_filter *f, const int64_t h[2]) {
    int64_t base = h[1];
    for (int i = 0; i < f->hashes; i++) {
        int64_t r = base % (int64_t)f->bits;
        uint64_t bit = (uint64_t)(r < 0 ? -r : r);
        f->bytes[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        base = (int64_t)((uint64_t)base + (uint64_t)h[0]);
    }
}

void wr_filter_serialize(const wr_filter *f, int old_layout, strata_buf *out) {
    uint64_t nbytes = f->bits / 8;
    wr_u32(out, (uint32_t)f->hashes);
    wr_u32(out, (uint32_t)(nbytes / 8));
    if (!old_layout) {
        strata_buf_put(out, f->bytes, nbytes);
        return;
    }
    for (uint64_t w = 0; w < nbytes; w += 8)
        for (int i = 7; i >= 0; i--) wr_u8(out, f->bytes[w + (uint64_t)i]);
}

void wr_filter_free(wr_filter *f) {
    if (!f) return;
    free(f->bytes);
    free(f);
}
