/* link.c - strata's own snapshot of a table: hard links.
 *
 * Like Cassandra's snapshot, every file of the table directory (and of
 * its .<index>/ subdirectories) is hard-linked into
 * <table dir>/snapshots/<tag>/, leaving out SSTables a flush or compaction
 * is still writing and temporary files (sstable_name_is_temporary).  Each
 * such directory is made under a temporary name naming its owner process
 * and holds an owner file (snapshot_owner.c), so that the snapshots of a
 * backup killed at any moment are found and removed by the next one. */
#include "engine/cluster/cluster_int.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void push(char ***v, size_t *n, char *s) {
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

/* Empties a snapshot directory strata made of its links and its index
 * subdirectories of links, nothing deeper, keeping the owner file. */
static int clear_snapshot_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno;
    int err = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, CLUSTER_SNAPSHOT_OWNER))
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        int rc = lstat(path, &st) ? errno : 0;
        if (!rc && S_ISDIR(st.st_mode)) {
            rc = clear_snapshot_dir(path);
            if (!rc && rmdir(path)) rc = errno;
        } else if (!rc)
            rc = unlink(path) ? errno : 0;
        if (rc && !err) err = rc;
        free(path);
    }
    closedir(d);
    return err;
}

/* Removes a snapshot directory strata made.  The owner file goes last, so
 * that a run killed halfway leaves a directory the next run still
 * recognises as a stale one of its own. */
static int remove_snapshot_dir(const char *dir) {
    int err = clear_snapshot_dir(dir);
    if (err == ENOENT) return 0;
    char *owner = xasprintf("%s/%s", dir, CLUSTER_SNAPSHOT_OWNER);
    if (!err && unlink(owner) && errno != ENOENT) err = errno;
    free(owner);
    if (!err && rmdir(dir)) err = errno;
    return err;
}

strata_err cluster_links_remove(cluster_links *made) {
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < made->n_dirs; i++) {
        int err = remove_snapshot_dir(made->dirs[i]);
        if (err && !e) e = strata_fail_errno(STRATA_EIO, err, "removing snapshot %s", made->dirs[i]);
        free(made->dirs[i]);
    }
    /* Another snapshot may live beside ours; then snapshots/ stays. */
    for (size_t i = 0; i < made->n_parents; i++) {
        if (rmdir(made->parents[i]) && errno != ENOTEMPTY && errno != EEXIST && !e)
            e = strata_fail_errno(STRATA_EIO, errno, "removing %s", made->parents[i]);
        free(made->parents[i]);
    }
    free(made->dirs);
    free(made->parents);
    memset(made, 0, sizeof *made);
    return e;
}

/* The failures after which reading in place is the right answer. */
static int links_impossible(int err) {
    return err == EXDEV || err == EPERM || err == EROFS || err == EACCES || err == EMLINK;
}

/* An SSTable component moved to another disk and linked back: the
 * snapshot links to where it lives, by its absolute path, since a relative
 * link would point elsewhere from the snapshot's directory.  Other links
 * (a backups/ folder on another disk) are no data, as directories are not;
 * a component linked to nothing is left for the scan to refuse. */
static int link_symlink(const char *name, const char *from, const char *to, char **failed) {
    sstable_name sn;
    if (sstable_name_parse(name, &sn)) return 0;
    char *target = realpath(from, NULL);
    if (!target && errno != ENOENT) return *failed = xstrdup(from), errno;
    /* a link to nothing is linked as it is, for the scan to name */
    int err = symlink(target ? target : from, to) ? errno : 0;
    if (err) *failed = xstrdup(to);
    free(target);
    return err;
}

/* Hard-links the file named `from` as `to`.  link(2) fails with ENOENT
 * also when a rename replaced the file between its lookup and the link
 * (the replaced file has no name left), as Cassandra replaces
 * Statistics.db; the name exists then, and is linked again.  0 also when
 * the name itself is gone (compacted away), or an errno value. */
static int link_component(const char *from, const char *to) {
    for (int attempt = 0; attempt < 1000; attempt++) {
        struct stat st;
        if (!link(from, to)) return 0;
        if (errno != ENOENT) return errno;
        if (lstat(from, &st)) return errno == ENOENT ? 0 : errno;
    }
    return EAGAIN;
}

/* Links the regular files (and symbolic links) of `src` into the existing
 * directory `dst`, and with `with_index_dirs` those of its .<index>/
 * subdirectories into new ones, leaving out SSTables Cassandra is still
 * writing and its temporary files.  Returns 0 or an errno value with
 * *failed set to the path concerned: EAGAIN when a transaction started,
 * grew or ended meanwhile, so that what was linked may not be one
 * consistent set.  A file gone meanwhile was compacted away and is not
 * part of the snapshot. */
static int link_files(const char *src, const char *dst, int with_index_dirs, char **failed) {
    cluster_txn_state before;
    cluster_names names = {0};
    int err = cluster_txn_read(src, &before);
    if (!err) err = cluster_dir_names(src, &names);
    if (err) {
        *failed = xstrdup(src);
        cluster_txn_free(&before);
        return err;
    }
    for (size_t i = 0; !err && i < names.n; i++) {
        const char *name = names.v[i];
        if (sstable_name_is_temporary(name)) continue;
        char *from = xasprintf("%s/%s", src, name);
        char *to = xasprintf("%s/%s", dst, name);
        struct stat st;
        if (lstat(from, &st)) {
            if (errno != ENOENT) err = errno, *failed = xstrdup(from);
        } else if (S_ISREG(st.st_mode)) {
            if (!cluster_txn_skip(&before, name) && (err = link_component(from, to))) *failed = xstrdup(from);
        } else if (S_ISLNK(st.st_mode)) {
            err = link_symlink(name, from, to, failed);
        } else if (S_ISDIR(st.st_mode) && with_index_dirs && name[0] == '.') {
            if (mkdir(to, 0755))
                err = errno, *failed = xstrdup(to);
            else
                err = link_files(from, to, 0, failed);
        }
        free(from);
        free(to);
    }
    cluster_names_free(&names);
    cluster_txn_state after;
    if (!err && !(err = cluster_txn_read(src, &after))) {
        if (!cluster_txn_same(&before, &after)) err = EAGAIN;
        cluster_txn_free(&after);
    }
    if (err && !*failed) *failed = xstrdup(src);
    cluster_txn_free(&before);
    return err;
}

/* Fills the empty snapshot directory `dir` of `table_dir`, starting over
 * while flushes and compactions change the table under it (each change
 * takes milliseconds; a busy table settles within a few attempts). */
static int fill_snapshot(const char *table_dir, const char *dir, char **failed) {
    for (int attempt = 1;; attempt++) {
        int err = link_files(table_dir, dir, 1, failed);
        if (err != EAGAIN || attempt == 20) return err;
        free(*failed);
        *failed = NULL;
        strata_sleep_s(0.02 * attempt);
        if ((err = clear_snapshot_dir(dir))) {
            *failed = xstrdup(dir);
            return err;
        }
    }
}

/* Makes snapshots/<tag> with its owner file in, atomically: under a
 * temporary name that names the owner, then renamed. */
static int make_snapshot_dir(const char *parent, const char *tag, const char *dir) {
    char *temp_name = cluster_owner_temp_name(tag);
    char *temp = xasprintf("%s/%s", parent, temp_name);
    free(temp_name);
    int err = mkdir(temp, 0755) ? errno : 0;
    if (!err && !(err = cluster_owner_write(temp)) && rename(temp, dir)) err = errno;
    if (err) remove_snapshot_dir(temp);
    free(temp);
    return err;
}

/* Removes the snapshots in `parent` (a table's snapshots/) that a killed
 * strata process left behind; returns 1 when nothing else is left in it
 * (then it is removed with our own snapshot: an empty snapshots/ is most
 * likely the killed run's too, and Cassandra makes it again as needed). */
static int remove_stale(const char *parent) {
    DIR *d = opendir(parent);
    if (!d) return 0;
    int others = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *dir = xasprintf("%s/%s", parent, de->d_name);
        if (!cluster_owner_is_stale(parent, de->d_name)) {
            others = 1;
        } else {
            int err = remove_snapshot_dir(dir);
            if (err) {
                strata_log(STRATA_LOG_WARN, "removing %s, left by an interrupted backup: %s", dir, strerror(err));
                others = 1;
            }
        }
        free(dir);
    }
    closedir(d);
    return !others;
}

strata_err cluster_link_table(const cluster_table_dir *t, const char *tag, cluster_links *made, int *impossible) {
    char *parent = xasprintf("%s/snapshots", t->path);
    char *dir = xasprintf("%s/%s", parent, tag);
    int err = 0;
    struct stat st;
    if (!mkdir(parent, 0755))
        push(&made->parents, &made->n_parents, xstrdup(parent));
    else if (errno != EEXIST)
        err = errno;
    else if (remove_stale(parent))
        push(&made->parents, &made->n_parents, xstrdup(parent));
    if (!err && !lstat(dir, &st)) {
        strata_err e = strata_fail(STRATA_EEXIST, "snapshot %s already exists", dir);
        free(dir);
        free(parent);
        return e;
    }
    if (!err) err = make_snapshot_dir(parent, tag, dir);
    if (err) {
        *impossible = links_impossible(err);
        strata_err e = strata_fail_errno(strata_err_from_errno(err), err, "cannot create %s", dir);
        free(dir);
        free(parent);
        return e;
    }
    free(parent);
    push(&made->dirs, &made->n_dirs, dir);
    char *failed = NULL;
    err = fill_snapshot(t->path, dir, &failed);
    strata_err e = STRATA_OK;
    if (err == EAGAIN)
        e = strata_fail(STRATA_EIO, "cannot snapshot %s: flushes or compactions kept changing it; try again", failed);
    else if (err) {
        *impossible = links_impossible(err);
        e = strata_fail_errno(strata_err_from_errno(err), err, "cannot snapshot %s", failed);
    }
    free(failed);
    return e;
}
