/* snapshot.c - holding a node's SSTables still while they are read.
 *
 * Cassandra deletes SSTables once compaction has replaced them, so a
 * backup that reads the live directory can lose a file halfway.  A
 * snapshot is a set of hard links in <table dir>/snapshots/<tag>/: the
 * inodes stay alive whatever compaction does.  Either the operator's
 * snapshot_cmd makes it (nodetool snapshot, possibly over ssh) or strata
 * makes the links itself, mirroring the .<index>/ subdirectories.  When
 * links cannot be made (read-only or foreign file system, no permission)
 * the files are read in place, which is what a copy-based tool does, with
 * one warning so the operator knows the snapshot guarantee is gone. */
#include "engine/cluster/cluster_int.h"

#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct cluster_snapshot {
    char *node;
    char *clear_cmd;     /* clear_snapshot_cmd with the tag in, NULL: none */
    char **own_dirs;     /* <table dir>/snapshots/<tag> that strata made */
    size_t n_own_dirs;
    char **own_parents;  /* <table dir>/snapshots that strata made */
    size_t n_own_parents;
    cluster_file_list files;
};

static char *with_tag(const char *cmd, const char *tag) {
    strata_buf b;
    strata_buf_init(&b);
    for (const char *p = cmd; *p;) {
        if (!strncmp(p, "{tag}", 5)) {
            strata_buf_put(&b, tag, strlen(tag));
            p += 5;
        } else {
            strata_buf_put(&b, p++, 1);
        }
    }
    strata_buf_put_u8(&b, 0);
    return (char *)b.data;
}

/* Runs `cmd` through /bin/sh with its standard output sent to standard
 * error, so nodetool's chatter never mixes with strata's own output. */
static strata_err run_command(const char *what, const char *cmd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return strata_fail_errno(STRATA_EIO, rc, "cannot run %s", what);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return strata_fail_errno(STRATA_EIO, errno, "waiting for %s", what);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return STRATA_OK;
    if (WIFEXITED(status))
        return strata_fail(STRATA_EIO, "%s exited with status %d: %s", what, WEXITSTATUS(status), cmd);
    return strata_fail(STRATA_EIO, "%s killed by signal %d: %s", what, WTERMSIG(status), cmd);
}

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

static strata_err remove_own_links(cluster_snapshot *s) {
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < s->n_own_dirs; i++) {
        int err = remove_snapshot_dir(s->own_dirs[i]);
        if (err && !e) e = strata_fail_errno(STRATA_EIO, err, "removing snapshot %s", s->own_dirs[i]);
        free(s->own_dirs[i]);
    }
    /* Another snapshot may live beside ours; then snapshots/ stays. */
    for (size_t i = 0; i < s->n_own_parents; i++) {
        if (rmdir(s->own_parents[i]) && errno != ENOTEMPTY && errno != EEXIST && !e)
            e = strata_fail_errno(STRATA_EIO, errno, "removing %s", s->own_parents[i]);
        free(s->own_parents[i]);
    }
    s->n_own_dirs = s->n_own_parents = 0;
    return e;
}

/* The failures after which reading in place is the right answer. */
static int links_impossible(int err) {
    return err == EXDEV || err == EPERM || err == EROFS || err == EACCES || err == EMLINK;
}

/* Links the regular files of `src` into the existing directory `dst`, and
 * with `with_index_dirs` those of its .<index>/ subdirectories into new
 * ones, leaving out SSTables Cassandra is still writing.  Returns 0 or an
 * errno value with *failed set to the path concerned: EAGAIN when a
 * transaction started, grew or ended meanwhile, so that what was linked
 * may not be one consistent set.  A file gone meanwhile was compacted
 * away and is not part of the snapshot. */
static int link_files(const char *src, const char *dst, int with_index_dirs, char **failed) {
    cluster_txn_state before;
    int err = cluster_txn_read(src, &before);
    DIR *d = err ? NULL : opendir(src);
    if (!d) {
        if (!err) err = errno;
        *failed = xstrdup(src);
        cluster_txn_free(&before);
        return err;
    }
    struct dirent *de;
    while (!err && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *from = xasprintf("%s/%s", src, de->d_name);
        char *to = xasprintf("%s/%s", dst, de->d_name);
        struct stat st;
        if (lstat(from, &st)) {
            if (errno != ENOENT) err = errno, *failed = xstrdup(from);
        } else if (S_ISREG(st.st_mode)) {
            if (!cluster_txn_skip(&before, de->d_name) && link(from, to) && errno != ENOENT)
                err = errno, *failed = xstrdup(from);
        } else if (S_ISDIR(st.st_mode) && with_index_dirs && de->d_name[0] == '.') {
            if (mkdir(to, 0755))
                err = errno, *failed = xstrdup(to);
            else
                err = link_files(from, to, 0, failed);
        }
        free(from);
        free(to);
    }
    closedir(d);
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
        struct timespec pause = {0, 20000000L * attempt};
        nanosleep(&pause, NULL);
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

static strata_err link_table(cluster_snapshot *s, const cluster_table_dir *t, const char *tag, int *impossible) {
    char *parent = xasprintf("%s/snapshots", t->path);
    char *dir = xasprintf("%s/%s", parent, tag);
    int err = 0;
    struct stat st;
    if (!mkdir(parent, 0755))
        push(&s->own_parents, &s->n_own_parents, xstrdup(parent));
    else if (errno != EEXIST)
        err = errno;
    else if (remove_stale(parent))
        push(&s->own_parents, &s->n_own_parents, xstrdup(parent));
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
    push(&s->own_dirs, &s->n_own_dirs, dir);
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

static strata_err read_tables(cluster_snapshot *s, const cluster_table_list *tables, const char *tag, int in_place) {
    for (size_t i = 0; i < tables->n; i++) {
        const cluster_table_dir *t = &tables->v[i];
        char *dir = in_place ? xstrdup(t->path) : xasprintf("%s/snapshots/%s", t->path, tag);
        strata_err e = cluster_scan_files(t, dir, &s->files);
        free(dir);
        if (e) return e;
    }
    return cluster_file_list_finish(&s->files);
}

/* Strata's own snapshot; falls back to reading in place. */
static strata_err link_snapshot(cluster_snapshot *s, const cluster_table_list *tables, const char *tag) {
    for (size_t i = 0; i < tables->n; i++) {
        int impossible = 0;
        strata_err e = link_table(s, &tables->v[i], tag, &impossible);
        if (!e) continue;
        if (!impossible) return e;
        strata_log(STRATA_LOG_WARN, "%s; reading node %s's files in place, without a snapshot", strata_errmsg(),
                   s->node);
        e = remove_own_links(s);
        return e ? e : read_tables(s, tables, NULL, 1);
    }
    return read_tables(s, tables, tag, 0);
}

/* The operator's snapshot command made snapshots/<tag>/ in each table it
 * covers; tables it left out (created since, or not named) are skipped. */
static strata_err command_snapshot(cluster_snapshot *s, const cluster_node *node, cluster_table_list *tables,
                                   const char *tag) {
    char *cmd = with_tag(node->snapshot_cmd, tag);
    strata_err e = run_command("snapshot_cmd", cmd);
    free(cmd);
    if (e) return e;
    size_t kept = 0;
    for (size_t i = 0; i < tables->n; i++) {
        char *dir = xasprintf("%s/snapshots/%s", tables->v[i].path, tag);
        struct stat st;
        int present = !stat(dir, &st) && S_ISDIR(st.st_mode);
        free(dir);
        if (present) {
            cluster_table_dir tmp = tables->v[kept];
            tables->v[kept++] = tables->v[i];
            tables->v[i] = tmp;
        }
    }
    if (tables->n && !kept)
        return strata_fail(STRATA_ENOENT, "snapshot_cmd made no snapshots/%s directory in any table of %s", tag,
                           node->data_dirs[0]);
    cluster_table_list present = {.v = tables->v, .n = kept};
    return read_tables(s, &present, tag, 0);
}

static int valid_tag(const char *tag) {
    return *tag && !strchr(tag, '/') && strcmp(tag, ".") && strcmp(tag, "..");
}

strata_err cluster_snapshot_take(const cluster_node *node, const char *tag, const cluster_filter *filter,
                                 cluster_snapshot **out) {
    *out = NULL;
    if (!valid_tag(tag)) return strata_fail(STRATA_EINVAL, "invalid snapshot tag '%s'", tag);
    if (!node->n_data_dirs) return strata_fail(STRATA_EINVAL, "no data directory");
    cluster_table_list tables = {0};
    strata_err e = STRATA_OK;
    for (size_t i = 0; !e && i < node->n_data_dirs; i++) e = cluster_scan_tables(node->data_dirs[i], filter, &tables);
    if (!e) {
        char *where = node->n_data_dirs > 1 ? xasprintf("%s (and %zu more data directories)", node->data_dirs[0],
                                                        node->n_data_dirs - 1)
                                            : xstrdup(node->data_dirs[0]);
        e = cluster_filter_check(filter, &tables, where);
        free(where);
    }
    if (e) {
        cluster_table_list_free(&tables);
        return e;
    }
    cluster_snapshot *s = xcalloc(1, sizeof *s);
    s->node = xstrdup(node->name);
    if (node->snapshot_cmd) {
        if (node->clear_snapshot_cmd) s->clear_cmd = with_tag(node->clear_snapshot_cmd, tag);
        e = command_snapshot(s, node, &tables, tag);
    } else {
        e = link_snapshot(s, &tables, tag);
    }
    cluster_table_list_free(&tables);
    if (e) {
        char saved[512];
        snprintf(saved, sizeof saved, "%s", strata_errmsg());
        cluster_snapshot_release(s);
        return strata_fail(e, "%s", saved);
    }
    *out = s;
    return STRATA_OK;
}

const cluster_file *cluster_snapshot_files(const cluster_snapshot *s, size_t *count) {
    *count = s->files.n;
    return s->files.v;
}

strata_err cluster_snapshot_release(cluster_snapshot *s) {
    if (!s) return STRATA_OK;
    strata_err e = remove_own_links(s);
    if (s->clear_cmd) {
        strata_err c = run_command("clear_snapshot_cmd", s->clear_cmd);
        if (!e) e = c;
    }
    cluster_file_list_free(&s->files);
    free(s->own_dirs);
    free(s->own_parents);
    free(s->clear_cmd);
    free(s->node);
    free(s);
    return e;
}
