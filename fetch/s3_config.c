/* s3_config.c - where an s3:// repository is and how to reach it.
 *
 * The location names the bucket and a key prefix; everything else comes
 * from the environment as AWS tools read it, so one set of variables
 * serves strata and the aws command line alike: the STRATA_S3_* variables
 * (set by the global --s3-* options), AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, and a profile
 * (AWS_PROFILE, default "default") of the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials).
 * STRATA_S3_RETRY_SECONDS bounds the retries of one request (default 300),
 * STRATA_S3_TIMEOUT the seconds a transfer may stall (default 30), and
 * STRATA_S3_LIST_KEYS the keys per listing page (default 1000; tests use
 * small pages to exercise pagination), and STRATA_S3_CA_FILE a PEM file of
 * CA certificates for an endpoint with a private CA (MinIO, Ceph). */
#include "fetch/s3_int.h"

#include <arpa/inet.h>
#include <ini.h>
#include <string.h>

#define DEFAULT_CONCURRENCY 8
#define MAX_CONCURRENCY 64
#define DEFAULT_RETRY_SECONDS 300
#define DEFAULT_STALL_SECONDS 30

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int env_flag(const char *name) {
    const char *v = env(name);
    return v && strcmp(v, "0") && strcmp(v, "no") && strcmp(v, "false");
}

static strata_err env_number(const char *name, long lo, long hi, long dflt, long *out) {
    const char *v = env(name);
    *out = dflt;
    if (!v) return STRATA_OK;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi)
        return strata_fail(STRATA_EINVAL, "%s=%s: expected a number from %ld to %ld", name, v, lo,
                           hi);
    *out = n;
    return STRATA_OK;
}

static strata_err parse_location(const char *location, s3_config *c) {
    const char *rest = location + strlen("s3://");
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!blen) return strata_fail(STRATA_EINVAL, "%s: no bucket name (expected s3://BUCKET/PREFIX)", location);
    c->bucket = xstrndup(rest, blen);
    const char *prefix = slash ? slash + 1 : "";
    size_t plen = strlen(prefix);
    while (plen && prefix[plen - 1] == '/') plen--;
    c->prefix = plen ? xasprintf("%.*s/", (int)plen, prefix) : xstrdup("");
    if (strstr(c->prefix, "//") || c->prefix[0] == '/')
        return strata_fail(STRATA_EINVAL, "%s: empty component in the key prefix", location);
    return STRATA_OK;
}

typedef struct {
    const char *profile;
    s3_config *c;
} profile_reader;

static int read_profile_line(void *user, const char *section, const char *name, const char *value) {
    profile_reader *p = user;
    if (strcmp(section, p->profile)) return 1;
    char **slot = !strcmp(name, "aws_access_key_id")       ? &p->c->access_key
                  : !strcmp(name, "aws_secret_access_key") ? &p->c->secret_key
                  : !strcmp(name, "aws_session_token")     ? &p->c->session_token
                                                           : NULL;
    if (slot) {
        free(*slot);
        *slot = xstrdup(value);
    }
    return 1;
}

static strata_err load_credentials(s3_config *c) {
    if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        c->access_key = xstrdup(env("AWS_ACCESS_KEY_ID"));
        c->secret_key = xstrdup(env("AWS_SECRET_ACCESS_KEY"));
        if (env("AWS_SESSION_TOKEN")) c->session_token = xstrdup(env("AWS_SESSION_TOKEN"));
        return STRATA_OK;
    }
    const char *home = env("HOME");
    char *file = env("AWS_SHARED_CREDENTIALS_FILE")
                     ? xstrdup(env("AWS_SHARED_CREDENTIALS_FILE"))
                     : xasprintf("%s/.aws/credentials", home ? home : "");
    profile_reader p = {.profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default", .c = c};
    int rc = ini_parse(file, read_profile_line, &p);
    strata_err e = STRATA_OK;
    if (rc > 0)
        e = strata_fail(STRATA_EINVAL, "%s: syntax error on line %d", file, rc);
    else if (!c->access_key || !c->secret_key)
        e = strata_fail(STRATA_EINVAL,
                        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                        "or profile [%s] in %s",
                        p.profile, file);
    free(file);
    return e;
}

/* Whether HOST[:PORT] (n bytes) names an IPv4 or a bracketed IPv6 address. */
static int is_ip_address(const char *host, size_t n) {
    if (host[0] == '[') return 1;
    const char *colon = memchr(host, ':', n);
    char *name = xstrndup(host, colon ? (size_t)(colon - host) : n);
    struct in_addr addr;
    int ip = inet_pton(AF_INET, name, &addr) == 1;
    free(name);
    return ip;
}

static strata_err load_endpoint(s3_config *c) {
    const char *ep = env("STRATA_S3_ENDPOINT");
    if (!ep) {
        c->endpoint = xasprintf("https://s3.%s.amazonaws.com", c->region);
        return STRATA_OK;
    }
    if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
        return strata_fail(STRATA_EINVAL, "S3 endpoint %s: expected http://HOST[:PORT] or https://...", ep);
    const char *host = strstr(ep, "://") + 3;
    size_t n = strlen(host);
    while (n && host[n - 1] == '/') n--;
    if (!n || host[0] == ':')
        return strata_fail(STRATA_EINVAL, "S3 endpoint %s: no host name", ep);
    if (memchr(host, '/', n))
        return strata_fail(STRATA_EINVAL, "S3 endpoint %s: a path is not supported", ep);
    /* BUCKET.127.0.0.1 resolves nowhere: every request would be retried
     * for the whole retry budget before failing. */
    if (!c->path_style && is_ip_address(host, n))
        return strata_fail(STRATA_EINVAL,
                           "S3 endpoint %s is an IP address, which cannot carry the bucket in its host "
                           "name: use --s3-path-style",
                           ep);
    c->endpoint = xstrndup(ep, (size_t)(host - ep) + n);
    return STRATA_OK;
}

strata_err s3_config_load(const char *location, s3_config *c) {
    memset(c, 0, sizeof *c);
    strata_err e = parse_location(location, c);
    if (e) return e;
    const char *region = env("STRATA_S3_REGION");
    if (!region) region = env("AWS_REGION");
    if (!region) region = env("AWS_DEFAULT_REGION");
    c->region = xstrdup(region ? region : "us-east-1");
    c->path_style = env_flag("STRATA_S3_PATH_STYLE");
    c->insecure = env_flag("STRATA_S3_INSECURE");
    long concurrency, retry, stall, list_keys;
    e = env_number("STRATA_S3_CONCURRENCY", 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY, &concurrency);
    if (!e) e = env_number("STRATA_S3_RETRY_SECONDS", 0, 86400, DEFAULT_RETRY_SECONDS, &retry);
    if (!e) e = env_number("STRATA_S3_TIMEOUT", 1, 3600, DEFAULT_STALL_SECONDS, &stall);
    if (!e) e = env_number("STRATA_S3_LIST_KEYS", 1, 1000, 1000, &list_keys);
    if (e) return e;
    c->list_keys = (int)list_keys;
    if (env("STRATA_S3_CA_FILE")) c->ca_file = xstrdup(env("STRATA_S3_CA_FILE"));
    c->concurrency = (int)concurrency;
    c->retry_seconds = (double)retry;
    c->stall_seconds = stall;
    e = load_endpoint(c);
    if (!e) e = load_credentials(c);
    return e;
}

static void free_secret(char *s) {
    if (s) memset(s, 0, strlen(s));
    free(s);
}

void s3_config_free(s3_config *c) {
    free(c->bucket);
    free(c->prefix);
    free(c->endpoint);
    free(c->region);
    free(c->ca_file);
    free(c->access_key);
    free_secret(c->secret_key);
    free_secret(c->session_token);
    memset(c, 0, sizeof *c);
}
