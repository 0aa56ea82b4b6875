/* storage_s3.c - the S3-compatible object storage backend.
 *
 * A repository at s3://BUCKET/PREFIX keeps object <key> as the S3 object
 * "PREFIX/<key>".  S3 PUTs are atomic and durable when acknowledged,
 * which is exactly storage_put()'s contract, so no temporary names are
 * needed.  Objects above MULTIPART_THRESHOLD (packs) go up as multipart
 * uploads whose parts are sent in parallel and aborted on failure, so a
 * failed upload leaves no billable leftovers.  Every body sent carries
 * its Content-MD5 (the server refuses a damaged upload) and a signed
 * SHA-256; every body received is checked against its length and, where
 * the ETag is an MD5, against that, and a ranged one against the range it
 * was asked for, so damage in transit in either direction is caught here
 * rather than by the repository's chunk hashes. */
#include "fetch/s3_int.h"

#include <string.h>

#define MULTIPART_THRESHOLD (16u << 20)
#define PART_SIZE (8u << 20)
#define GET_ATTEMPTS 3
#define READAHEAD_WINDOW (4u << 20)
#define MAX_PREFETCHES 2

typedef struct {
    s3_config cfg;
    s3_client *client;
    s3_readahead *readahead;
    pthread_mutex_t prefetch_lock;
    pthread_cond_t prefetch_done;
    int prefetching; /* background window fetches running */
} s3_backend;

static s3_backend *backend(storage *s) {
    return s->backend;
}

static char *full_key(storage *s, const char *key) {
    return xasprintf("%s%s", backend(s)->cfg.prefix, key);
}

/* A query parameter value, percent-encoded (malloc'd). */
static char *encode_value(const char *v) {
    strata_buf b;
    strata_buf_init(&b);
    s3_uri_encode(&b, v, 0);
    strata_buf_put_u8(&b, '\0');
    return (char *)b.data;
}

/* ---- Single PUT ------------------------------------------------------------ */
static strata_err put_single(storage *s, const char *key, const void *data, size_t len) {
    strata_buf resp;
    strata_buf_init(&resp);
    char *fk = full_key(s, key);
    s3_request req = {.method = "PUT", .key = fk, .body = data, .body_len = len, .want_md5 = 1,
                      .response = &resp};
    strata_err e = s3_perform(backend(s)->client, &req);
    if (!e && req.status != 200) e = s3_fail(&req, "PUT");
    free(fk);
    strata_buf_free(&resp);
    return e;
}

/* ---- Multipart upload -------------------------------------------------------- */
typedef struct {
    storage *s;
    const char *fk;
    const char *upload_id;
    const uint8_t *data;
    size_t len;
    uint32_t n_parts;
    char (*etag)[80];  /* as the server named each part */
    uint32_t next;     /* atomic: the next part to send */
    int failed;        /* atomic */
    pthread_mutex_t lock;
    strata_err error;
    char error_msg[512];
} multipart;

static void record_failure(multipart *m, strata_err e) {
    pthread_mutex_lock(&m->lock);
    if (!m->error) {
        m->error = e;
        snprintf(m->error_msg, sizeof m->error_msg, "%s", strata_errmsg());
    }
    pthread_mutex_unlock(&m->lock);
    __atomic_store_n(&m->failed, 1, __ATOMIC_RELAXED);
}

static strata_err put_part(multipart *m, uint32_t i) {
    size_t off = (size_t)i * PART_SIZE;
    size_t n = m->len - off < PART_SIZE ? m->len - off : PART_SIZE;
    char *id = encode_value(m->upload_id);
    char *query = xasprintf("partNumber=%u&uploadId=%s", i + 1, id);
    strata_buf resp;
    strata_buf_init(&resp);
    s3_request req = {.method = "PUT", .key = m->fk, .query = query, .body = m->data + off,
                      .body_len = n, .want_md5 = 1, .response = &resp};
    strata_err e = s3_perform(backend(m->s)->client, &req);
    if (!e && req.status != 200) e = s3_fail(&req, "PUT part");
    if (!e && !req.etag[0]) e = strata_fail(STRATA_EIO, "S3 PUT %s part %u: no ETag", m->fk, i + 1);
    if (!e) snprintf(m->etag[i], sizeof m->etag[i], "%s", req.etag);
    strata_buf_free(&resp);
    free(query);
    free(id);
    return e;
}

static void *part_worker(void *arg) {
    multipart *m = arg;
    for (;;) {
        uint32_t i = __atomic_fetch_add(&m->next, 1, __ATOMIC_RELAXED);
        if (i >= m->n_parts || __atomic_load_n(&m->failed, __ATOMIC_RELAXED)) break;
        strata_err e = put_part(m, i);
        if (e) record_failure(m, e);
    }
    return NULL;
}

/* Sends every part with up to `concurrency` transfers at once; the calling
 * thread is one of the senders. */
static strata_err put_parts(multipart *m) {
    int want = backend(m->s)->cfg.concurrency;
    if ((uint32_t)want > m->n_parts) want = (int)m->n_parts;
    pthread_t *threads = xcalloc((size_t)want, sizeof *threads);
    int started = 0;
    for (int i = 1; i < want; i++)
        if (!pthread_create(&threads[started], NULL, part_worker, m)) started++;
    part_worker(m);
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    free(threads);
    return m->error ? strata_fail(m->error, "%s", m->error_msg) : STRATA_OK;
}

static strata_err start_upload(storage *s, const char *fk, char **upload_id) {
    strata_buf resp;
    strata_buf_init(&resp);
    s3_request req = {.method = "POST", .key = fk, .query = "uploads", .response = &resp};
    strata_err e = s3_perform(backend(s)->client, &req);
    if (!e && req.status != 200) e = s3_fail(&req, "starting multipart upload of");
    if (!e) e = s3_xml_upload_id((const char *)resp.data, resp.len, upload_id);
    strata_buf_free(&resp);
    return e;
}

static void abort_upload(storage *s, const char *fk, const char *upload_id) {
    char *id = encode_value(upload_id);
    char *query = xasprintf("uploadId=%s", id);
    strata_buf resp;
    strata_buf_init(&resp);
    s3_request req = {.method = "DELETE", .key = fk, .query = query, .response = &resp};
    strata_err e = s3_perform(backend(s)->client, &req);
    if (!e && req.status != 204 && req.status != 200 && req.status != 404)
        e = s3_fail(&req, "aborting multipart upload of");
    if (e) strata_log(STRATA_LOG_WARN, "S3: could not abort the upload of %s: %s", fk, strata_errmsg());
    strata_buf_free(&resp);
    free(query);
    free(id);
}

static void completion_body(const multipart *m, strata_buf *out) {
    const char *open = "<CompleteMultipartUpload>";
    strata_buf_put(out, open, strlen(open));
    for (uint32_t i = 0; i < m->n_parts; i++) {
        char *part = xasprintf("<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1,
                               m->etag[i]);
        strata_buf_put(out, part, strlen(part));
        free(part);
    }
    const char *close = "</CompleteMultipartUpload>";
    strata_buf_put(out, close, strlen(close));
}

/* The ETag S3 gives a completed upload is the MD5 of the parts' MD5s and
 * "-N", and the parts' ETags are their MD5s.  Servers that name objects
 * otherwise (s3rver: the MD5 of the whole; encrypted buckets: opaque
 * values) are not checked: Content-MD5 already made the server verify
 * every part. */
static int multipart_etag_wrong(const multipart *m, const char *etag) {
    char suffix[16];
    int k = snprintf(suffix, sizeof suffix, "-%u\"", m->n_parts);
    size_t n = strlen(etag);
    if (n != 33 + (size_t)k || etag[0] != '"' || strcmp(etag + 33, suffix)) return 0;
    uint8_t *md5s = xmalloc((size_t)m->n_parts * 16);
    int plain = 1;
    for (uint32_t i = 0; i < m->n_parts; i++) {
        const char *e = m->etag[i];
        if (strlen(e) != 34 || strata_unhex(e + 1, md5s + (size_t)i * 16, 16)) plain = 0;
    }
    uint8_t md5[16];
    char hex[33];
    s3_md5(md5s, (size_t)m->n_parts * 16, md5);
    free(md5s);
    strata_hex(md5, 16, hex);
    return plain && strncasecmp(etag + 1, hex, 32);
}

static strata_err head_etag(storage *s, const char *fk, uint64_t *size, char etag[80]);

/* A completion whose answer was lost and whose retry finds the upload
 * gone has succeeded when the object is there with the expected size. */
static int completed_before(multipart *m) {
    uint64_t size;
    char etag[80];
    return head_etag(m->s, m->fk, &size, etag) == STRATA_OK && size == m->len &&
           !multipart_etag_wrong(m, etag);
}

static strata_err complete_upload(multipart *m) {
    char *id = encode_value(m->upload_id);
    char *query = xasprintf("uploadId=%s", id);
    strata_buf body, resp;
    strata_buf_init(&body);
    strata_buf_init(&resp);
    completion_body(m, &body);
    s3_request req = {.method = "POST", .key = m->fk, .query = query, .body = body.data,
                      .body_len = body.len, .response = &resp};
    strata_err e = s3_perform(backend(m->s)->client, &req);
    char *etag = NULL;
    if (!e && req.status == 404 && completed_before(m)) {
        req.status = 200;
    } else if (!e && req.status != 200) {
        e = s3_fail(&req, "completing multipart upload of");
    } else if (!e) {
        char *code, *message;
        if (s3_xml_error((const char *)resp.data, resp.len, &code, &message)) {
            e = strata_fail(STRATA_EIO, "S3 completing multipart upload of %s: %s: %s", m->fk,
                            code ? code : "error", message ? message : "");
            free(code);
            free(message);
        } else {
            e = s3_xml_complete_etag((const char *)resp.data, resp.len, &etag);
        }
    }
    if (etag && multipart_etag_wrong(m, etag))
        e = strata_fail(STRATA_EIO, "S3 multipart upload of %s: the server stored ETag %s, "
                        "not the one of the parts sent", m->fk, etag);
    free(etag);
    strata_buf_free(&body);
    strata_buf_free(&resp);
    free(query);
    free(id);
    return e;
}

static strata_err put_multipart(storage *s, const char *key, const void *data, size_t len) {
    multipart m = {.s = s, .data = data, .len = len};
    m.n_parts = (uint32_t)((len + PART_SIZE - 1) / PART_SIZE);
    m.etag = xcalloc(m.n_parts, sizeof *m.etag);
    pthread_mutex_init(&m.lock, NULL);
    char *fk = full_key(s, key);
    m.fk = fk;
    char *upload_id = NULL;
    strata_err e = start_upload(s, fk, &upload_id);
    if (!e) {
        m.upload_id = upload_id;
        e = put_parts(&m);
        if (!e) e = complete_upload(&m);
        if (e) {
            char saved[512];
            snprintf(saved, sizeof saved, "%s", strata_errmsg());
            abort_upload(s, fk, upload_id);
            strata_fail(e, "%s", saved);
        }
    }
    pthread_mutex_destroy(&m.lock);
    free(upload_id);
    free(m.etag);
    free(fk);
    return e;
}

static strata_err s3_put(storage *s, const char *key, const void *data, size_t len) {
    if (len > MULTIPART_THRESHOLD) return put_multipart(s, key, data, len);
    return put_single(s, key, data, len);
}

/* ---- Reads ---------------------------------------------------------------- */

/* Whether a body fails the object's checks: its Content-Length, and its
 * ETag when that is a plain MD5.  An ETag that keeps disagreeing with
 * identical bodies is no MD5 (encrypted buckets) and is not held against
 * the data: `*last_md5` carries the previous body's MD5 for that. */
static const char *body_problem(const s3_request *req, const strata_buf *body, uint8_t last_md5[16],
                                int *have_last) {
    if (req->have_length && req->content_length != body->len) return "length";
    const char *etag = req->etag;
    if (strlen(etag) != 34 || etag[0] != '"' || strchr(etag, '-')) return NULL;
    uint8_t md5[16];
    char hex[33];
    s3_md5(body->data, body->len, md5);
    strata_hex(md5, 16, hex);
    if (!strncasecmp(etag + 1, hex, 32)) return NULL;
    int same_as_before = *have_last && !memcmp(md5, last_md5, 16);
    memcpy(last_md5, md5, 16);
    *have_last = 1;
    return same_as_before ? NULL : "ETag";
}

static strata_err s3_get(storage *s, const char *key, strata_buf *out) {
    char *fk = full_key(s, key);
    s3_request req = {.method = "GET", .key = fk, .response = out};
    uint8_t last_md5[16];
    int have_last = 0;
    strata_err e = STRATA_OK;
    for (int attempt = 1;; attempt++) {
        e = s3_perform(backend(s)->client, &req);
        if (e) break;
        storage_count_fetch(s, out->len);
        if (req.status != 200) {
            e = s3_fail(&req, "GET");
            break;
        }
        const char *problem = body_problem(&req, out, last_md5, &have_last);
        if (!problem) break;
        if (attempt == GET_ATTEMPTS) {
            e = strata_fail(STRATA_ECORRUPT, "S3 GET %s: the body does not match its %s", fk, problem);
            break;
        }
    }
    free(fk);
    return e;
}

s3_range_verdict s3_range_judge(const s3_request *req, size_t got, uint64_t offset, size_t want, size_t need) {
    if (req->have_length && req->content_length != got) return S3_RANGE_WRONG;
    if (req->status == 200) return got >= offset + need ? S3_RANGE_OK : S3_RANGE_PAST_END;
    if (req->status != 206 || !req->have_range || req->range_first != offset ||
        req->range_last - req->range_first + 1 != got || got > want)
        return S3_RANGE_WRONG;
    if (got < want && req->range_last + 1 != req->range_total) return S3_RANGE_WRONG;
    return got >= need ? S3_RANGE_OK : S3_RANGE_PAST_END;
}

/* What a ranged GET was answered with, for an error message. */
static void describe_answer(const s3_request *req, size_t got, char *out, size_t cap) {
    if (req->status == 200)
        snprintf(out, cap, "the whole object (HTTP 200), %zu bytes not matching its headers", got);
    else if (!req->have_range)
        snprintf(out, cap, "%zu bytes without a Content-Range", got);
    else if (req->range_total)
        snprintf(out, cap, "bytes %llu-%llu of %llu (%zu bytes)", (unsigned long long)req->range_first,
                 (unsigned long long)req->range_last, (unsigned long long)req->range_total, got);
    else
        snprintf(out, cap, "bytes %llu-%llu (%zu bytes)", (unsigned long long)req->range_first,
                 (unsigned long long)req->range_last, got);
}

/* GETs `want` bytes of fk at offset into out (replaced); a shorter answer
 * is fine when the object ends first, as long as `need` bytes came.  An
 * answer about other bytes than asked for (a proxy or server fault) is
 * asked again and is finally STRATA_EIO, never STRATA_ECORRUPT: that
 * says the object itself is short, which verify --repair acts on. */
static strata_err fetch_range(storage *s, const char *key, const char *fk, uint64_t offset,
                              size_t want, size_t need, strata_buf *out) {
    char *range = xasprintf("bytes=%llu-%llu", (unsigned long long)offset,
                            (unsigned long long)(offset + want - 1));
    s3_request req = {.method = "GET", .key = fk, .range = range, .response = out};
    strata_buf_reserve(out, want);
    uint8_t last_md5[16];
    int have_last = 0;
    strata_err e = STRATA_OK;
    for (int attempt = 1;; attempt++) {
        e = s3_perform(backend(s)->client, &req);
        if (e) break;
        storage_count_fetch(s, out->len);
        if (req.status == 416) {
            e = strata_fail(STRATA_ECORRUPT, "object %s: range %llu+%zu beyond its end", key,
                            (unsigned long long)offset, need);
            break;
        }
        if (req.status != 206 && req.status != 200) {
            e = s3_fail(&req, "GET");
            break;
        }
        s3_range_verdict verdict = s3_range_judge(&req, out->len, offset, want, need);
        /* a whole object is checked as s3_get checks one */
        if (req.status == 200 && body_problem(&req, out, last_md5, &have_last)) verdict = S3_RANGE_WRONG;
        if (verdict == S3_RANGE_PAST_END) {
            size_t got = req.status != 200 ? out->len : out->len > offset ? (size_t)(out->len - offset) : 0;
            e = strata_fail(STRATA_ECORRUPT, "object %s: range %llu+%zu beyond its end (got %zu bytes)", key,
                            (unsigned long long)offset, need, got);
            break;
        }
        if (verdict == S3_RANGE_OK) {
            if (req.status == 200) {
                memmove(out->data, out->data + offset, out->len - offset);
                out->len -= offset;
                if (out->len > want) out->len = want;
            }
            break;
        }
        char answer[160];
        describe_answer(&req, out->len, answer, sizeof answer);
        if (attempt == GET_ATTEMPTS) {
            e = strata_fail(STRATA_EIO, "S3 GET %s %s: answered with %s, %d times", fk, range, answer,
                            GET_ATTEMPTS);
            break;
        }
        strata_log(STRATA_LOG_DEBUG, "S3 GET %s %s: answered with %s; asking again", fk, range, answer);
    }
    free(range);
    return e;
}

/* ---- Background read-ahead ------------------------------------------------
 * A sequential reader served from a window gets the next window fetched
 * while it consumes this one, so it waits for the network once, not once
 * per window.  A few detached threads at most; closing waits for them. */
typedef struct {
    storage *s;
    char *fk;
    uint64_t start;
    int slot;
} prefetch_job;

static void prefetch_finished(s3_backend *b) {
    pthread_mutex_lock(&b->prefetch_lock);
    b->prefetching--;
    pthread_cond_broadcast(&b->prefetch_done);
    pthread_mutex_unlock(&b->prefetch_lock);
}

static void *prefetch_main(void *arg) {
    prefetch_job *j = arg;
    s3_backend *b = backend(j->s);
    strata_buf got;
    strata_buf_init(&got);
    strata_err e = fetch_range(j->s, j->fk, j->fk, j->start, READAHEAD_WINDOW, 1, &got);
    s3_readahead_fill(b->readahead, j->slot, e ? NULL : &got);
    strata_buf_free(&got);
    free(j->fk);
    free(j);
    prefetch_finished(b);
    return NULL;
}

static void prefetch(storage *s, const char *fk, uint64_t start) {
    s3_backend *b = backend(s);
    pthread_mutex_lock(&b->prefetch_lock);
    int go = b->prefetching < MAX_PREFETCHES;
    if (go) b->prefetching++;
    pthread_mutex_unlock(&b->prefetch_lock);
    if (!go) return;
    int slot = s3_readahead_claim(b->readahead, fk, start, READAHEAD_WINDOW);
    if (slot < 0) {
        prefetch_finished(b);
        return;
    }
    prefetch_job *j = xmalloc(sizeof *j);
    *j = (prefetch_job){.s = s, .fk = xstrdup(fk), .start = start, .slot = slot};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, prefetch_main, j) != 0) {
        s3_readahead_fill(b->readahead, slot, NULL);
        free(j->fk);
        free(j);
        prefetch_finished(b);
    }
    pthread_attr_destroy(&attr);
}

/* Windows start at multiples of READAHEAD_WINDOW, so every reader of a
 * stretch of an object asks for the same window: restore workers whose
 * files share a pack find it claimed and wait for it, rather than each
 * fetching an overlapping window of its own. */
static uint64_t window_start(uint64_t offset) {
    return offset - offset % READAHEAD_WINDOW;
}

static strata_err fetch_exact(storage *s, const char *key, const char *fk, uint64_t offset, size_t len,
                              uint8_t *out) {
    strata_buf got;
    strata_buf_init(&got);
    strata_err e = fetch_range(s, key, fk, offset, len, len, &got);
    if (!e) memcpy(out, got.data, len);
    strata_buf_free(&got);
    return e;
}

/* Copies [offset, offset+len), which lies in one window, from that window:
 * kept, being fetched (then it waits), or else fetched now by this reader.
 * *window_end: where the window ends, 0 when it holds the object's end. */
static strata_err read_in_window(storage *s, const char *key, const char *fk, uint64_t offset, size_t len,
                                 uint8_t *out, uint64_t *window_end) {
    s3_readahead *ra = backend(s)->readahead;
    if (s3_readahead_copy(ra, fk, offset, len, out, window_end)) return STRATA_OK;
    uint64_t start = window_start(offset);
    int slot = s3_readahead_claim(ra, fk, start, READAHEAD_WINDOW);
    if (slot < 0) {
        /* Claimed by another reader since (wait for it), or every window
         * is being fetched (fetch just the range). */
        if (s3_readahead_copy(ra, fk, offset, len, out, window_end)) return STRATA_OK;
        *window_end = 0;
        return fetch_exact(s, key, fk, offset, len, out);
    }
    strata_buf got;
    strata_buf_init(&got);
    strata_err e = fetch_range(s, key, fk, start, READAHEAD_WINDOW, (size_t)(offset + len - start), &got);
    if (!e) {
        memcpy(out, got.data + (offset - start), len);
        *window_end = got.len == READAHEAD_WINDOW ? start + READAHEAD_WINDOW : 0;
    }
    s3_readahead_fill(ra, slot, e ? NULL : &got);
    strata_buf_free(&got);
    return e;
}

/* A sequential read shorter than a window, split where windows meet. */
static strata_err read_windows(storage *s, const char *key, const char *fk, uint64_t offset, size_t len,
                               uint8_t *out, uint64_t *window_end) {
    strata_err e = STRATA_OK;
    for (size_t done = 0; !e && done < len;) {
        uint64_t at = offset + done;
        size_t n = (size_t)(window_start(at) + READAHEAD_WINDOW - at);
        if (n > len - done) n = len - done;
        e = read_in_window(s, key, fk, at, n, out + done, window_end);
        done += n;
    }
    return e;
}

static strata_err s3_get_range(storage *s, const char *key, uint64_t offset, size_t len, void *out) {
    if (!len) return STRATA_OK;
    s3_readahead *ra = backend(s)->readahead;
    char *fk = full_key(s, key);
    int sequential = s3_readahead_continues(ra, fk, offset, len);
    uint64_t window_end = 0;
    strata_err e = STRATA_OK;
    if (s3_readahead_copy(ra, fk, offset, len, out, &window_end))
        e = STRATA_OK;
    else if (sequential && len < READAHEAD_WINDOW)
        e = read_windows(s, key, fk, offset, len, out, &window_end);
    else
        e = fetch_exact(s, key, fk, offset, len, out);
    if (!e && sequential && window_end) prefetch(s, fk, window_end);
    free(fk);
    return e;
}

static strata_err head_etag(storage *s, const char *fk, uint64_t *size, char etag[80]) {
    s3_request req = {.method = "HEAD", .key = fk};
    strata_err e = s3_perform(backend(s)->client, &req);
    if (!e && req.status != 200) e = s3_fail(&req, "HEAD");
    if (!e && !req.have_length) e = strata_fail(STRATA_EIO, "S3 HEAD %s: no Content-Length", fk);
    if (!e) {
        *size = req.content_length;
        memcpy(etag, req.etag, 80);
    }
    return e;
}

static strata_err s3_size(storage *s, const char *key, uint64_t *size) {
    char *fk = full_key(s, key);
    char etag[80];
    strata_err e = head_etag(s, fk, size, etag);
    free(fk);
    return e;
}

/* ---- Listing and deletion -------------------------------------------------- */
static strata_err list_page(storage *s, const char *prefix, const char *token, int max_keys,
                            s3_list_page *page) {
    char *p = encode_value(prefix);
    char *t = token ? encode_value(token) : NULL;
    char *query = xasprintf("list-type=2&prefix=%s%s%s&max-keys=%d", p, t ? "&continuation-token=" : "",
                            t ? t : "", max_keys);
    strata_buf resp;
    strata_buf_init(&resp);
    s3_request req = {.method = "GET", .query = query, .response = &resp};
    strata_err e = s3_perform(backend(s)->client, &req);
    if (!e) storage_count_fetch(s, resp.len);
    if (!e && req.status != 200) e = s3_fail(&req, "LIST");
    if (!e) e = s3_xml_list((const char *)resp.data, resp.len, page);
    strata_buf_free(&resp);
    free(query);
    free(t);
    free(p);
    return e;
}

static strata_err s3_list(storage *s, const char *prefix, storage_list_fn fn, void *ctx) {
    const char *repo_prefix = backend(s)->cfg.prefix;
    size_t strip = strlen(repo_prefix);
    char *fp = full_key(s, prefix);
    char *token = NULL;
    strata_err e = STRATA_OK;
    do {
        s3_list_page page;
        e = list_page(s, fp, token, backend(s)->cfg.list_keys, &page);
        free(token);
        token = NULL;
        if (e) break;
        for (size_t i = 0; !e && i < page.n; i++) {
            const char *k = page.entries[i].key;
            if (strncmp(k, repo_prefix, strip) || !k[strip]) continue;
            if (fn(ctx, k + strip, page.entries[i].size)) e = STRATA_EINTR;
        }
        if (page.truncated) token = xstrdup(page.next_token);
        s3_list_page_free(&page);
    } while (!e && token);
    free(token);
    free(fp);
    return e;
}

static void s3_abandon(storage *s) {
    s3_client_abandon(backend(s)->client);
}

static void s3_close(storage *s) {
    s3_backend *b = backend(s);
    pthread_mutex_lock(&b->prefetch_lock);
    while (b->prefetching) pthread_cond_wait(&b->prefetch_done, &b->prefetch_lock);
    pthread_mutex_unlock(&b->prefetch_lock);
    pthread_mutex_destroy(&b->prefetch_lock);
    pthread_cond_destroy(&b->prefetch_done);
    s3_client_free(b->client);
    s3_readahead_free(b->readahead);
    s3_config_free(&b->cfg);
    free(b);
}

static const storage_ops s3_ops = {
    .put = s3_put,
    .get = s3_get,
    .get_range = s3_get_range,
    .size = s3_size,
    .list = s3_list,
    .abandon = s3_abandon,
    .close = s3_close,
};

/* A new repository may not overwrite one: no "config" under the prefix.
 * Listing also proves the bucket exists and the credentials work. */
static strata_err check_free(storage *s) {
    s3_list_page page;
    char *fk = full_key(s, "config");
    strata_err e = list_page(s, fk, NULL, 1, &page);
    if (!e) {
        for (size_t i = 0; i < page.n; i++)
            if (!strcmp(page.entries[i].key, fk))
                e = strata_fail(STRATA_EEXIST, "%s already holds a strata repository",
                                storage_describe(s));
        s3_list_page_free(&page);
    }
    free(fk);
    return e;
}

strata_err storage_s3_open(const char *location, int create, storage **out) {
    s3_backend *b = xcalloc(1, sizeof *b);
    strata_err e = s3_config_load(location, &b->cfg);
    if (e) {
        s3_config_free(&b->cfg);
        free(b);
        return e;
    }
    b->client = s3_client_new(&b->cfg);
    b->readahead = s3_readahead_new();
    pthread_mutex_init(&b->prefetch_lock, NULL);
    pthread_cond_init(&b->prefetch_done, NULL);
    storage *s = xcalloc(1, sizeof *s);
    s->ops = &s3_ops;
    s->backend = b;
    size_t plen = strlen(b->cfg.prefix);
    s->description = xasprintf("s3://%s/%.*s", b->cfg.bucket, (int)(plen ? plen - 1 : 0), b->cfg.prefix);
    if (create) e = check_free(s);
    if (e) {
        storage_close(s);
        return e;
    }
    *out = s;
    return STRATA_OK;
}
