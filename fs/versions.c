/* versions.c - the list of versions the views are built from.
 *
 * Version ids come from the index (cheap: keys only) and are re-read
 * whenever a view root is listed or its attributes are asked for (ops.c),
 * so a backup that finishes while the repository is mounted shows up at
 * once.  One from another machine, into a remote repository, is indexed
 * by repo_refresh, at most every REPO_REFRESH_SECONDS, on a thread of its
 * own: the listing takes a round trip to the endpoint, and as long as the
 * retry budget when the endpoint is down, which no request (nor, through
 * the mount lock, the rest of the mount) may wait for; it shows at the
 * next listing after.  So does one backed up after `strata index
 * rebuild`, into the new index that repo_refresh moves the mount to.  The node list of a version
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

static void *refresher_main(void *arg) {
    fs_mount *m = arg;
    fs_versions *vl = &m->versions;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (!vl->refresh_asked && !vl->refresher_stop) pthread_cond_wait(&vl->refresh_wanted, &m->lock);
        if (vl->refresher_stop) break;
        vl->refresh_asked = 0;
        pthread_mutex_unlock(&m->lock);
        /* offline, the versions indexed so far still show; STRATA_EINTR is
         * the mount ending (mount_free) */
        strata_err e = repo_refresh(m->repo);
        if (e && e != STRATA_EINTR)
            strata_log(STRATA_LOG_WARN, "%s; showing the versions indexed so far", strata_errmsg());
        strata_clear_error();
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

void fs_versions_start_refresher(fs_mount *m) {
    fs_versions *vl = &m->versions;
    if (!repo_refreshes(m->repo)) return;
    pthread_cond_init(&vl->refresh_wanted, NULL);
    vl->has_refresher = pthread_create(&vl->refresher, NULL, refresher_main, m) == 0;
    if (!vl->has_refresher)
        strata_log(STRATA_LOG_WARN, "cannot start a thread: versions stored from elsewhere show only when mounted again");
}

void fs_versions_stop_refresher(fs_mount *m) {
    fs_versions *vl = &m->versions;
    if (!vl->has_refresher) return;
    pthread_mutex_lock(&m->lock);
    vl->refresher_stop = 1;
    pthread_cond_signal(&vl->refresh_wanted);
    pthread_mutex_unlock(&m->lock);
    pthread_join(vl->refresher, NULL);
    pthread_cond_destroy(&vl->refresh_wanted);
    vl->has_refresher = 0;
}

strata_err fs_versions_refresh(fs_mount *m) {
    char **ids;
    size_t n;
    fs_versions *vl = &m->versions;
    vl->refresh_asked = 1;
    if (vl->has_refresher) pthread_cond_signal(&vl->refresh_wanted);
    strata_err e = repo_version_list(m->repo, &ids, &n);
    if (e) return e;
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
