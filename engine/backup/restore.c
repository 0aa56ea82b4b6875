/* restore.c - writing a version's tables back.
 *
 * A reconciled table is restored as one directory of the cluster's data
 * (its layers and schema.cql), not per node: that is what the version
 * holds, and what one node's table directory or sstableloader takes.
 * Tables stored as the nodes' files, and with --node the files a backup
 * kept per node, are restored per node as the node held them.
 *
 * Each file is rebuilt from its chunks, every chunk checked against its
 * SHA-256 id, so a restore never silently writes wrong bytes.  Files are
 * written under a temporary name and renamed, so an interrupted restore
 * leaves no truncated SSTable component that looks complete; one stopped
 * through opt->cancel (Ctrl-C) removes its temporary files too.  A target
 * table directory holding other SSTables is refused before anything is
 * written, since Cassandra would load them with the restored ones.
 *
 * A layer's Index.db is stored as copies of its Data.db's bytes: it is
 * restored right after its Data.db, by the same worker, with those bytes
 * read from the Data.db just written rather than fetched again. */
#include "engine/backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_SUFFIX ".strata-tmp"

/* Without a node, a table as the version stores it: a reconciled one
 * through its layers (node ""), another through each node's files; the
 * replicas kept beside layers only when their node is asked for. */
static int selected(const restore_options *opt, const repo_version *v, const repo_file *f) {
    if (opt->keyspace && strcmp(opt->keyspace, f->keyspace)) return 0;
    if (opt->table && strcmp(opt->table, f->table)) return 0;
    if (opt->node) return !strcmp(opt->node, f->node);
    return !*f->node || !repo_version_table_summary(v, f->keyspace, f->table, f->table_id);
}

static char *target_dir(const restore_options *opt, const repo_file *f) {
    if (!*f->node) return xasprintf("%s/%s/%s", opt->to, f->keyspace, f->table);
    return xasprintf("%s/%s/%s/%s", opt->to, f->node, f->keyspace, f->table);
}

static char *target_path(const restore_options *opt, const repo_file *f) {
    char *dir = target_dir(opt, f);
    char *path = xasprintf("%s/%s", dir, f->rel_path);
    free(dir);
    return path;
}

static strata_err make_parent_dirs(const char *path) {
    char *p = xstrdup(path);
    strata_err e = STRATA_OK;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            e = strata_fail_errno(strata_err_from_errno(errno), errno, "creating %s", p);
        *s = '/';
        if (e) break;
    }
    free(p);
    return e;
}

static int interrupted(const restore_options *opt) {
    return opt->cancel && *opt->cancel;
}

/* A restored Data.db, whose chunks are the bases of its Index.db's. */
typedef struct {
    const repo_file *file;
    int fd;
} restored_base;

static int base_from_restored(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size) {
    const restored_base *b = ctx;
    if (repo_file_read_chunk_from(b->file, b->fd, id, buf, size) == STRATA_OK) return 1;
    strata_clear_error();
    return 0;
}

static strata_err write_chunks(repo *r, const restore_options *opt, const repo_file *f, const repo_base_source *src,
                               int fd, const char *path, strata_buf *chunk) {
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        if (interrupted(opt)) return strata_fail(STRATA_EINTR, "restore interrupted");
        strata_err e = repo_read_chunk_using(r, f->chunks[i].id, 1, src, chunk);
        if (e) return strata_fail(e, "%s: %s", path, strata_errmsg());
        e = strata_write_all(fd, chunk->data, chunk->len, path);
        if (e) return e;
    }
    return STRATA_OK;
}

/* Without --overwrite, a file in the way of the restore. */
static strata_err refuse_existing(const char *path) {
    struct stat st;
    if (lstat(path, &st) == 0)
        return strata_fail(STRATA_EEXIST, "%s already exists (use --overwrite to replace it)", path);
    return STRATA_OK;
}

/* Restores file f; `src` (may be NULL) has the bases of its chunks
 * stored as copies. */
static strata_err restore_file(repo *r, const restore_options *opt, const repo_file *f, const repo_base_source *src,
                               strata_buf *chunk) {
    char *path = target_path(opt, f);
    char *tmp = xasprintf("%s" TMP_SUFFIX, path);
    strata_err e = make_parent_dirs(path);
    /* checked before the restore began too; this one is for files made since */
    if (!e && !opt->overwrite) e = refuse_existing(path);
    int fd = -1;
    if (!e) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) e = strata_fail_errno(strata_err_from_errno(errno), errno, "creating %s", tmp);
    }
    if (!e) e = write_chunks(r, opt, f, src, fd, path, chunk);
    if (!e && fsync(fd) != 0) e = strata_fail_errno(strata_err_from_errno(errno), errno, "syncing %s", tmp);
    if (!e) {
        struct timespec times[2] = {{.tv_nsec = UTIME_OMIT},
                                    {.tv_sec = f->mtime_ns / 1000000000, .tv_nsec = f->mtime_ns % 1000000000}};
        fchmod(fd, f->mode & 07777 ? f->mode & 07777 : 0644);
        futimens(fd, times);
    }
    if (fd >= 0 && close(fd) != 0 && !e) e = strata_fail_errno(STRATA_EIO, errno, "closing %s", tmp);
    if (!e && rename(tmp, path) != 0) e = strata_fail_errno(STRATA_EIO, errno, "renaming %s", tmp);
    if (e && fd >= 0) unlink(tmp);
    free(tmp);
    free(path);
    return e;
}

typedef struct {
    repo *r;
    const restore_options *opt;
    const repo_version *v;
    size_t next; /* next file to consider, under lock */
    pthread_mutex_t lock;
    strata_err error;
    char error_msg[512];
    strata_progress *progress;
    uint64_t files, bytes;
} restore_job;

/* Under the lock: the job fails with the first error of its workers. */
static void keep_first_error(restore_job *job, strata_err e) {
    if (job->error) return;
    job->error = e;
    snprintf(job->error_msg, sizeof job->error_msg, "%s", strata_errmsg());
}

/* The file of f's SSTable whose name ends in `component` ("Data.db"), or
 * NULL. */
static const repo_file *sibling(const repo_version *v, const repo_file *f, const char *component) {
    if (!*f->sstable) return NULL;
    repo_file key = *f;
    key.rel_path = xasprintf("%s-%s", f->sstable, component);
    const repo_file *found = bsearch(&key, v->files, v->n_files, sizeof *v->files, repo_file_order);
    free(key.rel_path);
    return found;
}

static int is_component(const repo_file *f, const char *component) {
    size_t n = strlen(f->rel_path), c = strlen(component);
    return *f->sstable && n > c && f->rel_path[n - c - 1] == '-' && !strcmp(f->rel_path + n - c, component);
}

/* The next selected file not yet taken, or NULL when none is left, a
 * worker has failed or the restore is interrupted.  An Index.db is taken
 * with its Data.db. */
static const repo_file *take_file(restore_job *job) {
    const repo_file *f = NULL;
    pthread_mutex_lock(&job->lock);
    while (!job->error && job->next < job->v->n_files && !f) {
        if (interrupted(job->opt)) {
            keep_first_error(job, strata_fail(STRATA_EINTR, "restore interrupted"));
            break;
        }
        const repo_file *candidate = &job->v->files[job->next++];
        if (selected(job->opt, job->v, candidate) &&
            !(is_component(candidate, "Index.db") && sibling(job->v, candidate, "Data.db")))
            f = candidate;
    }
    pthread_mutex_unlock(&job->lock);
    return f;
}

static void *restore_worker(void *arg) {
    restore_job *job = arg;
    strata_buf chunk;
    strata_buf_init(&chunk);
    const repo_file *f;
    while ((f = take_file(job))) {
        strata_err e = restore_file(job->r, job->opt, f, NULL, &chunk);
        const repo_file *index = e || !is_component(f, "Data.db") ? NULL : sibling(job->v, f, "Index.db");
        restored_base base = {f, -1};
        repo_base_source src = {base_from_restored, &base};
        if (index) {
            char *path = target_path(job->opt, f);
            base.fd = open(path, O_RDONLY | O_CLOEXEC);
            free(path);
            e = restore_file(job->r, job->opt, index, base.fd >= 0 ? &src : NULL, &chunk);
            if (base.fd >= 0) close(base.fd);
        }
        pthread_mutex_lock(&job->lock);
        if (e) {
            keep_first_error(job, e);
        } else {
            job->files += 1 + (index != NULL);
            job->bytes += f->size + (index ? index->size : 0);
        }
        pthread_mutex_unlock(&job->lock);
        strata_progress_add(job->progress, f->size + (index ? index->size : 0));
    }
    strata_buf_free(&chunk);
    return NULL;
}

static int same_table_dir(const repo_file *a, const repo_file *b) {
    return !strcmp(a->node, b->node) && !strcmp(a->keyspace, b->keyspace) && !strcmp(a->table, b->table) &&
           !strcmp(a->table_id, b->table_id);
}

/* Counts the selected files, their bytes and the table directories they
 * make (files are sorted by node, keyspace, table, table id). */
static uint64_t count_selected(const restore_options *opt, const repo_version *v, restore_result *res,
                               uint64_t *bytes) {
    const repo_file *last = NULL;
    uint64_t files = 0;
    *bytes = 0;
    for (size_t i = 0; i < v->n_files; i++) {
        const repo_file *f = &v->files[i];
        if (!selected(opt, v, f)) continue;
        files++;
        *bytes += f->size;
        if (last && same_table_dir(last, f)) continue;
        if (*f->node) res->node_tables++;
        else res->reconciled_tables++;
        last = f;
    }
    return files;
}

static int has_node_files(const repo_version *v, const char *node) {
    for (size_t i = 0; i < v->n_files; i++)
        if (!strcmp(v->files[i].node, node)) return 1;
    return 0;
}

static int has_node(const repo_version *v, const char *node) {
    for (size_t i = 0; i < v->n_nodes; i++)
        if (!strcmp(v->nodes[i], node)) return 1;
    return 0;
}

/* Why nothing is selected, in the terms of what the version holds. */
static strata_err nothing_selected(const restore_options *opt, const repo_version *v) {
    if (opt->node && !has_node(v, opt->node))
        return strata_fail(STRATA_ENOENT, "version %s has no node %s", v->id, opt->node);
    if (opt->node && v->reconciled && !has_node_files(v, opt->node))
        return strata_fail(STRATA_ENOENT,
                           "version %s holds no files of node %s: it was backed up without --keep-replicas "
                           "(restore without --node writes its reconciled tables)",
                           v->id, opt->node);
    char *what = opt->keyspace ? xasprintf("%s%s%s", opt->keyspace, opt->table ? "." : "", opt->table ? opt->table : "")
                               : xstrdup("files");
    strata_err e = strata_fail(STRATA_ENOENT, "version %s holds no %s%s%s", v->id, what, opt->node ? " of node " : "",
                               opt->node ? opt->node : "");
    free(what);
    return e;
}

/* The selected files of one target table directory: files [start, end) of
 * v hold them all (v is sorted by node, keyspace, table), and the table ids
 * of a table share the directory. */
typedef struct {
    const restore_options *opt;
    const repo_version *v;
    size_t start, end;
    char *dir;
} target_table;

static int same_target_dir(const repo_file *a, const repo_file *b) {
    return !strcmp(a->node, b->node) && !strcmp(a->keyspace, b->keyspace) && !strcmp(a->table, b->table);
}

static int restores(const target_table *t, const char *rel_path) {
    for (size_t i = t->start; i < t->end; i++)
        if (!strcmp(t->v->files[i].rel_path, rel_path) && selected(t->opt, t->v, &t->v->files[i])) return 1;
    return 0;
}

/* Our own temporary files, left by an interrupted restore, and
 * Cassandra's, which a node deletes when it starts, are no component
 * Cassandra loads. */
static int foreign_sstable(const target_table *t, const char *name, const char *rel_path) {
    sstable_name sn;
    if (sstable_name_parse(name, &sn) || strata_ends_with(name, TMP_SUFFIX) || sstable_name_is_temporary(name))
        return 0;
    return !restores(t, rel_path);
}

/* Fails on the first SSTable component in the directory, or in its hidden
 * subdirectories where index SSTables live (sub names one), that the
 * restore does not write. */
static strata_err check_dir(const target_table *t, const char *sub) {
    char *dir = sub ? xasprintf("%s/%s", t->dir, sub) : xstrdup(t->dir);
    DIR *d = opendir(dir);
    strata_err e = STRATA_OK;
    /* Nothing there yet; a file in the way fails when the restore writes. */
    if (!d && errno != ENOENT && errno != ENOTDIR)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "cannot read %s", dir);
    struct dirent *de;
    while (d && !e && (errno = 0, de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        char *rel_path = sub ? xasprintf("%s/%s", sub, de->d_name) : xstrdup(de->d_name);
        if (S_ISDIR(st.st_mode) && !sub && de->d_name[0] == '.')
            e = check_dir(t, de->d_name);
        else if (!S_ISDIR(st.st_mode) && foreign_sstable(t, de->d_name, rel_path))
            e = strata_fail(STRATA_EEXIST,
                            "%s holds %s, an SSTable file not restored from version %s (Cassandra would load it "
                            "too): restore into an empty directory or remove such files first",
                            t->dir, rel_path, t->v->id);
        free(rel_path);
    }
    if (d && !e && errno) e = strata_fail_errno(strata_err_from_errno(errno), errno, "cannot read %s", dir);
    if (d) closedir(d);
    free(dir);
    return e;
}

/* Without --overwrite, the first file of the table that is already there:
 * refused now rather than after the other tables were written, which a
 * run again with --overwrite would then replace too. */
static strata_err check_existing(const target_table *t) {
    strata_err e = STRATA_OK;
    for (size_t i = t->start; !e && i < t->end; i++) {
        const repo_file *f = &t->v->files[i];
        if (!selected(t->opt, t->v, f)) continue;
        char *path = target_path(t->opt, f);
        e = refuse_existing(path);
        free(path);
    }
    return e;
}

/* Before anything is written: a table directory that keeps SSTables the
 * version does not hold (a newer restore's layers, say) would give import,
 * refresh or sstableloader other data than the version, whatever
 * --overwrite replaced; removing them is the operator's call, not ours. */
static strata_err check_targets(const restore_options *opt, const repo_version *v) {
    strata_err e = STRATA_OK;
    for (size_t i = 0; !e && i < v->n_files;) {
        if (!selected(opt, v, &v->files[i])) {
            i++;
            continue;
        }
        target_table t = {.opt = opt, .v = v, .start = i, .end = i + 1, .dir = target_dir(opt, &v->files[i])};
        while (t.end < v->n_files && same_target_dir(&v->files[i], &v->files[t.end])) t.end++;
        e = check_dir(&t, NULL);
        if (!e && !opt->overwrite) e = check_existing(&t);
        free(t.dir);
        i = t.end;
    }
    return e;
}

strata_err restore_run(repo *r, const restore_options *opt, restore_result *res) {
    memset(res, 0, sizeof *res);
    repo_version *v;
    strata_err e = repo_version_load(r, opt->version, &v);
    if (e) return e;
    snprintf(res->version, sizeof res->version, "%s", v->id);
    uint64_t total;
    if (!count_selected(opt, v, res, &total)) {
        e = nothing_selected(opt, v);
        repo_version_free(v);
        return e;
    }
    e = check_targets(opt, v);
    if (e) {
        repo_version_free(v);
        return e;
    }
    restore_job job = {.r = r, .opt = opt, .v = v, .progress = strata_progress_new("restore", total)};
    storage_traffic before, after;
    repo_get_traffic(r, &before);
    pthread_mutex_init(&job.lock, NULL);
    strata_run_parallel(opt->jobs > 0 ? opt->jobs : RESTORE_DEFAULT_JOBS, restore_worker, &job);
    repo_get_traffic(r, &after);
    res->fetched = (storage_traffic){after.requests - before.requests, after.bytes - before.bytes};
    strata_progress_done(job.progress);
    pthread_mutex_destroy(&job.lock);
    res->files = job.files;
    res->bytes = job.bytes;
    /* the files written are whole, but not every SSTable has all of its */
    if (job.error && job.files)
        e = strata_fail(job.error, "%s (%s holds part of the restore: %srun it again with --overwrite)", job.error_msg,
                        opt->to, job.error == STRATA_EINTR ? "" : "once the cause is fixed, ");
    else if (job.error)
        e = strata_fail(job.error, "%s", job.error_msg);
    repo_version_free(v);
    return e;
}
