/* s3_int.h - internals of the S3-compatible object storage backend.
 *
 * The backend is split by concern: request signing (s3_sigv4.c), parsing
 * of XML response bodies (s3_xml.c), retry pacing (s3_retry.c),
 * configuration and credentials (s3_config.c), HTTP requests through
 * libcurl (s3_http.c), read-ahead for sequential readers (s3_readahead.c)
 * and the storage operations (storage_s3.c).  The
 * pieces are declared here, not in fetch/storage.h, because nothing
 * outside fetch/ uses them; unit tests and the fuzz target do. */
#ifndef STRATA_S3_INT_H
#define STRATA_S3_INT_H

#include <pthread.h>
#include <stdint.h>

#include "fetch/storage_int.h"

/* ---- Signature Version 4 ------------------------------------------------ */
typedef struct {
    const char *name;
    const char *value;
} s3_header;

/* One request as it goes on the wire; every header listed is signed. */
typedef struct {
    const char *method;
    const char *canonical_uri; /* the URI-encoded path exactly as sent */
    const char *query;         /* the encoded query string as sent, "" if none */
    const s3_header *headers;
    size_t n_headers;
    const char *payload_hash;  /* hex SHA-256 of the body or "UNSIGNED-PAYLOAD" */
    const char *amz_date;      /* YYYYMMDDTHHMMSSZ */
    const char *region;
    const char *service;
    const char *access_key;
    const char *secret_key;
} s3_sign_input;

/* The steps of the algorithm, each returning a malloc'd string, exposed so
 * tests compare every intermediate with the published examples. */
char *s3_canonical_request(const s3_sign_input *in);
char *s3_string_to_sign(const s3_sign_input *in, const char *canonical_request);
/* 64 hex digits and a NUL. */
void s3_signature(const s3_sign_input *in, char out[65]);
/* The Authorization header's value. */
char *s3_authorization(const s3_sign_input *in);

/* Percent-encodes as SigV4 requires: everything but A-Z a-z 0-9 - . _ ~
 * (and '/' when keep_slash), uppercase hex.  Appends to out, no NUL. */
void s3_uri_encode(strata_buf *out, const char *s, int keep_slash);

/* Hex SHA-256 of data (65 bytes with the NUL). */
void s3_sha256_hex(const void *data, size_t len, char out[65]);
/* MD5 of data, raw. */
void s3_md5(const void *data, size_t len, uint8_t out[16]);

/* ---- XML response bodies ---------------------------------------------- */
typedef struct {
    char *key;
    uint64_t size;
} s3_list_entry;

typedef struct {
    s3_list_entry *entries;
    size_t n, cap;
    int truncated;
    char *next_token; /* NextContinuationToken, NULL when absent */
} s3_list_page;

/* ListObjectsV2 result. STRATA_EFORMAT when the body is not one. */
strata_err s3_xml_list(const char *xml, size_t len, s3_list_page *page);
void s3_list_page_free(s3_list_page *page);
/* InitiateMultipartUploadResult's UploadId (malloc'd). */
strata_err s3_xml_upload_id(const char *xml, size_t len, char **upload_id);
/* An <Error> document's Code and Message (malloc'd, NULL when absent);
 * returns 1 when the body is an error document, 0 otherwise. */
int s3_xml_error(const char *xml, size_t len, char **code, char **message);
/* CompleteMultipartUploadResult's ETag (malloc'd, quotes kept). */
strata_err s3_xml_complete_etag(const char *xml, size_t len, char **etag);

/* ---- Retries ------------------------------------------------------------ */
typedef struct {
    double deadline; /* monotonic seconds */
    int attempt;
    unsigned seed;
    const int *abandoned; /* read atomically; NULL (as started) for never */
} s3_retry;

void s3_retry_start(s3_retry *r, double budget_seconds);
/* Sleeps the next backoff (exponential, full jitter) and returns 1, or
 * returns 0 when the budget would be exceeded or *abandoned is set, which
 * also cuts a sleep short. */
int s3_retry_wait(s3_retry *r);
/* The delay before attempt `attempt` (0-based), before jitter. */
double s3_retry_ceiling(int attempt);
/* Whether an HTTP status (with the S3 error code, may be NULL) is
 * transient: 5xx, 429, 408, SlowDown, RequestTimeout. */
int s3_status_is_transient(long status, const char *code);

/* ---- Read-ahead windows (s3_readahead.c) ---------------------------------- */
typedef struct s3_readahead s3_readahead;

s3_readahead *s3_readahead_new(void);
void s3_readahead_free(s3_readahead *ra);
/* Records a read of [offset, offset+len) of key; 1 when it starts where an
 * earlier read of key ended, or a little after (a sequential reader). */
int s3_readahead_continues(s3_readahead *ra, const char *key, uint64_t offset, size_t len);
/* Copies the range from a kept window, waiting for one still being
 * fetched; 1 when a window held all of it (*window_end: where it ends). */
int s3_readahead_copy(s3_readahead *ra, const char *key, uint64_t offset, size_t len, void *out,
                      uint64_t *window_end);
/* Reserves a window for [start, start+len) of key about to be fetched (by
 * the caller or in the background); -1 when a window already covers start
 * or none is free. */
int s3_readahead_claim(s3_readahead *ra, const char *key, uint64_t start, size_t len);
/* Completes a claimed window with `data` (taken over), or drops it (data
 * NULL: the fetch failed); readers waiting for it go on. */
void s3_readahead_fill(s3_readahead *ra, int slot, strata_buf *data);

/* ---- Configuration -------------------------------------------------------- */
typedef struct {
    char *bucket;
    char *prefix;       /* "" or ends with '/' */
    char *endpoint;     /* scheme://host[:port], no trailing slash */
    char *region;
    int path_style;
    int insecure;
    int concurrency;
    double retry_seconds;
    long stall_seconds; /* a transfer slower than 1 KiB/s for this long fails */
    int list_keys;      /* keys per listing page (S3's maximum: 1000) */
    char *ca_file;      /* CA certificates for a private endpoint, or NULL */
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL when none */
} s3_config;

/* Parses s3://BUCKET[/PREFIX] and reads the STRATA_S3_* and AWS_*
 * environment and the shared credentials file. */
strata_err s3_config_load(const char *location, s3_config *c);
void s3_config_free(s3_config *c);

/* ---- HTTP requests -------------------------------------------------------- */
typedef struct s3_client s3_client;

typedef struct {
    const char *method;
    const char *key;    /* full object key (prefix included); NULL: the bucket */
    const char *query;  /* encoded, "" or NULL for none */
    const void *body;
    size_t body_len;
    const char *range;  /* "bytes=A-B" or NULL */
    int want_md5;       /* send Content-MD5 of the body */
    /* results */
    long status;
    strata_buf *response; /* body sink; may be NULL to discard */
    char etag[80];
    uint64_t content_length;
    int have_length;
    /* Content-Range "bytes FIRST-LAST/TOTAL" (TOTAL "*": 0) */
    int have_range;
    uint64_t range_first, range_last, range_total;
} s3_request;

/* Parses a Content-Range value into *first, *last and *total (0 for "*");
 * -1 when it is not one range of bytes. */
int s3_parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total);

/* What a 200 or 206 answer with `got` bytes of body holds, for a GET of
 * `want` bytes at `offset` whose first `need` are required.  A 206 must
 * name the range asked for in Content-Range, shorter only where the
 * object ends; a 200 (a server ignoring Range) holds the whole object. */
typedef enum {
    S3_RANGE_OK,       /* the bytes asked for, or those up to the object's end */
    S3_RANGE_PAST_END, /* the object ends before the bytes needed */
    S3_RANGE_WRONG,    /* other bytes than asked for: a fault in transit, not the object's */
} s3_range_verdict;
s3_range_verdict s3_range_judge(const s3_request *req, size_t got, uint64_t offset, size_t want, size_t need);

s3_client *s3_client_new(s3_config *c);
void s3_client_free(s3_client *cl);
/* Ends the requests in flight, retrying or to come, at once (STRATA_EINTR);
 * any thread (see storage_abandon). */
void s3_client_abandon(s3_client *cl);
/* Performs a request, retrying transient failures within the retry
 * budget.  Returns STRATA_OK with req->status set for any final HTTP
 * answer (the caller interprets 404 and the like), STRATA_EIO when the
 * server could not be reached or kept failing, STRATA_EINTR when the
 * client was abandoned first. */
strata_err s3_perform(s3_client *cl, s3_request *req);
/* A one-line error for a final non-success answer, recorded with
 * strata_fail(): 403 names credentials, 404 ENOENT, S3 codes quoted. */
strata_err s3_fail(const s3_request *req, const char *what);

#endif
