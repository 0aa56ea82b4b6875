/* sync.c - bringing the index up to date with the stored objects.
 *
 * The index is a cache; the objects are the truth.  Syncing lists the
 * packs and version objects and indexes the ones the index lacks: after a
 * killed backup (sealed packs not yet indexed), after another machine
 * wrote to the repository, or from scratch (repo_index_rebuild). */
#include "engine/repo/repo_int.h"

#include <string.h>

typedef struct {
    char **keys;
    uint64_t *sizes;
    size_t n, cap;
} key_list;

static int collect_key(void *ctx, const char *key, uint64_t size) {
    key_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = xrealloc(l->keys, l->cap * sizeof *l->keys);
        l->sizes = xrealloc(l->sizes, l->cap * sizeof *l->sizes);
    }
    l->keys[l->n] = xstrdup(key);
    l->sizes[l->n++] = size;
    return 0;
}

static void key_list_free(key_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->keys[i]);
    free(l->keys);
    free(l->sizes);
}

static int cmp_version_key(const void *a, const void *b) {
    return repo_version_id_cmp(*(char *const *)a + strlen("versions/"), *(char *const *)b + strlen("versions/"));
}

/* "packs/ab/<64 hex>" -> the 32-byte id; -1 for keys of another shape. */
static int pack_id_of_key(const char *key, uint8_t id[STRATA_HASH_LEN]) {
    const char *slash = strrchr(key, '/');
    return slash && strlen(slash + 1) == 64 ? strata_unhex(slash + 1, id, STRATA_HASH_LEN) : -1;
}

/* An index that cannot be written (see repo_open) serves only when it
 * lacks nothing. */
static strata_err lacking(repo *r, const char *key) {
    return strata_fail(STRATA_EIO, "index %s lacks %s and cannot be written", r->index_dir, key);
}

static strata_err sync_packs(repo *r, strata_progress *progress) {
    key_list l = {0};
    strata_err e = storage_list(r->store, "packs/", collect_key, &l);
    strata_buf entries;
    strata_buf_init(&entries);
    for (size_t i = 0; !e && i < l.n; i++) {
        uint8_t id[STRATA_HASH_LEN], trailer_id[STRATA_HASH_LEN];
        uint32_t count;
        if (pack_id_of_key(l.keys[i], id) || index_has_pack(r, id)) continue;
        if (r->index_read_only) {
            e = lacking(r, l.keys[i]);
            break;
        }
        strata_err pe = pack_read_trailer(r, l.keys[i], l.sizes[i], &entries, &count, trailer_id);
        if (!pe && memcmp(id, trailer_id, STRATA_HASH_LEN))
            pe = strata_fail(STRATA_ECORRUPT, "pack %s: name does not match its trailer", l.keys[i]);
        if (pe == STRATA_ECORRUPT) {
            /* A damaged pack must not stop the rest from being indexed; verify reports it. */
            strata_log(STRATA_LOG_WARN, "%s (skipped)", strata_errmsg());
            continue;
        }
        if (!pe) pe = index_add_pack(r, id, l.sizes[i], entries.data, count);
        e = pe;
        strata_progress_add(progress, l.sizes[i]);
    }
    strata_buf_free(&entries);
    key_list_free(&l);
    return e;
}

static strata_err index_version_object(repo *r, const char *key) {
    strata_buf object, payload;
    strata_buf_init(&object);
    strata_buf_init(&payload);
    repo_version *v = NULL;
    strata_err e = storage_get(r->store, key, &object);
    if (!e) e = version_object_unwrap(object.data, object.len, key, &payload);
    if (!e) e = version_decode(payload.data, payload.len, &v);
    if (!e && strcmp(key + strlen("versions/"), v->id))
        e = strata_fail(STRATA_ECORRUPT, "%s: names version %s", key, v->id);
    if (!e) e = index_add_version(r, v, &payload);
    repo_version_free(v);
    strata_buf_free(&object);
    strata_buf_free(&payload);
    return e;
}

/* Indexes the version objects of a listing the index lacks. */
static strata_err sync_versions(repo *r, key_list *l) {
    strata_err e = STRATA_OK;
    /* Oldest first, so each file's newest record is the one left indexed. */
    if (l->n) qsort(l->keys, l->n, sizeof *l->keys, cmp_version_key);
    for (size_t i = 0; !e && i < l->n; i++) {
        if (index_has_version(r, l->keys[i] + strlen("versions/"))) continue;
        if (r->index_read_only) {
            e = lacking(r, l->keys[i]);
            break;
        }
        e = index_version_object(r, l->keys[i]);
        if (e == STRATA_ECORRUPT) {
            strata_log(STRATA_LOG_WARN, "%s (skipped)", strata_errmsg());
            e = STRATA_OK;
        }
    }
    return e;
}

/* Versions are listed before packs: a version object is stored after every
 * pack it names, so those are in the pack listing that follows, even when
 * another machine stores both meanwhile.  Listed the other way round, a
 * version could be indexed without its newest packs, its reads failing
 * until the next full sync. */
static strata_err sync_packs_then_versions(repo *r, strata_progress *progress) {
    key_list versions = {0};
    strata_err e = storage_list(r->store, "versions/", collect_key, &versions);
    if (!e) e = sync_packs(r, progress);
    if (!e) e = sync_versions(r, &versions);
    if (!e && !r->index_read_only) e = index_mark_synced(r);
    key_list_free(&versions);
    return e;
}

/* Whether the storage holds a version object the index lacks: one listing
 * of versions/, where a full sync lists every pack too. */
static strata_err new_versions_stored(repo *r, int *any) {
    key_list l = {0};
    strata_err e = storage_list(r->store, "versions/", collect_key, &l);
    *any = 0;
    for (size_t i = 0; !e && i < l.n && !*any; i++) *any = !index_has_version(r, l.keys[i] + strlen("versions/"));
    key_list_free(&l);
    return e;
}

strata_err sync_new_versions(repo *r) {
    int any;
    strata_err e = new_versions_stored(r, &any);
    return e || !any ? e : repo_sync_index(r);
}

strata_err repo_sync_index(repo *r) {
    return sync_packs_then_versions(r, NULL);
}

/* Holding index.lock: the new index is made the one in use only once
 * whole; until then other processes read the old one.  A rebuild that
 * fails leaves the old one in use. */
strata_err repo_index_rebuild(repo *r, strata_progress *progress) {
    strata_err e = index_reset(r);
    if (!e) e = sync_packs_then_versions(r, progress);
    if (!e) e = index_publish(r);
    if (e) {
        index_close(r);
        index_remove_unused(r->index_dir);
    }
    return e;
}
