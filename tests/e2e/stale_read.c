/* stale_read.c - an LD_PRELOAD shim for test_spool_stale_read.sh: reads
 * of a backup's spooled Data.db return its first byte changed, as a page
 * whose writeback failed and was read back from the disk would be stale.
 * Every read at offset 0 of such a file is changed alike, so the file looks
 * consistently stale to whoever reads it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static void make_stale(int fd, void *buf, ssize_t got, off_t off) {
    if (got <= 0 || off != 0) return;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = '\0';
    if (strstr(path, "/strata-layer-") && strstr(path, "-Data.db")) ((unsigned char *)buf)[0] ^= 0xff;
}

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);

/* The real `symbol` (found once into *real), its read made stale. */
static ssize_t read_stale(pread_fn *real, const char *symbol, int fd, void *buf, size_t count, off_t off) {
    if (!*real) *real = (pread_fn)dlsym(RTLD_NEXT, symbol);
    ssize_t got = (*real)(fd, buf, count, off);
    make_stale(fd, buf, got, off);
    return got;
}

ssize_t pread(int fd, void *buf, size_t count, off_t off) {
    static pread_fn real;
    return read_stale(&real, "pread", fd, buf, count, off);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t off) {
    static pread_fn real;
    return read_stale(&real, "pread64", fd, buf, count, off);
}
