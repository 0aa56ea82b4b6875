/* storage_int.h - the backend vtable behind fetch/storage.h.
 *
 * A backend fills a storage_ops table; storage.c dispatches to it.  Adding
 * a backend is one file plus one line in storage_open(). */
#ifndef STRATA_STORAGE_INT_H
#define STRATA_STORAGE_INT_H

#include "fetch/storage.h"

typedef struct {
    strata_err (*put)(storage *s, const char *key, const void *data, size_t len);
    strata_err (*get)(storage *s, const char *key, strata_buf *out);
    strata_err (*get_range)(storage *s, const char *key, uint64_t offset, size_t len, void *out);
    /* optional: storage_view_open; without it ranges are read into scratch */
    strata_err (*view)(storage *s, const char *key, uint64_t offset, size_t len, strata_buf *scratch,
                       storage_view *out);
    strata_err (*size)(storage *s, const char *key, uint64_t *size);
    strata_err (*list)(storage *s, const char *prefix, storage_list_fn fn, void *ctx);
    /* optional: storage_abandon, for backends whose requests may wait */
    void (*abandon)(storage *s);
    void (*close)(storage *s);
} storage_ops;

struct storage {
    const storage_ops *ops;
    char *description;   /* printable, no secrets */
    char *local_index;   /* see storage_local_index_dir() */
    void *backend;
    uint64_t fetched_requests, fetched_bytes; /* storage_count_fetch() */
};

/* Counts one request to the backend that returned `bytes` (any thread). */
void storage_count_fetch(storage *s, uint64_t bytes);

strata_err storage_local_open(const char *dir, int create, storage **out);
/* s3://BUCKET[/PREFIX]; creating checks that no repository is there yet. */
strata_err storage_s3_open(const char *location, int create, storage **out);

#endif
