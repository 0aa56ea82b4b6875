/* fuzz_sstable_files.h - for the fuzz targets that edit real SSTables:
 * their Data.db is loaded uncompressed, through the reader itself, so
 * that edits reach the row and cell decoders instead of failing the
 * compression checks, and edited components are written back to files. */
#ifndef STRATA_FUZZ_SSTABLE_FILES_H
#define STRATA_FUZZ_SSTABLE_FILES_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sstable/sstable_int.h"

/* The uncompressed content of the Data.db at `path` in *out (*len bytes). */
static inline int fuzz_load_data(const char *path, uint8_t **out, size_t *len) {
    sstable *s;
    if (sstable_open(path, &s)) return -1;
    size_t total = (size_t)s->data.data_length, avail;
    int r = -1;
    if (!sst_data_fill(&s->data, total, &avail) && avail == total) {
        *out = xmalloc(total + 1);
        memcpy(*out, s->data.win + s->data.cur, total);
        *len = total;
        r = 0;
    }
    sstable_close(s);
    return r;
}

/* Statistics.db as it is and Data.db uncompressed of the SSTable whose
 * Data.db is at `path`. */
static inline int fuzz_load_sstable(const char *path, uint8_t **stats, size_t *stats_len, uint8_t **data,
                                    size_t *data_len) {
    size_t n = strlen(path) - strlen("Data.db");
    char *stats_path = xasprintf("%.*sStatistics.db", (int)n, path);
    int r = sst_read_file(NULL, stats_path, stats, stats_len) || fuzz_load_data(path, data, data_len) ? -1 : 0;
    strata_clear_error();
    free(stats_path);
    return r;
}

static int fuzz_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag;
    if (ftw->level > 0) remove(path);
    return 0;
}

/* Removes everything under `dir`, which stays: a run leaves no file in
 * /dev/shm, which is memory (libFuzzer ends the process without running
 * exit handlers, so the last run's files would stay). */
static inline void fuzz_clear_dir(const char *dir) {
    nftw(dir, fuzz_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new directory for the target's files: in /dev/shm when it can be. */
static inline void fuzz_temp_dir(char dir[64], const char *target) {
    snprintf(dir, 64, "/dev/shm/%s-XXXXXX", target);
    if (mkdtemp(dir)) return;
    snprintf(dir, 64, "/tmp/%s-XXXXXX", target);
    if (!mkdtemp(dir)) abort();
}

static inline void fuzz_write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

#endif
