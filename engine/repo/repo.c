/* repo.c - creating and opening repositories.
 *
 * The `config` object marks a location as a repository and fixes the
 * parameters that every stored byte depends on (format version, chunker).
 * Opening also brings the local index up to date: any pack or version
 * object it does not know yet (a run killed before indexing, another
 * machine writing, a deleted index) is read and indexed, under the writer
 * lock, so readers and writers always start from what is really stored. */
#include "engine/repo/repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNKER_NAME "fastcdc-gear64-v1"

static strata_err make_config(strata_buf *out) {
    uint8_t rnd[16];
    char hex[33];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
        if (fd >= 0) close(fd);
        return strata_fail_errno(STRATA_EIO, errno, "reading /dev/urandom");
    }
    close(fd);
    strata_hex(rnd, sizeof rnd, hex);
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i}", "format", "strata-repository",
                          "version", REPO_FORMAT_VERSION, "id", hex, "chunker", CHUNKER_NAME,
                          "chunk_min", REPO_CHUNK_MIN, "chunk_avg", REPO_CHUNK_AVG, "chunk_max",
                          REPO_CHUNK_MAX);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    strata_buf_put(out, text, strlen(text));
    strata_buf_put_u8(out, '\n');
    free(text);
    return STRATA_OK;
}

strata_err repo_init(const char *location) {
    storage *st;
    strata_err e = storage_create(location, &st);
    if (e) return e;
    strata_buf cfg;
    strata_buf_init(&cfg);
    e = make_config(&cfg);
    if (!e) e = storage_put(st, "config", cfg.data, cfg.len);
    strata_buf_free(&cfg);
    storage_close(st);
    return e;
}

static strata_err read_config(repo *r, const char *location) {
    strata_buf cfg;
    strata_buf_init(&cfg);
    strata_err e = storage_get(r->store, "config", &cfg);
    if (e == STRATA_ENOENT) e = strata_fail(STRATA_ENOTREPO, "%s is not a strata repository", location);
    json_t *j = NULL;
    if (!e) {
        j = json_loadb((const char *)cfg.data, cfg.len, 0, NULL);
        const char *format = json_string_value(json_object_get(j, "format"));
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *chunker = json_string_value(json_object_get(j, "chunker"));
        json_int_t version = json_integer_value(json_object_get(j, "version"));
        if (!format || strcmp(format, "strata-repository") || !id || strlen(id) != 32)
            e = strata_fail(STRATA_ENOTREPO, "%s: config is not a strata repository config", location);
        else if (version < REPO_FORMAT_OLDEST || version > REPO_FORMAT_VERSION || !chunker ||
                 strcmp(chunker, CHUNKER_NAME))
            e = strata_fail(STRATA_EFORMAT, "%s: repository format %lld is not supported", location,
                            (long long)version);
        else
            snprintf(r->id, sizeof r->id, "%s", id);
        r->format_version = (int)version;
    }
    json_decref(j);
    strata_buf_free(&cfg);
    return e;
}

static char *cache_index_dir(const char *id) {
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg) return xasprintf("%s/strata/%s", xdg, id);
    return xasprintf("%s/.cache/strata/%s", home && *home ? home : "/tmp", id);
}

/* Creates dir and its missing parents; 0, or the errno of the failure. */
static int make_dirs(const char *dir) {
    char *p = xstrdup(dir);
    int err = 0;
    for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
        if (s) *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            err = errno;
            break;
        }
        if (!s) break;
        *s = '/';
    }
    free(p);
    return err;
}

/* Two lock files in the index directory, both flock()ed exclusively:
 * write.lock, held by a writer (backup, index rebuild) for its whole run,
 * so that a second one fails at once; and index.lock, held by whoever
 * updates the index: a writer for its whole run, a reader only while it
 * indexes objects stored since.  A writer finding index.lock taken meets
 * a reader's sync, which ends on its own: it waits rather than fail. */
#define REPO_LOCK_WAIT_SECONDS 600

/* Opens (creating) the lock file `name` in the index directory into *fd,
 * creating the directory when missing; on failure records the error,
 * naming the path, and sets *err to its errno. */
static strata_err open_lock(repo *r, const char *name, int *fd, int *err) {
    if ((*err = make_dirs(r->index_dir)))
        return strata_fail_errno(strata_err_from_errno(*err), *err, "creating %s", r->index_dir);
    char *path = xasprintf("%s/%s", r->index_dir, name);
    strata_err e = STRATA_OK;
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        *err = errno, e = strata_fail_errno(strata_err_from_errno(errno), errno, "opening %s", path);
    free(path);
    return e;
}

/* Opens index.lock.  Where the repository's own index directory (`own`:
 * not one in the cache directory) cannot be written (read-only media,
 * another user's repository) a reader goes on without it, which only
 * orders updates of the index, and sets r->index_read_only: the index is
 * never synced. */
static strata_err open_lock_file(repo *r, const char *location, int own) {
    int err;
    strata_err e = open_lock(r, "index.lock", &r->lock_fd, &err);
    if (!e || !own || (err != EROFS && err != EACCES)) return e;
    if (r->mode != REPO_READ) return strata_fail_errno(STRATA_EIO, err, "%s cannot be written", location);
    strata_clear_error();
    r->index_read_only = 1;
    return STRATA_OK;
}

/* LOCK_EX on index.lock without blocking: a reader that finds it taken
 * leaves the index to its holder. */
static int try_lock(repo *r) {
    return flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0;
}

/* A writer's locks: write.lock at once, index.lock within
 * REPO_LOCK_WAIT_SECONDS. */
static strata_err take_writer_locks(repo *r, const char *location) {
    int err;
    strata_err e = open_lock(r, "write.lock", &r->writer_lock_fd, &err);
    if (!e && flock(r->writer_lock_fd, LOCK_EX | LOCK_NB) != 0)
        e = strata_fail(STRATA_ELOCKED, "%s is locked: another backup or index rebuild is running", location);
    if (e || try_lock(r)) return e;
    strata_log(STRATA_LOG_INFO, "waiting for a reader (a mount, a listing) to finish indexing %s", location);
    double until = strata_mono_s() + REPO_LOCK_WAIT_SECONDS;
    while (!try_lock(r)) {
        if (strata_mono_s() >= until)
            return strata_fail(STRATA_ELOCKED, "%s: a reader has been indexing it for %d s; try again later",
                               location, REPO_LOCK_WAIT_SECONDS);
        strata_sleep_s(0.05);
    }
    return STRATA_OK;
}

static strata_err rebuild_damaged_index(repo *r) {
    strata_log(STRATA_LOG_WARN, "%s; rebuilding the index from the stored objects", strata_errmsg());
    return repo_index_rebuild(r, NULL);
}

/* A reader that found index.lock held: when there is no index yet, its
 * holder is building the first one (a new repository or cache directory,
 * a deleted index), which the reader has to wait for, having nothing else
 * to read; or for the lock, should the builder die.  *locked says
 * whether it got the lock. */
static strata_err wait_for_first_index(repo *r, const char *location, int *locked) {
    double until = strata_mono_s() + REPO_LOCK_WAIT_SECONDS;
    for (int polls = 0;; polls++) {
        char *dir = index_current_dir(r->index_dir);
        int found = dir != NULL;
        free(dir);
        if (found || (*locked = try_lock(r))) return STRATA_OK;
        if (strata_mono_s() >= until)
            return strata_fail(STRATA_ELOCKED,
                               "%s: another process has been building its index for %d s; try again later",
                               location, REPO_LOCK_WAIT_SECONDS);
        if (!polls) strata_log(STRATA_LOG_INFO, "waiting for another process to build the index of %s", location);
        strata_sleep_s(0.05);
    }
}

/* Opens the index without index.lock: as it is, or only checked when it
 * cannot be written (syncing fails on what it lacks). */
static strata_err open_index_unlocked(repo *r) {
    strata_err e = index_open(r);
    return e || !r->index_read_only ? e : repo_sync_index(r);
}

/* Opens the index and, holding index.lock, brings it up to date; a
 * missing or damaged index is built from the objects beside it, for
 * readers to see only once whole. */
static strata_err open_index(repo *r, int locked) {
    if (!locked) return open_index_unlocked(r);
    index_remove_unused(r->index_dir);
    if (r->mode == REPO_REBUILD) return STRATA_OK;
    strata_err e = index_open(r);
    if (e == STRATA_ENOENT) {
        strata_clear_error();
        return repo_index_rebuild(r, NULL);
    }
    if (e == STRATA_ECORRUPT) return rebuild_damaged_index(r);
    if (!e) e = repo_sync_index(r);
    if (e == STRATA_ECORRUPT && r->ix.broken) e = rebuild_damaged_index(r);
    return e;
}

/* Takes the lock and opens the index in r->index_dir (`own`: the
 * repository's, not one in the cache directory). */
static strata_err open_index_dir(repo *r, const char *location, int own) {
    strata_err e = open_lock_file(r, location, own);
    int locked = 0;
    if (!e && r->mode != REPO_READ) {
        e = take_writer_locks(r, location);
        locked = !e;
    } else if (!e && !r->index_read_only) {
        locked = try_lock(r);
        if (!locked) e = wait_for_first_index(r, location, &locked);
    }
    /* Readers sync only when no writer is active; a writer indexes its own
     * work. */
    if (!e) e = open_index(r, locked);
    if (locked && r->mode == REPO_READ) flock(r->lock_fd, LOCK_UN);
    return e;
}

/* A local repository whose own index cannot be written and is missing,
 * damaged or behind the objects: readers index it in the cache directory
 * instead, as a remote repository is. */
static strata_err open_cache_index(repo *r, const char *location) {
    index_close(r);
    free(r->index_dir);
    r->index_dir = cache_index_dir(r->id);
    r->index_read_only = 0;
    strata_log(STRATA_LOG_WARN, "%s; indexing %s in %s", strata_errmsg(), location, r->index_dir);
    return open_index_dir(r, location, 0);
}

strata_err repo_open(const char *location, repo_mode mode, repo **out) {
    repo *r = xcalloc(1, sizeof *r);
    r->mode = mode;
    r->lock_fd = -1;
    r->writer_lock_fd = -1;
    r->pending = pending_set_new();
    pthread_mutex_init(&r->dctx_lock, NULL);
    base_cache_init(&r->bases);
    pthread_mutex_init(&r->refresh_lock, NULL);
    /* index calls never nest, and readers that kept coming would hold
     * off a reopen for good */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&r->ix_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    r->refreshed_at = strata_mono_s();
    strata_err e = storage_open(location, &r->store);
    if (!e) e = read_config(r, location);
    if (!e) {
        const char *local = storage_local_index_dir(r->store);
        r->index_dir = local ? xstrdup(local) : cache_index_dir(r->id);
        e = open_index_dir(r, location, local != NULL);
        if (e && r->index_read_only && local) e = open_cache_index(r, location);
    }
    /* A reader that cannot sync (a full disk) still reads what the index
     * has: verify and restore must work exactly then.  An index no sync
     * ever completed into (a new cache directory) would show a repository
     * without versions instead of an error. */
    if (e && e != STRATA_ECORRUPT && mode == REPO_READ && r->ix.env && index_was_synced(r)) {
        strata_log(STRATA_LOG_WARN, "%s; using the index as it is", strata_errmsg());
        e = STRATA_OK;
    }
    if (!e && mode == REPO_WRITE) r->flusher = flusher_new(r);
    if (e) {
        repo_close(r);
        return e;
    }
    *out = r;
    return STRATA_OK;
}

int repo_refreshes(const repo *r) {
    return r->mode == REPO_READ && !r->index_read_only;
}

/* Holding index.lock, no writer is running: an index rebuilt since is
 * whole, and the sync adds what was stored after it. */
strata_err repo_refresh(repo *r) {
    if (!repo_refreshes(r)) return STRATA_OK;
    if (pthread_mutex_trylock(&r->refresh_lock)) return STRATA_OK; /* another thread is at it */
    strata_err e = STRATA_OK;
    double now = strata_mono_s();
    if (now - r->refreshed_at >= REPO_REFRESH_SECONDS && try_lock(r)) {
        int reopened;
        e = index_reopen_if_replaced(r, &reopened);
        if (!e && reopened)
            e = repo_sync_index(r);
        else if (!e && !storage_local_index_dir(r->store))
            e = sync_new_versions(r);
        flock(r->lock_fd, LOCK_UN);
        /* from the end: a sync the endpoint kept waiting is not started again at once */
        r->refreshed_at = strata_mono_s();
    }
    pthread_mutex_unlock(&r->refresh_lock);
    return e;
}

void repo_abandon_requests(repo *r) {
    storage_abandon(r->store);
}

void repo_close(repo *r) {
    if (!r) return;
    flusher_free(r->flusher);
    disk_cache_free(r->disk_cache);
    index_close(r);
    if (r->lock_fd >= 0) close(r->lock_fd);
    if (r->writer_lock_fd >= 0) close(r->writer_lock_fd);
    storage_close(r->store);
    pending_set_free(r->pending);
    pack_free_dctx_spares(r);
    pthread_mutex_destroy(&r->dctx_lock);
    base_cache_free(&r->bases);
    pthread_mutex_destroy(&r->refresh_lock);
    pthread_rwlock_destroy(&r->ix_lock);
    free(r->index_dir);
    free(r);
}

void repo_enable_disk_cache(repo *r, uint64_t max_bytes) {
    if (r->disk_cache || !max_bytes || storage_local_index_dir(r->store)) return;
    char *dir = xasprintf("%s/chunks", r->index_dir);
    r->disk_cache = disk_cache_new(dir, max_bytes);
    free(dir);
}

const char *repo_work_dir(const repo *r) { return r->index_dir; }

void repo_get_traffic(const repo *r, storage_traffic *out) { storage_get_traffic(r->store, out); }
