/* version.c - cluster versions: encoding, publishing, loading.
 *
 * A version is published by storing its object versions/<id>; that single
 * atomic put is the commit point of a backup.  The same payload is kept
 * in the index for fast listing, together with the newest record of every
 * file, which is how the next backup recognises files it already has. */
#include "engine/repo/repo_int.h"

#include <string.h>
#include <zstd.h>

/* Bounds that keep a corrupt object from asking for absurd allocations. */
#define MAX_COUNT (1u << 26)
#define MAX_REPORT (64u << 20)

void file_key(const char *node, const char *ks, const char *table_id, const char *path,
              strata_buf *out) {
    const char *parts[] = {node, ks, table_id, path};
    for (int i = 0; i < 4; i++) strata_buf_put(out, parts[i], strlen(parts[i]) + 1);
}

int repo_file_order(const void *pa, const void *pb) {
    const repo_file *a = pa, *b = pb;
    int c = strcmp(a->node, b->node);
    if (!c) c = strcmp(a->keyspace, b->keyspace);
    if (!c) c = strcmp(a->table, b->table);
    if (!c) c = strcmp(a->table_id, b->table_id);
    if (!c) c = strcmp(a->rel_path, b->rel_path);
    return c;
}

void file_encode(const repo_file *f, strata_buf *out) {
    strata_buf_put_str(out, f->node);
    strata_buf_put_str(out, f->keyspace);
    strata_buf_put_str(out, f->table);
    strata_buf_put_str(out, f->table_id);
    strata_buf_put_str(out, f->rel_path);
    strata_buf_put_str(out, f->sstable);
    strata_buf_put_varint(out, f->size);
    strata_buf_put_zigzag(out, f->mtime_ns);
    strata_buf_put_varint(out, f->mode);
    strata_buf_put(out, f->sample, STRATA_HASH_LEN);
    strata_buf_put_varint(out, f->n_chunks);
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        strata_buf_put(out, f->chunks[i].id, STRATA_HASH_LEN);
        strata_buf_put_varint(out, f->chunks[i].size);
    }
}

/* Where a decoded record's strings and chunk list go: each its own
 * allocation (no block), or carved from one block sized for a whole
 * payload (repo_version_load_files). */
typedef struct {
    uint8_t *p, *end;
} decode_block;

static void *block_take(decode_block *b, size_t n, size_t align) {
    uint8_t *p = (uint8_t *)(((uintptr_t)b->p + align - 1) & ~(uintptr_t)(align - 1));
    if (p > b->end || n > (size_t)(b->end - p)) return NULL;
    b->p = p + n;
    return p;
}

static char *decode_str(strata_reader *rd, decode_block *b) {
    if (!b) return strata_read_str(rd, REPO_MAX_STR);
    uint64_t n = strata_read_varint(rd);
    if (n > REPO_MAX_STR) rd->failed = 1;
    const uint8_t *p = rd->failed ? NULL : strata_read_ptr(rd, (size_t)n);
    char *s = p ? block_take(b, (size_t)n + 1, 1) : NULL;
    if (!s) {
        rd->failed = 1;
        return "";
    }
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

static int file_decode_in(strata_reader *rd, repo_file *f, decode_block *b) {
    memset(f, 0, sizeof *f);
    f->node = decode_str(rd, b);
    f->keyspace = decode_str(rd, b);
    f->table = decode_str(rd, b);
    f->table_id = decode_str(rd, b);
    f->rel_path = decode_str(rd, b);
    f->sstable = decode_str(rd, b);
    f->size = strata_read_varint(rd);
    f->mtime_ns = strata_read_zigzag(rd);
    f->mode = (uint32_t)strata_read_varint(rd);
    strata_read(rd, f->sample, STRATA_HASH_LEN);
    uint64_t n = strata_read_varint(rd);
    /* Every chunk takes at least 33 bytes: a count beyond what is left is corrupt. */
    if (n > MAX_COUNT || n * 33 > rd->left) rd->failed = 1;
    if (rd->failed) return -1;
    f->n_chunks = (uint32_t)n;
    f->chunks = b ? block_take(b, n * sizeof *f->chunks, _Alignof(repo_chunk_ref)) : xcalloc(n, sizeof *f->chunks);
    if (!f->chunks) rd->failed = 1;
    if (rd->failed) return -1;
    uint64_t total = 0;
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        strata_read(rd, f->chunks[i].id, STRATA_HASH_LEN);
        f->chunks[i].size = (uint32_t)strata_read_varint(rd);
        total += f->chunks[i].size;
    }
    if (total != f->size) rd->failed = 1;
    return rd->failed ? -1 : 0;
}

int file_decode(strata_reader *rd, repo_file *f) {
    return file_decode_in(rd, f, NULL);
}

void repo_file_clear(repo_file *f) {
    free(f->node);
    free(f->keyspace);
    free(f->table);
    free(f->table_id);
    free(f->rel_path);
    free(f->sstable);
    free(f->chunks);
    memset(f, 0, sizeof *f);
}

void repo_file_copy(repo_file *dst, const repo_file *src) {
    *dst = *src;
    dst->node = xstrdup(src->node);
    dst->keyspace = xstrdup(src->keyspace);
    dst->table = xstrdup(src->table);
    dst->table_id = xstrdup(src->table_id);
    dst->rel_path = xstrdup(src->rel_path);
    dst->sstable = xstrdup(src->sstable);
    dst->chunks = xmalloc((src->n_chunks ? src->n_chunks : 1) * sizeof *dst->chunks);
    memcpy(dst->chunks, src->chunks, src->n_chunks * sizeof *dst->chunks);
}

void version_encode(const repo_version *v, strata_buf *out) {
    strata_buf_put_str(out, v->id);
    strata_buf_put_zigzag(out, v->time_us);
    strata_buf_put_str(out, v->cluster);
    strata_buf_put_varint(out, v->n_nodes);
    for (size_t i = 0; i < v->n_nodes; i++) strata_buf_put_str(out, v->nodes[i]);
    strata_buf_put_varint(out, v->logical_bytes);
    strata_buf_put_varint(out, v->new_file_bytes);
    strata_buf_put_varint(out, v->stored_bytes);
    strata_buf_put_varint(out, v->n_sstables);
    strata_buf_put_varint(out, v->new_sstables);
    strata_buf_put_varint(out, v->new_files);
    strata_buf_put_varint(out, v->n_files);
    for (size_t i = 0; i < v->n_files; i++) file_encode(&v->files[i], out);
    if (!v->reconciled) return;
    strata_buf_put_varint(out, v->n_sources);
    for (size_t i = 0; i < v->n_sources; i++) source_encode(&v->sources[i], out);
    strata_buf_put_varint(out, v->n_tables);
    for (size_t i = 0; i < v->n_tables; i++) table_summary_encode(&v->tables[i], out);
    strata_buf_put_str(out, v->report ? v->report : "");
}

/* The reconciling section, present when bytes are left after the files. */
static void decode_reconciled(strata_reader *rd, repo_version *v) {
    v->reconciled = 1;
    uint64_t n = strata_read_varint(rd);
    if (n > rd->left) rd->failed = 1;
    v->sources = xcalloc(rd->failed ? 1 : n + 1, sizeof *v->sources);
    for (; !rd->failed && v->n_sources < n; v->n_sources++)
        if (source_decode(rd, &v->sources[v->n_sources])) {
            repo_source_clear(&v->sources[v->n_sources]);
            break;
        }
    n = rd->failed ? 0 : strata_read_varint(rd);
    if (n > rd->left) rd->failed = 1;
    v->tables = xcalloc(rd->failed ? 1 : n + 1, sizeof *v->tables);
    for (; !rd->failed && v->n_tables < n; v->n_tables++)
        if (table_summary_decode(rd, &v->tables[v->n_tables])) {
            repo_table_summary_clear(&v->tables[v->n_tables]);
            break;
        }
    if (!rd->failed) v->report = strata_read_str(rd, MAX_REPORT);
    if (v->report && !*v->report) free(v->report), v->report = NULL;
}

/* A string of the header: copied into *out, or read past when out is NULL. */
static void header_str(strata_reader *rd, size_t max, char **out) {
    if (out) {
        *out = strata_read_str(rd, max);
        return;
    }
    uint64_t n = strata_read_varint(rd);
    if (n > max) rd->failed = 1;
    strata_read_ptr(rd, (size_t)n);
}

/* The fields before the file records, into v; returns the file count.
 * Both loads read them here.  version_decode keeps them all;
 * repo_version_load_files needs only the time and passes keep 0, so that
 * the strings are read past without a copy (it lists a thousand versions
 * at a time). */
static uint64_t decode_header(strata_reader *rd, repo_version *v, int keep) {
    char *id = NULL;
    header_str(rd, sizeof v->id - 1, keep ? &id : NULL);
    if (id) snprintf(v->id, sizeof v->id, "%s", id);
    free(id);
    v->time_us = strata_read_zigzag(rd);
    header_str(rd, REPO_MAX_STR, keep ? &v->cluster : NULL);
    uint64_t nodes = strata_read_varint(rd);
    if (nodes > rd->left) rd->failed = 1;
    if (keep) v->nodes = xcalloc(rd->failed ? 1 : nodes, sizeof *v->nodes);
    for (uint64_t i = 0; !rd->failed && i < nodes; i++)
        header_str(rd, REPO_MAX_STR, keep ? &v->nodes[v->n_nodes++] : NULL);
    v->logical_bytes = strata_read_varint(rd);
    v->new_file_bytes = strata_read_varint(rd);
    v->stored_bytes = strata_read_varint(rd);
    v->n_sstables = (uint32_t)strata_read_varint(rd);
    v->new_sstables = (uint32_t)strata_read_varint(rd);
    v->new_files = (uint32_t)strata_read_varint(rd);
    uint64_t files = strata_read_varint(rd);
    if (files > rd->left) rd->failed = 1;
    return rd->failed ? 0 : files;
}

strata_err version_decode(const uint8_t *p, size_t n, repo_version **out) {
    strata_reader rd;
    strata_reader_init(&rd, p, n);
    repo_version *v = xcalloc(1, sizeof *v);
    uint64_t files = decode_header(&rd, v, 1);
    v->files = xcalloc(files ? files : 1, sizeof *v->files);
    for (; !rd.failed && v->n_files < files; v->n_files++)
        if (file_decode(&rd, &v->files[v->n_files])) {
            repo_file_clear(&v->files[v->n_files]);
            break;
        }
    if (!rd.failed && rd.left) decode_reconciled(&rd, v);
    if (rd.failed || rd.left) {
        repo_version_free(v);
        return strata_fail(STRATA_ECORRUPT, "malformed version record");
    }
    *out = v;
    return STRATA_OK;
}

void repo_version_free(repo_version *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n_nodes; i++) free(v->nodes[i]);
    for (size_t i = 0; i < v->n_files; i++) repo_file_clear(&v->files[i]);
    for (size_t i = 0; i < v->n_sources; i++) repo_source_clear(&v->sources[i]);
    for (size_t i = 0; i < v->n_tables; i++) repo_table_summary_clear(&v->tables[i]);
    free(v->nodes);
    free(v->files);
    free(v->sources);
    free(v->tables);
    free(v->report);
    free(v->cluster);
    free(v);
}

/* Object layout: magic(8) u32 format, u32 0, u64 payload length,
 * SHA-256(payload)(32), zstd frame of the payload. */
strata_err version_object_wrap(const strata_buf *payload, strata_buf *object) {
    uint8_t digest[STRATA_HASH_LEN];
    strata_sha256(payload->data, payload->len, digest);
    strata_buf_put(object, VERSION_MAGIC, 8);
    strata_buf_put_u32(object, VERSION_OBJECT_FORMAT);
    strata_buf_put_u32(object, 0);
    strata_buf_put_u64(object, payload->len);
    strata_buf_put(object, digest, sizeof digest);
    size_t bound = ZSTD_compressBound(payload->len);
    strata_buf_reserve(object, bound);
    size_t c = ZSTD_compress(object->data + object->len, bound, payload->data, payload->len, 3);
    if (ZSTD_isError(c)) return strata_fail(STRATA_EIO, "compressing version: %s", ZSTD_getErrorName(c));
    object->len += c;
    return STRATA_OK;
}

strata_err version_object_unwrap(const uint8_t *p, size_t n, const char *key, strata_buf *payload) {
    strata_reader rd;
    strata_reader_init(&rd, p, n);
    const uint8_t *magic = strata_read_ptr(&rd, 8);
    uint32_t format = strata_read_u32(&rd);
    strata_read_u32(&rd);
    uint64_t len = strata_read_u64(&rd);
    const uint8_t *digest = strata_read_ptr(&rd, STRATA_HASH_LEN);
    if (rd.failed || memcmp(magic, VERSION_MAGIC, 8))
        return strata_fail(STRATA_ECORRUPT, "%s: not a strata version object", key);
    if (format < 1 || format > VERSION_OBJECT_FORMAT)
        return strata_fail(STRATA_EFORMAT, "%s: version object format %u is not supported", key, format);
    unsigned long long frame = ZSTD_getFrameContentSize(rd.p, rd.left);
    if (frame != len || len > (1ull << 34))
        return strata_fail(STRATA_ECORRUPT, "%s: bad payload length", key);
    payload->len = 0;
    strata_buf_reserve(payload, len);
    size_t d = ZSTD_decompress(payload->data, len, rd.p, rd.left);
    if (ZSTD_isError(d) || d != len) return strata_fail(STRATA_ECORRUPT, "%s: cannot decompress", key);
    payload->len = len;
    uint8_t check[STRATA_HASH_LEN];
    strata_sha256(payload->data, len, check);
    if (memcmp(check, digest, STRATA_HASH_LEN))
        return strata_fail(STRATA_ECORRUPT, "%s: checksum mismatch", key);
    return STRATA_OK;
}

int repo_version_id_cmp(const char *a, const char *b) {
    size_t time_a = strcspn(a, "."), time_b = strcspn(b, ".");
    int c = strncmp(a, b, time_a < time_b ? time_a : time_b);
    if (c || time_a != time_b) return c ? c : time_a < time_b ? -1 : 1;
    unsigned long clash_a = a[time_a] ? strtoul(a + time_a + 1, NULL, 10) : 1;
    unsigned long clash_b = b[time_b] ? strtoul(b + time_b + 1, NULL, 10) : 1;
    return (clash_a > clash_b) - (clash_a < clash_b);
}

static int cmp_version_id(const void *a, const void *b) {
    return repo_version_id_cmp(*(char *const *)a, *(char *const *)b);
}

strata_err repo_version_list(repo *r, char ***ids, size_t *n) {
    strata_err e = index_version_ids(r, ids, n);
    if (!e && *n) qsort(*ids, *n, sizeof **ids, cmp_version_id);
    return e;
}

void repo_version_list_free(char **ids, size_t n) {
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

strata_err repo_version_load(repo *r, const char *id, repo_version **out) {
    char *latest = NULL;
    if (!strcmp(id, "latest")) {
        char **ids;
        size_t n;
        strata_err e = repo_version_list(r, &ids, &n);
        if (e) return e;
        if (!n) {
            repo_version_list_free(ids, n);
            return strata_fail(STRATA_ENOENT, "the repository holds no version yet");
        }
        latest = xstrdup(ids[n - 1]);
        repo_version_list_free(ids, n);
        id = latest;
    }
    strata_buf payload;
    strata_buf_init(&payload);
    strata_err e = index_version_get(r, id, &payload);
    if (!e) e = version_decode(payload.data, payload.len, out);
    strata_buf_free(&payload);
    free(latest);
    return e;
}

/* Decodes the files of a payload in place in the index: one block takes
 * every string (length varint + bytes, stored with a NUL) and chunk list
 * (33 bytes or more each, stored in 36), so it needs at most 36/33 of the
 * payload plus each list's alignment. */
static strata_err decode_files(void *ctx, const uint8_t *p, size_t n) {
    repo_version_files *vf = ctx;
    strata_reader rd;
    strata_reader_init(&rd, p, n);
    repo_version header = {0};
    uint64_t files = decode_header(&rd, &header, 0);
    vf->time_us = header.time_us;
    size_t size = n + n / 11 + 1 + files * _Alignof(repo_chunk_ref);
    vf->block = xmalloc(size);
    vf->files = xmalloc((files ? files : 1) * sizeof *vf->files);
    decode_block b = {vf->block, (uint8_t *)vf->block + size};
    for (; !rd.failed && vf->n_files < files; vf->n_files++)
        if (file_decode_in(&rd, &vf->files[vf->n_files], &b)) break;
    return rd.failed ? strata_fail(STRATA_ECORRUPT, "malformed version record") : STRATA_OK;
}

strata_err repo_version_load_files(repo *r, const char *id, repo_version_files *out) {
    memset(out, 0, sizeof *out);
    strata_err e = index_version_visit(r, id, decode_files, out);
    if (e) repo_version_files_free(out);
    return e;
}

void repo_version_files_free(repo_version_files *vf) {
    free(vf->files);
    free(vf->block);
    memset(vf, 0, sizeof *vf);
}

strata_err repo_version_assign_id(repo *r, repo_version *v) {
    char base[32];
    strata_iso8601(v->time_us / 1000000, base);
    snprintf(v->id, sizeof v->id, "%s", base);
    for (int n = 2; index_has_version(r, v->id); n++) {
        snprintf(v->id, sizeof v->id, "%s.%d", base, n);
    }
    return STRATA_OK;
}

strata_err repo_version_commit(repo *r, const repo_version *v) {
    strata_buf payload, object;
    strata_buf_init(&payload);
    strata_buf_init(&object);
    version_encode(v, &payload);
    strata_err e = version_object_wrap(&payload, &object);
    char *key = xasprintf("versions/%s", v->id);
    if (!e) e = storage_put(r->store, key, object.data, object.len);
    if (!e) e = index_add_version(r, v, &payload);
    free(key);
    strata_buf_free(&payload);
    strata_buf_free(&object);
    return e;
}

strata_err repo_version_rewrite_object(repo *r, const char *id) {
    strata_buf payload, object;
    strata_buf_init(&payload);
    strata_buf_init(&object);
    repo_version *v = NULL;
    strata_err e = index_version_get(r, id, &payload);
    /* the index's copy must itself be whole before it becomes the object */
    if (!e) e = version_decode(payload.data, payload.len, &v);
    if (!e && strcmp(v->id, id))
        e = strata_fail(STRATA_ECORRUPT, "the index's record of version %s names version %s", id, v->id);
    if (!e) e = version_object_wrap(&payload, &object);
    char *key = xasprintf("versions/%s", id);
    if (!e) e = storage_put(r->store, key, object.data, object.len);
    free(key);
    if (v) repo_version_free(v);
    strata_buf_free(&payload);
    strata_buf_free(&object);
    return e;
}

strata_err repo_file_lookup(repo *r, const char *node, const char *keyspace, const char *table_id,
                            const char *rel_path, repo_file *out) {
    strata_buf key, rec;
    strata_buf_init(&key);
    strata_buf_init(&rec);
    file_key(node, keyspace, table_id, rel_path, &key);
    strata_err e = index_record_get(r, INDEX_FILES, (const char *)key.data, key.len, &rec);
    if (!e) {
        strata_reader rd;
        strata_reader_init(&rd, rec.data, rec.len);
        if (file_decode(&rd, out)) {
            repo_file_clear(out);
            e = strata_fail(STRATA_ECORRUPT, "index: malformed file record");
        }
    }
    strata_buf_free(&key);
    strata_buf_free(&rec);
    return e;
}
