/* compare.c - Cassandra's orders: values by type, clustering prefixes with
 * their bound kinds, partition keys by partitioner.
 *
 * A merge of SSTables, a writer's sort and a clustering-range view all need
 * to order things exactly as Cassandra does, or rows land in the wrong
 * place.  Most types order by unsigned bytes; numbers order numerically;
 * timeuuids by their timestamp and then by signed bytes; uuids by version
 * first; frozen collections, tuples and user types element by element;
 * index clusterings (PartitionerDefinedOrder) by token; ReversedType
 * inverts its base order. */
#include "engine/sstable/sstable_int.h"

#include <math.h>
#include <openssl/evp.h>
#include <string.h>

static int sign(long double d) { return (d > 0) - (d < 0); }

/* RandomPartitioner's token (RandomPartitioner.getToken): the absolute
 * value of the key's MD5 read as a signed 128-bit number, here as 16
 * big-endian bytes that memcmp orders. */
static void random_token(const uint8_t *key, size_t len, uint8_t out[16]) {
    unsigned int n = 16;
    EVP_Digest(key, len, out, &n, EVP_md5(), NULL);
    if (!(out[0] & 0x80)) return;
    unsigned carry = 1; /* negated: inverted, plus one */
    for (int i = 15; i >= 0; i--) {
        unsigned v = (uint8_t)~out[i] + carry;
        out[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

/* Two keys by RandomPartitioner token; the empty key's token, -1, comes
 * before every other.  0 when the tokens are equal. */
static int random_token_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    if (!al || !bl) return (al != 0) - (bl != 0);
    uint8_t ta[16], tb[16];
    random_token(a, al, ta);
    random_token(b, bl, tb);
    int c = memcmp(ta, tb, 16);
    return (c > 0) - (c < 0);
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    /* an empty key may have no bytes at all (NULL), which memcmp may not be given */
    int c = al && bl ? memcmp(a, b, al < bl ? al : bl) : 0;
    return c ? (c > 0) - (c < 0) : (al > bl) - (al < bl);
}

/* Written out so that the compiler makes one byte-swapping load of it:
 * clusterings are mostly timestamps and numbers, compared on every step of
 * a merge. */
static inline uint64_t be_u64(const uint8_t *p) {
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
           (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | p[7];
}

static inline uint32_t be_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline int64_t be_int(const uint8_t *p, size_t n) {
    if (n == 8) return (int64_t)be_u64(p);
    if (n == 4) return (int32_t)be_u32(p);
    uint64_t v = n && (p[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return (int64_t)v;
}

/* Two's-complement integers of any length (IntegerType.compareIntegers). */
static int varint_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t ai = 0, bi = 0;
    while (ai + 1 < al && ((a[ai] == 0 && !(a[ai + 1] & 0x80)) || (a[ai] == 0xff && (a[ai + 1] & 0x80)))) ai++;
    while (bi + 1 < bl && ((b[bi] == 0 && !(b[bi + 1] & 0x80)) || (b[bi] == 0xff && (b[bi + 1] & 0x80)))) bi++;
    int aneg = a[ai] & 0x80, bneg = b[bi] & 0x80;
    if (aneg != bneg) return aneg ? -1 : 1;
    size_t an = al - ai, bn = bl - bi;
    if (an != bn) return (an > bn) == !aneg ? 1 : -1;
    if (a[ai] != b[bi]) return (int8_t)a[ai] < (int8_t)b[bi] ? -1 : 1;
    return bytes_cmp(a + ai + 1, an - 1, b + bi + 1, bn - 1);
}

/* decimal: int32 scale + varint unscaled; compared through long double,
 * exact for unscaled values up to 64 bits. */
static long double decimal_value(const uint8_t *p, size_t n) {
    if (n < 4) return 0;
    int32_t scale = (int32_t)be_int(p, 4);
    long double unscaled = 0;
    for (size_t i = 4; i < n; i++) unscaled = unscaled * 256 + p[i];
    if (n > 4 && (p[4] & 0x80)) unscaled -= powl(2, 8 * (long double)(n - 4));
    return unscaled * powl(10, -(long double)scale);
}

/* Java's Float.compare / Double.compare: -0 < +0, NaN greatest. */
static int float_cmp(uint64_t a, uint64_t b, int bits) {
    uint64_t top = 1ULL << (bits - 1);
    a = a & top ? ~a : a | top;
    b = b & top ? ~b : b | top;
    if (bits == 32) a &= 0xffffffffULL, b &= 0xffffffffULL;
    return (a > b) - (a < b);
}

static uint64_t reorder_timestamp(uint64_t msb) {
    return (msb << 48) | ((msb << 16) & 0xffff00000000ULL) | (msb >> 32);
}

static int timeuuid_cmp(const uint8_t *a, const uint8_t *b) {
    int64_t x = (int64_t)reorder_timestamp(be_u64(a)), y = (int64_t)reorder_timestamp(be_u64(b));
    if (x != y) return x < y ? -1 : 1;
    for (int i = 8; i < 16; i++)
        if (a[i] != b[i]) return (int8_t)a[i] < (int8_t)b[i] ? -1 : 1;
    return 0;
}

static int uuid_cmp(const uint8_t *a, const uint8_t *b) {
    uint64_t ma = be_u64(a), mb = be_u64(b);
    int va = (int)((ma >> 12) & 0xf), vb = (int)((mb >> 12) & 0xf);
    if (va != vb) return va < vb ? -1 : 1;
    if (va == 1) ma = reorder_timestamp(ma), mb = reorder_timestamp(mb);
    if (ma != mb) return ma < mb ? -1 : 1;
    uint64_t la = be_u64(a + 8), lb = be_u64(b + 8);
    return (la > lb) - (la < lb);
}

/* Elements of frozen collections, tuples and UDTs: int32 length + bytes,
 * negative for null.  Returns 0 and the element, or -1 at the end. */
static int next_elem(sst_cur *c, sstable_value *v) {
    if (sst_cur_left(c) < 4) return -1;
    int32_t n = (int32_t)sst_u32(c);
    if (n < 0) {
        v->p = NULL, v->len = 0;
        return 0;
    }
    v->p = sst_take(c, (size_t)n);
    v->len = (size_t)n;
    return v->p ? 0 : -1;
}

static int base_cmp(const sstable_type *t, const sstable_value *a, const sstable_value *b);

/* Kept out of line: base_cmp is hot for scalars and should stay small. */
__attribute__((noinline)) static int elements_cmp(const sstable_type *t, const sstable_value *a, const sstable_value *b) {
    sst_cur ca, cb;
    sst_cur_init(&ca, a->p, a->len);
    sst_cur_init(&cb, b->p, b->len);
    int collection = t->kind == SSTABLE_T_LIST || t->kind == SSTABLE_T_SET || t->kind == SSTABLE_T_MAP;
    uint32_t na = UINT32_MAX, nb = UINT32_MAX;
    if (collection) na = sst_u32(&ca), nb = sst_u32(&cb);
    size_t per = t->kind == SSTABLE_T_MAP ? 2 : 1;
    for (size_t i = 0;; i++) {
        sstable_value x, y;
        int ha = i / per < na && next_elem(&ca, &x) == 0, hb = i / per < nb && next_elem(&cb, &y) == 0;
        if (!ha || !hb) return ha - hb;
        const sstable_type *et = collection ? t->params[per == 2 ? i % 2 : 0] : i < t->nparams ? t->params[i] : NULL;
        int c = et ? sstable_value_compare(et, &x, &y) : bytes_cmp(x.p, x.len, y.p, y.len);
        if (c) return c;
    }
}

/* Kinds compared as signed big-endian numbers (when both values have one
 * length of at most 8 bytes; as bytes otherwise). */
static int is_integer(sstable_type_kind k) {
    return k == SSTABLE_T_INT || k == SSTABLE_T_BIGINT || k == SSTABLE_T_SMALLINT || k == SSTABLE_T_TINYINT ||
           k == SSTABLE_T_TIMESTAMP || k == SSTABLE_T_TIME || k == SSTABLE_T_COUNTER;
}

/* Kinds with an order of their own in base_cmp besides integers; the
 * others compare as unsigned bytes. */
static int has_own_order(sstable_type_kind k) {
    return k == SSTABLE_T_VARINT || k == SSTABLE_T_DECIMAL || k == SSTABLE_T_FLOAT || k == SSTABLE_T_DOUBLE ||
           k == SSTABLE_T_TIMEUUID || k == SSTABLE_T_UUID || k == SSTABLE_T_LIST || k == SSTABLE_T_SET ||
           k == SSTABLE_T_MAP || k == SSTABLE_T_TUPLE || k == SSTABLE_T_UDT || k == SSTABLE_T_PARTITIONER_ORDER;
}

static int base_cmp(const sstable_type *t, const sstable_value *a, const sstable_value *b) {
    if (!a->len || !b->len) return (a->len > 0) - (b->len > 0);
    if (is_integer(t->kind) && a->len == b->len && a->len <= 8) {
        int64_t x = be_int(a->p, a->len), y = be_int(b->p, b->len);
        return (x > y) - (x < y);
    }
    switch (t->kind) {
    case SSTABLE_T_VARINT: return varint_cmp(a->p, a->len, b->p, b->len);
    case SSTABLE_T_DECIMAL: return sign(decimal_value(a->p, a->len) - decimal_value(b->p, b->len));
    case SSTABLE_T_FLOAT:
    case SSTABLE_T_DOUBLE:
        if (a->len == b->len && (a->len == 4 || a->len == 8))
            return float_cmp((uint64_t)be_int(a->p, a->len), (uint64_t)be_int(b->p, b->len), (int)a->len * 8);
        break;
    case SSTABLE_T_TIMEUUID:
        if (a->len == 16 && b->len == 16) return timeuuid_cmp(a->p, b->p);
        break;
    case SSTABLE_T_UUID:
        if (a->len == 16 && b->len == 16) return uuid_cmp(a->p, b->p);
        break;
    case SSTABLE_T_LIST:
    case SSTABLE_T_SET:
    case SSTABLE_T_MAP:
    case SSTABLE_T_TUPLE:
    case SSTABLE_T_UDT: return elements_cmp(t, a, b);
    case SSTABLE_T_PARTITIONER_ORDER:
        if (t->nparams && strstr(t->params[0]->name, "Murmur3Partitioner")) {
            int64_t x = sstable_murmur3_token(a->p, a->len), y = sstable_murmur3_token(b->p, b->len);
            if (x != y) return x < y ? -1 : 1;
        } else if (t->nparams && strstr(t->params[0]->name, "RandomPartitioner")) {
            int c = random_token_cmp(a->p, a->len, b->p, b->len);
            if (c) return c;
        }
        break;
    default: break;
    }
    return bytes_cmp(a->p, a->len, b->p, b->len);
}

static inline int value_compare(const sstable_type *t, const sstable_value *a, const sstable_value *b) {
    int c;
    if (!a->p || !b->p) c = (a->p != NULL) - (b->p != NULL);
    else c = base_cmp(t, a, b);
    return t->reversed ? -c : c;
}

int sstable_value_compare(const sstable_type *t, const sstable_value *a, const sstable_value *b) {
    return value_compare(t, a, b);
}

/* Where a bound of each kind sits among clusterings: before, at, after. */
static const int kind_order[8] = {0, 0, 0, 1, 2, 3, 3, 3};
static const int kind_vs_clustering[8] = {-1, -1, -1, -1, 0, 1, 1, 1};

int sstable_clustering_compare(const sstable_header *h, const sstable_value *a, size_t na, sstable_bound_kind ka,
                               const sstable_value *b, size_t nb, sstable_bound_kind kb) {
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n && i < h->nclustering; i++) {
        int c = value_compare(h->clustering[i], &a[i], &b[i]);
        if (c) return c;
    }
    if (na == nb) return (kind_order[ka & 7] > kind_order[kb & 7]) - (kind_order[ka & 7] < kind_order[kb & 7]);
    return na < nb ? kind_vs_clustering[ka & 7] : -kind_vs_clustering[kb & 7];
}

int sstable_clustering_order_key(const sstable_header *h, const sstable_value *c, size_t n, uint64_t *key) {
    if (!n || !h->nclustering || !c[0].p || !c[0].len) return 0;
    const sstable_type *t = h->clustering[0];
    const uint8_t *p = c[0].p;
    size_t len = c[0].len;
    uint64_t k;
    if (is_integer(t->kind)) {
        /* base_cmp compares these as numbers only at one length */
        if (t->fixed_len < 1 || len != (size_t)t->fixed_len || len > 8) return 0;
        k = (uint64_t)be_int(p, len) ^ (UINT64_C(1) << 63);
    } else if (t->kind == SSTABLE_T_TIMEUUID) {
        /* timeuuid_cmp's signed order of the reordered timestamp, as an
         * unsigned one; equal timestamps leave the rest to the comparison */
        if (len != 16) return 0;
        k = reorder_timestamp(be_u64(p)) ^ (UINT64_C(1) << 63);
    } else if (has_own_order(t->kind)) {
        return 0;
    } else if (len >= 8) { /* unsigned bytes: the first eight, zero padded */
        k = be_u64(p);
    } else {
        k = 0;
        for (size_t i = 0; i < 8; i++) k = k << 8 | (i < len ? p[i] : 0);
    }
    *key = t->reversed ? ~k : k;
    return 1;
}

int sstable_key_compare(const sstable *s, const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    if (s->murmur3) {
        int64_t ta = sstable_murmur3_token(a, al), tb = sstable_murmur3_token(b, bl);
        if (ta != tb) return ta < tb ? -1 : 1;
    } else if (s->random) {
        int c = random_token_cmp(a, al, b, bl);
        if (c) return c;
    }
    return bytes_cmp(a, al, b, bl);
}
