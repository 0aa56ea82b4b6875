/* gen_files.c - the SSTables of a table directory: listing, sizes,
 * generations, removal.
 *
 * Flushes and compactions of a node take the next generation of the
 * table's directory, and the size of the data set is the bytes of its
 * SSTables, so both are read from the directory itself; that way --next
 * and --compact work on whatever a data set holds now. */
#include "tools/gen/gen.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/cluster/cluster.h"

strata_err gen_mkdirs(const char *path) {
    char *p = xstrdup(path);
    strata_err e = STRATA_OK;
    for (char *s = p + 1; !e; s++) {
        if (*s && *s != '/') continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) e = strata_fail_errno(STRATA_EIO, errno, "mkdir %s", p);
        *s = c;
        if (!c) break;
    }
    free(p);
    return e;
}

static int long_cmp(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

size_t gen_generations(const char *dir, long **out) {
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    *out = NULL;
    while (d && (e = readdir(d))) {
        sstable_name name;
        if (sstable_name_parse(e->d_name, &name) || strcmp(name.component, "Data.db")) continue;
        *out = xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = strtol(name.generation, NULL, 10);
    }
    if (d) closedir(d);
    if (n) qsort(*out, n, sizeof **out, long_cmp);
    return n;
}

long gen_next_generation(const char *dir) {
    long *g;
    size_t n = gen_generations(dir, &g);
    long next = n ? g[n - 1] + 1 : 1;
    free(g);
    return next;
}

/* The bytes of the component files of SSTable `generation` in dir, which
 * are removed when `remove` is set. */
static uint64_t each_component(const char *dir, long generation, int remove) {
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t bytes = 0;
    char gen[32];
    snprintf(gen, sizeof gen, "%ld", generation);
    while (d && (e = readdir(d))) {
        sstable_name name;
        if (sstable_name_parse(e->d_name, &name) || strcmp(name.generation, gen)) continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (!stat(path, &st)) bytes += (uint64_t)st.st_size;
        if (remove) unlink(path);
        free(path);
    }
    if (d) closedir(d);
    return bytes;
}

uint64_t gen_sstable_bytes(const char *dir, long generation) { return each_component(dir, generation, 0); }

void gen_sstable_remove(const char *dir, long generation) { each_component(dir, generation, 1); }

uint64_t gen_keyspace_bytes(const char *dir, int nodes) {
    uint64_t total = 0;
    for (int k = 1; k <= nodes; k++) {
        char *ks = xasprintf("%s/node%d/" GEN_KEYSPACE, dir, k);
        DIR *d = opendir(ks);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char *tdir = xasprintf("%s/%s", ks, e->d_name);
            long *g;
            size_t n = gen_generations(tdir, &g);
            for (size_t i = 0; i < n; i++) total += gen_sstable_bytes(tdir, g[i]);
            free(g);
            free(tdir);
        }
        if (d) closedir(d);
        free(ks);
    }
    return total;
}
