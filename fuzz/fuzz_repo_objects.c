/* fuzz_repo_objects.c - libFuzzer target for what a damaged repository can
 * hand strata: version objects (header, zstd payload, checksum), version
 * payloads and file records decoded as such, pack footers and trailers,
 * deltas (a chunk stored as copies from base chunks, whose bytes here
 * derive from their ids) and row streams (a Data.db chunk by its fields).  Any bytes must decode or be rejected as
 * corrupt: no crash, no read out of bounds, no unbounded allocation. */
#include <stdint.h>
#include <string.h>

#include "engine/repo/repo_int.h"

static void decode_version_payload(const uint8_t *p, size_t n) {
    repo_version *v;
    if (version_decode(p, n, &v) == STRATA_OK) repo_version_free(v);
}

static void decode_file_record(const uint8_t *p, size_t n) {
    strata_reader rd;
    repo_file f;
    strata_reader_init(&rd, p, n);
    file_decode(&rd, &f);
    repo_file_clear(&f);
}

static void decode_pack_tail(const uint8_t *p, size_t n) {
    if (n < PACK_HEADER_LEN + PACK_FOOTER_LEN) return;
    uint32_t count, tlen;
    uint8_t id[STRATA_HASH_LEN];
    if (pack_check_footer("fuzz", p + n - PACK_FOOTER_LEN, n, &count, &tlen, id)) return;
    const uint8_t *entries = p + n - PACK_FOOTER_LEN - tlen;
    pack_check_trailer("fuzz", entries, tlen, id);
    strata_buf out;
    strata_buf_init(&out);
    for (uint32_t i = 0; i < count && i < 64; i++) {
        uint8_t chunk[STRATA_HASH_LEN];
        chunk_location loc;
        pack_entry_decode(entries + (size_t)i * PACK_ENTRY_LEN, chunk, &loc);
        uint64_t end = n - PACK_FOOTER_LEN - tlen;
        /* a delta reads its bases from a repository: decode_delta's part */
        if (loc.offset <= end && loc.stored_len <= end - loc.offset && loc.raw_len <= (1u << 22) &&
            loc.codec != CODEC_DELTA)
            pack_decode_chunk(NULL, chunk, &loc, p + loc.offset, 1, &out);
    }
    strata_buf_free(&out);
}

static strata_err fake_base(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size) {
    (void)ctx;
    for (uint32_t i = 0; i < size; i++) buf[i] = (uint8_t)(id[i % STRATA_HASH_LEN] + i);
    return STRATA_OK;
}

/* Input: u16 chunk length, then the delta. */
static void decode_delta(const uint8_t *p, size_t n) {
    if (n < 2) return;
    uint32_t len = (uint32_t)p[0] << 8 | p[1];
    uint8_t *out = xmalloc(len ? len : 1);
    delta_apply(p + 2, n - 2, fake_base, NULL, out, len);
    free(out);
}

/* Input: u16 chunk length, then the row streams' frame. */
static void decode_rows(const uint8_t *p, size_t n) {
    if (n < 2) return;
    uint32_t len = (uint32_t)p[0] << 8 | p[1];
    uint8_t *out = xmalloc(len ? len : 1);
    rows_join(p + 2, n - 2, out, len);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    strata_buf payload;
    strata_buf_init(&payload);
    if (version_object_unwrap(data, size, "fuzz", &payload) == STRATA_OK)
        decode_version_payload(payload.data, payload.len);
    strata_buf_free(&payload);
    decode_version_payload(data, size);
    decode_file_record(data, size);
    decode_pack_tail(data, size);
    decode_delta(data, size);
    decode_rows(data, size);
    return 0;
}
