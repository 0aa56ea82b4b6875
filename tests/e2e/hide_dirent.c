/* hide_dirent.c - an LD_PRELOAD library for the end-to-end tests:
 * readdir() leaves out the entry named $STRATA_TEST_HIDE of a table
 * directory, as a listing that runs while Cassandra renames a new
 * Statistics.db over the old one may (btrfs gives the new name a
 * directory index past the end the listing stops at).  Snapshot
 * directories, where nothing is renamed, are listed whole.  strata calls
 * readdir64 and coreutils readdir: both are defined, which
 * _FILE_OFFSET_BITS would prevent. */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hidden(DIR *d, const char *name) {
    const char *hide = getenv("STRATA_TEST_HIDE");
    if (!hide || strcmp(hide, name)) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd(d));
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 1;
    path[n] = 0;
    return !strstr(path, "/snapshots/");
}

struct dirent *readdir(DIR *d) {
    static struct dirent *(*next)(DIR *);
    if (!next) *(void **)&next = dlsym(RTLD_NEXT, "readdir");
    struct dirent *e;
    while ((e = next(d)) && hidden(d, e->d_name)) {}
    return e;
}

struct dirent64 *readdir64(DIR *d) {
    static struct dirent64 *(*next)(DIR *);
    if (!next) *(void **)&next = dlsym(RTLD_NEXT, "readdir64");
    struct dirent64 *e;
    while ((e = next(d)) && hidden(d, e->d_name)) {}
    return e;
}
