/* hll.c - the cardinality estimator of Statistics.db's compaction metadata.
 *
 * Cassandra offers every partition key, hashed with MurmurHash64A
 * (MurmurHash.hash2_64, seed 0), to a HyperLogLog++ estimator with p = 13
 * and sp = 25 from stream-lib 2.5.2, and stores its serialized bytes.  The
 * bytes depend on the library's exact behaviour, reproduced here: keys are
 * encoded into 32-bit sparse entries, buffered 1537 at a time, sorted by
 * sparse index and then by the entry shifted left 19 bits (signed), and
 * merged into the sparse set keeping one entry per index (the smaller as a
 * signed int); past 6144 entries the estimator switches to 8192 five-bit
 * registers packed six to an int.  Serialized: int -2, varint p, varint
 * sp, then format 1 + count + delta-encoded varint entries, or format 0 +
 * byte count + big-endian register words. */
#include "engine/writer/writer_int.h"

#include <string.h>

#define P 13
#define SP 25
#define SPARSE_THRESHOLD 6144 /* (int)(2^p * 0.75) */
#define SORT_THRESHOLD 1536   /* SPARSE_THRESHOLD / 4 */
#define REGISTER_WORDS 1366   /* 8192 registers / 6 per word, rounded up */

struct wr_hll {
    int normal;
    int32_t tmp[SORT_THRESHOLD + 1];
    uint64_t keys[2][SORT_THRESHOLD + 1]; /* the radix sort's */
    size_t ntmp;
    int32_t *sparse;
    size_t nsparse;
    int32_t regs[REGISTER_WORDS];
};

static uint64_t hash2_64(const uint8_t *key, size_t len) {
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = (uint64_t)0 ^ (m * (uint64_t)(int64_t)(int32_t)len);
    size_t longs = len >> 3;
    for (size_t i = 0; i < longs; i++) {
        uint64_t k;
        memcpy(&k, key + i * 8, 8); /* little-endian, as Java assembles it */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        k = __builtin_bswap64(k);
#endif
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t rem = len & 7;
    if (rem) {
        /* Java reads these bytes signed, so high bytes sign-extend */
        for (size_t i = rem; i-- > 0;) h ^= (uint64_t)(int64_t)(int8_t)key[len - rem + i] << (8 * i);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

static uint32_t sparse_index(int32_t k) {
    return (k & 1) ? (uint32_t)k >> 7 : (uint32_t)k >> 1;
}

static int32_t encode(uint64_t x) {
    uint32_t idx = (uint32_t)(x >> (64 - SP));
    uint32_t zero_test = idx << ((32 - SP) + P);
    if (zero_test == 0) {
        int run = __builtin_clzll((x << P) | (1ULL << (P - 1))) + 1;
        return (int32_t)((((idx << 6) | (uint32_t)(run ^ 63)) << 1) | 1);
    }
    return (int32_t)(idx << 1);
}

/* stream-lib sorts the buffered entries by sparse index, then by the
 * entry shifted left (P + 31 - SP) bits as a signed int: its low 13 bits
 * as a signed number.  As one unsigned 38-bit key: the index, then those
 * bits with the sign flipped.  The key holds the whole entry: a flagged
 * one is its index and low 7 bits, any other its index shifted once. */
#define LOW_BITS (32 - (P + 31 - SP))
#define LOW_SIGN (1u << (LOW_BITS - 1))

static uint64_t sort_key(int32_t k) {
    return (uint64_t)sparse_index(k) << LOW_BITS | (((uint32_t)k & ((1u << LOW_BITS) - 1)) ^ LOW_SIGN);
}

static int32_t entry_of(uint64_t key) {
    uint32_t idx = (uint32_t)(key >> LOW_BITS), low = ((uint32_t)key & ((1u << LOW_BITS) - 1)) ^ LOW_SIGN;
    return (int32_t)(low & 1 ? idx << 7 | (low & 0x7f) : idx << 1);
}

/* Entries one at a time through a comparison function cost far more than
 * the HLL's other work, so their keys are radix sorted, 10 bits a pass. */
#define RADIX_BITS 10
#define RADIX_PASSES 4
#define DIGIT(key, pass) (((key) >> ((pass) * RADIX_BITS)) & ((1u << RADIX_BITS) - 1))

static void sort_tmp(wr_hll *h) {
    uint32_t counts[RADIX_PASSES][1u << RADIX_BITS];
    memset(counts, 0, sizeof counts);
    uint64_t *from = h->keys[0], *to = h->keys[1];
    for (size_t i = 0; i < h->ntmp; i++) {
        uint64_t key = from[i] = sort_key(h->tmp[i]);
        for (int pass = 0; pass < RADIX_PASSES; pass++) counts[pass][DIGIT(key, pass)]++;
    }
    for (int pass = 0; pass < RADIX_PASSES; pass++) {
        uint32_t at = 0;
        for (size_t d = 0; d < 1u << RADIX_BITS; d++) {
            uint32_t n = counts[pass][d];
            counts[pass][d] = at;
            at += n;
        }
        for (size_t i = 0; i < h->ntmp; i++) to[counts[pass][DIGIT(from[i], pass)]++] = from[i];
        uint64_t *t = from;
        from = to, to = t;
    }
    for (size_t i = 0; i < h->ntmp; i++) h->tmp[i] = entry_of(from[i]);
}

static size_t skip_same(const int32_t *tmp, size_t n, uint32_t idx, size_t i) {
    while (i < n && sparse_index(tmp[i]) == idx) i++;
    return i;
}

static void merge_tmp(wr_hll *h) {
    if (h->ntmp == 0) return;
    sort_tmp(h);
    int32_t *out = xmalloc((h->nsparse + h->ntmp) * sizeof *out);
    size_t n = 0, si = 0, ti = 0;
    while (si < h->nsparse || ti < h->ntmp) {
        if (si >= h->nsparse) {
            int32_t t = h->tmp[ti++];
            out[n++] = t;
            ti = skip_same(h->tmp, h->ntmp, sparse_index(t), ti);
        } else if (ti >= h->ntmp) {
            out[n++] = h->sparse[si++];
        } else {
            int32_t s = h->sparse[si], t = h->tmp[ti];
            if (sparse_index(s) == sparse_index(t)) {
                out[n++] = s < t ? s : t;
                ti = skip_same(h->tmp, h->ntmp, sparse_index(t), ti + 1);
                si++;
            } else if (s < t) {
                out[n++] = s;
                si++;
            } else {
                out[n++] = t;
                ti = skip_same(h->tmp, h->ntmp, sparse_index(t), ti + 1);
            }
        }
    }
    free(h->sparse);
    h->sparse = out;
    h->nsparse = n;
    h->ntmp = 0;
}

static void update_register(wr_hll *h, uint32_t pos, int value) {
    uint32_t word = pos / 6;
    int shift = 5 * (int)(pos - word * 6);
    int32_t mask = (int32_t)(0x1fu << shift);
    int64_t cur = h->regs[word] & mask;
    int64_t val = (int32_t)((uint32_t)value << shift);
    if (cur < val) h->regs[word] = (int32_t)((int64_t)(h->regs[word] & ~mask) | val);
}

static void to_normal(wr_hll *h) {
    merge_tmp(h);
    for (size_t i = 0; i < h->nsparse; i++) {
        int32_t k = h->sparse[i];
        uint32_t idx = sparse_index(k) >> (SP - P);
        int run = (k & 1) ? (int)((((uint32_t)k >> 1) & 63) ^ 63)
                          : __builtin_clz((uint32_t)k << (P + 31 - SP)) + 1;
        update_register(h, idx, run);
    }
    free(h->sparse);
    h->sparse = NULL;
    h->nsparse = 0;
    h->normal = 1;
}

wr_hll *wr_hll_new(void) { return xcalloc(1, sizeof(wr_hll)); }

void wr_hll_offer(wr_hll *h, const uint8_t *key, size_t len) {
    uint64_t x = hash2_64(key, len);
    if (h->normal) {
        update_register(h, (uint32_t)(x >> (64 - P)), __builtin_clzll((x << P) | (1ULL << (P - 1))) + 1);
        return;
    }
    h->tmp[h->ntmp++] = encode(x);
    if (h->ntmp > SORT_THRESHOLD) {
        merge_tmp(h);
        if (h->nsparse > SPARSE_THRESHOLD) to_normal(h);
    }
}

static void put_varint(strata_buf *b, uint32_t v) {
    while (v & ~0x7fu) {
        wr_u8(b, (uint8_t)((v & 0x7f) | 0x80));
        v >>= 7;
    }
    wr_u8(b, (uint8_t)v);
}

void wr_hll_serialize(wr_hll *h, strata_buf *out) {
    wr_u32(out, (uint32_t)-2);
    put_varint(out, P);
    put_varint(out, SP);
    if (h->normal) {
        put_varint(out, 0);
        put_varint(out, REGISTER_WORDS * 4);
        for (size_t i = 0; i < REGISTER_WORDS; i++) wr_u32(out, (uint32_t)h->regs[i]);
        return;
    }
    merge_tmp(h);
    put_varint(out, 1);
    put_varint(out, (uint32_t)h->nsparse);
    uint32_t prev = 0;
    for (size_t i = 0; i < h->nsparse; i++) {
        put_varint(out, (uint32_t)h->sparse[i] - prev);
        prev = (uint32_t)h->sparse[i];
    }
}

void wr_hll_free(wr_hll *h) {
    if (!h) return;
    free(h->sparse);
    free(h);
}
