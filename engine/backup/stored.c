/* stored.c - SSTables of earlier versions, read from the repository.
 *
 * A table's new layer is reconciled against the layers already stored,
 * which exist only as chunks in packs (perhaps in a bucket).  The reader
 * takes them through its vfs: a component path names a stored file, and
 * reads become chunk reads, so nothing is copied back to disk first. */
#include "engine/backup/backup_int.h"

#include <errno.h>
#include <string.h>

#define STORED_PREFIX "stored/"

struct stored_sstables {
    repo *r;
    const repo_file *const *files;
    size_t n;
    sstable_vfs vfs;
};

static void *stored_open(void *ctx, const char *path, uint64_t *size) {
    stored_sstables *s = ctx;
    size_t pl = strlen(STORED_PREFIX);
    if (strncmp(path, STORED_PREFIX, pl)) {
        errno = ENOENT;
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->files[i]->rel_path, path + pl)) continue;
        *size = s->files[i]->size;
        return repo_file_reader_open(s->r, s->files[i]);
    }
    errno = ENOENT;
    return NULL;
}

static ssize_t stored_pread(void *ctx, void *file, void *buf, size_t n, uint64_t off) {
    (void)ctx;
    size_t got;
    if (repo_file_reader_pread(file, buf, n, off, &got)) {
        strata_log(STRATA_LOG_WARN, "%s", strata_errmsg());
        errno = EIO;
        return -1;
    }
    return (ssize_t)got;
}

static void stored_close(void *ctx, void *file) {
    (void)ctx;
    repo_file_reader_close(file);
}

stored_sstables *stored_sstables_new(repo *r, const repo_file *const *files, size_t n) {
    stored_sstables *s = xcalloc(1, sizeof *s);
    s->r = r;
    s->files = files;
    s->n = n;
    s->vfs = (sstable_vfs){stored_open, stored_pread, stored_close, s};
    return s;
}

void stored_sstables_free(stored_sstables *s) { free(s); }

const sstable_vfs *stored_sstables_vfs(stored_sstables *s) { return &s->vfs; }

char *stored_sstables_path(const char *sstable) { return xasprintf(STORED_PREFIX "%s-", sstable); }
