/* view_nodes.c - /nodes/<node>/<version>/<keyspace>/<table>/: exactly the
 * files one node had in a version, under their original names (snapshot
 * files such as manifest.json and schema.cql included). */
#include "fs/mount_int.h"

#include <string.h>

static int has_node(const fs_version_info *vi, const char *node) {
    for (size_t i = 0; i < vi->n_nodes; i++)
        if (!strcmp(vi->nodes[i], node)) return 1;
    return 0;
}

/* One node's files of a version, built without the mount lock (see
 * view_versions.c). */
static strata_err build_node_version(fs_mount *m, const fs_node *vdir, fs_node *into) {
    const char *node = vdir->parent->name;
    repo_version_files v;
    strata_err e = repo_version_load_files(m->repo, vdir->name, &v);
    if (e) return e;
    int64_t mtime_ns = v.time_us * 1000;
    into->mtime_ns = mtime_ns;
    for (size_t i = 0; i < v.n_files; i++) {
        const repo_file *f = &v.files[i];
        if (strcmp(f->node, node)) continue;
        char *path = xasprintf("%s/%s/%s", f->keyspace, f->table, f->rel_path);
        if (!fs_dir_put_file(into, path, fs_mount_content(m, f), mtime_ns))
            strata_log(STRATA_LOG_WARN, "version %s: %s of node %s is there twice (two table ids?); "
                       "showing the first", vdir->name, path, node);
        free(path);
    }
    repo_version_files_free(&v);
    return STRATA_OK;
}

static strata_err fill_node_version(fs_mount *m, fs_node *vdir) {
    return fs_dir_build_unlocked(m, vdir, build_node_version);
}

/* Summarizes every version not summarized yet (once per version). */
static strata_err summarize_all(fs_mount *m) {
    strata_err e = fs_versions_refresh(m);
    for (size_t i = 0; !e && i < m->versions.n; i++) e = fs_versions_summarize(m, &m->versions.v[i]);
    return e;
}

static strata_err fill_node(fs_mount *m, fs_node *ndir) {
    strata_err e = summarize_all(m);
    for (size_t i = 0; !e && i < m->versions.n; i++) {
        const fs_version_info *vi = &m->versions.v[i];
        if (!has_node(vi, ndir->name) || fs_dir_find(ndir, vi->id)) continue;
        fs_node *vdir = fs_dir_make(ndir, vi->id, vi->mtime_ns);
        if (!vdir) continue;
        vdir->fill = fill_node_version;
        vdir->filled = 0;
        ndir->mtime_ns = vi->mtime_ns;
    }
    return e;
}

static strata_err fill_top(fs_mount *m, fs_node *dir) {
    strata_err e = summarize_all(m);
    for (size_t i = 0; !e && i < m->versions.n; i++) {
        const fs_version_info *vi = &m->versions.v[i];
        for (size_t j = 0; j < vi->n_nodes; j++) {
            fs_node *ndir = fs_dir_make(dir, vi->nodes[j], vi->mtime_ns);
            if (!ndir || ndir->fill) continue;
            ndir->fill = fill_node;
            ndir->dynamic = 1;
            ndir->filled = 0;
        }
        dir->mtime_ns = vi->mtime_ns;
    }
    return e;
}

const fs_view fs_view_nodes = {"nodes", fill_top};
