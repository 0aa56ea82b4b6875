/* storage_view.c - reading views of object ranges (fetch/storage.h).
 *
 * Decompressing a chunk straight from the local backend's mapping of its
 * pack saves copying every byte out of the page cache first, which cost
 * about as much CPU as checking it.  The price of a mapping is that a file
 * truncated under it, or a disk error, is reported as SIGBUS at the access
 * rather than as a failed read.  storage_view_read() turns that back into
 * an error: it runs the reader under a fault guard (base.h). */
#include "fetch/storage_int.h"

#include <string.h>
#include <sys/mman.h>

strata_err storage_view_read(const storage_view *v, storage_view_fn fn, void *ctx) {
    if (!v->map) return fn(ctx, v->data, v->len);
    sigjmp_buf guard, *outer = strata_guard_current();
    if (sigsetjmp(guard, 0)) {
        strata_guard_set(outer);
        return strata_fail(STRATA_EIO, "object %s: its bytes cannot be read (the file shrank, or the disk failed)",
                           v->key);
    }
    strata_guard_set(&guard);
    strata_err e = fn(ctx, v->data, v->len);
    strata_guard_set(outer);
    return e;
}

void storage_view_close(storage_view *v) {
    if (v->map) munmap(v->map, v->map_len);
    memset(v, 0, sizeof *v);
}
