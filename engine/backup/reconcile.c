/* reconcile.c - every table of a cluster version as reconciled layers.
 *
 * The snapshots' files are grouped into tables; each keyspace's schema
 * comes from the nodes' own system_schema SSTables, read once for the
 * whole backup (column names, dropped columns, and the schema.cql that
 * recreates a table); the newest
 * version holding each table gives its stack of layers and its cut; then worker
 * threads build the tables' layers, largest tables first, each worker with
 * its own pack writer.  A table that cannot be reconciled (SSTables the
 * reader refuses) is stored as the nodes' files instead, with a warning:
 * a backup never leaves data out because it could not read it. */
#include "engine/backup/backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *keyspace;
    const merge_schema *schema; /* NULL: system_schema does not know it */
} keyspace_schema;

typedef struct {
    repo *r;
    const backup_options *opt;
    reconcile_state *st;
    repo_version **stacks;  /* versions holding tables' stacks, loaded once, under lock */
    size_t n_stacks;
    int64_t cut;
    const backup_schemas *schema_read; /* the nodes' system_schema */
    keyspace_schema *schemas;          /* the tables' keyspaces, each on first use, under lock */
    size_t n_schemas;
    size_t *order;  /* tables, largest first */
    size_t next;    /* next of order to take, under lock */
    pthread_mutex_t lock;
    strata_err error;
    char error_msg[512];
    strata_progress *progress;
    char *spool;    /* where layers are written before being stored */
    unsigned char *captured; /* per node of the cluster file: its snapshot holds SSTables */
} reconcile_job;

static const merge_schema *schema_of(reconcile_job *job, const char *keyspace) {
    for (size_t i = 0; i < job->n_schemas; i++)
        if (!strcmp(job->schemas[i].keyspace, keyspace)) return job->schemas[i].schema;
    const merge_schema *s = NULL;
    const char *why = job->schema_read->error;
    if (!why && merge_schema_set_get(&job->schema_read->set, keyspace, &s)) why = strata_errmsg();
    if (why)
        strata_log(STRATA_LOG_WARN, "keyspace %s: no schema from system_schema (%s): dropped columns are kept and "
                   "no schema.cql is written", keyspace, why);
    job->schemas = xrealloc(job->schemas, (job->n_schemas + 1) * sizeof *job->schemas);
    job->schemas[job->n_schemas++] = (keyspace_schema){xstrdup(keyspace), s};
    return s;
}

/* The previous version's files of a reconciled table: its layers and schema.cql. */
static const repo_file **stack_of(const repo_version *v, const backup_table *t, size_t *n) {
    *n = 0;
    if (!v) return NULL;
    const repo_file **out = xcalloc(v->n_files + 1, sizeof *out);
    for (size_t i = 0; i < v->n_files; i++) {
        const repo_file *f = &v->files[i];
        if (!*f->node && !strcmp(f->keyspace, t->keyspace) && !strcmp(f->table_id, t->table_id)) out[(*n)++] = f;
    }
    return out;
}

static int in_layer(const repo_file *f, const char *sstable) { return *f->sstable && !strcmp(f->sstable, sstable); }

/* The layers (SSTables) among the `n` stack files. */
static size_t layer_count(const repo_file **stack, size_t n) {
    size_t layers = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = !*stack[i]->sstable;
        for (size_t j = 0; j < i && !seen; j++) seen = in_layer(stack[j], stack[i]->sstable);
        layers += !seen;
    }
    return layers;
}

/* Drops from the stack every layer a file of which lost chunks (verify
 * --repair forgot them), and a lost schema.cql (each version writes its
 * own); returns how many layers were dropped. */
static size_t drop_lost_layers(repo *r, const repo_file **stack, size_t *n) {
    size_t before = layer_count(stack, *n), kept = 0;
    unsigned char *lost = xcalloc(*n + 1, 1), *drop = xcalloc(*n + 1, 1);
    for (size_t i = 0; i < *n; i++) lost[i] = !repo_file_chunks_known(r, stack[i]);
    /* decided over the whole stack before it is compacted: compacting
     * overwrites the entries that lost[] still refers to */
    for (size_t i = 0; i < *n; i++) {
        drop[i] = lost[i];
        for (size_t j = 0; j < *n && !drop[i]; j++) drop[i] = lost[j] && in_layer(stack[i], stack[j]->sstable);
    }
    for (size_t i = 0; i < *n; i++)
        if (!drop[i]) stack[kept++] = stack[i];
    free(lost);
    free(drop);
    *n = kept;
    return before - layer_count(stack, kept);
}

static void job_fail(reconcile_job *job, strata_err e) {
    pthread_mutex_lock(&job->lock);
    if (!job->error) {
        job->error = e;
        snprintf(job->error_msg, sizeof job->error_msg, "%s", strata_errmsg());
    }
    pthread_mutex_unlock(&job->lock);
}

/* Errors that say the table's SSTables cannot be read (a format the
 * reader refuses, damage, a missing component), as opposed to errors of
 * the machine, which stop the backup. */
static int unreadable(strata_err e) { return e == STRATA_EFORMAT || e == STRATA_ECORRUPT || e == STRATA_ENOENT; }

/* The newest version holding the table's layers, or NULL (a new table). */
static strata_err stack_version(reconcile_job *job, const backup_table *t, const repo_version **out) {
    char id[48];
    *out = NULL;
    strata_err e = repo_table_newest_version(job->r, t->keyspace, t->table_id, id);
    if (e == STRATA_ENOENT) return strata_clear_error(), STRATA_OK;
    if (e) return e;
    pthread_mutex_lock(&job->lock);
    for (size_t i = 0; i < job->n_stacks && !*out; i++)
        if (!strcmp(job->stacks[i]->id, id)) *out = job->stacks[i];
    repo_version *v = NULL;
    if (!*out && !(e = repo_version_load(job->r, id, &v))) {
        job->stacks = xrealloc(job->stacks, (job->n_stacks + 1) * sizeof *job->stacks);
        job->stacks[job->n_stacks++] = v;
        *out = v;
    }
    pthread_mutex_unlock(&job->lock);
    return e;
}

static strata_err build_table(reconcile_job *job, size_t ti, repo_pack_writer *w, const char *schema_cql,
                              const merge_table *schema) {
    reconcile_state *st = job->st;
    const backup_table *t = &st->tables.v[ti];
    layer_job lj = {job->r, job->opt, t, schema, schema_cql, job->cut, INT64_MIN, NULL, 0, w, job->progress,
                    job->spool, 0};
    const repo_version *previous;
    strata_err e = stack_version(job, t, &previous);
    if (e) return e;
    const repo_file **stack = stack_of(previous, t, &lj.n_stack);
    size_t lost = drop_lost_layers(job->r, stack, &lj.n_stack);
    if (lost) {
        /* the facts of the lost layers came from SSTables later versions
         * skip: every SSTable of the nodes is read again, over the layers
         * still whole */
        lj.fresh = 1;
        strata_log(STRATA_LOG_WARN, "%s.%s: %zu of its stored layers lost chunks; reconciled again from every "
                   "SSTable of the nodes over the %zu whole ones", t->keyspace, t->table, lost,
                   layer_count(stack, lj.n_stack));
        if (!lj.n_stack) previous = NULL;
    }
    if (previous) lj.previous_cut = previous->time_us;
    lj.stack = stack;
    e = layer_build(&lj, &st->results[ti]);
    free(stack);
    if (e && unreadable(e)) {
        strata_log(STRATA_LOG_WARN, "%s; the table is stored as the nodes' files", strata_errmsg());
        layer_result_free(&st->results[ti]);
        st->as_files[ti] = 1;
        e = STRATA_OK;
    }
    return e;
}

static void *worker(void *arg) {
    reconcile_job *job = arg;
    repo_pack_writer *w = repo_pack_writer_new(job->r);
    strata_err e = STRATA_OK;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t i = job->next++;
        int stop = job->error || i >= job->st->tables.n || (job->opt->cancel && *job->opt->cancel);
        pthread_mutex_unlock(&job->lock);
        if (stop) break;
        size_t ti = job->order[i];
        const backup_table *t = &job->st->tables.v[ti];
        pthread_mutex_lock(&job->lock);
        const merge_schema *ks = schema_of(job, t->keyspace);
        pthread_mutex_unlock(&job->lock);
        const merge_table *schema = ks ? merge_schema_table(ks, t->table) : NULL;
        char *cql = NULL;
        if (schema && merge_table_cql(ks, schema, &cql)) strata_clear_error(), cql = NULL;
        e = build_table(job, ti, w, cql, schema);
        free(cql);
        if (e) break;
    }
    pthread_mutex_lock(&job->lock);
    int failed = job->error != STRATA_OK;
    pthread_mutex_unlock(&job->lock);
    if (!e && !failed) e = repo_pack_writer_flush(w);
    if (e) job_fail(job, e);
    repo_pack_writer_free(w);
    return NULL;
}

static int larger_first(const void *a, const void *b, void *arg) {
    const backup_table_list *l = arg;
    uint64_t x = l->v[*(const size_t *)a].bytes, y = l->v[*(const size_t *)b].bytes;
    return (x < y) - (x > y);
}

/* The spool: the operator's, which must exist (one made for a mistyped
 * path would put the layers on whatever disk holds its parent), or one in
 * the repository's own directory, on disk (a tmpfs /tmp would hold large
 * layers in memory).  The writer lock is held, so what is in the latter
 * was left by a killed backup. */
static strata_err prepare_spool(repo *r, const backup_options *opt, char **out) {
    if (opt->spool_dir) {
        *out = xstrdup(opt->spool_dir);
    } else {
        *out = xasprintf("%s/spool", repo_work_dir(r));
        DIR *d = opendir(*out);
        struct dirent *f;
        while (d && (f = readdir(d))) {
            if (strncmp(f->d_name, "strata-layer-", 13)) continue;
            char *p = xasprintf("%s/%s", *out, f->d_name);
            layer_remove_spool(p);
            free(p);
        }
        if (d) closedir(d);
    }
    struct stat st;
    if ((!opt->spool_dir && mkdir(*out, 0755) && errno != EEXIST) || stat(*out, &st) || access(*out, W_OK))
        return strata_fail_errno(strata_err_from_errno(errno), errno, "spool directory %s", *out);
    if (!S_ISDIR(st.st_mode)) return strata_fail(STRATA_EINVAL, "spool directory %s: not a directory", *out);
    return STRATA_OK;
}

static void add_note(reconcile_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(reconcile_state *st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) return;
    json_array_append_new(json_object_get(st->report, "notes"), json_string(s));
    strata_log(STRATA_LOG_INFO, "%s", s);
    free(s);
}

/* Which replicas of each token range of the keyspace the version holds:
 * the nodes of the cluster file were captured (a backup reads all of
 * them or fails) unless their data directories held no SSTable (a disk
 * not mounted: a live node always has its system_schema SSTables); nodes
 * of the ring that are not in it were not. */
static json_t *keyspace_coverage(const reconcile_job *job, const merge_schema *ks) {
    const cluster_config *c = job->opt->cluster;
    const char **captured = xcalloc(c->n_nodes + 1, sizeof *captured);
    size_t n_captured = 0;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (job->captured[i]) captured[n_captured++] = c->nodes[i].name;
    cluster_replication_option *options = xcalloc(ks->replication.n + 1, sizeof *options);
    for (size_t i = 0; i < ks->replication.n; i++)
        options[i] = (cluster_replication_option){ks->replication.pairs[i].key, ks->replication.pairs[i].value};
    cluster_placement *placement = NULL;
    cluster_coverage *cov = NULL;
    json_t *j = NULL;
    strata_err e = c->ring ? cluster_placement_compute(c->ring, options, ks->replication.n, &placement) : STRATA_OK;
    if (!e) e = cluster_coverage_compute(c, placement, captured, n_captured, &cov);
    if (!e) j = cluster_coverage_json(cov);
    else j = json_pack("{s:s}", "error", strata_errmsg());
    cluster_coverage_free(cov);
    cluster_placement_free(placement);
    free(options);
    free(captured);
    return j;
}

/* Coverage of every keyspace the version holds, and a line for each
 * keyspace that misses replicas. */
static void write_coverage(reconcile_state *st, const reconcile_job *job) {
    json_t *all = json_object();
    for (size_t i = 0; i < job->n_schemas; i++) {
        const keyspace_schema *ks = &job->schemas[i];
        /* a node-local keyspace (system_schema) is whole on every node */
        const char *strategy = ks->schema ? merge_map_get(&ks->schema->replication, "class") : NULL;
        if (!strategy || strstr(strategy, "LocalStrategy")) continue;
        json_t *cov = keyspace_coverage(job, ks->schema);
        json_t *complete = json_object_get(cov, "complete");
        if (json_is_false(json_object_get(cov, "all_replicas_captured")))
            add_note(st, "keyspace %s: some replicas were not captured (every range has %lld of %lld); complete "
                     "for writes at QUORUM: %s", ks->keyspace,
                     (long long)json_integer_value(json_object_get(cov, "min_captured")),
                     (long long)json_integer_value(json_object_get(cov, "replication_factor")),
                     json_is_true(json_object_get(complete, "QUORUM")) ? "yes" : "no");
        json_object_set_new(all, ks->keyspace, cov);
    }
    json_object_set_new(st->report, "coverage", all);
}

/* The cut and what the windows left out or kept, per table. */
static void write_report(reconcile_state *st, int64_t cut) {
    char iso[32];
    strata_iso8601_us(cut, iso);
    st->report = json_pack("{s:s, s:I, s:I, s:[]}", "cut", iso, "cut_us", (json_int_t)cut, "future_tolerance_s",
                           (json_int_t)(BACKUP_FUTURE_TOLERANCE_US / 1000000), "notes");
    uint64_t later = 0, beyond = 0;
    for (size_t i = 0; i < st->tables.n; i++) {
        const backup_table *t = &st->tables.v[i];
        const layer_result *res = &st->results[i];
        later += res->facts_later;
        beyond += res->facts_beyond;
        if (st->as_files[i]) add_note(st, "%s.%s: not reconciled, stored as the nodes' files", t->keyspace, t->table);
        if (res->facts_beyond)
            add_note(st, "%s.%s: %llu writes dated more than %lld s after the cut (no clock time) are in this "
                     "version", t->keyspace, t->table, (unsigned long long)res->facts_beyond,
                     BACKUP_FUTURE_TOLERANCE_US / 1000000);
    }
    json_object_set_new(st->report, "facts_after_cut", json_integer((json_int_t)later));
    json_object_set_new(st->report, "facts_far_future", json_integer((json_int_t)beyond));
}

strata_err reconcile_run(repo *r, const backup_options *opt, const cluster_file *const *files, const size_t *count,
                         const backup_schemas *schemas, int64_t cut, strata_progress *progress, reconcile_state *st) {
    memset(st, 0, sizeof *st);
    backup_tables_group(files, count, opt->cluster->n_nodes, &st->tables);
    st->results = xcalloc(st->tables.n + 1, sizeof *st->results);
    st->as_files = xcalloc(st->tables.n + 1, sizeof *st->as_files);
    reconcile_job job = {.r = r, .opt = opt, .st = st, .cut = cut, .progress = progress, .schema_read = schemas};
    strata_err e = prepare_spool(r, opt, &job.spool);
    if (e) {
        free(job.spool);
        return e;
    }
    job.captured = xcalloc(opt->cluster->n_nodes + 1, 1);
    for (size_t i = 0; i < opt->cluster->n_nodes; i++)
        job.captured[i] = (unsigned char)backup_node_holds_sstables(files[i], count[i]);
    pthread_mutex_init(&job.lock, NULL);
    job.order = xcalloc(st->tables.n + 1, sizeof *job.order);
    for (size_t i = 0; i < st->tables.n; i++) job.order[i] = i;
    if (st->tables.n) qsort_r(job.order, st->tables.n, sizeof *job.order, larger_first, &st->tables);
    strata_run_parallel(opt->jobs, worker, &job);
    if (job.error) e = strata_fail(job.error, "%s", job.error_msg);
    else if (opt->cancel && *opt->cancel) e = strata_fail(STRATA_EINTR, "backup interrupted");
    if (!e) write_report(st, cut), write_coverage(st, &job);
    for (size_t i = 0; i < job.n_schemas; i++) free(job.schemas[i].keyspace);
    free(job.schemas);
    free(job.order);
    free(job.spool);
    free(job.captured);
    for (size_t i = 0; i < job.n_stacks; i++) repo_version_free(job.stacks[i]);
    free(job.stacks);
    pthread_mutex_destroy(&job.lock);
    return e;
}

void reconcile_free(reconcile_state *st) {
    for (size_t i = 0; i < st->tables.n; i++) layer_result_free(&st->results[i]);
    free(st->results);
    free(st->as_files);
    backup_tables_free(&st->tables);
    json_decref(st->report);
    memset(st, 0, sizeof *st);
}

int reconcile_kept_as_files(const reconcile_state *st, const cluster_file *f) {
    for (size_t i = 0; i < st->tables.n; i++) {
        const backup_table *t = &st->tables.v[i];
        if (st->as_files[i] && !strcmp(t->keyspace, f->keyspace) && !strcmp(t->table, f->table) &&
            !strcmp(t->table_id, f->table_id))
            return 1;
    }
    return 0;
}
