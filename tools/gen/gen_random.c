/* gen_random.c - the generator's deterministic randomness and byte
 * encodings.
 *
 * The same seed and arguments must give byte-identical data sets, so
 * every choice comes from one splitmix64 stream, and values that must be
 * derived again later (a row's clustering, a user's id) from gen_hash()
 * of their coordinates rather than from the stream. */
#include "tools/gen/gen.h"

uint64_t gen_rng_next(gen_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t gen_rng_below(gen_rng *r, uint64_t n) { return n ? gen_rng_next(r) % n : 0; }

int gen_rng_chance(gen_rng *r, double p) { return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53 < p; }

uint64_t gen_hash(uint64_t a, uint64_t b, uint64_t c) {
    gen_rng r = {a * 0x9e3779b97f4a7c15ULL ^ b};
    r.s ^= gen_rng_next(&r) + c;
    return gen_rng_next(&r);
}

void gen_put_be32(uint8_t *p, uint32_t v) {
    for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

void gen_put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

/* 100 ns intervals between the Gregorian reform and the Unix epoch */
#define UUID_EPOCH_OFFSET 0x01B21DD213814000ULL

void gen_timeuuid(uint8_t out[16], int64_t us, uint64_t node) {
    uint64_t t = (uint64_t)us * 10 + UUID_EPOCH_OFFSET;
    gen_put_be32(out, (uint32_t)t);
    out[4] = (uint8_t)(t >> 40), out[5] = (uint8_t)(t >> 32);
    out[6] = (uint8_t)(0x10 | ((t >> 56) & 0x0f)), out[7] = (uint8_t)(t >> 48);
    out[8] = (uint8_t)(0x80 | ((node >> 56) & 0x3f)), out[9] = (uint8_t)(node >> 48);
    for (int i = 0; i < 6; i++) out[10 + i] = (uint8_t)(node >> (40 - 8 * i));
}
