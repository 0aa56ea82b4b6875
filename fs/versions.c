/* versions.c - the list of versions the views are built from.
 *
 * Version ids come from the index (cheap: keys only) and are re-read
 * whenever a view root is listed or its attributes are asked for (ops.c),
 * so a backup that finishes while the repository is mounted shows up at
 * once; one from another machine, into a remote repository, within
 * REPO_REFRESH_SECONDS (repo_refresh).  The node list of a version
 * needs the whole version record, so it is loaded only when a view asks
 * (the /nodes view) and kept: versions never change. */
#include "fs/mount_int.h"

#include <string.h>

static int64_t time_of_id(const char *id) {
    char base[32];
    int64_t us;
    snprintf(base, sizeof base, "%.20s", id);
    return strata_parse_iso8601_us(base, &us) ? 0 : us * 1000;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

strata_err fs_versions_refresh(fs_mount *m) {
    char **ids;
    size_t n;
    /* offline, the versions indexed so far still show */
    if (repo_refresh(m->repo))
        strata_log(STRATA_LOG_WARN, "%s; showing the versions indexed so far", strata_errmsg()), strata_clear_error();
    strata_err e = repo_version_list(m->repo, &ids, &n);
    if (e) return e;
    fs_versions *vl = &m->versions;
    vl->v = xrealloc(vl->v, (vl->n + n + 1) * sizeof *vl->v);
    for (size_t i = 0; i < n; i++) {
        if (fs_versions_find(m, ids[i])) continue;
        fs_version_info *vi = &vl->v[vl->n++];
        memset(vi, 0, sizeof *vi);
        vi->id = xstrdup(ids[i]);
        vi->mtime_ns = time_of_id(ids[i]);
        /* Keep the list sorted: new ids are normally the newest already. */
        for (size_t j = vl->n - 1; j > 0 && repo_version_id_cmp(vl->v[j - 1].id, vl->v[j].id) > 0; j--) {
            fs_version_info t = vl->v[j - 1];
            vl->v[j - 1] = vl->v[j];
            vl->v[j] = t;
        }
    }
    repo_version_list_free(ids, n);
    return STRATA_OK;
}

fs_version_info *fs_versions_find(fs_mount *m, const char *id) {
    size_t lo = 0, hi = m->versions.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = repo_version_id_cmp(m->versions.v[mid].id, id);
        if (!c) return &m->versions.v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

strata_err fs_versions_summarize(fs_mount *m, fs_version_info *vi) {
    if (vi->summarized) return STRATA_OK;
    repo_version *v;
    strata_err e = repo_version_load(m->repo, vi->id, &v);
    if (e) return e;
    vi->mtime_ns = v->time_us * 1000;
    vi->nodes = xcalloc(v->n_nodes ? v->n_nodes : 1, sizeof *vi->nodes);
    for (size_t i = 0; i < v->n_nodes; i++) {
        int has_files = !v->reconciled;
        for (size_t j = 0; j < v->n_files && !has_files; j++) has_files = !strcmp(v->files[j].node, v->nodes[i]);
        if (has_files) vi->nodes[vi->n_nodes++] = xstrdup(v->nodes[i]);
    }
    qsort(vi->nodes, vi->n_nodes, sizeof *vi->nodes, cmp_str);
    vi->summarized = 1;
    repo_version_free(v);
    return STRATA_OK;
}

void fs_versions_free(fs_versions *vl) {
    for (size_t i = 0; i < vl->n; i++) {
        for (size_t j = 0; j < vl->v[i].n_nodes; j++) free(vl->v[i].nodes[j]);
        free(vl->v[i].nodes);
        free(vl->v[i].id);
    }
    free(vl->v);
    memset(vl, 0, sizeof *vl);
}
