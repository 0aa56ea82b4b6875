/* scan.c - finding a node's tables and their files on disk.
 *
 * <data_dir>/<keyspace>/<table>-<32 hex id>/ holds a table's SSTables;
 * hidden .<index>/ subdirectories hold its secondary indexes' SSTables and
 * belong to it.  snapshots/ and backups/ hold hard-linked copies of the
 * same SSTables (Cassandra's snapshots and incremental backups) and are
 * skipped on purpose: reading them would back up old or duplicate data.
 * Node-local system keyspaces are skipped unless asked for; system_schema
 * is always taken, because it is what makes the SSTables readable. */
#include "engine/cluster/cluster_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static const char *const local_system_keyspaces[] = {
    "system", "system_auth", "system_distributed", "system_traces", "system_views", "system_virtual_schema",
};

static int is_local_system(const char *ks) {
    for (size_t i = 0; i < sizeof local_system_keyspaces / sizeof *local_system_keyspaces; i++)
        if (!strcmp(ks, local_system_keyspaces[i])) return 1;
    return 0;
}

static int in_list(const char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s)) return 1;
    return 0;
}

static int keyspace_wanted(const cluster_filter *f, const char *ks) {
    if (!strcmp(ks, "system_schema")) return 1;
    if (!f->n_keyspaces && !f->n_tables) return f->include_system || !is_local_system(ks);
    if (in_list(f->keyspaces, f->n_keyspaces, ks)) return 1;
    size_t len = strlen(ks);
    for (size_t i = 0; i < f->n_tables; i++)
        if (!strncmp(f->tables[i], ks, len) && f->tables[i][len] == '.') return 1;
    return 0;
}

static int table_wanted(const cluster_filter *f, const char *ks, const char *table) {
    if (!strcmp(ks, "system_schema") || in_list(f->keyspaces, f->n_keyspaces, ks)) return 1;
    if (!f->n_tables) return !f->n_keyspaces;
    size_t len = strlen(ks);
    for (size_t i = 0; i < f->n_tables; i++)
        if (!strncmp(f->tables[i], ks, len) && f->tables[i][len] == '.' && !strcmp(f->tables[i] + len + 1, table))
            return 1;
    return 0;
}

/* Cassandra keyspace and table names are [A-Za-z0-9_]+; anything else in
 * a data directory (lost+found, an operator's notes) is not its data. */
static int is_identifier(const char *s, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

static int is_hex32(const char *s) {
    size_t n = strlen(s);
    if (n != 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

static int is_dir_at(int dirfd, const struct dirent *de) {
    if (de->d_type == DT_DIR) return 1;
    if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK) return 0;
    struct stat st;
    return fstatat(dirfd, de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static void add_table(cluster_table_list *out, const char *ks, const char *name, const char *path) {
    const char *dash = strrchr(name, '-');
    out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
    cluster_table_dir *t = &out->v[out->n++];
    t->keyspace = xstrdup(ks);
    if (dash && is_hex32(dash + 1)) {
        t->table = xstrndup(name, (size_t)(dash - name));
        t->table_id = xstrdup(dash + 1);
    } else {
        t->table = xstrdup(name);
        t->table_id = xstrdup("");
    }
    t->path = xasprintf("%s/%s", path, name);
}

static strata_err scan_keyspace(const char *ks_path, const char *ks, const cluster_filter *filter,
                                cluster_table_list *out) {
    DIR *d = opendir(ks_path);
    if (!d) return strata_fail_errno(strata_err_from_errno(errno), errno, "cannot read keyspace directory %s", ks_path);
    struct dirent *de;
    while ((errno = 0, de = readdir(d))) {
        const char *dash = strrchr(de->d_name, '-');
        size_t table_len = dash && is_hex32(dash + 1) ? (size_t)(dash - de->d_name) : strlen(de->d_name);
        if (!is_identifier(de->d_name, table_len) || !is_dir_at(dirfd(d), de)) continue;
        char *table = xstrndup(de->d_name, table_len);
        if (table_wanted(filter, ks, table)) add_table(out, ks, de->d_name, ks_path);
        free(table);
    }
    int err = errno;
    closedir(d);
    if (err) return strata_fail_errno(strata_err_from_errno(err), err, "cannot read keyspace directory %s", ks_path);
    return STRATA_OK;
}

strata_err cluster_scan_tables(const char *data_dir, const cluster_filter *filter, cluster_table_list *out) {
    DIR *d = opendir(data_dir);
    if (!d) return strata_fail_errno(strata_err_from_errno(errno), errno, "cannot read data directory %s", data_dir);
    strata_err e = STRATA_OK;
    struct dirent *de;
    while (!e && (errno = 0, de = readdir(d))) {
        if (!is_identifier(de->d_name, strlen(de->d_name)) || !keyspace_wanted(filter, de->d_name) ||
            !is_dir_at(dirfd(d), de))
            continue;
        char *ks_path = xasprintf("%s/%s", data_dir, de->d_name);
        e = scan_keyspace(ks_path, de->d_name, filter, out);
        free(ks_path);
    }
    if (!e && errno) e = strata_fail_errno(strata_err_from_errno(errno), errno, "cannot read data directory %s", data_dir);
    closedir(d);
    return e;
}

static int has_table(const cluster_table_list *l, const char *ks, const char *table) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].keyspace, ks) && (!table || !strcmp(l->v[i].table, table))) return 1;
    return 0;
}

strata_err cluster_filter_check(const cluster_filter *f, const cluster_table_list *found, const char *where) {
    for (size_t i = 0; i < f->n_keyspaces; i++)
        if (!has_table(found, f->keyspaces[i], NULL))
            return strata_fail(STRATA_ENOENT, "no keyspace '%s' in %s", f->keyspaces[i], where);
    for (size_t i = 0; i < f->n_tables; i++) {
        const char *dot = strchr(f->tables[i], '.');
        if (!dot || dot == f->tables[i] || !dot[1])
            return strata_fail(STRATA_EINVAL, "table '%s' is not named KEYSPACE.TABLE", f->tables[i]);
        char *ks = xstrndup(f->tables[i], (size_t)(dot - f->tables[i]));
        int found_it = has_table(found, ks, dot + 1);
        free(ks);
        if (!found_it) return strata_fail(STRATA_ENOENT, "no table %s in %s", f->tables[i], where);
    }
    return STRATA_OK;
}

void cluster_table_list_free(cluster_table_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].keyspace);
        free(l->v[i].table);
        free(l->v[i].table_id);
        free(l->v[i].path);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void add_file(cluster_file_list *out, const cluster_table_dir *t, const char *index_dir, const char *name,
                     const char *abs_path, const struct stat *st) {
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->v = xrealloc(out->v, out->cap * sizeof *out->v);
    }
    cluster_file *f = &out->v[out->n++];
    f->keyspace = xstrdup(t->keyspace);
    f->table = xstrdup(t->table);
    f->table_id = xstrdup(t->table_id);
    f->rel_path = index_dir ? xasprintf("%s/%s", index_dir, name) : xstrdup(name);
    f->abs_path = xstrdup(abs_path);
    sstable_name sn;
    if (sstable_name_parse(name, &sn))
        f->sstable = xstrdup("");
    else if (index_dir)
        f->sstable = xasprintf("%s/%s-%s-%s", index_dir, sn.version, sn.generation, sn.format);
    else
        f->sstable = xasprintf("%s-%s-%s", sn.version, sn.generation, sn.format);
    f->size = (uint64_t)st->st_size;
    f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    f->mode = (uint32_t)(st->st_mode & 07777);
}

/* A symbolic link in a table directory.  An SSTable component moved to
 * another disk and linked back is read through it (*st becomes its
 * target's); one linked to no file fails the backup rather than leave its
 * SSTable out: a relative link that nodetool snapshot hard-linked into
 * snapshots/<tag>/ points elsewhere from there.  Other links (a backups/
 * folder on another disk) are no data, as directories are not. */
static strata_err follow_component_link(const char *name, const char *path, struct stat *st) {
    sstable_name sn;
    struct stat target;
    if (sstable_name_parse(name, &sn)) return STRATA_OK;
    if (!stat(path, &target) && S_ISREG(target.st_mode)) {
        *st = target;
        return STRATA_OK;
    }
    return strata_fail(STRATA_ENOENT,
                       "%s: an SSTable component linked to no file (its link dangles, or is relative and was "
                       "linked into a snapshot, where it points elsewhere)",
                       path);
}

/* Lists `dir`; index_dir is NULL for the table directory itself, or the
 * ".<index>" name when listing an index subdirectory.  Of the table
 * directory's subdirectories only hidden ones (indexes) are entered, which
 * leaves out snapshots/ and backups/; transaction logs and the SSTables
 * they show not live are left out too (they matter when reading a live
 * directory in place), and so are Cassandra's temporary files, which are
 * no data and may be renamed away before they are read.  The listing
 * holds every component a TOC.txt names (cluster_dir_names). */
static strata_err scan_dir(const cluster_table_dir *t, const char *dir, const char *index_dir,
                           cluster_file_list *out) {
    cluster_txn_state txn;
    cluster_names names = {0};
    int err = cluster_txn_read(dir, &txn);
    if (!err) err = cluster_dir_names(dir, &names);
    if (err) {
        cluster_txn_free(&txn);
        return strata_fail_errno(strata_err_from_errno(err), err, "cannot read table directory %s", dir);
    }
    strata_err e = STRATA_OK;
    for (size_t i = 0; !e && i < names.n; i++) {
        const char *name = names.v[i];
        if (!strcmp(name, CLUSTER_SNAPSHOT_OWNER) || sstable_name_is_temporary(name)) continue;
        char *path = xasprintf("%s/%s", dir, name);
        struct stat st;
        if (lstat(path, &st)) {
            if (errno != ENOENT) e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s", path);
            free(path);
            continue;
        }
        if (S_ISLNK(st.st_mode)) e = follow_component_link(name, path, &st);
        if (!e && S_ISREG(st.st_mode) && !cluster_txn_skip(&txn, name))
            add_file(out, t, index_dir, name, path, &st);
        else if (!e && S_ISDIR(st.st_mode) && !index_dir && name[0] == '.')
            e = scan_dir(t, path, name, out);
        free(path);
    }
    cluster_names_free(&names);
    cluster_txn_free(&txn);
    return e;
}

strata_err cluster_scan_files(const cluster_table_dir *t, const char *read_dir, cluster_file_list *out) {
    return scan_dir(t, read_dir, NULL, out);
}

static int cmp_file(const void *a, const void *b) {
    const cluster_file *x = a, *y = b;
    int c = strcmp(x->keyspace, y->keyspace);
    if (!c) c = strcmp(x->table, y->table);
    if (!c) c = strcmp(x->table_id, y->table_id);
    if (!c) c = strcmp(x->rel_path, y->rel_path);
    return c;
}

strata_err cluster_file_list_finish(cluster_file_list *l) {
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_file);
    for (size_t i = 1; i < l->n; i++)
        if (!cmp_file(&l->v[i - 1], &l->v[i]))
            return strata_fail(STRATA_EINVAL, "%s and %s are the same file of table %s.%s in two data directories",
                               l->v[i - 1].abs_path, l->v[i].abs_path, l->v[i].keyspace, l->v[i].table);
    return STRATA_OK;
}

void cluster_file_clear(cluster_file *f) {
    free(f->keyspace);
    free(f->table);
    free(f->table_id);
    free(f->rel_path);
    free(f->abs_path);
    free(f->sstable);
}

void cluster_file_list_free(cluster_file_list *l) {
    for (size_t i = 0; i < l->n; i++) cluster_file_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
