/* filter.c - Filter.db: the bloom filter over partition keys.
 *
 * The file is the hash count and the bit set (a count of 64-bit words, then
 * the bits).  Bit positions come from the key's Murmur3 x64_128 hash: the
 * i-th is |(h[1] + i * h[0]) mod bits|, with Java's signed remainder.
 * Before na each word was written as a big-endian long of little-endian
 * assembled bytes, so the bytes of every word are stored reversed. */
#include "engine/sstable/sstable_int.h"

#include <string.h>

static strata_err load_filter(sstable *s) {
    if (s->filter) return STRATA_OK;
    char *path;
    uint8_t *buf;
    size_t len;
    strata_err e = sst_read_component(s, "Filter.db", &path, &buf, &len);
    if (e) {
        free(path);
        return e;
    }
    sst_cur c;
    sst_cur_init(&c, buf, len);
    uint32_t hashes = sst_u32(&c);
    uint32_t words = sst_u32(&c);
    if (c.failed || hashes == 0 || hashes > 64 || words == 0 || (uint64_t)words * 8 != sst_cur_left(&c)) {
        free(buf);
        e = strata_fail(STRATA_ECORRUPT, "%s: offset 0: bloom filter header does not match its %zu bytes", path, len);
        free(path);
        return e;
    }
    free(path);
    s->filter = buf;
    s->filter_hashes = hashes;
    s->filter_bits = (uint64_t)words * 64;
    return STRATA_OK;
}

static int bit_set(const sstable *s, uint64_t bit) {
    uint64_t byte = bit >> 3;
    if (s->v.old_bf_format) byte = (byte & ~7ULL) | (7 - (byte & 7));
    return (s->filter[8 + byte] >> (bit & 7)) & 1;
}

strata_err sstable_filter_check(sstable *s, const uint8_t *key, size_t len, int *may_contain) {
    *may_contain = 1;
    strata_err e = load_filter(s);
    if (e) return e;
    int64_t h[2];
    sstable_murmur3_x64_128(key, len, 0, h);
    int64_t base = h[1];
    for (uint32_t i = 0; i < s->filter_hashes; i++) {
        int64_t r = base % (int64_t)s->filter_bits;
        if (!bit_set(s, (uint64_t)(r < 0 ? -r : r))) {
            *may_contain = 0;
            return STRATA_OK;
        }
        base = (int64_t)((uint64_t)base + (uint64_t)h[0]);
    }
    return STRATA_OK;
}
