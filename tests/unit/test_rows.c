/* test_rows.c - Data.db chunks stored as streams of their fields (codec 3)
 * against every SSTable of the Cassandra-written corpus.
 *
 * Each SSTable in a format the writer writes is rewritten uncompressed, as
 * a layer is, and its Data.db is cut into chunks three ways: as the store
 * cuts files, into 4 KiB pieces and into 777-byte pieces.  Every chunk the
 * splitter takes must join back to its exact bytes; the whole file as one
 * chunk must split into exactly its partitions, unfiltereds and partition
 * ends, with no byte left unparsed, whatever the table holds (counters,
 * collections, UDTs, static rows, range tombstones, every format from ma
 * to oa).  Stored through the repository as a layer is, the largest
 * reads back whole and costs less than zstd alone makes of it.  Damaged
 * frames must be refused, never read out of bounds. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <zstd.h>

#include "engine/backup/backup_int.h"
#include "engine/repo/repo_int.h"
#include "engine/writer/writer.h"

#define CORPUS "../shared/corpus"

static char **found;
static size_t nfound;
static char *largest_data; /* the corpus SSTable with the largest Data.db the writer rewrote */
static uint64_t largest_size;
/* likewise among those with a timeuuid clustering column */
static char *largest_timeuuid_data;
static uint64_t largest_timeuuid_size;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    const char *base = strrchr(path, '/') + 1;
    if (flag != FTW_F || !strata_ends_with(path, "-Data.db") || strstr(path, "/snapshots/")) return 0;
    static const char *const writable[] = {"oa-", "nb-", "na-", "me-", "md-", "mc-", "mb-", "ma-", NULL};
    for (size_t i = 0; writable[i]; i++)
        if (!strncmp(base, writable[i], 3) && strstr(base, "-big-")) {
            found = xrealloc(found, (nfound + 1) * sizeof *found);
            found[nfound++] = xstrdup(path);
        }
    return 0;
}

static void uncompressed(sstable_writer_params *p, void *arg) {
    (void)arg;
    sstable_writer_use_compressor(p, NULL);
}

static void remove_dir(const char *dir) {
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* Opens the Data.db of the SSTable at `prefix`; its size in *size. */
static int open_data(const char *prefix, uint64_t *size) {
    char *path = xasprintf("%s-Data.db", prefix);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    *size = (uint64_t)st.st_size;
    free(path);
    return fd;
}

/* The rewritten SSTable's Data.db in dir: its prefix ("DIR/nb-1-big"). */
static char *rewritten_prefix(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char *prefix = NULL;
    while ((e = readdir(d)))
        if (strata_ends_with(e->d_name, "-Data.db"))
            prefix = xstrndup(e->d_name, strlen(e->d_name) - strlen("-Data.db"));
    closedir(d);
    assert_non_null(prefix);
    char *at = xasprintf("%s/%s", dir, prefix);
    free(prefix);
    return at;
}

/* Partitions, unfiltereds and partition ends: the items a walk meets. */
static uint64_t count_items(const char *prefix) {
    sstable *s;
    assert_int_equal(sstable_open(prefix, &s), STRATA_OK);
    uint64_t n = 0;
    const sstable_partition *p;
    for (;;) {
        assert_int_equal(sstable_next_partition(s, &p), STRATA_OK);
        if (!p) break;
        n += 2;
        const sstable_unfiltered *u;
        for (;;) {
            assert_int_equal(sstable_next_unfiltered(s, &u), STRATA_OK);
            if (!u) break;
            n++;
        }
    }
    sstable_close(s);
    return n;
}

/* What a frame's header says (docs/FORMAT.md, codec 3): its prefix
 * length, its items count, whether its layout splits timeuuid clustering
 * values, and its sections: the header and each non-empty stream. */
typedef struct {
    uint64_t prefix, items;
    int splits_timeuuids;
    size_t sections;
} frame_header;

static frame_header frame_header_of(const strata_buf *frame) {
    frame_header h = {0};
    strata_reader rd;
    strata_reader_init(&rd, frame->data, frame->len);
    assert_int_equal(strata_read_u8(&rd), 1);
    strata_read_u8(&rd);
    for (int list = 0; list < 3; list++) {
        uint64_t n = strata_read_varint(&rd);
        for (uint64_t i = 0; i < n; i++)
            if (strata_read_zigzag(&rd) == REPO_LAYOUT_TIMEUUID && list == 0) h.splits_timeuuids = 1;
    }
    h.prefix = strata_read_varint(&rd);
    strata_read_u8(&rd);
    h.items = strata_read_varint(&rd);
    uint64_t streams = strata_read_varint(&rd);
    h.sections = 1;
    for (uint64_t i = 0; i < streams; i++) h.sections += strata_read_varint(&rd) > 0;
    assert_false(rd.failed);
    return h;
}

/* The blocks of the zstd frame of n bytes at p (RFC 8878): its header
 * (magic, descriptor, window, dictionary id and content size fields), then
 * blocks with 3-byte headers up to the one marked last. */
static size_t zstd_blocks(const uint8_t *p, size_t n) {
    assert_true(n >= 6 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd);
    uint8_t fhd = p[4];
    static const size_t dict_len[] = {0, 1, 2, 4}, fcs_len[] = {0, 2, 4, 8};
    int single_segment = fhd >> 5 & 1;
    size_t at = 5 + !single_segment + dict_len[fhd & 3] + (fhd >> 6 ? fcs_len[fhd >> 6] : (size_t)single_segment);
    size_t blocks = 0;
    for (int last = 0; !last;) {
        assert_true(at + 3 <= n);
        uint32_t b = p[at] | (uint32_t)p[at + 1] << 8 | (uint32_t)p[at + 2] << 16;
        last = b & 1;
        at += 3 + ((b >> 1 & 3) == 1 ? 1 : b >> 3);
        blocks++;
    }
    assert_true(at <= n);
    return blocks;
}

/* A chunk stored as row streams: the blocks of its zstd frame end at least
 * where the frame's sections do. */
static void check_blocks(const char *loc, const chunk_location *where) {
    char key[96];
    pack_key(where->pack, key);
    char *path = xasprintf("%s/%s", loc, key);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t *stored = xmalloc(where->stored_len);
    assert_int_equal(pread(fd, stored, where->stored_len, (off_t)where->offset), (ssize_t)where->stored_len);
    close(fd);
    free(path);
    unsigned long long len = ZSTD_getFrameContentSize(stored, where->stored_len);
    assert_true(len != ZSTD_CONTENTSIZE_ERROR && len != ZSTD_CONTENTSIZE_UNKNOWN);
    strata_buf frame;
    strata_buf_init(&frame);
    strata_buf_reserve(&frame, (size_t)len);
    assert_int_equal(ZSTD_decompress(frame.data, (size_t)len, stored, where->stored_len), len);
    frame.len = (size_t)len;
    size_t sections = frame_header_of(&frame).sections, blocks = zstd_blocks(stored, where->stored_len);
    if (blocks < sections) fail_msg("a frame of %zu sections stored in %zu zstd blocks", sections, blocks);
    strata_buf_free(&frame);
    free(stored);
}

/* Whether the layout has a timeuuid clustering column. */
static int layout_has_timeuuid(const repo_rows_layout *lay) {
    for (size_t i = 0; i < lay->nclustering; i++)
        if (lay->clustering_len[i] == REPO_LAYOUT_TIMEUUID) return 1;
    return 0;
}

typedef struct {
    uint64_t chunks, split;
} tally;

/* The sections of a frame: its header, then each stream it holds, back to
 * back, the last ending with the frame. */
static void sections_check(const rows_frame *frame, const char *src) {
    if (frame->n_ends < 2 || frame->ends[frame->n_ends - 1] != frame->bytes.len)
        fail_msg("%s: %zu sections, the last ending at %zu of %zu bytes", src, frame->n_ends,
                 frame->n_ends ? frame->ends[frame->n_ends - 1] : 0, frame->bytes.len);
    for (size_t i = 1; i < frame->n_ends; i++)
        if (frame->ends[i] <= frame->ends[i - 1]) fail_msg("%s: section %zu is empty or goes back", src, i);
}

/* Cuts the file into chunks of `piece` bytes (0: as the store does) and
 * checks every chunk the splitter takes joins back. */
static void cut_and_check(const layer_rows *lr, size_t piece, tally *t, const char *src) {
    rows_splitter *rs = rows_splitter_new(&lr->rows, REPO_FORMAT_VERSION);
    rows_frame frame;
    strata_buf back;
    strata_buf_init(&frame.bytes);
    strata_buf_init(&back);
    const uint8_t *data = lr->rows.data;
    uint64_t size = lr->rows.size, at = 0;
    while (at < size) {
        uint64_t left = size - at;
        size_t n = piece ? (size_t)(left < piece ? left : piece) : repo_chunk_boundary(data + at, (size_t)left);
        if (!n) n = (size_t)left;
        t->chunks++;
        if (rows_split(rs, at, (uint32_t)n, &frame)) {
            back.len = 0;
            strata_buf_reserve(&back, n);
            if (rows_join(frame.bytes.data, frame.bytes.len, back.data, (uint32_t)n) || memcmp(back.data, data + at, n))
                fail_msg("%s: the chunk at %llu (%zu bytes, pieces of %zu) does not join back", src,
                         (unsigned long long)at, n, piece);
            sections_check(&frame, src);
            t->split++;
        }
        at += n;
    }
    rows_splitter_free(rs);
    strata_buf_free(&frame.bytes);
    strata_buf_free(&back);
}

/* A frame cut short anywhere is refused. */
static void truncations_refused(const strata_buf *frame, uint32_t out_len) {
    uint8_t *out = xmalloc(out_len ? out_len : 1);
    for (size_t len = 0; len < frame->len; len++)
        if (rows_join(frame->data, len, out, out_len) != STRATA_ECORRUPT)
            fail_msg("a frame cut to %zu of %zu bytes was taken", len, frame->len);
    strata_clear_error();
    free(out);
}

static void test_corpus_chunks_join_back(void **state) {
    (void)state;
    assert_int_equal(nftw(CORPUS, collect, 32, FTW_PHYS), 0);
    assert_true(nfound > 100);
    tally cdc = {0}, small = {0}, odd = {0};
    size_t whole = 0, truncation_checks = 0, with_timeuuids = 0;
    for (size_t i = 0; i < nfound; i++) {
        char tmpl[] = "/tmp/strata-rows-XXXXXX";
        char *dir = mkdtemp(tmpl);
        assert_non_null(dir);
        if (sstable_writer_rewrite(found[i], dir, uncompressed, NULL, NULL)) {
            /* the writer test says which the writer refuses, and why */
            strata_clear_error();
            remove_dir(dir);
            continue;
        }
        char *prefix = rewritten_prefix(dir);
        uint64_t size;
        int fd = open_data(prefix, &size);
        layer_rows lr;
        if (size > 0) {
            if (size > largest_size) {
                free(largest_data);
                largest_data = xstrdup(found[i]);
                largest_size = size;
            }
            assert_true(layer_rows_open(prefix, fd, size, &lr));
            int timeuuids = layout_has_timeuuid(&lr.layout);
            with_timeuuids += (size_t)timeuuids;
            if (timeuuids && size > largest_timeuuid_size) {
                free(largest_timeuuid_data);
                largest_timeuuid_data = xstrdup(found[i]);
                largest_timeuuid_size = size;
            }
            /* the whole file as one chunk: every item, nothing left over */
            rows_splitter *rs = rows_splitter_new(&lr.rows, REPO_FORMAT_VERSION);
            rows_frame frame;
            strata_buf_init(&frame.bytes);
            if (!rows_split(rs, 0, (uint32_t)size, &frame)) fail_msg("%s: the whole file does not split", found[i]);
            sections_check(&frame, found[i]);
            frame_header h = frame_header_of(&frame.bytes);
            assert_int_equal(h.splits_timeuuids, timeuuids);
            if (h.prefix || h.items != count_items(prefix))
                fail_msg("%s: %llu items after %llu bytes, the reader finds %llu", found[i],
                         (unsigned long long)h.items, (unsigned long long)h.prefix,
                         (unsigned long long)count_items(prefix));
            if (frame.bytes.len < 4096 && truncation_checks < 20) {
                truncations_refused(&frame.bytes, (uint32_t)size);
                truncation_checks++;
            }
            whole++;
            rows_splitter_free(rs);
            strata_buf_free(&frame.bytes);
            cut_and_check(&lr, 0, &cdc, found[i]);
            cut_and_check(&lr, 4096, &small, found[i]);
            cut_and_check(&lr, 777, &odd, found[i]);
            layer_rows_close(&lr);
        }
        close(fd);
        free(prefix);
        remove_dir(dir);
    }
    printf("rows: %zu Data.db split whole (%zu clustered by timeuuids); chunks split: %llu of %llu as stored, %llu of %llu of 4 KiB, "
           "%llu of %llu of 777 bytes; %zu frames refused cut short\n",
           whole, with_timeuuids, (unsigned long long)cdc.split, (unsigned long long)cdc.chunks, (unsigned long long)small.split,
           (unsigned long long)small.chunks, (unsigned long long)odd.split, (unsigned long long)odd.chunks,
           truncation_checks);
    assert_true(whole > 100);
    assert_true(with_timeuuids > 0);
    assert_int_equal(cdc.split, cdc.chunks);
    assert_int_equal(small.split, small.chunks);
    /* a piece of 777 bytes often holds no whole item: the rows of many tables are longer */
    assert_true(odd.split * 3 > odd.chunks);
    for (size_t i = 0; i < nfound; i++) free(found[i]);
    free(found);
}

/* Stores the rewritten SSTable at `prefix` into a repository of format
 * `format` as a layer is stored; returns the bytes stored and, in *rows,
 * how many of its chunks are row streams.  Every chunk reads back with
 * its SHA-256 checked, before and after an index rebuild, and the
 * repository verifies clean. */
static uint64_t store_layer_data(const char *prefix, int format, uint32_t *rows) {
    char tmpl[] = "/tmp/strata-rows-repo-XXXXXX";
    char *loc = mkdtemp(tmpl);
    assert_non_null(loc);
    assert_int_equal(repo_init(loc), STRATA_OK);
    char *cmd = xasprintf("sed -i 's/\"version\": [0-9]*/\"version\": %d/' '%s/config'", format, loc);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    repo *r;
    assert_int_equal(repo_open(loc, REPO_WRITE, &r), STRATA_OK);
    uint64_t size;
    int fd = open_data(prefix, &size);
    layer_rows lr;
    assert_true(layer_rows_open(prefix, fd, size, &lr));
    repo_file rec = {.size = size};
    repo_pack_writer *w = repo_pack_writer_new(r);
    uint64_t stored = 0;
    repo_store_hints hints = {NULL, &lr.rows};
    assert_int_equal(repo_store_file_with(w, fd, &rec, &hints, NULL, &stored, NULL), STRATA_OK);
    assert_int_equal(repo_pack_writer_flush(w), STRATA_OK);
    repo_pack_writer_free(w);
    for (int pass = 0; pass < 2; pass++) {
        *rows = 0;
        uint64_t off = 0;
        strata_buf out;
        strata_buf_init(&out);
        for (uint32_t i = 0; i < rec.n_chunks; i++) {
            chunk_location loc_of;
            assert_int_equal(index_chunk_get(r, rec.chunks[i].id, &loc_of), STRATA_OK);
            *rows += loc_of.codec == CODEC_ROWS;
            if (loc_of.codec == CODEC_ROWS) check_blocks(loc, &loc_of);
            assert_int_equal(repo_read_chunk(r, rec.chunks[i].id, 1, &out), STRATA_OK);
            assert_int_equal(out.len, rec.chunks[i].size);
            assert_memory_equal(out.data, (const uint8_t *)lr.rows.data + off, out.len);
            off += out.len;
        }
        assert_int_equal(off, size);
        strata_buf_free(&out);
        if (!pass) assert_int_equal(repo_index_rebuild(r, NULL), STRATA_OK);
    }
    repo_verify_result res;
    assert_int_equal(repo_verify(r, NULL, NULL, NULL, NULL, &res), STRATA_OK);
    assert_int_equal(res.bad_chunks + res.missing_chunks + res.bad_objects, 0);
    layer_rows_close(&lr);
    close(fd);
    free(rec.chunks);
    repo_close(r);
    remove_dir(loc);
    return stored;
}

/* Rewrites the corpus SSTable of `data` uncompressed, as a layer is
 * written, into a new directory (*dir, to free and remove); returns the
 * rewritten SSTable's prefix. */
static char *rewrite_as_layer(const char *data, char **dir) {
    char tmpl[] = "/tmp/strata-rows-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    *dir = xstrdup(tmpl);
    assert_int_equal(sstable_writer_rewrite(data, *dir, uncompressed, NULL, NULL), STRATA_OK);
    return rewritten_prefix(*dir);
}

/* The largest Data.db of the corpus stored as a layer is: as row streams
 * in a repository of format 3, smaller than as zstd alone, which is how
 * a repository of format 2 stores it. */
static void test_store_as_row_streams(void **state) {
    (void)state;
    assert_non_null(largest_data);
    char *dir, *prefix = rewrite_as_layer(largest_data, &dir);
    uint32_t rows3, rows2;
    uint64_t stored3 = store_layer_data(prefix, 3, &rows3), stored2 = store_layer_data(prefix, 2, &rows2);
    printf("rows: %s (%llu bytes) stored in %llu bytes as row streams, %llu without\n", largest_data,
           (unsigned long long)largest_size, (unsigned long long)stored3, (unsigned long long)stored2);
    assert_true(rows3 > 0);
    assert_int_equal(rows2, 0);
    assert_true(stored3 < stored2);
    free(prefix);
    free(largest_data);
    remove_dir(dir);
    free(dir);
}

/* The corpus's largest Data.db clustered by timeuuids (rf3-a's readings) is
 * stored smaller in a repository of format 4, which splits those values
 * into their time and the rest, than in one of format 3, which keeps them
 * whole: the splitter gives each the frames it can read. */
static void test_timeuuids_split_from_format_4(void **state) {
    (void)state;
    assert_non_null(largest_timeuuid_data);
    char *dir, *prefix = rewrite_as_layer(largest_timeuuid_data, &dir);
    uint64_t size;
    int fd = open_data(prefix, &size);
    layer_rows lr;
    assert_true(layer_rows_open(prefix, fd, size, &lr));
    for (int format = 3; format <= 4; format++) {
        rows_splitter *rs = rows_splitter_new(&lr.rows, format);
        rows_frame frame;
        strata_buf_init(&frame.bytes);
        assert_true(rows_split(rs, 0, (uint32_t)size, &frame));
        assert_int_equal(frame_header_of(&frame.bytes).splits_timeuuids, format >= 4);
        rows_splitter_free(rs);
        strata_buf_free(&frame.bytes);
    }
    layer_rows_close(&lr);
    close(fd);
    uint32_t rows4, rows3;
    uint64_t stored4 = store_layer_data(prefix, 4, &rows4), stored3 = store_layer_data(prefix, 3, &rows3);
    printf("rows: %s (%llu bytes) stored in %llu bytes with its timeuuids split, %llu without\n",
           largest_timeuuid_data, (unsigned long long)largest_timeuuid_size, (unsigned long long)stored4,
           (unsigned long long)stored3);
    assert_true(rows4 > 0 && rows3 > 0);
    assert_true(stored4 < stored3);
    free(prefix);
    free(largest_timeuuid_data);
    remove_dir(dir);
    free(dir);
}

/* Frames that are not what the walk makes are refused, whatever bytes
 * they hold: no walk reads or writes past its frame and its chunk. */
static void test_malformed_frames_refused(void **state) {
    (void)state;
    uint8_t out[64];
    static const uint8_t version_2[] = {2, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    assert_int_equal(rows_join(version_2, sizeof version_2, out, 0), STRATA_ECORRUPT);
    /* one item, a partition header whose key length runs past its stream */
    static const uint8_t short_key[] = {1, 0, 0, 0, 0, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x20};
    assert_int_equal(rows_join(short_key, sizeof short_key, out, sizeof out), STRATA_ECORRUPT);
    /* streams that add up to more than the frame holds */
    static const uint8_t long_stream[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 50};
    assert_int_equal(rows_join(long_stream, sizeof long_stream, out, sizeof out), STRATA_ECORRUPT);
    /* a raw stream of 3 bytes for a chunk of 4 */
    static const uint8_t short_raw[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 3, 'a', 'b', 'c'};
    assert_int_equal(rows_join(short_raw, sizeof short_raw, out, 4), STRATA_ECORRUPT);
    assert_int_equal(rows_join(short_raw, sizeof short_raw, out, 3), STRATA_OK);
    assert_memory_equal(out, "abc", 3);
    strata_clear_error();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_chunks_join_back),
        cmocka_unit_test(test_store_as_row_streams),
        cmocka_unit_test(test_timeuuids_split_from_format_4),
        cmocka_unit_test(test_malformed_frames_refused),
    };
    return cmocka_run_group_tests_name("rows", tests, NULL, NULL);
}
