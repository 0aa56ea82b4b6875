/* file.c - how the reader reaches the bytes of component files.
 *
 * Most SSTables are files on a local file system, but the backup also
 * reads SSTables it stored earlier, whose bytes live in repository chunks.
 * Every read of a component goes through an sstable_vfs (the local one
 * unless the caller gives another), so no decoder knows where bytes live. */
#include "engine/sstable/sstable_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void *local_open(void *ctx, const char *path, uint64_t *size) {
    (void)ctx;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        errno = err;
        return NULL;
    }
    *size = (uint64_t)st.st_size;
    int *h = xmalloc(sizeof *h);
    *h = fd;
    return h;
}

static ssize_t local_pread(void *ctx, void *file, void *buf, size_t n, uint64_t off) {
    (void)ctx;
    return pread(*(int *)file, buf, n, (off_t)off);
}

static void local_close(void *ctx, void *file) {
    (void)ctx;
    close(*(int *)file);
    free(file);
}

static const sstable_vfs local_vfs = {local_open, local_pread, local_close, NULL};

const sstable_vfs *sst_vfs_or_local(const sstable_vfs *vfs) { return vfs ? vfs : &local_vfs; }

strata_err sst_file_open(const sstable_vfs *vfs, const char *path, sst_file *f) {
    f->vfs = sst_vfs_or_local(vfs);
    f->path = path;
    f->size = 0;
    f->h = f->vfs->open(f->vfs->ctx, path, &f->size);
    if (!f->h) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s", path);
    return STRATA_OK;
}

strata_err sst_file_read(sst_file *f, void *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = f->vfs->pread(f->vfs->ctx, f->h, (uint8_t *)buf + got, n - got, off + got);
        if (r < 0) return strata_fail_errno(STRATA_EIO, errno, "%s: read at offset %llu", f->path,
                                            (unsigned long long)(off + got));
        if (r == 0) return strata_fail(STRATA_ECORRUPT, "%s: truncated at offset %llu", f->path,
                                       (unsigned long long)(off + got));
        got += (size_t)r;
    }
    return STRATA_OK;
}

void sst_file_close(sst_file *f) {
    if (f->h) f->vfs->close(f->vfs->ctx, f->h);
    f->h = NULL;
}

int sst_file_exists(const sstable_vfs *vfs, const char *path) {
    sst_file f;
    if (sst_file_open(vfs, path, &f)) {
        strata_clear_error();
        return 0;
    }
    sst_file_close(&f);
    return 1;
}

strata_err sst_read_file(const sstable_vfs *vfs, const char *path, uint8_t **out, size_t *len) {
    sst_file f;
    strata_err e = sst_file_open(vfs, path, &f);
    if (e) return e;
    if (f.size > SST_MAX_COMPONENT) {
        sst_file_close(&f);
        return strata_fail(STRATA_ENOMEM, "%s: %llu bytes is larger than the component limit", path,
                           (unsigned long long)f.size);
    }
    size_t n = (size_t)f.size;
    uint8_t *buf = xmalloc(n ? n : 1);
    e = sst_file_read(&f, buf, n, 0);
    sst_file_close(&f);
    if (e) {
        free(buf);
        return e;
    }
    *out = buf;
    *len = n;
    return STRATA_OK;
}
