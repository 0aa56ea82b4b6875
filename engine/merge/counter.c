/* counter.c - merging counter contexts shard by shard.
 *
 * A counter cell's value is a context: a big-endian int16 header count,
 * that many int16 header entries, then shards of (16-byte counter id,
 * int64 clock, int64 count) sorted by id.  Header entries name the shards
 * that are "global" (index + INT16_MIN, negative) or "local" (index, from
 * pre-2.1 writers); the others are "remote".  Replicas each hold the shards
 * they have seen, so the reconciled value is never the sum of the nodes'
 * totals: for each counter id the shard with the highest clock wins, as
 * CounterContext.merge decides. */
#include "engine/merge/merge_int.h"

#include <string.h>

#define SHARD_LEN 32

enum { REMOTE, GLOBAL, LOCAL };

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t nheader;
    size_t nshards;
} context;

static int64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return (int64_t)v;
}

static int16_t be16(const uint8_t *p) { return (int16_t)(((unsigned)p[0] << 8) | p[1]); }

static strata_err context_parse(const uint8_t *p, size_t len, context *c) {
    *c = (context){0}; /* set on failure too: callers' compilers cannot tell it is never read then */
    if (len < 2) return strata_fail(STRATA_ECORRUPT, "counter context of %zu bytes", len);
    int16_t n = be16(p);
    size_t nheader = (size_t)(n < 0 ? -n : n);
    size_t body = 2 + 2 * nheader;
    if (len < body || (len - body) % SHARD_LEN)
        return strata_fail(STRATA_ECORRUPT, "counter context of %zu bytes with %zu header entries", len, nheader);
    c->p = p, c->len = len, c->nheader = nheader, c->nshards = (len - body) / SHARD_LEN;
    return STRATA_OK;
}

static const uint8_t *shard(const context *c, size_t i) { return c->p + 2 + 2 * c->nheader + i * SHARD_LEN; }

static int shard_kind(const context *c, size_t i) {
    for (size_t h = 0; h < c->nheader; h++) {
        int16_t e = be16(c->p + 2 + 2 * h);
        if (e < 0 && (size_t)(e - INT16_MIN) == i) return GLOBAL;
        if (e >= 0 && (size_t)e == i) return LOCAL;
    }
    return REMOTE;
}

/* Which of two shards with the same id wins: >0 left, <0 right, 0 when
 * both are local and add up. */
static int shard_pick(int lk, const uint8_t *l, int rk, const uint8_t *r) {
    int64_t lclock = be64(l + 16), lcount = be64(l + 24), rclock = be64(r + 16), rcount = be64(r + 24);
    if (lk == GLOBAL || rk == GLOBAL) {
        if (lk != rk) return lk == GLOBAL ? 1 : -1;
        if (lclock != rclock) return lclock > rclock ? 1 : -1;
        return lcount > rcount ? 1 : -1;
    }
    if (lk == LOCAL || rk == LOCAL) return lk == rk ? 0 : lk == LOCAL ? 1 : -1;
    if (lclock == rclock) return lcount > rcount ? 1 : -1;
    /* remote clocks: a negative clock marks a shard deleted by a later
     * renewal and wins over any positive one */
    if ((lclock >= 0 && rclock > 0 && lclock >= rclock) || (lclock < 0 && (rclock > 0 || lclock < rclock))) return 1;
    return -1;
}

typedef struct {
    uint8_t bytes[SHARD_LEN];
    int kind;
} out_shard;

static void put_be64(uint8_t *p, int64_t v) {
    for (int i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8)) p[i] = (uint8_t)v;
}

static void encode(const out_shard *s, size_t n, strata_buf *out) {
    size_t nheader = 0;
    for (size_t i = 0; i < n; i++) nheader += s[i].kind != REMOTE;
    out->len = 0;
    strata_buf_reserve(out, 2 + 2 * nheader + n * SHARD_LEN);
    uint8_t h[2] = {(uint8_t)(nheader >> 8), (uint8_t)nheader};
    strata_buf_put(out, h, 2);
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == REMOTE) continue;
        int16_t e = s[i].kind == GLOBAL ? (int16_t)(i + INT16_MIN) : (int16_t)i;
        uint8_t b[2] = {(uint8_t)((uint16_t)e >> 8), (uint8_t)e};
        strata_buf_put(out, b, 2);
    }
    for (size_t i = 0; i < n; i++) strata_buf_put(out, s[i].bytes, SHARD_LEN);
}

strata_err merge_counter_contexts(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, strata_buf *out) {
    context l, r;
    strata_err e = context_parse(a, alen, &l);
    if (!e) e = context_parse(b, blen, &r);
    if (e) return e;
    out_shard *s = xmalloc((l.nshards + r.nshards + 1) * sizeof *s);
    size_t n = 0, i = 0, j = 0;
    while (i < l.nshards || j < r.nshards) {
        int cmp = i == l.nshards ? 1 : j == r.nshards ? -1 : memcmp(shard(&l, i), shard(&r, j), 16);
        if (cmp < 0) {
            memcpy(s[n].bytes, shard(&l, i), SHARD_LEN), s[n++].kind = shard_kind(&l, i), i++;
        } else if (cmp > 0) {
            memcpy(s[n].bytes, shard(&r, j), SHARD_LEN), s[n++].kind = shard_kind(&r, j), j++;
        } else {
            int lk = shard_kind(&l, i), rk = shard_kind(&r, j);
            int pick = shard_pick(lk, shard(&l, i), rk, shard(&r, j));
            if (pick > 0) memcpy(s[n].bytes, shard(&l, i), SHARD_LEN), s[n].kind = lk;
            else if (pick < 0) memcpy(s[n].bytes, shard(&r, j), SHARD_LEN), s[n].kind = rk;
            else {
                memcpy(s[n].bytes, shard(&l, i), SHARD_LEN), s[n].kind = LOCAL;
                put_be64(s[n].bytes + 16, be64(shard(&l, i) + 16) + be64(shard(&r, j) + 16));
                put_be64(s[n].bytes + 24, be64(shard(&l, i) + 24) + be64(shard(&r, j) + 24));
            }
            n++, i++, j++;
        }
    }
    encode(s, n, out);
    free(s);
    return STRATA_OK;
}

int64_t merge_counter_total(const uint8_t *ctx, size_t len) {
    context c;
    if (len == 8) return be64(ctx);
    if (context_parse(ctx, len, &c)) return 0;
    int64_t total = 0;
    for (size_t i = 0; i < c.nshards; i++) total += be64(shard(&c, i) + 24);
    return total;
}

int merge_counter_residual(const uint8_t *all, size_t alen, const uint8_t *ref, size_t rlen, strata_buf *out) {
    context a, r;
    if (context_parse(all, alen, &a) || context_parse(ref, rlen, &r)) return strata_clear_error(), 0;
    out_shard *s = xmalloc((a.nshards + 1) * sizeof *s);
    size_t n = 0, j = 0;
    int local = 0, clash = 0;
    for (size_t i = 0; i < a.nshards && !clash; i++) {
        const uint8_t *sh = shard(&a, i);
        while (j < r.nshards && memcmp(shard(&r, j), sh, 16) < 0) j++;
        int kind = shard_kind(&a, i), same_id = j < r.nshards && !memcmp(shard(&r, j), sh, 16);
        int rkind = same_id ? shard_kind(&r, j) : REMOTE;
        local |= kind == LOCAL;
        if (same_id && rkind == kind && !memcmp(shard(&r, j) + 16, sh + 16, SHARD_LEN - 16)) continue;
        /* two local shards add up, whether the new one is news or the
         * stored one read again; a global shard beside a stored local one
         * wins over it, as a local one over a stored remote one */
        clash = same_id && kind == LOCAL && rkind == LOCAL;
        memcpy(s[n].bytes, sh, SHARD_LEN), s[n++].kind = kind;
    }
    if (!clash && n) encode(s, n, out);
    free(s);
    /* a whole context repeats its local shards, which would add up again */
    if (clash || (!n && local)) return -1;
    return n != 0;
}
