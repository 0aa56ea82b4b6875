/* storage.c - dispatch from the storage interface to a backend.
 *
 * Keys are checked here once for every backend: relative, no "..", no
 * empty components, so no backend can be steered outside its root. */
#include "fetch/storage_int.h"

#include <string.h>

static strata_err check_key(const char *key) {
    if (!*key || key[0] == '/' || strstr(key, "//") || strstr(key, "..") ||
        key[strlen(key) - 1] == '/')
        return strata_fail(STRATA_EINVAL, "invalid object key '%s'", key);
    return STRATA_OK;
}

static int is_url(const char *location, const char *scheme) {
    return !strncmp(location, scheme, strlen(scheme));
}

static strata_err open_location(const char *location, int create, storage **out) {
    if (is_url(location, "s3://")) return storage_s3_open(location, create, out);
    if (strstr(location, "://"))
        return strata_fail(STRATA_EINVAL, "%s: unknown repository location scheme", location);
    return storage_local_open(location, create, out);
}

strata_err storage_open(const char *location, storage **out) {
    return open_location(location, 0, out);
}

strata_err storage_create(const char *location, storage **out) {
    return open_location(location, 1, out);
}

void storage_close(storage *s) {
    if (!s) return;
    s->ops->close(s);
    free(s->description);
    free(s->local_index);
    free(s);
}

void storage_count_fetch(storage *s, uint64_t bytes) {
    __atomic_add_fetch(&s->fetched_requests, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->fetched_bytes, bytes, __ATOMIC_RELAXED);
}

void storage_get_traffic(const storage *s, storage_traffic *out) {
    out->requests = __atomic_load_n(&s->fetched_requests, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&s->fetched_bytes, __ATOMIC_RELAXED);
}

strata_err storage_put(storage *s, const char *key, const void *data, size_t len) {
    strata_err e = check_key(key);
    return e ? e : s->ops->put(s, key, data, len);
}

strata_err storage_get(storage *s, const char *key, strata_buf *out) {
    strata_err e = check_key(key);
    return e ? e : s->ops->get(s, key, out);
}

strata_err storage_get_range(storage *s, const char *key, uint64_t offset, size_t len, void *out) {
    strata_err e = check_key(key);
    return e ? e : s->ops->get_range(s, key, offset, len, out);
}

strata_err storage_view_open(storage *s, const char *key, uint64_t offset, size_t len,
                             strata_buf *scratch, storage_view *out) {
    memset(out, 0, sizeof *out);
    out->key = key;
    strata_err e = check_key(key);
    if (e) return e;
    if (s->ops->view) return s->ops->view(s, key, offset, len, scratch, out);
    scratch->len = 0;
    strata_buf_reserve(scratch, len);
    e = s->ops->get_range(s, key, offset, len, scratch->data);
    if (e) return e;
    scratch->len = len;
    out->data = scratch->data;
    out->len = len;
    return STRATA_OK;
}

strata_err storage_size(storage *s, const char *key, uint64_t *size) {
    strata_err e = check_key(key);
    return e ? e : s->ops->size(s, key, size);
}

strata_err storage_list(storage *s, const char *prefix, storage_list_fn fn, void *ctx) {
    return s->ops->list(s, prefix, fn, ctx);
}

void storage_abandon(storage *s) {
    if (s->ops->abandon) s->ops->abandon(s);
}

const char *storage_local_index_dir(const storage *s) {
    return s->local_index;
}

const char *storage_describe(const storage *s) {
    return s->description;
}
