/* token.c - Cassandra's Murmur3 hash and partitioner token.
 *
 * Murmur3Partitioner places a partition at hash3_x64_128(key)[0].  Cassandra's
 * Java port reads the final partial block with signed bytes, so a tail byte
 * >= 0x80 is sign-extended into the higher bits; tokens differ from the
 * reference MurmurHash3 for such keys and must be reproduced exactly, since
 * they decide replica placement and partition order. */
#include "engine/sstable/sstable.h"

#include <string.h>

static uint64_t rotl64(uint64_t v, int n) { return (v << n) | (v >> (64 - n)); }

static uint64_t fmix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* A little-endian 64-bit block, as Java assembles it. */
static uint64_t block(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The Java code widens a signed byte to long. */
static uint64_t sbyte(uint8_t b) { return (uint64_t)(int64_t)(int8_t)b; }

void sstable_murmur3_x64_128(const uint8_t *key, size_t len, uint64_t seed, int64_t out[2]) {
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = seed, h2 = seed;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k1 = block(key + i * 16), k2 = block(key + i * 16 + 8);
        k1 *= c1, k1 = rotl64(k1, 31), k1 *= c2, h1 ^= k1;
        h1 = rotl64(h1, 27), h1 += h2, h1 = h1 * 5 + 0x52dce729;
        k2 *= c2, k2 = rotl64(k2, 33), k2 *= c1, h2 ^= k2;
        h2 = rotl64(h2, 31), h2 += h1, h2 = h2 * 5 + 0x38495ab5;
    }
    const uint8_t *tail = key + nblocks * 16;
    size_t rest = len & 15;
    uint64_t k1 = 0, k2 = 0;
    for (size_t i = rest; i > 8; i--) k2 ^= sbyte(tail[i - 1]) << ((i - 9) * 8);
    if (rest > 8) k2 *= c2, k2 = rotl64(k2, 33), k2 *= c1, h2 ^= k2;
    for (size_t i = rest < 8 ? rest : 8; i > 0; i--) k1 ^= sbyte(tail[i - 1]) << ((i - 1) * 8);
    if (rest > 0) k1 *= c1, k1 = rotl64(k1, 31), k1 *= c2, h1 ^= k1;
    h1 ^= len, h2 ^= len;
    h1 += h2, h2 += h1;
    h1 = fmix(h1), h2 = fmix(h2);
    h1 += h2, h2 += h1;
    out[0] = (int64_t)h1;
    out[1] = (int64_t)h2;
}

int64_t sstable_murmur3_token(const uint8_t *key, size_t len) {
    if (len == 0) return INT64_MIN;
    int64_t h[2];
    sstable_murmur3_x64_128(key, len, 0, h);
    return h[0] == INT64_MIN ? INT64_MAX : h[0];
}
