/* verify.c - reading everything back and checking it.
 *
 * Every pack is read whole and every chunk in it decompressed and hashed
 * (SHA-256 against its id).  Then every version's files are walked: a
 * chunk that was damaged or is stored nowhere is reported with every file
 * and version it affects, so an operator knows exactly what is lost.  A
 * version the index holds without its object is damage too: the index is
 * a cache, and a lost machine or an index rebuild takes the version along. */
#include "engine/repo/repo_int.h"

#include <string.h>

typedef struct {
    repo *r;
    repo_damage_fn on_damage;
    repo_affected_fn on_affected;
    void *ctx;
    repo_verify_result *res;
    pending_set *good, *bad;
    pending_set *stored_versions; /* SHA-256 of the id of each version object listed */
    strata_progress *progress;
} verifier;

static void damage(verifier *v, const uint8_t *chunk, const char *pack, const char *problem) {
    if (chunk && pending_set_add(v->bad, chunk)) return;
    if (v->on_damage) v->on_damage(v->ctx, chunk, pack, problem);
}

/* Whether this copy of a chunk is the one the index gives readers: a whole
 * copy elsewhere does not make a version whole while the index points at a
 * damaged one (an index rebuild keeps the first copy it meets). */
static int indexed_here(repo *r, const uint8_t id[STRATA_HASH_LEN], const uint8_t pack_id[STRATA_HASH_LEN],
                        const chunk_location *loc) {
    chunk_location at;
    if (index_chunk_get(r, id, &at)) return strata_clear_error(), 0;
    return !memcmp(at.pack, pack_id, STRATA_HASH_LEN) && at.offset == loc->offset;
}

static void check_pack_chunks(verifier *v, const char *key, const uint8_t *obj, uint64_t size) {
    uint32_t count, tlen;
    uint8_t pack_id[STRATA_HASH_LEN];
    strata_err e = size < PACK_HEADER_LEN + PACK_FOOTER_LEN
                       ? strata_fail(STRATA_ECORRUPT, "pack %s: too short", key)
                       : pack_check_footer(key, obj + size - PACK_FOOTER_LEN, size, &count, &tlen,
                                           pack_id);
    const uint8_t *entries = e ? NULL : obj + size - PACK_FOOTER_LEN - tlen;
    if (!e) e = pack_check_trailer(key, entries, tlen, pack_id);
    if (!e && memcmp(obj, PACK_MAGIC, 8)) e = strata_fail(STRATA_ECORRUPT, "pack %s: bad header", key);
    if (e) {
        v->res->bad_objects++;
        damage(v, NULL, key, strata_errmsg());
        return;
    }
    strata_buf out;
    strata_buf_init(&out);
    uint64_t data_end = size - PACK_FOOTER_LEN - tlen;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t id[STRATA_HASH_LEN];
        chunk_location loc;
        pack_entry_decode(entries + (size_t)i * PACK_ENTRY_LEN, id, &loc);
        v->res->chunks++;
        if (loc.offset < PACK_HEADER_LEN || loc.offset > data_end || loc.stored_len > data_end - loc.offset)
            e = strata_fail(STRATA_ECORRUPT, "entry outside the pack");
        else
            e = pack_decode_chunk(v->r, id, &loc, obj + loc.offset, 1, &out);
        if (e) {
            v->res->bad_chunks++;
            damage(v, id, key, strata_errmsg());
        } else if (indexed_here(v->r, id, pack_id, &loc)) {
            pending_set_add(v->good, id);
        }
    }
    strata_buf_free(&out);
}

static int check_pack(void *ctx, const char *key, uint64_t size) {
    verifier *v = ctx;
    strata_buf obj;
    strata_buf_init(&obj);
    strata_err e = storage_get(v->r->store, key, &obj);
    v->res->packs++;
    v->res->bytes += size;
    if (e) {
        v->res->bad_objects++;
        damage(v, NULL, key, strata_errmsg());
    } else {
        check_pack_chunks(v, key, obj.data, obj.len);
    }
    strata_progress_add(v->progress, size);
    strata_buf_free(&obj);
    return 0;
}

static void version_id_hash(const char *id, uint8_t out[STRATA_HASH_LEN]) {
    strata_sha256(id, strlen(id), out);
}

static int check_version_object(void *ctx, const char *key, uint64_t size) {
    (void)size;
    verifier *v = ctx;
    uint8_t id_hash[STRATA_HASH_LEN];
    version_id_hash(key + strlen("versions/"), id_hash);
    pending_set_add(v->stored_versions, id_hash);
    strata_buf obj, payload;
    strata_buf_init(&obj);
    strata_buf_init(&payload);
    strata_err e = storage_get(v->r->store, key, &obj);
    if (!e) e = version_object_unwrap(obj.data, obj.len, key, &payload);
    if (e) {
        v->res->bad_objects++;
        damage(v, NULL, key, strata_errmsg());
    }
    strata_buf_free(&obj);
    strata_buf_free(&payload);
    return 0;
}

static void check_file(verifier *v, const char *version, const repo_file *f) {
    for (uint32_t c = 0; c < f->n_chunks; c++) {
        const uint8_t *id = f->chunks[c].id;
        if (pending_set_has(v->good, id)) continue;
        if (!pending_set_has(v->bad, id)) {
            v->res->missing_chunks++;
            damage(v, id, "", "not stored in any readable pack");
        }
        v->res->affected_files++;
        if (v->on_affected) v->on_affected(v->ctx, version, f, id);
        return;
    }
}

static strata_err check_versions(verifier *v) {
    char **ids;
    size_t n;
    strata_err e = repo_version_list(v->r, &ids, &n);
    for (size_t i = 0; !e && i < n; i++) {
        uint8_t id_hash[STRATA_HASH_LEN];
        version_id_hash(ids[i], id_hash);
        if (!pending_set_has(v->stored_versions, id_hash)) {
            char *key = xasprintf("versions/%s", ids[i]);
            v->res->bad_objects++;
            damage(v, NULL, key, "missing: the version is only in the local index");
            free(key);
        }
        repo_version *ver;
        e = repo_version_load(v->r, ids[i], &ver);
        if (e) break;
        for (size_t f = 0; f < ver->n_files; f++) check_file(v, ver->id, &ver->files[f]);
        repo_version_free(ver);
    }
    repo_version_list_free(ids, n);
    return e;
}

strata_err repo_verify(repo *r, strata_progress *progress, repo_damage_fn on_damage,
                       repo_affected_fn on_affected, void *ctx, repo_verify_result *result) {
    memset(result, 0, sizeof *result);
    verifier v = {r, on_damage, on_affected, ctx, result, pending_set_new(), pending_set_new(), pending_set_new(),
                  progress};
    strata_err e = storage_list(r->store, "packs/", check_pack, &v);
    if (!e) e = storage_list(r->store, "versions/", check_version_object, &v);
    if (!e) e = check_versions(&v);
    pending_set_free(v.good);
    pending_set_free(v.bad);
    pending_set_free(v.stored_versions);
    return e;
}

static int add_size(void *ctx, const char *key, uint64_t size) {
    (void)key;
    uint64_t *acc = ctx;
    acc[0] += size;
    acc[1]++;
    return 0;
}

strata_err repo_stored_bytes(repo *r, uint64_t *bytes, uint64_t *packs) {
    uint64_t acc[2] = {0, 0};
    strata_err e = storage_list(r->store, "packs/", add_size, acc);
    *bytes = acc[0];
    *packs = acc[1];
    return e;
}
