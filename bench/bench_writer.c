/*
 * bench_writer - write throughput of strata's SSTable writer.
 *
 *   bench_writer OUTDIR keep|none|lz4|zstd SRC...
 *
 * For each SSTable SRC: one pass that only reads its partition stream, then
 * one that reads it and writes it again into OUTDIR (with the original's
 * compressor, or the one named), each timed in CPU seconds of this one
 * thread.  The writer's own cost is the difference; printed per SSTable and
 * in total as uncompressed MB (10^6 bytes), seconds and MB/s per core, with
 * the wall-clock rate of the whole rewrite (files synced) and the peak
 * resident memory, which must not grow with the partition size.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "engine/writer/writer.h"

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static strata_err read_only(const char *src, uint64_t *bytes) {
    sstable *s;
    strata_err e = sstable_open(src, &s);
    if (e) return e;
    const sstable_partition *p;
    const sstable_unfiltered *u;
    while (!(e = sstable_next_partition(s, &p)) && p)
        while (!(e = sstable_next_unfiltered(s, &u)) && u) {}
    *bytes = sstable_get_meta(s)->data_length;
    sstable_close(s);
    return e;
}

static strata_err rewrite(const char *src, const char *dir, const char *mode, long generation) {
    sstable *s;
    strata_err e = sstable_open(src, &s);
    if (e) return e;
    sstable_writer_params p;
    if ((e = sstable_writer_params_from(s, &p))) {
        sstable_close(s);
        return e;
    }
    p.dir = dir;
    p.generation = generation;
    if (strcmp(mode, "keep")) {
        p.compressor = !strcmp(mode, "lz4") ? "LZ4Compressor" : !strcmp(mode, "zstd") ? "ZstdCompressor" : NULL;
        p.compression_options = NULL;
        p.trailing_empty_chunk = 0;
        if (!p.chunk_length) p.chunk_length = 16384;
    }
    sstable_writer *w;
    if (!(e = sstable_writer_open(&p, &w))) {
        if ((e = sstable_writer_copy(s, w))) sstable_writer_abort(w);
        else e = sstable_writer_finish(w);
    }
    sstable_writer_params_free(&p);
    sstable_close(s);
    return e;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_writer OUTDIR keep|none|lz4|zstd SRC...\n");
        return 2;
    }
    double total_read = 0, total_rewrite = 0, total_wall = 0;
    uint64_t total_bytes = 0;
    for (int i = 3; i < argc; i++) {
        uint64_t bytes = 0;
        double c0 = cpu_seconds();
        if (read_only(argv[i], &bytes)) goto fail;
        double c1 = cpu_seconds();
        struct timeval t0, t1;
        gettimeofday(&t0, NULL);
        if (rewrite(argv[i], argv[1], argv[2], 100000 + i)) goto fail;
        gettimeofday(&t1, NULL);
        double c2 = cpu_seconds();
        double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6;
        double write = (c2 - c1) - (c1 - c0);
        printf("%-60.60s %9.1f MB  read %.3f s  rewrite %.3f s  write %.3f s  %.1f MB/s/core  (wall %.1f MB/s)\n",
               argv[i], (double)bytes / 1e6, c1 - c0, c2 - c1, write, write > 0 ? (double)bytes / 1e6 / write : 0,
               (double)bytes / 1e6 / wall);
        total_read += c1 - c0;
        total_rewrite += c2 - c1;
        total_wall += wall;
        total_bytes += bytes;
    }
    double write = total_rewrite - total_read;
    printf("TOTAL %s: %.1f MB written in %.3f CPU s (reading alone %.3f s): writer %.1f MB/s per core, "
           "read+write %.1f MB/s per core, wall %.1f MB/s, peak RSS %ld MB\n",
           argv[2], (double)total_bytes / 1e6, write, total_read, write > 0 ? (double)total_bytes / 1e6 / write : 0,
           (double)total_bytes / 1e6 / total_rewrite, (double)total_bytes / 1e6 / total_wall, peak_rss_mb());
    return 0;
fail:
    fprintf(stderr, "bench_writer: %s\n", strata_errmsg());
    return 1;
}
