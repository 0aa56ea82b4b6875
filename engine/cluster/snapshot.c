/* snapshot.c - holding a node's SSTables still while they are read.
 *
 * Cassandra deletes SSTables once compaction has replaced them, so a
 * backup that reads the live directory can lose a file halfway.  A
 * snapshot is a set of hard links in <table dir>/snapshots/<tag>/: the
 * inodes stay alive whatever compaction does.  Either the operator's
 * snapshot_cmd makes it (nodetool snapshot, possibly over ssh; command.c)
 * or strata makes the links itself (link.c).  When links cannot be made
 * (read-only or foreign file system, no permission) the files are read in
 * place, which is what a copy-based tool does, with one warning so the
 * operator knows the snapshot guarantee is gone. */
#include "engine/cluster/cluster_int.h"

#include <string.h>
#include <sys/stat.h>

struct cluster_snapshot {
    char *node;
    char *clear_cmd;     /* clear_snapshot_cmd with the tag in, NULL: none */
    cluster_links links; /* what strata's own snapshot made */
    cluster_file_list files;
};

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
        strata_err e = cluster_link_table(&tables->v[i], tag, &s->links, &impossible);
        if (!e) continue;
        if (!impossible) return e;
        strata_log(STRATA_LOG_WARN, "%s; reading node %s's files in place, without a snapshot", strata_errmsg(),
                   s->node);
        e = cluster_links_remove(&s->links);
        return e ? e : read_tables(s, tables, NULL, 1);
    }
    return read_tables(s, tables, tag, 0);
}

/* The operator's snapshot command made snapshots/<tag>/ in each table it
 * covers; tables it left out (created since, or not named) are skipped. */
static strata_err command_snapshot(cluster_snapshot *s, const cluster_node *node, cluster_table_list *tables,
                                   const char *tag) {
    char *cmd = cluster_with_tag(node->snapshot_cmd, tag);
    strata_err e = cluster_run_command("snapshot_cmd", cmd);
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
        if (node->clear_snapshot_cmd) s->clear_cmd = cluster_with_tag(node->clear_snapshot_cmd, tag);
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

void cluster_snapshot_leave_out(cluster_snapshot *s, const char *keyspace, const char *table, const char *table_id) {
    size_t kept = 0;
    for (size_t i = 0; i < s->files.n; i++) {
        cluster_file *f = &s->files.v[i];
        if (strcmp(f->keyspace, keyspace) || strcmp(f->table, table) || strcmp(f->table_id, table_id)) {
            s->files.v[kept++] = *f;
            continue;
        }
        cluster_file_clear(f);
    }
    s->files.n = kept;
}

void cluster_snapshot_rename_table(cluster_snapshot *s, const char *keyspace, const char *table, const char *from_id,
                                   const char *to_id) {
    for (size_t i = 0; i < s->files.n; i++) {
        cluster_file *f = &s->files.v[i];
        if (strcmp(f->keyspace, keyspace) || strcmp(f->table, table) || strcmp(f->table_id, from_id)) continue;
        free(f->table_id);
        f->table_id = xstrdup(to_id);
    }
}

strata_err cluster_snapshot_release(cluster_snapshot *s) {
    if (!s) return STRATA_OK;
    strata_err e = cluster_links_remove(&s->links);
    if (s->clear_cmd) {
        strata_err c = cluster_run_command("clear_snapshot_cmd", s->clear_cmd);
        if (!e) e = c;
    }
    cluster_file_list_free(&s->files);
    free(s->clear_cmd);
    free(s->node);
    free(s);
    return e;
}
