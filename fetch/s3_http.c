/* s3_http.c - signed HTTP requests to an S3-compatible store via libcurl.
 *
 * One s3_client serves every thread of a process (backup workers, pack
 * flushers, mount threads).  Easy handles are pooled, so connections stay
 * open across requests, and a counting gate bounds the requests in flight
 * to the configured concurrency.  s3_perform() signs each attempt afresh
 * (the date is part of the signature), retries transient failures with
 * backoff inside the retry budget, and leaves the interpretation of a
 * final HTTP status to the caller. */
#include "fetch/s3_int.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>

#define MAX_IDLE_HANDLES 64
#define CONNECT_TIMEOUT_S 10L
#define STALL_SPEED_BYTES 1024L

struct s3_client {
    s3_config *cfg;
    char *host;        /* Host header value */
    char *base_url;    /* scheme://host[:port] with the bucket when virtual-host */
    pthread_mutex_t lock;
    pthread_cond_t slot_free;
    int in_flight;
    CURL *idle[MAX_IDLE_HANDLES];
    int n_idle;
    int abandoned; /* atomic: s3_client_abandon */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void init_curl(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

s3_client *s3_client_new(s3_config *c) {
    pthread_once(&curl_once, init_curl);
    s3_client *cl = xcalloc(1, sizeof *cl);
    cl->cfg = c;
    const char *scheme_end = strstr(c->endpoint, "://") + 3;
    size_t scheme_len = (size_t)(scheme_end - c->endpoint);
    if (c->path_style) {
        cl->host = xstrdup(scheme_end);
        cl->base_url = xstrdup(c->endpoint);
    } else {
        cl->host = xasprintf("%s.%s", c->bucket, scheme_end);
        cl->base_url = xasprintf("%.*s%s", (int)scheme_len, c->endpoint, cl->host);
    }
    pthread_mutex_init(&cl->lock, NULL);
    pthread_cond_init(&cl->slot_free, NULL);
    if (c->insecure)
        strata_log(STRATA_LOG_WARN, "S3: TLS certificate verification is off (--s3-insecure); "
                                    "use this for tests only");
    return cl;
}

void s3_client_free(s3_client *cl) {
    if (!cl) return;
    for (int i = 0; i < cl->n_idle; i++) curl_easy_cleanup(cl->idle[i]);
    pthread_mutex_destroy(&cl->lock);
    pthread_cond_destroy(&cl->slot_free);
    free(cl->host);
    free(cl->base_url);
    free(cl);
}

void s3_client_abandon(s3_client *cl) {
    __atomic_store_n(&cl->abandoned, 1, __ATOMIC_RELAXED);
}

static int is_abandoned(s3_client *cl) {
    return __atomic_load_n(&cl->abandoned, __ATOMIC_RELAXED);
}

/* Waits for a slot below the concurrency bound and takes a handle. */
static CURL *acquire(s3_client *cl) {
    pthread_mutex_lock(&cl->lock);
    while (cl->in_flight >= cl->cfg->concurrency) pthread_cond_wait(&cl->slot_free, &cl->lock);
    cl->in_flight++;
    CURL *h = cl->n_idle ? cl->idle[--cl->n_idle] : NULL;
    pthread_mutex_unlock(&cl->lock);
    return h ? h : curl_easy_init();
}

/* A handle whose transfer failed may hold a broken connection: it is
 * dropped rather than pooled. */
static void release(s3_client *cl, CURL *h, int reusable) {
    pthread_mutex_lock(&cl->lock);
    cl->in_flight--;
    if (reusable && cl->n_idle < MAX_IDLE_HANDLES) {
        cl->idle[cl->n_idle++] = h;
        h = NULL;
    }
    pthread_cond_signal(&cl->slot_free);
    pthread_mutex_unlock(&cl->lock);
    if (h) curl_easy_cleanup(h);
}

/* ---- One attempt ---------------------------------------------------------- */
typedef struct {
    s3_request *req;
    size_t sent;
} transfer;

static size_t read_body(char *dst, size_t size, size_t nmemb, void *user) {
    transfer *t = user;
    size_t n = t->req->body_len - t->sent;
    if (n > size * nmemb) n = size * nmemb;
    memcpy(dst, (const uint8_t *)t->req->body + t->sent, n);
    t->sent += n;
    return n;
}

static size_t write_body(char *src, size_t size, size_t nmemb, void *user) {
    transfer *t = user;
    if (t->req->response) strata_buf_put(t->req->response, src, size * nmemb);
    return size * nmemb;
}

static int header_is(const char *line, size_t n, const char *name) {
    size_t k = strlen(name);
    return n > k && !strncasecmp(line, name, k) && line[k] == ':';
}

static void header_value(const char *line, size_t n, size_t name_len, char *out, size_t cap) {
    const char *v = line + name_len + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t len = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
}

static size_t read_header(char *line, size_t size, size_t nmemb, void *user) {
    transfer *t = user;
    size_t n = size * nmemb;
    s3_request *r = t->req;
    if (n > 5 && !strncmp(line, "HTTP/", 5)) { /* a new response (after 100 Continue) */
        r->etag[0] = '\0';
        r->have_length = r->have_range = 0;
    } else if (header_is(line, n, "Content-Range")) {
        char v[96];
        header_value(line, n, 13, v, sizeof v);
        r->have_range = !s3_parse_content_range(v, &r->range_first, &r->range_last, &r->range_total);
    } else if (header_is(line, n, "ETag")) {
        header_value(line, n, 4, r->etag, sizeof r->etag);
    } else if (header_is(line, n, "Content-Length")) {
        char v[32];
        header_value(line, n, 14, v, sizeof v);
        r->content_length = strtoull(v, NULL, 10);
        r->have_length = 1;
    }
    return n;
}

/* A decimal number of at most 19 digits at *p, which is moved past it. */
static int parse_u64(const char **p, uint64_t *out) {
    const char *s = *p;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9' && s - *p < 19) v = v * 10 + (uint64_t)(*s++ - '0');
    if (s == *p || (*s >= '0' && *s <= '9')) return -1;
    *out = v;
    *p = s;
    return 0;
}

int s3_parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total) {
    if (strncasecmp(v, "bytes ", 6)) return -1;
    const char *p = v + 6;
    if (parse_u64(&p, first) || *p++ != '-' || parse_u64(&p, last) || *p++ != '/' || *last < *first) return -1;
    *total = 0;
    if (!strcmp(p, "*")) return 0;
    return parse_u64(&p, total) || *p || *total <= *last ? -1 : 0;
}

/* curl's progress callback, called at least once a second even while
 * nothing arrives: non-zero ends the transfer. */
static int end_if_abandoned(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return is_abandoned(user);
}

static void amz_now(char out[17]) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static char *request_path(s3_client *cl, const char *key) {
    strata_buf p;
    strata_buf_init(&p);
    strata_buf_put_u8(&p, '/');
    if (cl->cfg->path_style) {
        s3_uri_encode(&p, cl->cfg->bucket, 0);
        if (key) strata_buf_put_u8(&p, '/');
    }
    if (key) s3_uri_encode(&p, key, 1);
    strata_buf_put_u8(&p, '\0');
    return (char *)p.data;
}

typedef struct {
    s3_header h[8];
    size_t n;
    char md5_b64[32];
    char date[17];
    char *range;
} header_set;

static void add_header(header_set *hs, const char *name, const char *value) {
    hs->h[hs->n].name = name;
    hs->h[hs->n++].value = value;
}

/* Signs and performs one attempt; returns the curl result. */
static CURLcode attempt(s3_client *cl, CURL *h, s3_request *req, const char *payload_hash,
                        const char *md5_b64) {
    const s3_config *c = cl->cfg;
    char *path = request_path(cl, req->key);
    const char *query = req->query ? req->query : "";
    char *url = xasprintf("%s%s%s%s", cl->base_url, path, *query ? "?" : "", query);
    header_set hs = {.n = 0};
    amz_now(hs.date);
    add_header(&hs, "host", cl->host);
    add_header(&hs, "x-amz-content-sha256", payload_hash);
    add_header(&hs, "x-amz-date", hs.date);
    if (c->session_token) add_header(&hs, "x-amz-security-token", c->session_token);
    if (md5_b64) add_header(&hs, "content-md5", md5_b64);
    if (req->range) add_header(&hs, "range", req->range);
    s3_sign_input in = {
        .method = req->method, .canonical_uri = path, .query = query, .headers = hs.h,
        .n_headers = hs.n, .payload_hash = payload_hash, .amz_date = hs.date,
        .region = c->region, .service = "s3", .access_key = c->access_key,
        .secret_key = c->secret_key,
    };
    char *auth = s3_authorization(&in);
    struct curl_slist *list = NULL;
    for (size_t i = 1; i < hs.n; i++) { /* curl sends Host itself */
        char *line = xasprintf("%s: %s", hs.h[i].name, hs.h[i].value);
        list = curl_slist_append(list, line);
        free(line);
    }
    char *auth_line = xasprintf("Authorization: %s", auth);
    list = curl_slist_append(list, auth_line);
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "Content-Type:");
    char *host_line = xasprintf("Host: %s", cl->host);
    list = curl_slist_append(list, host_line);
    free(host_line);

    transfer t = {.req = req};
    req->status = 0;
    req->etag[0] = '\0';
    req->have_length = req->have_range = 0;
    if (req->response) req->response->len = 0;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, STALL_SPEED_BYTES);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->stall_seconds);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, end_if_abandoned);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, cl);
    if (c->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!strcmp(req->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(req->method, "PUT") || !strcmp(req->method, "POST")) {
        if (!strcmp(req->method, "PUT")) curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        else curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(h, CURLOPT_READDATA, &t);
        if (!strcmp(req->method, "PUT"))
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        else
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &req->status);
    curl_slist_free_all(list);
    free(auth_line);
    free(auth);
    free(url);
    free(path);
    return rc;
}

/* ---- Retry loop ---------------------------------------------------------- */

/* The S3 error code of a response body, malloc'd, or NULL.  Success
 * bodies are not parsed except a POST's: CompleteMultipartUpload reports
 * failures as an <Error> document under status 200. */
static char *error_code(const s3_request *req) {
    if (!req->response || !req->response->len) return NULL;
    if (req->status < 300 && strcmp(req->method, "POST")) return NULL;
    char *code, *message;
    if (!s3_xml_error((const char *)req->response->data, req->response->len, &code, &message))
        return NULL;
    free(message);
    return code;
}

/* Transport failures worth another attempt: all but those a retry cannot
 * change (a certificate that does not verify, a malformed endpoint).  Not
 * CURLE_UNSUPPORTED_PROTOCOL: the endpoint's scheme was checked, so it
 * means a garbled status line, such as the stray bytes a server sending
 * more than its Content-Length leaves on a kept connection. */
static int curl_is_transient(CURLcode rc) {
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
        return 0;
    default:
        return 1;
    }
}

static const char *describe(const s3_request *req) {
    return req->key ? req->key : "(bucket)";
}

strata_err s3_perform(s3_client *cl, s3_request *req) {
    char payload_hash[65];
    char md5_b64[32];
    const uint8_t *body = req->body ? req->body : (const uint8_t *)"";
    s3_sha256_hex(body, req->body_len, payload_hash);
    if (req->want_md5) {
        uint8_t md5[16];
        s3_md5(body, req->body_len, md5);
        EVP_EncodeBlock((unsigned char *)md5_b64, md5, 16);
    }
    strata_buf scratch;
    strata_buf_init(&scratch);
    if (!req->response) req->response = &scratch;
    s3_retry retry;
    s3_retry_start(&retry, cl->cfg->retry_seconds);
    retry.abandoned = &cl->abandoned;
    strata_err e = STRATA_OK;
    for (;;) {
        if (is_abandoned(cl)) {
            e = strata_fail(STRATA_EINTR, "S3 %s %s: abandoned", req->method, describe(req));
            break;
        }
        CURL *h = acquire(cl);
        CURLcode rc = attempt(cl, h, req, payload_hash, req->want_md5 ? md5_b64 : NULL);
        release(cl, h, rc == CURLE_OK);
        if (rc != CURLE_OK && !curl_is_transient(rc)) {
            e = strata_fail(STRATA_EIO, "S3 %s %s: %s", req->method, describe(req),
                            curl_easy_strerror(rc));
            break;
        }
        char *code = rc == CURLE_OK ? error_code(req) : NULL;
        int transient = rc != CURLE_OK || s3_status_is_transient(req->status, code);
        if (!transient) {
            free(code);
            break;
        }
        char why[160];
        if (rc != CURLE_OK)
            snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
        else
            snprintf(why, sizeof why, "HTTP %ld%s%s", req->status, code ? " " : "", code ? code : "");
        free(code);
        if (!s3_retry_wait(&retry)) {
            if (is_abandoned(cl)) continue;
            e = strata_fail(STRATA_EIO, "S3 %s %s: %s (gave up after %.0f s of retries)",
                            req->method, describe(req), why, cl->cfg->retry_seconds);
            break;
        }
        strata_log(STRATA_LOG_DEBUG, "S3 %s %s: %s; retrying", req->method, describe(req), why);
    }
    if (req->response == &scratch) req->response = NULL;
    strata_buf_free(&scratch);
    return e;
}

strata_err s3_fail(const s3_request *req, const char *what) {
    char *code = NULL, *message = NULL;
    if (req->response && req->response->len)
        s3_xml_error((const char *)req->response->data, req->response->len, &code, &message);
    strata_err e;
    if (req->status == 403)
        e = strata_fail(STRATA_EIO, "S3 %s %s: access denied (check credentials)%s%s", what,
                        describe(req), code ? ": " : "", code ? code : "");
    else if (req->status == 404 && code && !strcmp(code, "NoSuchBucket"))
        e = strata_fail(STRATA_EIO, "S3 bucket does not exist"); /* not a missing object: no repository to make */
    else if (req->status == 404)
        e = strata_fail(STRATA_ENOENT, "S3 object %s does not exist", describe(req));
    else
        e = strata_fail(STRATA_EIO, "S3 %s %s: HTTP %ld%s%s%s%s", what, describe(req), req->status,
                        code ? " " : "", code ? code : "", message ? ": " : "",
                        message ? message : "");
    free(code);
    free(message);
    return e;
}
