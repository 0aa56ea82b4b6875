/*
 * bench_writer - write throughput of strata's SSTable writer.
 *
 *   bench_writer OUTDIR keep|none|lz4|zstd SRC...
 *
 * For each SSTable SRC: a pass that only reads its partition stream, then
 * one that reads it and writes it again into OUTDIR (best of three each) (with the original's
 * compressor, or the one named), each timed in CPU seconds of this one
 * thread (named compressors are for bench_reader-grown inputs, whose keys
 * repeat, so the partition order check is left out for them).  The
 * writer's own cost is the difference; printed per SSTable and
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

typedef struct {
    const char *mode;
    long generation;
} choice;

static void adjust(sstable_writer_params *p, void *arg) {
    const choice *c = arg;
    p->generation = c->generation;
    if (!strcmp(c->mode, "keep")) return;
    /* grown inputs repeat their keys; an unchecked partitioner lets the
     * writer take them (the order check is one hash per partition) */
    p->partitioner = "org.apache.cassandra.dht.LocalPartitioner";
    sstable_writer_use_compressor(p, !strcmp(c->mode, "lz4")    ? "LZ4Compressor"
                                     : !strcmp(c->mode, "zstd") ? "ZstdCompressor"
                                                                : NULL);
}

static strata_err rewrite(const char *src, const char *dir, const char *mode, long generation) {
    choice c = {mode, generation};
    return sstable_writer_rewrite(src, dir, adjust, &c, NULL);
}

/* Deletes what rewrite() wrote, so repeated runs do not fill the disk. */
static void remove_output(const char *dir, const char *src, long generation) {
    static const char *const names[] = {"Data.db", "CompressionInfo.db", "CRC.db", "Index.db", "Summary.db",
                                        "Filter.db", "Statistics.db", "Digest.crc32", "TOC.txt"};
    const char *base = strrchr(src, '/');
    char version[3] = {base ? base[1] : 'n', base ? base[2] : 'b', 0};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *path = xasprintf("%s/%s-%ld-big-%s", dir, version, generation, names[i]);
        unlink(path);
        free(path);
    }
}

#define RUNS 3

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_writer OUTDIR keep|none|lz4|zstd SRC...\n");
        return 2;
    }
    double total_read = 0, total_rewrite = 0, total_wall = 0;
    uint64_t total_bytes = 0;
    for (int i = 3; i < argc; i++) {
        /* the best of RUNS runs of each pass: the machine is shared */
        uint64_t bytes = 0;
        double read = 1e9, rw = 1e9, wall = 1e9;
        for (int r = 0; r < RUNS; r++) {
            double c0 = cpu_seconds();
            if (read_only(argv[i], &bytes)) goto fail;
            double c1 = cpu_seconds();
            struct timeval t0, t1;
            gettimeofday(&t0, NULL);
            if (rewrite(argv[i], argv[1], argv[2], 100000 + i)) goto fail;
            gettimeofday(&t1, NULL);
            double c2 = cpu_seconds();
            remove_output(argv[1], argv[i], 100000 + i);
            double w = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6;
            if (c1 - c0 < read) read = c1 - c0;
            if (c2 - c1 < rw) rw = c2 - c1;
            if (w < wall) wall = w;
        }
        double write = rw - read;
        printf("%-60.60s %9.1f MB  read %.3f s  rewrite %.3f s  write %.3f s  %.1f MB/s/core  (wall %.1f MB/s)\n",
               argv[i], (double)bytes / 1e6, read, rw, write, write > 0 ? (double)bytes / 1e6 / write : 0,
               (double)bytes / 1e6 / wall);
        total_read += read;
        total_rewrite += rw;
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
