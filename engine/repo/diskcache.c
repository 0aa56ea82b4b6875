/* diskcache.c - a bounded on-disk copy of chunks read from a remote repository.
 *
 * A mount over object storage re-reads the same chunks across sessions
 * (every `cp` of a table, every restart); fetching them again costs
 * requests and bandwidth.  Chunks are kept in their stored form (as in the
 * pack) under <index dir>/chunks/<hh>/<id>, so a cache hit is decoded and
 * checked (XXH3, as every read) exactly like a fetched chunk, and a damaged
 * cache file is only a miss.  Files are written to a temporary name and
 * renamed; a hit refreshes the file's mtime, and when the total passes the
 * budget the least recently used files are removed down to 90% of it. */
#include "engine/repo/repo_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct disk_cache {
    char *dir;
    uint64_t max_bytes;
    uint64_t bytes; /* approximate: what this process added, plus the start */
    pthread_mutex_t lock;
};

typedef struct {
    char *path;
    uint64_t size;
    int64_t mtime_ns;
} cache_entry;

typedef struct {
    cache_entry *v;
    size_t n, cap;
    uint64_t bytes;
} entry_list;

static void list_dir(const char *dir, entry_list *l) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            free(path);
        } else if (S_ISDIR(st.st_mode)) {
            list_dir(path, l);
            free(path);
        } else {
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 256;
                l->v = xrealloc(l->v, l->cap * sizeof *l->v);
            }
            l->v[l->n++] = (cache_entry){path, (uint64_t)st.st_size,
                                         (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec};
            l->bytes += (uint64_t)st.st_size;
        }
    }
    closedir(d);
}

static void entry_list_free(entry_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].path);
    free(l->v);
}

static int older_first(const void *a, const void *b) {
    const cache_entry *x = a, *y = b;
    return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* Removes least recently used files until the cache holds at most 90% of
 * its budget; called with the lock held. */
static void evict(disk_cache *c) {
    entry_list l = {0};
    list_dir(c->dir, &l);
    if (l.n) qsort(l.v, l.n, sizeof *l.v, older_first);
    uint64_t goal = c->max_bytes / 10 * 9;
    for (size_t i = 0; i < l.n && l.bytes > goal; i++)
        if (unlink(l.v[i].path) == 0) l.bytes -= l.v[i].size;
    c->bytes = l.bytes;
    entry_list_free(&l);
}

static char *chunk_path(const disk_cache *c, const uint8_t id[STRATA_HASH_LEN]) {
    char hex[2 * STRATA_HASH_LEN + 1];
    strata_hex(id, STRATA_HASH_LEN, hex);
    return xasprintf("%s/%.2s/%s", c->dir, hex, hex);
}

disk_cache *disk_cache_new(const char *dir, uint64_t max_bytes) {
    disk_cache *c = xcalloc(1, sizeof *c);
    c->dir = xstrdup(dir);
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    mkdir(dir, 0755);
    pthread_mutex_lock(&c->lock);
    evict(c); /* also learns the current size */
    pthread_mutex_unlock(&c->lock);
    return c;
}

void disk_cache_free(disk_cache *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c);
}

int disk_cache_get(disk_cache *c, const uint8_t id[STRATA_HASH_LEN], uint8_t *out, size_t len) {
    char *path = chunk_path(c, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int hit = 0;
    if (fd >= 0) {
        hit = pread(fd, out, len, 0) == (ssize_t)len;
        if (hit) futimens(fd, NULL);
        close(fd);
    }
    free(path);
    return hit;
}

void disk_cache_drop(disk_cache *c, const uint8_t id[STRATA_HASH_LEN]) {
    char *path = chunk_path(c, id);
    unlink(path);
    free(path);
}

void disk_cache_put(disk_cache *c, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data, size_t len) {
    if (len > c->max_bytes / 4) return;
    char *path = chunk_path(c, id);
    char *tmp = xasprintf("%s.tmp-%d", path, (int)gettid());
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0755);
    *slash = '/';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    /* A cache that cannot be written (full disk) only means misses later. */
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0) close(fd);
    if (ok && rename(tmp, path) == 0) {
        pthread_mutex_lock(&c->lock);
        c->bytes += len;
        if (c->bytes > c->max_bytes) evict(c);
        pthread_mutex_unlock(&c->lock);
    } else {
        unlink(tmp);
    }
    free(tmp);
    free(path);
}
