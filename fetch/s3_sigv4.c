/* s3_sigv4.c - AWS Signature Version 4 for S3 requests.
 *
 * Every request to an S3-compatible store carries an Authorization header
 * derived from a canonical form of the request (method, path, sorted
 * query, sorted signed headers, payload hash) and a key derived from the
 * secret by four HMAC-SHA256 steps.  S3 differs from other AWS services
 * in one point this file follows: the path is encoded once, not twice,
 * and never normalised, so keys with "//" or "." survive. */
#include "fetch/s3_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

void s3_sha256_hex(const void *data, size_t len, char out[65]) {
    uint8_t h[STRATA_HASH_LEN];
    strata_sha256(data, len, h);
    strata_hex(h, sizeof h, out);
}

void s3_md5(const void *data, size_t len, uint8_t out[16]) {
    unsigned int n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

static int unreserved(unsigned char c) {
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void s3_uri_encode(strata_buf *out, const char *s, int keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            strata_buf_put_u8(out, *p);
        } else {
            uint8_t esc[3] = {'%', (uint8_t)hex[*p >> 4], (uint8_t)hex[*p & 15]};
            strata_buf_put(out, esc, 3);
        }
    }
}

static void put_str(strata_buf *b, const char *s) {
    strata_buf_put(b, s, strlen(s));
}

static char *buf_to_str(strata_buf *b) {
    strata_buf_put_u8(b, '\0');
    return (char *)b->data;
}

/* ---- Canonical query: "k=v" pairs sorted by key, then value ------------ */
typedef struct {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} query_pair;

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_pair(const void *x, const void *y) {
    const query_pair *a = x, *b = y;
    int c = cmp_bytes(a->key, a->key_len, b->key, b->key_len);
    return c ? c : cmp_bytes(a->value, a->value_len, b->value, b->value_len);
}

static void put_canonical_query(strata_buf *out, const char *query) {
    size_t cap = 1;
    for (const char *p = query; *p; p++) cap += *p == '&';
    query_pair *pairs = xcalloc(cap, sizeof *pairs);
    size_t n = 0;
    for (const char *p = query; *p;) {
        const char *end = strchr(p, '&');
        if (!end) end = p + strlen(p);
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            query_pair *q = &pairs[n++];
            q->key = p;
            q->key_len = (size_t)((eq ? eq : end) - p);
            q->value = eq ? eq + 1 : end;
            q->value_len = (size_t)(end - q->value);
        }
        p = *end ? end + 1 : end;
    }
    qsort(pairs, n, sizeof *pairs, cmp_pair);
    for (size_t i = 0; i < n; i++) {
        if (i) strata_buf_put_u8(out, '&');
        strata_buf_put(out, pairs[i].key, pairs[i].key_len);
        strata_buf_put_u8(out, '=');
        strata_buf_put(out, pairs[i].value, pairs[i].value_len);
    }
    free(pairs);
}

/* ---- Canonical headers: lowercase names, sorted, values trimmed -------- */
typedef struct {
    char *name;
    const char *value;
} lower_header;

static int cmp_header(const void *x, const void *y) {
    return strcmp(((const lower_header *)x)->name, ((const lower_header *)y)->name);
}

static lower_header *sorted_headers(const s3_sign_input *in) {
    lower_header *h = xcalloc(in->n_headers ? in->n_headers : 1, sizeof *h);
    for (size_t i = 0; i < in->n_headers; i++) {
        h[i].name = xstrdup(in->headers[i].name);
        for (char *p = h[i].name; *p; p++) *p = (char)tolower((unsigned char)*p);
        h[i].value = in->headers[i].value;
    }
    qsort(h, in->n_headers, sizeof *h, cmp_header);
    return h;
}

static void free_headers(lower_header *h, size_t n) {
    for (size_t i = 0; i < n; i++) free(h[i].name);
    free(h);
}

/* Leading and trailing blanks dropped, inner runs of blanks made one space. */
static void put_trimmed(strata_buf *out, const char *v) {
    while (*v == ' ' || *v == '\t') v++;
    int pending_space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending_space = 1;
            continue;
        }
        if (pending_space) strata_buf_put_u8(out, ' ');
        pending_space = 0;
        strata_buf_put_u8(out, (uint8_t)*v);
    }
}

static void put_signed_header_names(strata_buf *out, const lower_header *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) strata_buf_put_u8(out, ';');
        put_str(out, h[i].name);
    }
}

char *s3_canonical_request(const s3_sign_input *in) {
    strata_buf b;
    strata_buf_init(&b);
    put_str(&b, in->method);
    strata_buf_put_u8(&b, '\n');
    put_str(&b, in->canonical_uri);
    strata_buf_put_u8(&b, '\n');
    put_canonical_query(&b, in->query ? in->query : "");
    strata_buf_put_u8(&b, '\n');
    lower_header *h = sorted_headers(in);
    for (size_t i = 0; i < in->n_headers; i++) {
        put_str(&b, h[i].name);
        strata_buf_put_u8(&b, ':');
        put_trimmed(&b, h[i].value);
        strata_buf_put_u8(&b, '\n');
    }
    strata_buf_put_u8(&b, '\n');
    put_signed_header_names(&b, h, in->n_headers);
    free_headers(h, in->n_headers);
    strata_buf_put_u8(&b, '\n');
    put_str(&b, in->payload_hash);
    return buf_to_str(&b);
}

static char *scope(const s3_sign_input *in) {
    return xasprintf("%.8s/%s/%s/aws4_request", in->amz_date, in->region, in->service);
}

char *s3_string_to_sign(const s3_sign_input *in, const char *canonical_request) {
    char hash[65];
    s3_sha256_hex(canonical_request, strlen(canonical_request), hash);
    char *sc = scope(in);
    char *s = xasprintf(ALGORITHM "\n%s\n%s\n%s", in->amz_date, sc, hash);
    free(sc);
    return s;
}

static void hmac(const void *key, size_t key_len, const char *msg, uint8_t out[32]) {
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &n);
}

void s3_signature(const s3_sign_input *in, char out[65]) {
    char *secret = xasprintf("AWS4%s", in->secret_key);
    char date[9];
    snprintf(date, sizeof date, "%.8s", in->amz_date);
    uint8_t k[32], k2[32];
    hmac(secret, strlen(secret), date, k);
    hmac(k, 32, in->region, k2);
    hmac(k2, 32, in->service, k);
    hmac(k, 32, "aws4_request", k2);
    char *canonical = s3_canonical_request(in);
    char *to_sign = s3_string_to_sign(in, canonical);
    uint8_t sig[32];
    hmac(k2, 32, to_sign, sig);
    strata_hex(sig, sizeof sig, out);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(k2, sizeof k2);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    free(canonical);
    free(to_sign);
}

char *s3_authorization(const s3_sign_input *in) {
    char sig[65];
    s3_signature(in, sig);
    strata_buf names;
    strata_buf_init(&names);
    lower_header *h = sorted_headers(in);
    put_signed_header_names(&names, h, in->n_headers);
    free_headers(h, in->n_headers);
    char *sc = scope(in);
    char *auth = xasprintf(ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                           in->access_key, sc, buf_to_str(&names), sig);
    free(sc);
    strata_buf_free(&names);
    return auth;
}
