/* buf.c - growable output buffers and bounds-checked decoding.
 *
 * Every binary structure strata stores (pack trailers, version objects,
 * index records) is written with strata_buf and read back with
 * strata_reader.  The reader latches a failure flag instead of returning
 * an error from each call, so a decoder stays a straight sequence of reads
 * followed by one check, and corrupt input can never read out of bounds. */
#include "engine/base/base.h"

#include <string.h>

void strata_buf_init(strata_buf *b) {
    b->data = NULL;
    b->len = b->cap = 0;
}

void strata_buf_free(strata_buf *b) {
    free(b->data);
    strata_buf_init(b);
}

void strata_buf_reserve(strata_buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}


void strata_buf_put_u8(strata_buf *b, uint8_t v) {
    strata_buf_put(b, &v, 1);
}

void strata_buf_put_u32(strata_buf *b, uint32_t v) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    strata_buf_put(b, x, 4);
}

void strata_buf_put_u64(strata_buf *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    strata_buf_put(b, x, 8);
}

void strata_buf_put_varint(strata_buf *b, uint64_t v) {
    uint8_t x[10];
    size_t n = 0;
    while (v >= 0x80) {
        x[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    x[n++] = (uint8_t)v;
    strata_buf_put(b, x, n);
}

void strata_buf_put_zigzag(strata_buf *b, int64_t v) {
    strata_buf_put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void strata_buf_put_str(strata_buf *b, const char *s) {
    size_t n = strlen(s);
    strata_buf_put_varint(b, n);
    strata_buf_put(b, s, n);
}

void strata_reader_init(strata_reader *r, const void *p, size_t n) {
    r->p = p;
    r->left = n;
    r->failed = 0;
}

const uint8_t *strata_read_ptr(strata_reader *r, size_t n) {
    if (r->failed || r->left < n) {
        r->failed = 1;
        r->left = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

int strata_read(strata_reader *r, void *out, size_t n) {
    const uint8_t *p = strata_read_ptr(r, n);
    if (!p) {
        memset(out, 0, n);
        return -1;
    }
    memcpy(out, p, n);
    return 0;
}

uint8_t strata_read_u8(strata_reader *r) {
    const uint8_t *p = strata_read_ptr(r, 1);
    return p ? p[0] : 0;
}

uint32_t strata_read_u32(strata_reader *r) {
    const uint8_t *p = strata_read_ptr(r, 4);
    if (!p) return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t strata_read_u64(strata_reader *r) {
    const uint8_t *p = strata_read_ptr(r, 8);
    if (!p) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

uint64_t strata_read_varint(strata_reader *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        const uint8_t *p = strata_read_ptr(r, 1);
        if (!p) return 0;
        v |= (uint64_t)(p[0] & 0x7f) << shift;
        if (!(p[0] & 0x80)) return v;
    }
    r->failed = 1;
    return 0;
}

int64_t strata_read_zigzag(strata_reader *r) {
    uint64_t v = strata_read_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

char *strata_read_str(strata_reader *r, size_t max) {
    uint64_t n = strata_read_varint(r);
    if (n > max) r->failed = 1;
    const uint8_t *p = r->failed ? NULL : strata_read_ptr(r, (size_t)n);
    if (!p) return xstrdup("");
    return xstrndup((const char *)p, (size_t)n);
}
