/* storage.h - the storage gateway: named immutable objects on a backend.
 *
 * Everything strata keeps durably is an object addressed by a relative
 * key such as "packs/3f/3f9a...".  Backends (a local or NFS directory,
 * S3-compatible object storage) implement a vtable; nothing above this
 * interface may assume a local file system.
 *
 * Semantics every backend guarantees:
 *  - storage_put() is atomic: readers see the whole object or none of it;
 *    when it returns STRATA_OK the object is durable.
 *  - Objects are written once; putting an existing key replaces it whole.
 *  - storage_list() returns the keys below a prefix, in no set order. */
#ifndef STRATA_STORAGE_H
#define STRATA_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/base.h"

typedef struct storage storage;

/* Opens a location: a directory path (created by storage_create) or,
 * where a backend supports it, a URL such as s3://bucket/prefix. */
strata_err storage_open(const char *location, storage **out);
/* Like storage_open, but creates an empty location (a directory) first;
 * STRATA_EEXIST if it exists and is not empty. */
strata_err storage_create(const char *location, storage **out);
void storage_close(storage *s);

/* Stores `len` bytes under `key` atomically and durably. */
strata_err storage_put(storage *s, const char *key, const void *data, size_t len);

/* Reads a whole object into `out` (replacing its content); STRATA_ENOENT
 * when there is no such object. */
strata_err storage_get(storage *s, const char *key, strata_buf *out);

/* Reads `len` bytes at `offset`; STRATA_ECORRUPT when the object is
 * shorter than offset + len. */
strata_err storage_get_range(storage *s, const char *key, uint64_t offset, size_t len,
                             void *out);

/* A range of an object read in place.  The local backend maps the file,
 * so a reader copies nothing out of the page cache; other backends, and
 * ranges too small to be worth a mapping, are read into the caller's
 * scratch buffer. */
typedef struct {
    const uint8_t *data;
    size_t len;
    void *map; /* the mapping data lies in; NULL when it lies in scratch */
    size_t map_len;
    const char *key; /* borrowed from the caller, for messages */
} storage_view;

/* Opens a view of `len` bytes at `offset`; errors as storage_get_range. */
strata_err storage_view_open(storage *s, const char *key, uint64_t offset, size_t len,
                             strata_buf *scratch, storage_view *out);

/* Calls fn(ctx, data, len) on the view's bytes.  A mapped file that
 * cannot be read any more (truncated while mapped, a failing disk) makes
 * the kernel raise SIGBUS when fn touches it; that becomes STRATA_EIO here
 * instead of the end of the process.  fn is then abandoned midway, so it
 * must not take locks or allocate while it reads the view. */
typedef strata_err (*storage_view_fn)(void *ctx, const uint8_t *data, size_t len);
strata_err storage_view_read(const storage_view *v, storage_view_fn fn, void *ctx);
void storage_view_close(storage_view *v);

/* What a storage fetched from its backend since it was opened: requests
 * (GETs of objects, ranges and bucket listings on S3; reads and mappings
 * of a local directory's files) and the bytes they returned.  Read-ahead
 * counts: this is the traffic a repository costs, not what its callers
 * asked for.  An S3 request the HTTP layer retried after a transient
 * failure counts once, with the bytes of its final answer. */
typedef struct {
    uint64_t requests;
    uint64_t bytes;
} storage_traffic;

void storage_get_traffic(const storage *s, storage_traffic *out);

/* Size of an object; STRATA_ENOENT when absent. */
strata_err storage_size(storage *s, const char *key, uint64_t *size);

/* Calls fn(ctx, key, size) for every key starting with `prefix`.
 * A non-zero return from fn stops the listing and is returned as
 * STRATA_EINTR. */
typedef int (*storage_list_fn)(void *ctx, const char *key, uint64_t size);
strata_err storage_list(storage *s, const char *prefix, storage_list_fn fn, void *ctx);

/* Makes the requests waiting on the backend (an answer, a retry) end at
 * once with STRATA_EINTR, and those to come fail so: for a process that
 * stops while its threads may still wait on an endpoint that does not
 * answer, which would hold it up for the whole retry budget.  Any thread;
 * the storage is then of no use but to close. */
void storage_abandon(storage *s);

/* A local directory where the repository's index may live next to the
 * data (the local backend returns "<dir>/index"); NULL for remote
 * backends, which keep the index in the user's cache directory. */
const char *storage_local_index_dir(const storage *s);

/* A printable name of the location without secrets. */
const char *storage_describe(const storage *s);

#endif
