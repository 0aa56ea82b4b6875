/*
 * bench_reader - decode throughput of strata's SSTable reader.
 *
 *   bench_reader scan PATH...            read every partition, row and cell
 *   bench_reader grow SRC DST MB [lz4]   write DST (an nb SSTable prefix) whose
 *                                        Data.db repeats SRC's uncompressed
 *                                        content up to MB megabytes, stored
 *                                        uncompressed or in 16 KiB LZ4 chunks
 *   bench_reader widen SRC DST MB        write DST whose Data.db is SRC's last
 *                                        partition with its rows repeated up
 *                                        to MB megabytes: one wide partition
 *
 * scan prints, per SSTable and in total, the uncompressed Data.db bytes,
 * rows, cells, seconds, MB/s and rows/s of one thread (one core), and the
 * peak resident memory.  The reader checks neither partition nor row
 * order, so repeated content is a fair stand-in for a large SSTable or a
 * wide partition of the same shape.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <lz4.h>
#include <zlib.h>

#include "engine/sstable/sstable_int.h"

static int scan(int argc, char **argv) {
    uint64_t all_bytes = 0, all_rows = 0;
    double all_s = 0;
    for (int i = 0; i < argc; i++) {
        sstable *s;
        if (sstable_open(argv[i], &s)) {
            fprintf(stderr, "bench_reader: %s\n", strata_errmsg());
            return 1;
        }
        double t0 = strata_mono_s();
        uint64_t rows = 0, cells = 0;
        const sstable_partition *p;
        const sstable_unfiltered *u;
        strata_err e;
        while (!(e = sstable_next_partition(s, &p)) && p)
            while (!(e = sstable_next_unfiltered(s, &u)) && u) {
                rows++;
                cells += u->ncells;
            }
        double dt = strata_mono_s() - t0;
        if (e) {
            fprintf(stderr, "bench_reader: %s\n", strata_errmsg());
            return 1;
        }
        uint64_t bytes = sstable_get_meta(s)->data_length;
        printf("%-60s %10.1f MB %9llu rows %10llu cells %7.3f s %8.1f MB/s %11.0f rows/s\n", argv[i], bytes / 1e6,
               (unsigned long long)rows, (unsigned long long)cells, dt, bytes / 1e6 / dt, rows / dt);
        all_bytes += bytes, all_rows += rows, all_s += dt;
        sstable_close(s);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("TOTAL %.1f MB %llu rows %.3f s %.1f MB/s %.0f rows/s, peak RSS %ld KiB\n", all_bytes / 1e6,
           (unsigned long long)all_rows, all_s, all_bytes / 1e6 / all_s, all_rows / all_s, ru.ru_maxrss);
    return 0;
}

static void put_be(FILE *f, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) fputc((int)(v >> (8 * i)) & 0xff, f);
}

static int grow(const char *src, const char *dst, long mb, int lz4) {
    sstable *s;
    if (sstable_open(src, &s)) {
        fprintf(stderr, "bench_reader: %s\n", strata_errmsg());
        return 1;
    }
    size_t len = (size_t)s->data.data_length, avail;
    if (sst_data_fill(&s->data, len, &avail) || avail != len) {
        fprintf(stderr, "bench_reader: %s\n", strata_errmsg());
        return 1;
    }
    uint8_t *content = xmalloc(len);
    memcpy(content, s->data.win + s->data.cur, len);
    char *stats_src = xstrdup(sstable_component_path(s, "Statistics.db"));
    sstable_close(s);

    char *path = xasprintf("%sStatistics.db", dst);
    uint8_t *stats;
    size_t stats_len;
    if (sst_read_file(NULL, stats_src, &stats, &stats_len)) return 1;
    FILE *f = fopen(path, "wb");
    fwrite(stats, 1, stats_len, f);
    fclose(f);
    free(path);

    uint64_t total = (uint64_t)mb * 1000000 / len * len;
    path = xasprintf("%sData.db", dst);
    FILE *data = fopen(path, "wb");
    free(path);
    if (!lz4) {
        for (uint64_t off = 0; off < total; off += len) fwrite(content, 1, len, data);
        fclose(data);
    } else {
        const size_t chunk = 16384;
        uint8_t *plain = xmalloc(chunk), *packed = xmalloc((size_t)LZ4_compressBound((int)chunk) + 4);
        uint64_t nchunks = (total + chunk - 1) / chunk, pos = 0;
        uint64_t *offsets = xmalloc(nchunks * sizeof *offsets);
        for (uint64_t c = 0; c < nchunks; c++) {
            size_t n = total - c * chunk < chunk ? (size_t)(total - c * chunk) : chunk;
            for (size_t k = 0; k < n; k++) plain[k] = content[(c * chunk + k) % len];
            packed[0] = (uint8_t)n, packed[1] = (uint8_t)(n >> 8), packed[2] = (uint8_t)(n >> 16), packed[3] = 0;
            int z = LZ4_compress_default((const char *)plain, (char *)packed + 4, (int)n, LZ4_compressBound((int)chunk));
            offsets[c] = pos;
            fwrite(packed, 1, (size_t)z + 4, data);
            put_be(data, crc32(0, packed, (uInt)z + 4), 4);
            pos += (uint64_t)z + 8;
        }
        fclose(data);
        path = xasprintf("%sCompressionInfo.db", dst);
        FILE *ci = fopen(path, "wb");
        free(path);
        put_be(ci, 13, 2);
        fwrite("LZ4Compressor", 1, 13, ci);
        put_be(ci, 0, 4);
        put_be(ci, chunk, 4);
        put_be(ci, 0x7fffffff, 4);
        put_be(ci, total, 8);
        put_be(ci, nchunks, 4);
        for (uint64_t c = 0; c < nchunks; c++) put_be(ci, offsets[c], 8);
        fclose(ci);
        free(plain);
        free(packed);
        free(offsets);
    }
    free(content);
    free(stats);
    free(stats_src);
    return 0;
}

static int widen(const char *src, const char *dst, long mb) {
    sstable *s;
    if (sstable_open(src, &s)) {
        fprintf(stderr, "bench_reader: %s\n", strata_errmsg());
        return 1;
    }
    const sstable_partition *p;
    const sstable_unfiltered *u;
    uint64_t start = 0, first = 0, end = 0;
    while (!sstable_next_partition(s, &p) && p) {
        start = p->offset, first = 0;
        while (!sstable_next_unfiltered(s, &u) && u) {
            if (!first && u->kind == SSTABLE_ROW) first = u->offset;
            end = u->offset + u->raw_len;
        }
    }
    size_t avail;
    if (!first || sst_data_seek(&s->data, 0) || sst_data_fill(&s->data, (size_t)s->data.data_length, &avail)) {
        fprintf(stderr, "bench_reader: %s: no rows to repeat\n", src);
        return 1;
    }
    const uint8_t *d = s->data.win;
    char *path = xasprintf("%sData.db", dst);
    FILE *f = fopen(path, "wb");
    free(path);
    fwrite(d + start, 1, first - start, f);
    for (uint64_t done = 0; done < (uint64_t)mb * 1000000; done += end - first) fwrite(d + first, 1, end - first, f);
    fputc(1, f);
    fclose(f);
    uint8_t *stats;
    size_t stats_len;
    if (sst_read_file(NULL, sstable_component_path(s, "Statistics.db"), &stats, &stats_len)) return 1;
    path = xasprintf("%sStatistics.db", dst);
    f = fopen(path, "wb");
    free(path);
    fwrite(stats, 1, stats_len, f);
    fclose(f);
    free(stats);
    sstable_close(s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "scan")) return scan(argc - 2, argv + 2);
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "grow"))
        return grow(argv[2], argv[3], atol(argv[4]), argc == 6 && !strcmp(argv[5], "lz4"));
    if (argc == 5 && !strcmp(argv[1], "widen")) return widen(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: bench_reader scan PATH... | grow SRC DST MB [lz4] | widen SRC DST MB\n");
    return 2;
}
