/* index.c - the LMDB index: a local cache of what the stored objects say.
 *
 * LMDB gives readers (the mount, restore) consistent snapshots without
 * blocking the backup that writes, and survives a kill at any moment.
 * Nothing here is the only copy of anything: repo_index_rebuild() can
 * recreate every record from packs and version objects. */
#include "engine/repo/repo_int.h"

#include <errno.h>
#include <setjmp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- Fault guard ----------------------------------------------------------
 * LMDB trusts its pages: garbage inside data.mdb makes it read wild
 * pointers and fault.  The index is only a cache, so a fault inside an
 * index call is turned into STRATA_ECORRUPT: each call runs under a fault
 * guard (base.h), and the environment is marked broken and never used
 * again; repo_open() then rebuilds the index from the stored objects. */

/* LMDB's own consistency assertions fail on some garbage: leave like a fault. */
static void on_lmdb_assert(MDB_env *env, const char *msg) {
    (void)env;
    (void)msg;
    strata_guard_escape();
}

static strata_err broken_error(repo *r) {
    return strata_fail(STRATA_ECORRUPT, "index %s is damaged", r->index_dir);
}

/* Runs `call` (a statement assigning `result`) under the guard, with
 * ix_lock held. */
#define GUARDED_HELD(r, result, failed_value, call)           \
    do {                                                      \
        if ((r)->ix.broken) {                                 \
            broken_error(r);                                  \
            result = (failed_value);                          \
            break;                                            \
        }                                                     \
        sigjmp_buf guard;                                     \
        sigjmp_buf *outer = strata_guard_current();           \
        if (sigsetjmp(guard, 1)) {                            \
            strata_guard_set(outer);                          \
            (r)->ix.broken = 1;                               \
            broken_error(r);                                  \
            result = (failed_value);                          \
            break;                                            \
        }                                                     \
        strata_guard_set(&guard);                             \
        call;                                                 \
        strata_guard_set(outer);                              \
    } while (0)

/* The same, holding ix_lock to read, so that the environment is not
 * replaced under the call (index_reopen_if_replaced).  The lock is taken
 * outside the guard, whose jump may leave the call midway. */
#define GUARDED(r, result, failed_value, call)                \
    do {                                                      \
        pthread_rwlock_rdlock(&(r)->ix_lock);                 \
        GUARDED_HELD(r, result, failed_value, call);          \
        pthread_rwlock_unlock(&(r)->ix_lock);                 \
    } while (0)

/* Virtual address space only; LMDB grows the file as needed. */
#define INDEX_MAP_SIZE (1ull << 40)

/* LMDB reports a failed write on a full file system as a plain I/O
 * error; the free space says which it was. */
static int disk_full(const char *dir) {
    struct statvfs vfs;
    return dir && statvfs(dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < (1u << 20);
}

strata_err index_lmdb_error(int rc, const char *what) {
    strata_err code = rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_PAGE_NOTFOUND ||
                              rc == MDB_VERSION_MISMATCH
                          ? STRATA_ECORRUPT
                      : rc == ENOSPC || rc == MDB_MAP_FULL ? STRATA_ENOSPC
                                                           : STRATA_EIO;
    return strata_fail(code, "index: %s: %s", what, mdb_strerror(rc));
}

static strata_err index_commit(repo *r, MDB_txn *txn) {
    int rc = mdb_txn_commit(txn);
    if (!rc) return STRATA_OK;
    if (rc == ENOSPC || rc == MDB_MAP_FULL || disk_full(r->index_dir))
        return strata_fail(STRATA_ENOSPC, "index %s: no space left on device", r->index_dir);
    return index_lmdb_error(rc, "commit");
}

static strata_err open_dbs(repo *r) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, r->index_read_only ? MDB_RDONLY : 0, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"chunk", &r->ix.db_chunk},     {"pack", &r->ix.db_pack}, {"version", &r->ix.db_version},
               {"file", &r->ix.db_file},       {"source", &r->ix.db_source}, {"table", &r->ix.db_table},
               {"meta", &r->ix.db_meta}};
    /* Databases are created only in an empty index: writing into a damaged
     * one (whose names were garbled) is where LMDB copies wildly.  Empty is
     * what the meta page says of the main database (its entry count), not
     * what lookups in its pages find: garbled pages can hide every name. */
    size_t n = sizeof dbs / sizeof dbs[0];
    MDB_dbi main_db;
    MDB_stat main_stat;
    rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (!rc) rc = mdb_stat(txn, main_db, &main_stat);
    unsigned create = !rc && main_stat.ms_entries == 0 ? MDB_CREATE : 0;
    for (size_t i = 0; !rc && i < n; i++) rc = mdb_dbi_open(txn, dbs[i].name, create, dbs[i].dbi);
    if (rc == MDB_NOTFOUND) rc = MDB_VERSION_MISMATCH; /* another format's index, or a damaged one: rebuilt */
    if (!rc) {
        uint32_t format = REPO_INDEX_FORMAT;
        MDB_val k = {6, "format"}, v;
        rc = mdb_get(txn, r->ix.db_meta, &k, &v);
        if (rc == MDB_NOTFOUND) {
            v.mv_size = sizeof format;
            v.mv_data = &format;
            rc = mdb_put(txn, r->ix.db_meta, &k, &v, 0);
        } else if (!rc && (v.mv_size != sizeof format || memcmp(v.mv_data, &format, sizeof format))) {
            rc = MDB_VERSION_MISMATCH;
        }
    }
    if (rc) {
        mdb_txn_abort(txn);
        return index_lmdb_error(rc, "opening databases");
    }
    return index_commit(r, txn);
}

/* Opens the environment in `dir`. */
static strata_err index_open_body(repo *r, const char *dir) {
    r->ix.dir = xstrdup(dir);
    int rc = mdb_env_create(&r->ix.env);
    if (!rc) rc = mdb_env_set_assert(r->ix.env, on_lmdb_assert);
    if (!rc) rc = mdb_env_set_maxdbs(r->ix.env, 8);
    if (!rc) rc = mdb_env_set_mapsize(r->ix.env, INDEX_MAP_SIZE);
    if (!rc) rc = mdb_env_set_maxreaders(r->ix.env, 256);
    /* Read-only, LMDB goes without lock.mdb where it cannot be written. */
    unsigned read_only = r->index_read_only ? MDB_RDONLY : 0;
    if (!rc) rc = mdb_env_open(r->ix.env, dir, MDB_NOTLS | read_only, 0644);
    mdb_filehandle_t fd;
    struct stat st;
    if (!rc) rc = mdb_env_get_fd(r->ix.env, &fd);
    if (!rc && fstat(fd, &st) != 0) rc = errno;
    if (!rc) {
        r->ix.dev = st.st_dev;
        r->ix.ino = st.st_ino;
    }
    strata_err e = rc ? index_lmdb_error(rc, dir) : open_dbs(r);
    if (e) index_close(r);
    return e;
}

static void close_env(index_env *ix) {
    free(ix->dir);
    if (!ix->env) {
        memset(ix, 0, sizeof *ix);
        return;
    }
    if (ix->broken) {
        /* Closing frees LMDB's structures without reading data pages; should
         * a half-updated structure fault anyway, the environment is left. */
        sigjmp_buf guard;
        sigjmp_buf *outer = strata_guard_current();
        if (!sigsetjmp(guard, 1)) {
            strata_guard_set(&guard);
            mdb_env_close(ix->env);
        }
        strata_guard_set(outer);
    } else {
        mdb_env_close(ix->env);
    }
    memset(ix, 0, sizeof *ix);
}

void index_close(repo *r) {
    close_env(&r->ix);
}

/* How often a reader tries again when the index it opened stopped being
 * the one in use meanwhile. */
#define OPEN_ATTEMPTS 8

/* Opens the environment in `dir`, holding ix_lock to write. */
static strata_err open_dir_held(repo *r, const char *dir) {
    strata_err e;
    GUARDED_HELD(r, e, STRATA_ECORRUPT, e = index_open_body(r, dir));
    return e;
}

/* Opens the index in use, holding ix_lock to write.  Readers open it
 * without index.lock, so a rebuild may make another index current
 * meanwhile: what was opened counts when `current` still names it
 * afterwards, as it then did all along (index_dir.c). */
static strata_err open_current(repo *r) {
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        char *dir = index_current_dir(r->index_dir);
        if (!dir) return strata_fail(STRATA_ENOENT, "no index in %s", r->index_dir);
        strata_err e = open_dir_held(r, dir);
        char *now = index_current_dir(r->index_dir);
        int same = now && !strcmp(now, dir);
        free(now);
        free(dir);
        if (same) return e;
        close_env(&r->ix);
        strata_clear_error();
    }
    return strata_fail(STRATA_ELOCKED, "the index in %s was replaced %d times while being opened; try again",
                       r->index_dir, OPEN_ATTEMPTS);
}

/* Whether the index in use is another than the one opened: another
 * directory, or data.mdb replaced in it. */
static int env_replaced(repo *r) {
    char *dir = index_current_dir(r->index_dir);
    if (!dir) return 0; /* none to move to */
    char *path = xasprintf("%s/data.mdb", dir);
    struct stat st;
    int replaced = stat(path, &st) == 0 && (st.st_dev != r->ix.dev || st.st_ino != r->ix.ino);
    free(path);
    free(dir);
    return replaced;
}

strata_err index_reopen_if_replaced(repo *r, int *reopened) {
    *reopened = 0;
    if (!r->ix.env || !env_replaced(r)) return STRATA_OK;
    pthread_rwlock_wrlock(&r->ix_lock);
    index_env old = r->ix;
    memset(&r->ix, 0, sizeof r->ix);
    strata_err e = open_current(r);
    if (e) {
        close_env(&r->ix);
        r->ix = old;
    }
    pthread_rwlock_unlock(&r->ix_lock);
    if (e) return e;
    close_env(&old);
    *reopened = 1;
    strata_log(STRATA_LOG_INFO, "index %s was rebuilt: reading the new one", r->index_dir);
    return STRATA_OK;
}

strata_err index_reset(repo *r) {
    index_close(r);
    char *dir;
    strata_err e = index_new_dir(r->index_dir, &dir);
    if (e) return e;
    pthread_rwlock_wrlock(&r->ix_lock);
    e = open_dir_held(r, dir);
    pthread_rwlock_unlock(&r->ix_lock);
    free(dir);
    return e;
}

strata_err index_publish(repo *r) {
    strata_err e = index_make_current(r->index_dir, r->ix.dir);
    if (!e) index_remove_unused(r->index_dir);
    return e;
}

/* pack id, offset, stored, raw, codec, xxh3 */
#define LOCATION_LEN (STRATA_HASH_LEN + 8 + 4 + 4 + 1 + 8)

static void location_encode(const chunk_location *loc, uint8_t out[LOCATION_LEN]) {
    strata_buf b;
    strata_buf_init(&b);
    strata_buf_put(&b, loc->pack, STRATA_HASH_LEN);
    strata_buf_put_u64(&b, loc->offset);
    strata_buf_put_u32(&b, loc->stored_len);
    strata_buf_put_u32(&b, loc->raw_len);
    strata_buf_put_u8(&b, loc->codec);
    strata_buf_put_u64(&b, loc->xxh3);
    memcpy(out, b.data, b.len);
    strata_buf_free(&b);
}

static strata_err index_chunk_get_body(repo *r, const uint8_t id[STRATA_HASH_LEN], chunk_location *loc) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, MDB_RDONLY, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    MDB_val k = {STRATA_HASH_LEN, (void *)id}, v;
    rc = mdb_get(txn, r->ix.db_chunk, &k, &v);
    strata_err e = STRATA_OK;
    if (rc == MDB_NOTFOUND) {
        e = STRATA_ENOENT;
    } else if (rc) {
        e = index_lmdb_error(rc, "chunk lookup");
    } else {
        strata_reader rd;
        strata_reader_init(&rd, v.mv_data, v.mv_size);
        strata_read(&rd, loc->pack, STRATA_HASH_LEN);
        loc->offset = strata_read_u64(&rd);
        loc->stored_len = strata_read_u32(&rd);
        loc->raw_len = strata_read_u32(&rd);
        loc->codec = strata_read_u8(&rd);
        loc->xxh3 = strata_read_u64(&rd);
        if (rd.failed) e = strata_fail(STRATA_ECORRUPT, "index: malformed chunk record");
    }
    mdb_txn_abort(txn);
    return e;
}

/* Records where chunk `id` is read from; `flags` as mdb_put's. */
static int put_chunk_location(repo *r, MDB_txn *txn, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc,
                              unsigned flags) {
    uint8_t value[LOCATION_LEN];
    location_encode(loc, value);
    MDB_val k = {STRATA_HASH_LEN, (void *)id}, v = {sizeof value, value};
    return mdb_put(txn, r->ix.db_chunk, &k, &v, flags);
}

static strata_err index_add_pack_body(repo *r, const uint8_t pack_id[STRATA_HASH_LEN], uint64_t size,
                          const uint8_t *entries, uint32_t count) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, 0, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    for (uint32_t i = 0; !rc && i < count; i++) {
        uint8_t id[STRATA_HASH_LEN];
        chunk_location loc;
        pack_entry_decode(entries + (size_t)i * PACK_ENTRY_LEN, id, &loc);
        memcpy(loc.pack, pack_id, STRATA_HASH_LEN);
        /* A chunk stored twice (two interrupted runs) keeps its first home. */
        rc = put_chunk_location(r, txn, id, &loc, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) rc = 0;
    }
    if (!rc) {
        uint8_t rec[12];
        for (int i = 0; i < 8; i++) rec[i] = (uint8_t)(size >> (8 * i));
        for (int i = 0; i < 4; i++) rec[8 + i] = (uint8_t)(count >> (8 * i));
        MDB_val k = {STRATA_HASH_LEN, (void *)pack_id}, v = {sizeof rec, rec};
        rc = mdb_put(txn, r->ix.db_pack, &k, &v, 0);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return index_lmdb_error(rc, "indexing pack");
    }
    return index_commit(r, txn);
}

static strata_err index_forget_chunks_body(repo *r, const uint8_t *ids, size_t n, size_t *forgotten) {
    MDB_txn *txn;
    *forgotten = 0;
    int rc = mdb_txn_begin(r->ix.env, NULL, 0, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    for (size_t i = 0; !rc && i < n; i++) {
        MDB_val k = {STRATA_HASH_LEN, (void *)(ids + i * STRATA_HASH_LEN)};
        rc = mdb_del(txn, r->ix.db_chunk, &k, NULL);
        if (!rc) ++*forgotten;
        if (rc == MDB_NOTFOUND) rc = 0;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return index_lmdb_error(rc, "forgetting chunks");
    }
    return index_commit(r, txn);
}

static strata_err index_move_chunk_body(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, 0, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    rc = put_chunk_location(r, txn, id, loc, 0);
    if (rc) {
        mdb_txn_abort(txn);
        return index_lmdb_error(rc, "moving a chunk");
    }
    return index_commit(r, txn);
}

static int index_has_version_body(repo *r, const char *id) {
    MDB_txn *txn;
    if (mdb_txn_begin(r->ix.env, NULL, MDB_RDONLY, &txn)) return 0;
    MDB_val k = {strlen(id), (void *)id}, v;
    int found = mdb_get(txn, r->ix.db_version, &k, &v) == 0;
    mdb_txn_abort(txn);
    return found;
}

static int index_has_pack_body(repo *r, const uint8_t id[STRATA_HASH_LEN]) {
    MDB_txn *txn;
    if (mdb_txn_begin(r->ix.env, NULL, MDB_RDONLY, &txn)) return 0;
    MDB_val k = {STRATA_HASH_LEN, (void *)id}, v;
    int found = mdb_get(txn, r->ix.db_pack, &k, &v) == 0;
    mdb_txn_abort(txn);
    return found;
}

static const MDB_val SYNCED_KEY = {6, "synced"};

static int index_was_synced_body(repo *r) {
    MDB_txn *txn;
    if (mdb_txn_begin(r->ix.env, NULL, MDB_RDONLY, &txn)) return 0;
    MDB_val k = SYNCED_KEY, v;
    int found = mdb_get(txn, r->ix.db_meta, &k, &v) == 0;
    mdb_txn_abort(txn);
    return found;
}

static strata_err index_mark_synced_body(repo *r) {
    if (index_was_synced_body(r)) return STRATA_OK;
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, 0, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    MDB_val k = SYNCED_KEY, v = {1, "\x01"};
    rc = mdb_put(txn, r->ix.db_meta, &k, &v, 0);
    if (rc) {
        mdb_txn_abort(txn);
        return index_lmdb_error(rc, "marking the index synced");
    }
    return index_commit(r, txn);
}

static strata_err index_add_version_body(repo *r, const repo_version *v, const strata_buf *payload) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, 0, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    MDB_val k = {strlen(v->id), (void *)v->id}, val = {payload->len, payload->data};
    rc = mdb_put(txn, r->ix.db_version, &k, &val, 0);
    strata_buf key, rec;
    strata_buf_init(&key);
    strata_buf_init(&rec);
    for (size_t i = 0; !rc && i < v->n_files; i++) {
        const repo_file *f = &v->files[i];
        key.len = rec.len = 0;
        file_key(f->node, f->keyspace, f->table_id, f->rel_path, &key);
        file_encode(f, &rec);
        MDB_val fk = {key.len, key.data}, fv = {rec.len, rec.data};
        rc = mdb_put(txn, r->ix.db_file, &fk, &fv, 0);
    }
    for (size_t i = 0; !rc && i < v->n_sources; i++) {
        const repo_source *src = &v->sources[i];
        key.len = rec.len = 0;
        source_key(src->node, src->keyspace, src->table_id, src->sstable, &key);
        source_encode(src, &rec);
        MDB_val sk = {key.len, key.data}, sv = {rec.len, rec.data};
        rc = mdb_put(txn, r->ix.db_source, &sk, &sv, 0);
    }
    /* the newest version holding each reconciled table (versions may be
     * indexed in any order) */
    for (size_t i = 0; !rc && i < v->n_tables; i++) {
        key.len = 0;
        table_key(v->tables[i].keyspace, v->tables[i].table_id, &key);
        MDB_val tk = {key.len, key.data}, old, tv = {strlen(v->id) + 1, (void *)v->id};
        rc = mdb_get(txn, r->ix.db_table, &tk, &old);
        if (rc == MDB_NOTFOUND || (!rc && repo_version_id_cmp((const char *)old.mv_data, v->id) < 0))
            rc = mdb_put(txn, r->ix.db_table, &tk, &tv, 0);
    }
    strata_buf_free(&key);
    strata_buf_free(&rec);
    if (rc) {
        mdb_txn_abort(txn);
        return index_lmdb_error(rc, "indexing version");
    }
    return index_commit(r, txn);
}

/* Calls fn with the value under key, in place in the index's pages (valid
 * until fn returns); STRATA_ENOENT when there is none. */
static strata_err visit(repo *r, MDB_dbi db, const void *key, size_t key_len, index_value_fn fn, void *ctx) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(r->ix.env, NULL, MDB_RDONLY, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    MDB_val k = {key_len, (void *)key}, v;
    rc = mdb_get(txn, db, &k, &v);
    strata_err e = STRATA_OK;
    if (rc == MDB_NOTFOUND)
        e = STRATA_ENOENT;
    else if (rc)
        e = index_lmdb_error(rc, "lookup");
    else
        e = fn(ctx, v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
    return e;
}

static strata_err copy_value(void *ctx, const uint8_t *p, size_t n) {
    strata_buf *out = ctx;
    out->len = 0;
    strata_buf_put(out, p, n);
    return STRATA_OK;
}

static strata_err get_into(repo *r, MDB_dbi db, const void *key, size_t key_len, strata_buf *out) {
    return visit(r, db, key, key_len, copy_value, out);
}

static strata_err index_version_visit_body(repo *r, const char *id, index_value_fn fn, void *ctx) {
    strata_err e = visit(r, r->ix.db_version, id, strlen(id), fn, ctx);
    if (e == STRATA_ENOENT) return strata_fail(e, "no version '%s' in the repository", id);
    return e;
}

static strata_err index_version_get_body(repo *r, const char *id, strata_buf *payload) {
    return index_version_visit_body(r, id, copy_value, payload);
}

static strata_err index_record_get_body(repo *r, index_records which, const char *key, size_t key_len,
                                        strata_buf *out) {
    MDB_dbi db = which == INDEX_FILES ? r->ix.db_file : which == INDEX_SOURCES ? r->ix.db_source : r->ix.db_table;
    return get_into(r, db, key, key_len, out);
}

/* Iterates all keys of `db`, calling fn with key and value. */
static strata_err scan(repo *r, MDB_dbi db, int (*fn)(void *, MDB_val *, MDB_val *), void *ctx) {
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(r->ix.env, NULL, MDB_RDONLY, &txn);
    if (rc) return index_lmdb_error(rc, "begin");
    rc = mdb_cursor_open(txn, db, &cur);
    MDB_val k, v;
    for (int op = MDB_FIRST; !rc; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        if (!rc) fn(ctx, &k, &v);
    }
    if (rc == MDB_NOTFOUND) rc = 0;
    /* Read-only transactions do not free their cursors on abort. */
    if (cur) mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc ? index_lmdb_error(rc, "scan") : STRATA_OK;
}

typedef struct {
    char **ids;
    size_t n, cap;
} id_list;

static int collect_id(void *ctx, MDB_val *k, MDB_val *v) {
    (void)v;
    id_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->ids = xrealloc(l->ids, l->cap * sizeof *l->ids);
    }
    l->ids[l->n++] = xstrndup(k->mv_data, k->mv_size);
    return 0;
}

static strata_err index_version_ids_body(repo *r, char ***ids, size_t *n) {
    id_list l = {0};
    strata_err e = scan(r, r->ix.db_version, collect_id, &l);
    if (e) {
        repo_version_list_free(l.ids, l.n);
        return e;
    }
    *ids = l.ids;
    *n = l.n;
    return STRATA_OK;
}

/* ---- Guarded entry points ---------------------------------------------------- */

strata_err index_open(repo *r) {
    pthread_rwlock_wrlock(&r->ix_lock);
    strata_err e = open_current(r);
    pthread_rwlock_unlock(&r->ix_lock);
    return e;
}

strata_err index_chunk_get(repo *r, const uint8_t id[STRATA_HASH_LEN], chunk_location *loc) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_chunk_get_body(r, id, loc));
    return e;
}

strata_err index_add_pack(repo *r, const uint8_t pack_id[STRATA_HASH_LEN], uint64_t size,
                          const uint8_t *entries, uint32_t count) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_add_pack_body(r, pack_id, size, entries, count));
    return e;
}

strata_err index_forget_chunks(repo *r, const uint8_t *ids, size_t n, size_t *forgotten) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_forget_chunks_body(r, ids, n, forgotten));
    return e;
}

strata_err index_move_chunk(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_move_chunk_body(r, id, loc));
    return e;
}

int index_has_version(repo *r, const char *id) {
    int found;
    GUARDED(r, found, 0, found = index_has_version_body(r, id));
    return found;
}

int index_has_pack(repo *r, const uint8_t id[STRATA_HASH_LEN]) {
    int found;
    GUARDED(r, found, 0, found = index_has_pack_body(r, id));
    return found;
}

int index_was_synced(repo *r) {
    int found;
    GUARDED(r, found, 0, found = index_was_synced_body(r));
    return found;
}

strata_err index_mark_synced(repo *r) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_mark_synced_body(r));
    return e;
}

strata_err index_add_version(repo *r, const repo_version *v, const strata_buf *payload) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_add_version_body(r, v, payload));
    return e;
}

strata_err index_version_get(repo *r, const char *id, strata_buf *payload) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_version_get_body(r, id, payload));
    return e;
}

strata_err index_version_visit(repo *r, const char *id, index_value_fn fn, void *ctx) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_version_visit_body(r, id, fn, ctx));
    return e;
}

strata_err index_record_get(repo *r, index_records which, const char *key, size_t key_len, strata_buf *out) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_record_get_body(r, which, key, key_len, out));
    return e;
}

strata_err index_version_ids(repo *r, char ***ids, size_t *n) {
    strata_err e;
    GUARDED(r, e, STRATA_ECORRUPT, e = index_version_ids_body(r, ids, n));
    return e;
}
