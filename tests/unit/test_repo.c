/* test_repo.c - the repository engine: chunking, packs, index, versions.
 *
 * Runs against a real local repository in a temporary directory and
 * checks bytes read back against bytes written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/repo/repo.h"
#include "engine/repo/repo_int.h"

static uint64_t rng_state;
static uint64_t rng(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 17;
}

static uint8_t *random_bytes(size_t n, uint64_t seed) {
    rng_state = seed;
    uint8_t *p = xmalloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng();
    return p;
}

/* A new repository in a new temporary directory (an empty directory is
 * a valid place to create one), removed whole by remove_tree(). */
static char *temp_repo(void) {
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    assert_int_equal(repo_init(dir), STRATA_OK);
    return xstrdup(dir);
}

static void remove_tree(const char *path) {
    char *cmd = xasprintf("rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* Cuts a buffer into chunks the way repo_store_file does (all data present). */
static size_t cut_all(const uint8_t *data, size_t len, size_t *sizes, size_t max) {
    size_t n = 0, pos = 0;
    while (pos < len && n < max) {
        size_t c = repo_chunk_boundary(data + pos, len - pos);
        if (!c) c = len - pos;
        sizes[n++] = c;
        pos += c;
    }
    return n;
}

static void test_chunk_bounds_and_average(void **state) {
    (void)state;
    size_t len = 64u << 20;
    uint8_t *data = random_bytes(len, 1);
    size_t sizes[512];
    size_t n = cut_all(data, len, sizes, 512);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += sizes[i];
        if (i + 1 < n) {
            assert_true(sizes[i] > REPO_CHUNK_MIN);
            assert_true(sizes[i] <= REPO_CHUNK_MAX);
        }
    }
    assert_int_equal(total, len);
    /* 64 MiB at ~1 MiB average: far from both 16 (all max) and 256 (all min). */
    assert_in_range(n, 32, 128);
    free(data);
}

static void test_chunk_boundaries_resynchronise(void **state) {
    (void)state;
    size_t len = 16u << 20;
    uint8_t *data = random_bytes(len + 100, 2);
    size_t a[64], b[64];
    size_t na = cut_all(data + 100, len, a, 64);
    /* The same content behind 100 extra bytes: after the first few chunks
     * the boundaries (relative to the content) coincide again. */
    size_t nb = cut_all(data, len + 100, b, 64);
    size_t ends_a[64], ends_b[64], sa = 0, sb = 0;
    for (size_t i = 0; i < na; i++) ends_a[i] = sa += a[i];
    for (size_t i = 0; i < nb; i++) ends_b[i] = (sb += b[i]) - 100;
    size_t common = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (ends_a[i] == ends_b[j]) common++;
    assert_true(common + 2 >= na);
    free(data);
}

/* Reads every chunk of rec back (SHA-256 checked) and compares with data. */
static void read_back(repo *r, const repo_file *rec, const uint8_t *data, size_t len) {
    strata_buf out;
    strata_buf_init(&out);
    size_t off = 0;
    for (uint32_t i = 0; i < rec->n_chunks; i++) {
        assert_int_equal(repo_read_chunk(r, rec->chunks[i].id, 1, &out), STRATA_OK);
        assert_int_equal(out.len, rec->chunks[i].size);
        assert_memory_equal(out.data, data + off, out.len);
        off += out.len;
    }
    assert_int_equal(off, len);
    strata_buf_free(&out);
}

static void store_and_read_back(repo *r, const uint8_t *data, size_t len, repo_file *rec) {
    char path[] = "/tmp/strata-unit-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    memset(rec, 0, sizeof *rec);
    rec->size = len;
    repo_pack_writer *w = repo_pack_writer_new(r);
    uint64_t stored = 0;
    uint32_t crc = 1;
    assert_int_equal(repo_store_file(w, fd, rec, NULL, &stored, &crc), STRATA_OK);
    /* the CRC32 of the bytes read, as zlib computes it */
    assert_int_equal(crc, (uint32_t)crc32(crc32(0, Z_NULL, 0), data, (uInt)len));
    assert_int_equal(repo_pack_writer_flush(w), STRATA_OK);
    repo_pack_writer_free(w);
    close(fd);
    unlink(path);
    read_back(r, rec, data, len);
}

static void test_store_read_and_dedup(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    size_t len = 9u << 20;
    uint8_t *data = random_bytes(len, 3);
    /* Second half compressible: zstd must shrink it, and reads must still match. */
    for (size_t i = len / 2; i < len; i++) data[i] = (uint8_t)("cassandra row "[i % 14]);
    repo_file rec;
    store_and_read_back(r, data, len, &rec);
    uint64_t bytes, packs;
    assert_int_equal(repo_stored_bytes(r, &bytes, &packs), STRATA_OK);
    assert_int_equal(packs, 1);
    assert_true(bytes < len * 3 / 4);
    /* The same content again adds nothing. */
    repo_file again;
    store_and_read_back(r, data, len, &again);
    uint64_t bytes2, packs2;
    repo_stored_bytes(r, &bytes2, &packs2);
    assert_int_equal(packs2, 1);
    assert_int_equal(bytes2, bytes);
    assert_int_equal(again.n_chunks, rec.n_chunks);
    free(rec.chunks);
    free(again.chunks);
    free(data);
    repo_close(r);
    remove_tree(loc);
    free(loc);
}

/* An index seek per partition reads ahead across a chunk's end, and the
 * next seek is back before it: reads alternating over a boundary must
 * fetch each of the two chunks once, not both again each time. */
static void test_file_reader_keeps_both_chunks_of_a_boundary(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    size_t len = 6u << 20;
    uint8_t *data = random_bytes(len, 11);
    repo_file rec;
    store_and_read_back(r, data, len, &rec);
    assert_true(rec.n_chunks >= 3);
    uint64_t boundary = rec.chunks[0].size;
    repo_file_reader *rd = repo_file_reader_open(r, &rec);
    storage_traffic before, after;
    repo_get_traffic(r, &before);
    uint8_t buf[65536];
    for (int i = 0; i < 50; i++) {
        uint64_t off = boundary - 1000 - (uint64_t)i * 10;
        size_t got;
        assert_int_equal(repo_file_reader_pread(rd, buf, sizeof buf, off, &got), STRATA_OK);
        assert_int_equal(got, sizeof buf);
        assert_memory_equal(buf, data + off, got);
        assert_int_equal(repo_file_reader_pread(rd, buf, 100, off - 5000, &got), STRATA_OK);
        assert_memory_equal(buf, data + off - 5000, 100);
    }
    repo_get_traffic(r, &after);
    assert_int_equal(after.requests - before.requests, 2);
    /* a third chunk takes the place of the one read longest ago (the
     * second): the first, read last, is still there, the second is not */
    size_t got;
    uint64_t third = boundary + rec.chunks[1].size;
    assert_int_equal(repo_file_reader_pread(rd, buf, 100, third, &got), STRATA_OK);
    assert_memory_equal(buf, data + third, 100);
    assert_int_equal(repo_file_reader_pread(rd, buf, 100, 10, &got), STRATA_OK);
    assert_memory_equal(buf, data + 10, 100);
    repo_get_traffic(r, &after);
    assert_int_equal(after.requests - before.requests, 3);
    assert_int_equal(repo_file_reader_pread(rd, buf, 100, boundary + 10, &got), STRATA_OK);
    assert_memory_equal(buf, data + boundary + 10, 100);
    repo_get_traffic(r, &after);
    assert_int_equal(after.requests - before.requests, 4);
    repo_file_reader_close(rd);
    free(rec.chunks);
    free(data);
    repo_close(r);
    remove_tree(loc);
    free(loc);
}

/* Stores `len` random bytes (returned) as node1's app/users nb-1-big-Data.db. */
static uint8_t *store_users_data(repo *r, size_t len, unsigned seed, repo_file *f) {
    uint8_t *data = random_bytes(len, seed);
    store_and_read_back(r, data, len, f);
    f->node = "node1";
    f->keyspace = "app";
    f->table = "users";
    f->table_id = "8f4956a0e60111f1b5720f8cceb1328b";
    f->rel_path = "nb-1-big-Data.db";
    f->sstable = "nb-1-big";
    f->mtime_ns = 1795303196550666000;
    f->mode = 0100644;
    return data;
}

static void test_version_commit_rebuild_lookup(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    repo_file f;
    uint8_t *data = store_users_data(r, 3u << 20, 4, &f);
    char *nodes[] = {"node1"};
    repo_version v = {.time_us = 1795303196550666, .cluster = "c", .nodes = nodes, .n_nodes = 1,
                      .files = &f, .n_files = 1, .logical_bytes = f.size};
    assert_int_equal(repo_version_assign_id(r, &v), STRATA_OK);
    assert_string_equal(v.id, "2026-11-21T23:19:56Z");
    assert_int_equal(repo_version_commit(r, &v), STRATA_OK);
    /* A second version in the same second gets a suffix. */
    repo_version v2 = v;
    assert_int_equal(repo_version_assign_id(r, &v2), STRATA_OK);
    assert_string_equal(v2.id, "2026-11-21T23:19:56Z.2");

    /* Throw the index away: everything must come back from the objects. */
    assert_int_equal(repo_index_rebuild(r, NULL), STRATA_OK);
    repo_version *loaded;
    assert_int_equal(repo_version_load(r, "latest", &loaded), STRATA_OK);
    assert_string_equal(loaded->id, v.id);
    assert_int_equal(loaded->n_files, 1);
    assert_string_equal(loaded->files[0].rel_path, "nb-1-big-Data.db");
    assert_int_equal(loaded->files[0].n_chunks, f.n_chunks);
    assert_memory_equal(loaded->files[0].chunks, f.chunks, f.n_chunks * sizeof *f.chunks);
    repo_version_free(loaded);
    repo_file known;
    assert_int_equal(repo_file_lookup(r, "node1", "app", f.table_id, "nb-1-big-Data.db", &known), STRATA_OK);
    assert_int_equal(known.size, f.size);
    repo_file_clear(&known);
    assert_int_equal(repo_file_lookup(r, "node2", "app", f.table_id, "nb-1-big-Data.db", &known), STRATA_ENOENT);
    strata_buf out;
    strata_buf_init(&out);
    assert_int_equal(repo_read_chunk(r, f.chunks[0].id, 1, &out), STRATA_OK);
    assert_memory_equal(out.data, data, out.len);
    strata_buf_free(&out);
    free(f.chunks);
    free(data);
    repo_close(r);
    remove_tree(loc);
    free(loc);
}

/* Versions of one second: "Z", "Z.2", ... "Z.11".  They are listed in the
 * order they were made, the last is "latest", and it is the newest holding
 * the table and the one whose source records the index keeps, before and
 * after a rebuild from the objects alone ("Z.10" is newer than "Z.9"). */
static void test_version_ids_of_one_second_in_order(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    char *nodes[] = {"node1"};
    repo_table_summary table = {.keyspace = "app", .table = "users", .table_id = "8f4956a0e60111f1b5720f8cceb1328b"};
    repo_source src = {.node = "node1", .keyspace = "app", .table = "users", .table_id = table.table_id,
                       .sstable = "nb-1-big", .first_cut = 1795303196550666};
    char made[11][48];
    for (int i = 0; i < 11; i++) {
        src.covered_to = 1795303196550666 + i;
        repo_version v = {.time_us = 1795303196550666 + i, .cluster = "c", .nodes = nodes, .n_nodes = 1,
                          .reconciled = 1, .sources = &src, .n_sources = 1, .tables = &table, .n_tables = 1};
        assert_int_equal(repo_version_assign_id(r, &v), STRATA_OK);
        assert_int_equal(repo_version_commit(r, &v), STRATA_OK);
        strcpy(made[i], v.id);
    }
    assert_string_equal(made[10], "2026-11-21T23:19:56Z.11");
    for (int pass = 0; pass < 2; pass++) {
        char **ids;
        size_t n;
        assert_int_equal(repo_version_list(r, &ids, &n), STRATA_OK);
        assert_int_equal(n, 11);
        for (size_t i = 0; i < n; i++) assert_string_equal(ids[i], made[i]);
        repo_version_list_free(ids, n);
        repo_version *latest;
        assert_int_equal(repo_version_load(r, "latest", &latest), STRATA_OK);
        assert_string_equal(latest->id, made[10]);
        repo_version_free(latest);
        char newest[48];
        assert_int_equal(repo_table_newest_version(r, "app", table.table_id, newest), STRATA_OK);
        assert_string_equal(newest, made[10]);
        repo_source known;
        assert_int_equal(repo_source_lookup(r, "node1", "app", table.table_id, "nb-1-big", &known), STRATA_OK);
        assert_int_equal(known.covered_to, 1795303196550666 + 10);
        repo_source_clear(&known);
        assert_int_equal(repo_index_rebuild(r, NULL), STRATA_OK);
    }
    repo_close(r);
    remove_tree(loc);
    free(loc);
}

/* The files of a version loaded into one block match the full load field
 * for field: several files (with and without chunks, reconciled and node
 * files, names of many lengths), and an unknown id is ENOENT. */
static void test_version_load_files(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    repo_file stored;
    uint8_t *data = store_users_data(r, 2u << 20, 5, &stored);
    repo_file files[3] = {stored, stored, stored};
    for (int i = 0; i < 3; i++) {
        files[i].mtime_ns += i;
        files[i].sample[0] = (uint8_t)i;
    }
    files[0].node = "";
    files[1].rel_path = ".users_by_email_idx/nb-12-big-CompressionInfo.db";
    files[1].sstable = ".users_by_email_idx/nb-12-big";
    files[2].node = "node2";
    files[2].rel_path = "manifest.json";
    files[2].sstable = "";
    files[2].size = 0;
    files[2].n_chunks = 0;
    char *nodes[] = {"node1", "node2"};
    repo_version v = {.time_us = 1795303196550666, .cluster = "c", .nodes = nodes, .n_nodes = 2,
                      .files = files, .n_files = 3};
    assert_int_equal(repo_version_assign_id(r, &v), STRATA_OK);
    assert_int_equal(repo_version_commit(r, &v), STRATA_OK);

    repo_version *full;
    repo_version_files flat;
    assert_int_equal(repo_version_load(r, v.id, &full), STRATA_OK);
    assert_int_equal(repo_version_load_files(r, v.id, &flat), STRATA_OK);
    assert_int_equal(flat.time_us, v.time_us);
    assert_int_equal(flat.n_files, 3);
    for (size_t i = 0; i < flat.n_files; i++) {
        const repo_file *a = &full->files[i], *b = &flat.files[i];
        assert_string_equal(b->node, a->node);
        assert_string_equal(b->keyspace, a->keyspace);
        assert_string_equal(b->table, a->table);
        assert_string_equal(b->table_id, a->table_id);
        assert_string_equal(b->rel_path, a->rel_path);
        assert_string_equal(b->sstable, a->sstable);
        assert_int_equal(b->size, a->size);
        assert_int_equal(b->mtime_ns, a->mtime_ns);
        assert_int_equal(b->mode, a->mode);
        assert_memory_equal(b->sample, a->sample, STRATA_HASH_LEN);
        assert_int_equal(b->n_chunks, a->n_chunks);
        if (a->n_chunks) assert_memory_equal(b->chunks, a->chunks, a->n_chunks * sizeof *a->chunks);
    }
    assert_string_equal(flat.files[1].rel_path, ".users_by_email_idx/nb-12-big-CompressionInfo.db");
    assert_int_equal(flat.files[0].n_chunks, stored.n_chunks);
    repo_version_files_free(&flat);
    repo_version_free(full);
    assert_int_equal(repo_version_load_files(r, "2001-01-01T00:00:00Z", &flat), STRATA_ENOENT);
    assert_null(flat.files);
    free(stored.chunks);
    free(data);
    repo_close(r);
    remove_tree(loc);
    free(loc);
}

/* Large objects take the O_DIRECT path when their buffer is page-aligned:
 * the aligned bulk and the unaligned tail must both land, and a buffer
 * that is not aligned must be written the ordinary way. */
static void test_storage_large_objects(void **state) {
    (void)state;
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);
    storage *st;
    assert_int_equal(storage_open(dir, &st), STRATA_OK);
    size_t len = (3u << 20) + 777;
    uint8_t *aligned;
    assert_int_equal(posix_memalign((void **)&aligned, 4096, len + 1), 0);
    uint8_t *data = random_bytes(len + 1, 9);
    memcpy(aligned, data, len + 1);
    const uint8_t *sources[] = {aligned, aligned + 1};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(storage_put(st, "packs/aa/object", sources[i], len), STRATA_OK);
        strata_buf back;
        strata_buf_init(&back);
        assert_int_equal(storage_get(st, "packs/aa/object", &back), STRATA_OK);
        assert_int_equal(back.len, len);
        assert_memory_equal(back.data, data + i, len);
        strata_buf_free(&back);
    }
    free(aligned);
    free(data);
    storage_close(st);
    remove_tree(dir);
}

static void test_open_errors(void **state) {
    (void)state;
    repo *r;
    assert_int_equal(repo_open("/nonexistent/strata-repo", REPO_READ, &r), STRATA_ENOTREPO);
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_int_equal(repo_open(dir, REPO_READ, &r), STRATA_ENOTREPO);
    assert_non_null(strstr(strata_errmsg(), "not a strata repository"));
    char *loc = temp_repo();
    assert_int_equal(repo_init(loc), STRATA_EEXIST);
    repo *writer, *second;
    assert_int_equal(repo_open(loc, REPO_WRITE, &writer), STRATA_OK);
    assert_int_equal(repo_open(loc, REPO_WRITE, &second), STRATA_ELOCKED);
    repo *reader;
    assert_int_equal(repo_open(loc, REPO_READ, &reader), STRATA_OK);
    repo_close(reader);
    repo_close(writer);
    remove_tree(loc);
    remove_tree(dir);
    free(loc);
}

static void *release_lock_later(void *fd) {
    strata_sleep_s(0.3);
    flock(*(int *)fd, LOCK_UN);
    return NULL;
}

/* A reader holds index.lock only while it indexes new objects: a writer
 * arriving then waits for it instead of failing, while a second writer
 * still fails at once. */
static void test_writer_waits_for_reader_sync(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_READ, &r), STRATA_OK); /* creates index/ */
    repo_close(r);
    char *path = xasprintf("%s/index/index.lock", loc);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_lock_later, &fd), 0);
    double start = strata_mono_s();
    repo *writer, *second;
    assert_int_equal(repo_open(loc, REPO_WRITE, &writer), STRATA_OK);
    assert_true(strata_mono_s() - start >= 0.25);
    pthread_join(t, NULL);
    /* the writer now holds index.lock: a reader's sync is skipped */
    assert_int_not_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    start = strata_mono_s();
    assert_int_equal(repo_open(loc, REPO_WRITE, &second), STRATA_ELOCKED);
    assert_true(strata_mono_s() - start < 0.25);
    assert_non_null(strstr(strata_errmsg(), "another backup"));
    repo_close(writer);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
    free(path);
    remove_tree(loc);
    free(loc);
}

/* How many versions a reader opening `loc` now lists. */
static size_t versions_listed(const char *loc) {
    repo *r;
    assert_int_equal(repo_open(loc, REPO_READ, &r), STRATA_OK);
    char **ids;
    size_t n;
    assert_int_equal(repo_version_list(r, &ids, &n), STRATA_OK);
    repo_version_list_free(ids, n);
    repo_close(r);
    return n;
}

/* An index being rebuilt is built aside: a reader opening the repository
 * meanwhile (without index.lock, which the rebuild holds) lists every
 * version from the old index, and a rebuild that never ends (killed)
 * leaves the old index in use and its own directory to the next open. */
static void test_index_rebuilt_aside(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *w;
    assert_int_equal(repo_open(loc, REPO_WRITE, &w), STRATA_OK);
    char *nodes[] = {"node1"};
    for (int i = 0; i < 3; i++) {
        repo_version v = {.time_us = 1795303196550666 + i * 1000000ll, .cluster = "c", .nodes = nodes, .n_nodes = 1};
        assert_int_equal(repo_version_assign_id(w, &v), STRATA_OK);
        assert_int_equal(repo_version_commit(w, &v), STRATA_OK);
    }
    assert_int_equal(index_reset(w), STRATA_OK);
    assert_int_equal(versions_listed(loc), 3);
    repo_close(w);
    assert_int_equal(versions_listed(loc), 3);
    char *pattern = xasprintf("%s/index/lmdb-*", loc);
    glob_t found;
    assert_int_equal(glob(pattern, 0, NULL, &found), 0);
    assert_int_equal(found.gl_pathc, 1);
    globfree(&found);
    free(pattern);
    remove_tree(loc);
    free(loc);
}

static void test_corrupt_chunk_detected(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    uint8_t *data = random_bytes(2u << 20, 5);
    repo_file f;
    store_and_read_back(r, data, 2u << 20, &f);
    /* Flip one byte in the middle of the only pack. */
    char *cmd = xasprintf("f=$(find '%s/packs' -type f | head -1); "
                          "printf '\\377' | dd of=\"$f\" bs=1 seek=1000000 conv=notrunc status=none", loc);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    strata_buf out;
    strata_buf_init(&out);
    strata_err e = STRATA_OK;
    for (uint32_t i = 0; i < f.n_chunks && !e; i++) e = repo_read_chunk(r, f.chunks[i].id, 0, &out);
    assert_int_equal(e, STRATA_ECORRUPT);
    strata_buf_free(&out);
    repo_verify_result res;
    assert_int_equal(repo_verify(r, NULL, NULL, NULL, NULL, &res), STRATA_OK);
    assert_int_equal(res.bad_chunks, 1);
    free(f.chunks);
    free(data);
    repo_close(r);
    remove_tree(loc);
    free(loc);
}

/* A file whose entries each repeat KEY_LEN bytes of a base file, at
 * increasing base offsets, then add 4 bytes of their own: what Index.db
 * is to Data.db.  The spans say where the repeats are; `shift` moves
 * every span's base offset, to tell the store wrong repeats. */
#define KEY_LEN 18
typedef struct {
    uint8_t *data;
    size_t len;
    repo_span *spans;
    size_t n, next;
} derived_file;

static derived_file derive(const uint8_t *base, size_t base_len, size_t len, uint32_t step_min, uint32_t step_max,
                           uint64_t shift) {
    derived_file d = {xmalloc(len), len, NULL, 0, 0};
    d.spans = xmalloc((len / (KEY_LEN + 4) + 1) * sizeof *d.spans);
    rng_state = 77;
    uint64_t at = 0, from = 0;
    while (at + KEY_LEN + 4 <= len && from + KEY_LEN + shift <= base_len) {
        memcpy(d.data + at, base + from, KEY_LEN);
        d.spans[d.n++] = (repo_span){at, from + shift, KEY_LEN};
        for (int i = 0; i < 4; i++) d.data[at + KEY_LEN + i] = (uint8_t)rng();
        at += KEY_LEN + 4;
        from += step_min + rng() % (step_max - step_min + 1);
    }
    memset(d.data + at, 0, len - at);
    return d;
}

static strata_err next_derived_span(void *ctx, repo_span *out, int *end) {
    derived_file *d = ctx;
    *end = d->next == d->n;
    if (!*end) *out = d->spans[d->next++];
    return STRATA_OK;
}

static int temp_file_of(const uint8_t *data, size_t len, char *path) {
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    return fd;
}

/* Sets the format version in a local repository's config. */
static void set_config_version(const char *loc, int version) {
    char *cmd = xasprintf("sed -i 's/\"version\": [0-9]*/\"version\": %d/' '%s/config'", version, loc);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* A repository of the given format version holding a base file of
 * base_len random bytes and a file derived from it, stored against it. */
typedef struct {
    char *loc;
    repo *r;
    uint8_t *base;
    repo_file base_rec, rec;
    derived_file d;
    uint64_t stored; /* bytes the derived file added */
} delta_fixture;

static void delta_fixture_make(delta_fixture *f, int format, uint64_t base_len, size_t len, uint32_t step_min,
                               uint32_t step_max, uint64_t shift) {
    memset(f, 0, sizeof *f);
    f->loc = temp_repo();
    set_config_version(f->loc, format);
    assert_int_equal(repo_open(f->loc, REPO_WRITE, &f->r), STRATA_OK);
    f->base = random_bytes(base_len, 21);
    store_and_read_back(f->r, f->base, base_len, &f->base_rec);
    f->d = derive(f->base, base_len, len, step_min, step_max, shift);
    char base_path[] = "/tmp/strata-unit-base-XXXXXX", path[] = "/tmp/strata-unit-file-XXXXXX";
    int base_fd = temp_file_of(f->base, base_len, base_path), fd = temp_file_of(f->d.data, len, path);
    repo_store_base b = {&f->base_rec, base_fd, next_derived_span, &f->d};
    f->rec.size = len;
    repo_pack_writer *w = repo_pack_writer_new(f->r);
    assert_int_equal(repo_store_file_with(w, fd, &f->rec, &(repo_store_hints){&b, NULL}, NULL, &f->stored, NULL), STRATA_OK);
    assert_int_equal(f->d.next, format >= 2 ? f->d.n : 0); /* every span was asked for, or none */
    assert_int_equal(repo_pack_writer_flush(w), STRATA_OK);
    repo_pack_writer_free(w);
    close(base_fd);
    close(fd);
    unlink(base_path);
    unlink(path);
}

static void delta_fixture_free(delta_fixture *f) {
    free(f->base_rec.chunks);
    free(f->rec.chunks);
    free(f->d.data);
    free(f->d.spans);
    free(f->base);
    repo_close(f->r);
    remove_tree(f->loc);
    free(f->loc);
}

/* Stores a derived file (delta_fixture_make) and checks it reads back,
 * also once the index is rebuilt from the packs, and verifies; returns
 * the bytes it added and, in *plain, what it takes alone in another
 * repository. */
static uint64_t store_derived(int format, uint64_t base_len, size_t len, uint32_t step_min, uint32_t step_max,
                              uint64_t shift, uint64_t *plain) {
    delta_fixture f;
    delta_fixture_make(&f, format, base_len, len, step_min, step_max, shift);
    read_back(f.r, &f.rec, f.d.data, len);
    assert_int_equal(repo_index_rebuild(f.r, NULL), STRATA_OK);
    read_back(f.r, &f.rec, f.d.data, len);
    repo_verify_result res;
    assert_int_equal(repo_verify(f.r, NULL, NULL, NULL, NULL, &res), STRATA_OK);
    assert_int_equal(res.bad_chunks + res.missing_chunks + res.bad_objects, 0);
    char *alone = temp_repo();
    repo *r2;
    assert_int_equal(repo_open(alone, REPO_WRITE, &r2), STRATA_OK);
    repo_file rec2;
    store_and_read_back(r2, f.d.data, len, &rec2);
    uint64_t packs;
    assert_int_equal(repo_stored_bytes(r2, plain, &packs), STRATA_OK);
    assert_int_equal(rec2.n_chunks, f.rec.n_chunks);
    uint64_t stored = f.stored;
    free(rec2.chunks);
    repo_close(r2);
    remove_tree(alone);
    free(alone);
    delta_fixture_free(&f);
    return stored;
}

/* Repeats of a base file are stored as copies: 18 of every 22 bytes are
 * random and repeated, so the file costs a fraction of its own bytes. */
static void test_store_with_base_copies_repeats(void **state) {
    (void)state;
    uint64_t plain, stored = store_derived(2, 4u << 20, 2u << 20, 19, 40, 0, &plain);
    assert_true(plain > (2u << 20) * 9 / 10); /* random: zstd cannot shrink it */
    assert_true(stored < plain / 2);
}

/* A chunk whose repeats lie in more base chunks than one delta may name
 * copies from the first DELTA_MAX_BASES only and keeps the rest. */
static void test_store_with_base_many_bases(void **state) {
    (void)state;
    uint64_t plain, stored = store_derived(2, 40u << 20, 1u << 20, 700, 1100, 0, &plain);
    assert_true(stored < plain * 9 / 10);
    assert_true(stored > plain / 4);
}

/* Spans that do not repeat the base (off by one byte) are caught by the
 * check: the chunks are stored whole, and read back right. */
static void test_store_with_base_wrong_spans(void **state) {
    (void)state;
    uint64_t plain, stored = store_derived(2, 4u << 20, 2u << 20, 19, 40, 1, &plain);
    assert_true(stored >= plain * 95 / 100);
}

/* Opening to rebuild neither builds a missing index nor syncs the one in
 * use: the rebuild replaces it whole, so that work would be thrown away. */
static void test_rebuild_open_builds_nothing(void **state) {
    (void)state;
    char *loc = temp_repo();
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    uint8_t *data = random_bytes(1u << 20, 4);
    repo_file rec;
    store_and_read_back(r, data, 1u << 20, &rec);
    repo_close(r);
    char *cmd = xasprintf("rm -r '%s/index'", loc);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_int_equal(repo_open(loc, REPO_REBUILD, &r), STRATA_OK);
    char *dir = index_current_dir(r->index_dir);
    assert_null(dir);
    assert_int_equal(repo_index_rebuild(r, NULL), STRATA_OK);
    dir = index_current_dir(r->index_dir);
    assert_non_null(dir);
    free(dir);
    assert_true(repo_chunk_known(r, rec.chunks[0].id));
    repo_close(r);
    free(rec.chunks);
    free(data);
    remove_tree(loc);
    free(loc);
}

/* The base bytes a reader has at hand: right ones, or damaged. */
typedef struct {
    const uint8_t *base;
    const repo_file *rec;
    int wrong;
} base_at_hand;

static int base_from_memory(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size) {
    const base_at_hand *h = ctx;
    uint64_t off = 0;
    for (uint32_t i = 0; i < h->rec->n_chunks; off += h->rec->chunks[i++].size)
        if (!memcmp(h->rec->chunks[i].id, id, STRATA_HASH_LEN)) {
            memcpy(buf, h->base + off, size);
            if (h->wrong)
                for (uint32_t k = 0; k < size; k += 4096) buf[k] ^= 0x5a;
            return 1;
        }
    return 0;
}

/* A delta read with its base at hand fetches only its own bytes; bytes at
 * hand that do not make the chunk are replaced by the repository's. */
static void test_read_with_base_at_hand(void **state) {
    (void)state;
    delta_fixture f;
    delta_fixture_make(&f, 2, 1u << 20, 200000, 19, 40, 0);
    strata_buf out;
    strata_buf_init(&out);
    for (int wrong = 0; wrong < 2; wrong++) {
        base_at_hand hand = {f.base, &f.base_rec, wrong};
        repo_base_source src = {base_from_memory, &hand};
        storage_traffic before, after;
        repo_get_traffic(f.r, &before);
        size_t off = 0;
        for (uint32_t i = 0; i < f.rec.n_chunks; off += f.rec.chunks[i++].size) {
            assert_int_equal(repo_read_chunk_using(f.r, f.rec.chunks[i].id, 1, &src, &out), STRATA_OK);
            assert_memory_equal(out.data, f.d.data + off, f.rec.chunks[i].size);
        }
        repo_get_traffic(f.r, &after);
        if (wrong)
            assert_true(after.bytes - before.bytes > f.stored + (1u << 19)); /* the base fetched */
        else
            assert_true(after.bytes - before.bytes <= f.stored);
    }
    strata_buf_free(&out);
    delta_fixture_free(&f);
}

/* The bases a delta's decode fetched are kept decoded: reading them right
 * after (as a lookup reads a row after its index entry) fetches nothing
 * from storage, unless the caller wants the SHA-256 checked. */
static void test_bases_kept_after_delta(void **state) {
    (void)state;
    delta_fixture f;
    delta_fixture_make(&f, 2, 1u << 20, 200000, 19, 40, 0);
    assert_true(pack_chunk_is_delta(f.r, f.rec.chunks[0].id));
    assert_true(f.base_rec.n_chunks <= BASE_CACHE_SLOTS);
    repo_close(f.r);
    assert_int_equal(repo_open(f.loc, REPO_READ, &f.r), STRATA_OK);
    strata_buf out;
    strata_buf_init(&out);
    storage_traffic before, after;
    size_t off = 0;
    for (uint32_t i = 0; i < f.rec.n_chunks; off += f.rec.chunks[i++].size) {
        assert_int_equal(repo_read_chunk(f.r, f.rec.chunks[i].id, 0, &out), STRATA_OK);
        assert_memory_equal(out.data, f.d.data + off, f.rec.chunks[i].size);
    }
    for (int full_check = 0; full_check < 2; full_check++) {
        repo_get_traffic(f.r, &before);
        off = 0;
        for (uint32_t i = 0; i < f.base_rec.n_chunks; off += f.base_rec.chunks[i++].size) {
            assert_int_equal(repo_read_chunk(f.r, f.base_rec.chunks[i].id, full_check, &out), STRATA_OK);
            assert_int_equal(out.len, f.base_rec.chunks[i].size);
            assert_memory_equal(out.data, f.base + off, out.len);
        }
        repo_get_traffic(f.r, &after);
        if (full_check)
            assert_true(after.bytes - before.bytes >= off);
        else
            assert_int_equal(after.bytes - before.bytes, 0);
    }
    strata_buf_free(&out);
    delta_fixture_free(&f);
}

/* A base whose bytes the repository already holds as a delta (the same
 * chunk stored before from another file) is not copied from: a delta's
 * bases are never deltas, and the chunk is stored whole instead. */
static void test_delta_never_copies_from_a_delta(void **state) {
    (void)state;
    delta_fixture f;
    delta_fixture_make(&f, 2, 1u << 20, 200000, 19, 40, 0);
    assert_int_equal(f.rec.n_chunks, 1);
    assert_true(pack_chunk_is_delta(f.r, f.rec.chunks[0].id));
    /* the derived file's bytes as a base: its one chunk is that delta */
    repo_file base2;
    store_and_read_back(f.r, f.d.data, 200000, &base2);
    assert_memory_equal(base2.chunks[0].id, f.rec.chunks[0].id, STRATA_HASH_LEN);
    derived_file d2 = derive(f.d.data, 200000, 100000, 19, 40, 0);
    char base_path[] = "/tmp/strata-unit-base-XXXXXX", path[] = "/tmp/strata-unit-file-XXXXXX";
    int base_fd = temp_file_of(f.d.data, 200000, base_path), fd = temp_file_of(d2.data, 100000, path);
    repo_store_base b = {&base2, base_fd, next_derived_span, &d2};
    repo_file rec2 = {.size = 100000};
    repo_pack_writer *w = repo_pack_writer_new(f.r);
    uint64_t stored = 0;
    assert_int_equal(repo_store_file_with(w, fd, &rec2, &(repo_store_hints){&b, NULL}, NULL, &stored, NULL), STRATA_OK);
    assert_int_equal(repo_pack_writer_flush(w), STRATA_OK);
    repo_pack_writer_free(w);
    assert_false(pack_chunk_is_delta(f.r, rec2.chunks[0].id));
    read_back(f.r, &rec2, d2.data, 100000);
    close(base_fd);
    close(fd);
    unlink(base_path);
    unlink(path);
    free(base2.chunks);
    free(rec2.chunks);
    free(d2.data);
    free(d2.spans);
    delta_fixture_free(&f);
}

/* A version 1 repository, which the strata that made it reads, gets no
 * deltas; a version this strata does not know is refused. */
static void test_repository_format_versions(void **state) {
    (void)state;
    uint64_t plain, stored = store_derived(1, 4u << 20, 2u << 20, 19, 40, 0, &plain);
    assert_true(stored >= plain * 95 / 100);
    char *loc = temp_repo();
    repo *r;
    set_config_version(loc, REPO_FORMAT_VERSION + 1);
    assert_int_equal(repo_open(loc, REPO_READ, &r), STRATA_EFORMAT);
    char *said = xasprintf("repository format %d is not supported", REPO_FORMAT_VERSION + 1);
    assert_non_null(strstr(strata_errmsg(), said));
    free(said);
    set_config_version(loc, 0);
    assert_int_equal(repo_open(loc, REPO_READ, &r), STRATA_EFORMAT);
    remove_tree(loc);
    free(loc);
}

/* A delta whose base is gone cannot be read, and the error names the
 * chunk and the missing pack; a repair drops the base only, and storing
 * the base again brings the delta back. */
static void test_delta_base_missing(void **state) {
    (void)state;
    delta_fixture f;
    delta_fixture_make(&f, 2, 1u << 20, 200000, 19, 40, 0);
    assert_true(f.stored < 200000 / 2);
    /* the base's pack is lost */
    chunk_location where;
    assert_int_equal(index_chunk_get(f.r, f.base_rec.chunks[0].id, &where), STRATA_OK);
    char key[96];
    pack_key(where.pack, key);
    char *pack_path = xasprintf("%s/%s", f.loc, key);
    assert_int_equal(unlink(pack_path), 0);
    free(pack_path);
    strata_buf out;
    strata_buf_init(&out);
    assert_int_equal(repo_read_chunk(f.r, f.rec.chunks[0].id, 1, &out), STRATA_EIO);
    char hex[2 * STRATA_HASH_LEN + 1];
    strata_hex(f.rec.chunks[0].id, STRATA_HASH_LEN, hex);
    assert_non_null(strstr(strata_errmsg(), hex));
    assert_non_null(strstr(strata_errmsg(), key));
    /* verify finds the delta unreadable; a repair of both forgets only
     * the base, whose copy is lost: the delta's own copy is whole */
    repo_verify_result res;
    assert_int_equal(repo_verify(f.r, NULL, NULL, NULL, NULL, &res), STRATA_OK);
    assert_int_equal(res.bad_chunks, 1);
    uint8_t ids[2 * STRATA_HASH_LEN];
    memcpy(ids, f.base_rec.chunks[0].id, STRATA_HASH_LEN);
    memcpy(ids + STRATA_HASH_LEN, f.rec.chunks[0].id, STRATA_HASH_LEN);
    size_t forgotten, moved;
    assert_int_equal(repo_forget_chunks(f.r, ids, 2, &forgotten, &moved), STRATA_OK);
    assert_int_equal(forgotten, 1);
    assert_false(repo_chunk_known(f.r, f.base_rec.chunks[0].id));
    assert_true(repo_chunk_known(f.r, f.rec.chunks[0].id));
    /* the base stored again (a chunk is its content): the delta reads */
    repo_file again;
    store_and_read_back(f.r, f.base, 1u << 20, &again);
    read_back(f.r, &f.rec, f.d.data, 200000);
    free(again.chunks);
    strata_buf_free(&out);
    delta_fixture_free(&f);
}

typedef struct {
    const uint8_t *want;
    int calls;
} view_check;

static strata_err compare_view(void *ctx, const uint8_t *data, size_t len) {
    view_check *c = ctx;
    c->calls++;
    return memcmp(data, c->want, len) ? STRATA_ECORRUPT : STRATA_OK;
}

/* Views of a local object: a large range is a mapping, a small one is read
 * into the scratch buffer, both counted as fetched, and a mapped file cut
 * short under the view is
 * STRATA_EIO from storage_view_read (the kernel's SIGBUS caught), not the
 * end of the process.  It runs first: the fault handler is installed by
 * the first guarded read, and cmocka takes it back after each test. */
static void test_storage_views(void **state) {
    (void)state;
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);
    storage *st;
    assert_int_equal(storage_open(dir, &st), STRATA_OK);
    size_t len = 2u << 20;
    uint8_t *data = random_bytes(len, 11);
    assert_int_equal(storage_put(st, "packs/bb/object", data, len), STRATA_OK);
    strata_buf scratch;
    strata_buf_init(&scratch);
    storage_view v;
    view_check check = {data + 5000, 0};
    assert_int_equal(storage_view_open(st, "packs/bb/object", 5000, 1u << 20, &scratch, &v), STRATA_OK);
    assert_non_null(v.map);
    assert_int_equal(storage_view_read(&v, compare_view, &check), STRATA_OK);
    storage_view_close(&v);
    check.want = data + 77;
    assert_int_equal(storage_view_open(st, "packs/bb/object", 77, 100, &scratch, &v), STRATA_OK);
    assert_null(v.map);
    assert_int_equal(storage_view_read(&v, compare_view, &check), STRATA_OK);
    storage_view_close(&v);
    assert_int_equal(storage_view_open(st, "packs/bb/object", len - 10, 100, &scratch, &v), STRATA_ECORRUPT);
    /* the traffic counts what was read or mapped, not a failed range */
    storage_traffic t;
    storage_get_traffic(st, &t);
    assert_int_equal(t.requests, 2);
    assert_int_equal(t.bytes, (1u << 20) + 100);
    uint8_t some[10];
    assert_int_equal(storage_get_range(st, "packs/bb/object", 9, sizeof some, some), STRATA_OK);
    storage_get_traffic(st, &t);
    assert_int_equal(t.requests, 3);
    assert_int_equal(t.bytes, (1u << 20) + 100 + sizeof some);

    check.want = data + 5000;
    assert_int_equal(storage_view_open(st, "packs/bb/object", 5000, 1u << 20, &scratch, &v), STRATA_OK);
    char *path = xasprintf("%s/packs/bb/object", dir);
    assert_int_equal(truncate(path, 4096), 0);
    assert_int_equal(storage_view_read(&v, compare_view, &check), STRATA_EIO);
    storage_view_close(&v);
    assert_int_equal(check.calls, 3);
    free(path);
    strata_buf_free(&scratch);
    free(data);
    storage_close(st);
    remove_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_views),
        cmocka_unit_test(test_chunk_bounds_and_average),
        cmocka_unit_test(test_chunk_boundaries_resynchronise),
        cmocka_unit_test(test_store_read_and_dedup),
        cmocka_unit_test(test_file_reader_keeps_both_chunks_of_a_boundary),
        cmocka_unit_test(test_store_with_base_copies_repeats),
        cmocka_unit_test(test_store_with_base_many_bases),
        cmocka_unit_test(test_store_with_base_wrong_spans),
        cmocka_unit_test(test_delta_base_missing),
        cmocka_unit_test(test_repository_format_versions),
        cmocka_unit_test(test_rebuild_open_builds_nothing),
        cmocka_unit_test(test_read_with_base_at_hand),
        cmocka_unit_test(test_bases_kept_after_delta),
        cmocka_unit_test(test_delta_never_copies_from_a_delta),
        cmocka_unit_test(test_version_commit_rebuild_lookup),
        cmocka_unit_test(test_version_ids_of_one_second_in_order),
        cmocka_unit_test(test_version_load_files),
        cmocka_unit_test(test_storage_large_objects),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_writer_waits_for_reader_sync),
        cmocka_unit_test(test_index_rebuilt_aside),
        cmocka_unit_test(test_corrupt_chunk_detected),
    };
    return cmocka_run_group_tests_name("repo", tests, NULL, NULL);
}
