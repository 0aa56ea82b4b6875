/* hash.c - hex encoding, SHA-256 through OpenSSL's EVP interface, CRC32
 * through ISA-L.
 *
 * SHA-256 names every chunk; OpenSSL picks the fastest implementation the
 * CPU offers (SHA extensions where present).  ISA-L likewise picks its
 * fastest CRC32 at run time: on AVX-512 CPUs one that returns with the
 * upper halves of the vector registers still in use.  Until a vzeroupper
 * clears them, every SSE instruction the compiler or libc emits afterwards
 * pays a penalty for that state; a merge reading SSTables (one CRC per
 * chunk) ran 1.3 to 1.8 times slower for it.  strata_crc32 clears them. */
#include "engine/base/base.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx"))) static void clear_upper_vector_state(void) { _mm256_zeroupper(); }

uint32_t strata_crc32(uint32_t crc, const void *data, size_t n) {
    uint32_t r = crc32_gzip_refl(crc, data, n);
    if (__builtin_cpu_supports("avx")) clear_upper_vector_state();
    return r;
}
#else
uint32_t strata_crc32(uint32_t crc, const void *data, size_t n) { return crc32_gzip_refl(crc, data, n); }
#endif

void strata_hex(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int strata_unhex(const char *hex, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * n] == '\0' ? 0 : -1;
}

struct strata_sha256_ctx {
    EVP_MD_CTX *md;
};

strata_sha256_ctx *strata_sha256_new(void) {
    strata_sha256_ctx *c = xmalloc(sizeof *c);
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "strata: OpenSSL cannot provide SHA-256\n");
        abort();
    }
    return c;
}

void strata_sha256_update(strata_sha256_ctx *c, const void *data, size_t n) {
    EVP_DigestUpdate(c->md, data, n);
}

void strata_sha256_final(strata_sha256_ctx *c, uint8_t out[STRATA_HASH_LEN]) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(c->md, out, &len);
    EVP_MD_CTX_free(c->md);
    free(c);
}

void strata_sha256(const void *data, size_t n, uint8_t out[STRATA_HASH_LEN]) {
    unsigned int len = 0;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}
