/* storage_local.c - the local directory (or NFS mount) backend.
 *
 * An object is a file <root>/<key>.  A put writes <key>.tmp-<pid>-<n>,
 * fsyncs it, renames it over the key and fsyncs the directory, so a crash
 * at any point leaves either the old state or the complete object; stray
 * temporary files are ignored by listings and never read. */
#include "fetch/storage_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_MARK ".tmp-"

typedef struct {
    char *root;
} local_backend;

static char *object_path(storage *s, const char *key) {
    local_backend *b = s->backend;
    return xasprintf("%s/%s", b->root, key);
}

static strata_err make_parents(char *path) {
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(path, 0755);
        int err = errno;
        *p = '/';
        if (rc != 0 && err != EEXIST)
            return strata_fail_errno(strata_err_from_errno(err), err, "creating directory for %s",
                                     path);
    }
    return STRATA_OK;
}

static void fsync_parent(const char *path) {
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Large page-aligned objects (packs) are written with O_DIRECT: copying
 * them into the page cache was the largest single CPU cost of a backup,
 * and nothing reads a pack back soon after writing it.  Returns 0 when the
 * whole object was written, -1 when this file system or buffer does not
 * allow it (the caller then writes it the ordinary way, from the start). */
#define DIRECT_ALIGN 4096
#define DIRECT_MIN (1u << 20)
static int write_direct(int fd, const void *data, size_t len) {
    if (len < DIRECT_MIN || (uintptr_t)data % DIRECT_ALIGN) return -1;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return -1;
    size_t aligned = len / DIRECT_ALIGN * DIRECT_ALIGN, done = 0;
    while (done < aligned) {
        ssize_t n = pwrite(fd, (const uint8_t *)data + done, aligned - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (size_t)n % DIRECT_ALIGN) break;
        done += (size_t)n;
    }
    int ok = done == aligned && fcntl(fd, F_SETFL, flags) == 0;
    for (size_t off = aligned; ok && off < len;) {
        ssize_t n = pwrite(fd, (const uint8_t *)data + off, len - off, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = 0;
        else off += (size_t)n;
    }
    if (ok) return 0;
    fcntl(fd, F_SETFL, flags);
    return ftruncate(fd, 0) == 0 ? -1 : -2;
}

static strata_err local_put(storage *s, const char *key, const void *data, size_t len) {
    static unsigned long counter;
    char *path = object_path(s, key);
    char *tmp = xasprintf("%s" TMP_MARK "%d-%lu", path, (int)getpid(),
                          __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    strata_err e = make_parents(path);
    int fd = -1;
    if (!e) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) e = strata_fail_errno(strata_err_from_errno(errno), errno, "creating %s", tmp);
    }
    int direct = e ? -1 : write_direct(fd, data, len);
    if (direct == -2) e = strata_fail_errno(STRATA_EIO, errno, "truncating %s", tmp);
    if (!e && direct != 0) e = strata_write_all(fd, data, len, tmp);
    if (!e && fsync(fd) != 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "syncing %s", tmp);
    if (fd >= 0 && close(fd) != 0 && !e)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "closing %s", tmp);
    if (!e && rename(tmp, path) != 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "renaming %s", tmp);
    if (e)
        unlink(tmp);
    else
        fsync_parent(path);
    free(tmp);
    free(path);
    return e;
}

static strata_err open_object(storage *s, const char *key, int *fd, uint64_t *size) {
    char *path = object_path(s, key);
    strata_err e = STRATA_OK;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "opening %s", path);
    else if (fstat(*fd, &st) != 0)
        e = strata_fail_errno(STRATA_EIO, errno, "stat %s", path);
    else
        *size = (uint64_t)st.st_size;
    if (e && *fd >= 0) close(*fd);
    free(path);
    return e;
}

static strata_err read_at(int fd, uint64_t offset, size_t len, void *out, const char *key) {
    uint8_t *p = out;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return strata_fail_errno(STRATA_EIO, errno, "reading object %s", key);
        if (n == 0) return strata_fail(STRATA_ECORRUPT, "object %s is truncated", key);
        p += n;
        offset += (uint64_t)n;
        len -= (size_t)n;
    }
    return STRATA_OK;
}

static strata_err local_get(storage *s, const char *key, strata_buf *out) {
    int fd;
    uint64_t size;
    strata_err e = open_object(s, key, &fd, &size);
    if (e) return e;
    out->len = 0;
    strata_buf_reserve(out, size);
    e = read_at(fd, 0, size, out->data, key);
    if (!e) out->len = size, storage_count_fetch(s, size);
    close(fd);
    return e;
}

static strata_err local_get_range(storage *s, const char *key, uint64_t offset, size_t len,
                                  void *out) {
    int fd;
    uint64_t size;
    strata_err e = open_object(s, key, &fd, &size);
    if (e) return e;
    if (offset > size || len > size - offset)
        e = strata_fail(STRATA_ECORRUPT, "object %s: range %llu+%zu beyond its %llu bytes", key,
                        (unsigned long long)offset, len, (unsigned long long)size);
    else if (!(e = read_at(fd, offset, len, out, key)))
        storage_count_fetch(s, len);
    close(fd);
    return e;
}

/* Below this a mapping costs more than the copy it saves. */
#define VIEW_MAP_MIN (64u * 1024)

/* Maps just the range: mappings of whole packs would stay resident in the
 * process's accounting, and a range mapped only while it is read keeps the
 * SIGBUS window (see storage_view.c) that short.  A file system that
 * cannot map is read the ordinary way. */
static strata_err local_view(storage *s, const char *key, uint64_t offset, size_t len,
                             strata_buf *scratch, storage_view *out) {
    int fd;
    uint64_t size;
    strata_err e = open_object(s, key, &fd, &size);
    if (e) return e;
    if (offset > size || len > size - offset) {
        e = strata_fail(STRATA_ECORRUPT, "object %s: range %llu+%zu beyond its %llu bytes", key,
                        (unsigned long long)offset, len, (unsigned long long)size);
    } else {
        uint64_t start = offset - offset % (uint64_t)sysconf(_SC_PAGESIZE);
        size_t map_len = len + (size_t)(offset - start);
        void *map = len >= VIEW_MAP_MIN ? mmap(NULL, map_len, PROT_READ, MAP_SHARED, fd, (off_t)start)
                                        : MAP_FAILED;
        if (map != MAP_FAILED) {
            out->map = map;
            out->map_len = map_len;
            out->data = (const uint8_t *)map + (offset - start);
        } else {
            scratch->len = 0;
            strata_buf_reserve(scratch, len);
            e = read_at(fd, offset, len, scratch->data, key);
            if (!e) scratch->len = len;
            out->data = scratch->data;
        }
        out->len = len;
        if (!e) storage_count_fetch(s, len);
    }
    close(fd);
    return e;
}

static strata_err local_size(storage *s, const char *key, uint64_t *size) {
    char *path = object_path(s, key);
    struct stat st;
    strata_err e = STRATA_OK;
    if (stat(path, &st) != 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "stat %s", path);
    else
        *size = (uint64_t)st.st_size;
    free(path);
    return e;
}

/* Walks dir (whose key is `rel`, "" for the root) depth first. */
static strata_err walk(const char *dir, const char *rel, const char *prefix, storage_list_fn fn,
                       void *ctx) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return STRATA_OK;
        return strata_fail_errno(STRATA_EIO, errno, "listing %s", dir);
    }
    strata_err e = STRATA_OK;
    struct dirent *de;
    while (!e && (de = readdir(d))) {
        if (de->d_name[0] == '.' || strstr(de->d_name, TMP_MARK)) continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        char *key = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            e = strata_fail_errno(STRATA_EIO, errno, "stat %s", path);
        } else if (S_ISDIR(st.st_mode)) {
            size_t n = strlen(key);
            /* Descend only where keys below can still match the prefix. */
            if (!strncmp(key, prefix, n < strlen(prefix) ? n : strlen(prefix)))
                e = walk(path, key, prefix, fn, ctx);
        } else if (S_ISREG(st.st_mode) && !strncmp(key, prefix, strlen(prefix))) {
            if (fn(ctx, key, (uint64_t)st.st_size)) e = STRATA_EINTR;
        }
        free(key);
        free(path);
    }
    closedir(d);
    return e;
}

static strata_err local_list(storage *s, const char *prefix, storage_list_fn fn, void *ctx) {
    local_backend *b = s->backend;
    return walk(b->root, "", prefix, fn, ctx);
}

static void local_close(storage *s) {
    local_backend *b = s->backend;
    free(b->root);
    free(b);
}

static const storage_ops local_ops = {
    .put = local_put,
    .get = local_get,
    .get_range = local_get_range,
    .view = local_view,
    .size = local_size,
    .list = local_list,
    .close = local_close,
};

static int dir_is_empty(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

static strata_err prepare_dir(const char *dir, int create) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return strata_fail(STRATA_EINVAL, "%s is not a directory", dir);
        if (create && !dir_is_empty(dir))
            return strata_fail(STRATA_EEXIST, "%s exists and is not empty", dir);
        return STRATA_OK;
    }
    if (errno != ENOENT) return strata_fail_errno(STRATA_EIO, errno, "%s", dir);
    if (!create) return strata_fail(STRATA_ENOTREPO, "%s: no such repository", dir);
    char *path = xasprintf("%s/", dir);
    strata_err e = make_parents(path);
    free(path);
    return e;
}

strata_err storage_local_open(const char *dir, int create, storage **out) {
    strata_err e = prepare_dir(dir, create);
    if (e) return e;
    local_backend *b = xcalloc(1, sizeof *b);
    b->root = xstrdup(dir);
    size_t n = strlen(b->root);
    while (n > 1 && b->root[n - 1] == '/') b->root[--n] = '\0';
    storage *s = xcalloc(1, sizeof *s);
    s->ops = &local_ops;
    s->backend = b;
    s->description = xstrdup(b->root);
    s->local_index = xasprintf("%s/index", b->root);
    *out = s;
    return STRATA_OK;
}
