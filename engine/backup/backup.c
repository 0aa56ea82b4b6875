/* backup.c - one cluster version: snapshot, store what is new, publish.
 *
 * The cut time is taken just before the snapshots are triggered.  Every
 * node's snapshot is listed; the tables are reconciled into layers
 * (reconcile.c).  Files stored as the nodes hold them (all of them with
 * keep_replicas or files_only, else only those of tables that could not
 * be reconciled) are recognised as already stored (same node, table,
 * name, size and identity sample: SSTables are immutable) or read and
 * chunked by a pool of worker threads, each with its own pack writer, so
 * nodes are read in parallel on all cores.  The version object is written
 * last: a backup killed at any moment leaves no version behind, only
 * sealed packs the next run reuses. */
#include "engine/backup/backup_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    size_t node;            /* index into the cluster's nodes */
    const cluster_file *cf;
    int is_new;
    uint64_t stored;
} work_item;

typedef struct {
    repo *r;
    const backup_options *opt;
    work_item *items;
    size_t n_items;
    repo_file *files; /* parallel to items */
    size_t next;      /* next item to take, under lock */
    pthread_mutex_t lock;
    strata_err error;
    char error_msg[512];
    strata_progress *progress;
} backup_job;

/* The error is read under the lock that job_fail() writes it under, on another worker. */
static int cancelled(backup_job *job) {
    pthread_mutex_lock(&job->lock);
    int stop = (job->opt->cancel && *job->opt->cancel) || job->error;
    pthread_mutex_unlock(&job->lock);
    return stop;
}

static void job_fail(backup_job *job, strata_err e) {
    pthread_mutex_lock(&job->lock);
    if (!job->error) {
        job->error = e;
        snprintf(job->error_msg, sizeof job->error_msg, "%s", strata_errmsg());
    }
    pthread_mutex_unlock(&job->lock);
}

static void fill_record(repo_file *rec, const char *node, const cluster_file *cf) {
    memset(rec, 0, sizeof *rec);
    rec->node = xstrdup(node);
    rec->keyspace = xstrdup(cf->keyspace);
    rec->table = xstrdup(cf->table);
    rec->table_id = xstrdup(cf->table_id);
    rec->rel_path = xstrdup(cf->rel_path);
    rec->sstable = xstrdup(cf->sstable);
    rec->size = cf->size;
    rec->mtime_ns = cf->mtime_ns;
    rec->mode = cf->mode;
}

/* Reuses the stored chunk list when the file is known and all its chunks
 * are stored, else stores it (again, when verify --repair forgot chunks a
 * lost pack held: the versions naming them then read the new copies).
 * The record describes the file as opened: read in place, a Statistics.db
 * may have been replaced by a rename, in another size, since the listing. */
static strata_err process_file(backup_job *job, repo_pack_writer *w, work_item *it, repo_file *rec) {
    const char *node = job->opt->cluster->nodes[it->node].name;
    const cluster_file *cf = it->cf;
    fill_record(rec, node, cf);
    int fd = open(cf->abs_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        strata_err e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s", cf->abs_path);
        if (fd >= 0) close(fd);
        return e;
    }
    rec->size = (uint64_t)st.st_size;
    rec->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    strata_err e = repo_file_sample(fd, rec->size, rec->sample);
    repo_file known;
    if (!e && repo_file_lookup(job->r, node, cf->keyspace, cf->table_id, cf->rel_path, &known) == STRATA_OK) {
        if (known.size == rec->size && !memcmp(known.sample, rec->sample, STRATA_HASH_LEN) &&
            repo_file_chunks_known(job->r, &known)) {
            rec->n_chunks = known.n_chunks;
            rec->chunks = known.chunks;
            known.chunks = NULL;
        }
        repo_file_clear(&known);
    }
    if (!e && !rec->chunks) {
        it->is_new = 1;
        e = repo_store_file(w, fd, rec, job->progress, &it->stored, NULL);
        if (e) e = strata_fail(e, "%s: %s", cf->abs_path, strata_errmsg());
    } else if (!e) {
        strata_progress_add(job->progress, rec->size);
    }
    close(fd);
    return e;
}

static void *worker(void *arg) {
    backup_job *job = arg;
    repo_pack_writer *w = repo_pack_writer_new(job->r);
    strata_err e = STRATA_OK;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t i = job->next++;
        pthread_mutex_unlock(&job->lock);
        if (i >= job->n_items || cancelled(job)) break;
        e = process_file(job, w, &job->items[i], &job->files[i]);
        if (e) break;
    }
    if (!e && !cancelled(job)) e = repo_pack_writer_flush(w);
    if (e) job_fail(job, e);
    repo_pack_writer_free(w);
    return NULL;
}

static strata_err run_workers(backup_job *job, int jobs) {
    strata_run_parallel(jobs, worker, job);
    if (job->error) return strata_fail(job->error, "%s", job->error_msg);
    if (job->opt->cancel && *job->opt->cancel) return strata_fail(STRATA_EINTR, "backup interrupted");
    return STRATA_OK;
}

typedef struct {
    const cluster_node *node;
    const char *tag;
    const cluster_filter *filter;
    cluster_snapshot *snap;
    strata_err error;
    char error_msg[512];
} snapshot_task;

static void *take_snapshot(void *arg) {
    snapshot_task *t = arg;
    t->error = cluster_snapshot_take(t->node, t->tag, t->filter, &t->snap);
    if (t->error) snprintf(t->error_msg, sizeof t->error_msg, "node %s: %s", t->node->name, strata_errmsg());
    return NULL;
}

/* Snapshots all nodes at once: the cut should be as close to one instant as we can make it. */
static strata_err snapshot_all(const backup_options *opt, const char *tag, snapshot_task *tasks) {
    const cluster_config *c = opt->cluster;
    pthread_t *threads = xcalloc(c->n_nodes, sizeof *threads);
    for (size_t i = 0; i < c->n_nodes; i++) {
        tasks[i] = (snapshot_task){.node = &c->nodes[i], .tag = tag, .filter = &opt->filter};
        if (pthread_create(&threads[i], NULL, take_snapshot, &tasks[i])) take_snapshot(&tasks[i]), threads[i] = 0;
    }
    for (size_t i = 0; i < c->n_nodes; i++)
        if (threads[i]) pthread_join(threads[i], NULL);
    free(threads);
    for (size_t i = 0; i < c->n_nodes; i++)
        if (tasks[i].error) return strata_fail(tasks[i].error, "%s", tasks[i].error_msg);
    return STRATA_OK;
}

static void release_all(snapshot_task *tasks, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (tasks[i].snap && cluster_snapshot_release(tasks[i].snap))
            strata_log(STRATA_LOG_WARN, "node %s: releasing snapshot: %s", tasks[i].node->name, strata_errmsg());
        tasks[i].snap = NULL;
    }
}

static int cmp_item(const void *a, const void *b) {
    const work_item *x = a, *y = b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    int c = strcmp(x->cf->keyspace, y->cf->keyspace);
    if (!c) c = strcmp(x->cf->table, y->cf->table);
    if (!c) c = strcmp(x->cf->table_id, y->cf->table_id);
    if (!c) c = strcmp(x->cf->rel_path, y->cf->rel_path);
    return c;
}

/* The files to store as the nodes hold them: all of them, or (rec not
 * NULL) only those of tables that could not be reconciled. */
static void collect_items(backup_job *job, snapshot_task *tasks, size_t n_nodes, const reconcile_state *rec,
                          uint64_t *total) {
    size_t n = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        size_t count;
        cluster_snapshot_files(tasks[i].snap, &count);
        n += count;
    }
    job->items = xcalloc(n ? n : 1, sizeof *job->items);
    job->files = xcalloc(n ? n : 1, sizeof *job->files);
    *total = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        size_t count;
        const cluster_file *files = cluster_snapshot_files(tasks[i].snap, &count);
        for (size_t f = 0; f < count; f++) {
            if (rec && !reconcile_kept_as_files(rec, &files[f])) continue;
            job->items[job->n_items++] = (work_item){.node = i, .cf = &files[f]};
            *total += files[f].size;
        }
    }
    if (job->n_items) qsort(job->items, job->n_items, sizeof *job->items, cmp_item);
}

/* Counts distinct SSTables (node + table + sstable name), and those with a new file. */
/* Counts the node files stored, and their SSTables (those of reconciled
 * tables count as sources, see add_reconciled()). */
static void count_sstables(const backup_job *job, const reconcile_state *rec, backup_result *res, repo_version *v) {
    for (size_t i = 0; i < job->n_items; i++) {
        const work_item *it = &job->items[i];
        const repo_file *f = &job->files[i];
        res->bytes_logical += f->size;
        if (it->is_new) {
            res->files_new++;
            res->bytes_read += f->size;
            res->bytes_stored += it->stored;
        } else {
            res->files_unchanged++;
        }
        if (!*f->sstable || (rec && !reconcile_kept_as_files(rec, it->cf))) continue;
        int first = i == 0 || job->items[i - 1].node != it->node ||
                    strcmp(job->files[i - 1].table_id, f->table_id) ||
                    strcmp(job->files[i - 1].keyspace, f->keyspace) ||
                    strcmp(job->files[i - 1].sstable, f->sstable);
        if (!first) continue;
        int any_new = 0;
        for (size_t j = i; j < job->n_items && job->items[j].node == it->node &&
                           !strcmp(job->files[j].table_id, f->table_id) &&
                           !strcmp(job->files[j].keyspace, f->keyspace) &&
                           !strcmp(job->files[j].sstable, f->sstable);
             j++)
            any_new |= job->items[j].is_new;
        if (any_new)
            res->sstables_new++;
        else
            res->sstables_unchanged++;
    }
    v->logical_bytes = res->bytes_logical;
    v->new_file_bytes = res->bytes_read;
    v->stored_bytes = res->bytes_stored;
    v->n_sstables = (uint32_t)(res->sstables_new + res->sstables_unchanged);
    v->new_sstables = (uint32_t)res->sstables_new;
    v->new_files = (uint32_t)res->files_new;
}

static int cmp_source(const void *pa, const void *pb) {
    const repo_source *a = pa, *b = pb;
    int c = strcmp(a->node, b->node);
    if (!c) c = strcmp(a->keyspace, b->keyspace);
    if (!c) c = strcmp(a->table_id, b->table_id);
    if (!c) c = strcmp(a->sstable, b->sstable);
    return c;
}

/* Adds the reconciled tables to the version (records borrowed from rec)
 * and their figures to the result. */
static void add_reconciled(repo_version *v, const reconcile_state *rec, int64_t cut, backup_result *res) {
    size_t nf = v->n_files, ns = 0, nt = 0;
    for (size_t i = 0; i < rec->tables.n; i++) nf += rec->results[i].n_files, ns += rec->results[i].n_sources;
    repo_file *files = xcalloc(nf + 1, sizeof *files);
    memcpy(files, v->files, v->n_files * sizeof *files);
    v->sources = xcalloc(ns + 1, sizeof *v->sources);
    v->tables = xcalloc(rec->tables.n + 1, sizeof *v->tables);
    nf = v->n_files;
    ns = 0;
    for (size_t i = 0; i < rec->tables.n; i++) {
        const layer_result *lr = &rec->results[i];
        if (rec->as_files[i]) continue;
        /* a table directory holding no SSTable (notes left in the data
         * directory) has neither, and memcpy must not be given NULL */
        if (lr->n_files) memcpy(files + nf, lr->files, lr->n_files * sizeof *files);
        if (lr->n_sources) memcpy(v->sources + ns, lr->sources, lr->n_sources * sizeof *v->sources);
        nf += lr->n_files;
        ns += lr->n_sources;
        v->tables[nt++] = lr->summary;
        res->tables++;
        /* not by the bytes stored: a killed backup may have stored them */
        res->tables_with_new_layer += lr->new_layer;
        res->layer_bytes += lr->summary.layer_bytes;
        res->bytes_read += lr->bytes_read;
        res->bytes_stored += lr->summary.stored_bytes;
        res->facts_later += lr->facts_later;
        res->facts_beyond += lr->facts_beyond;
        res->tables_layers_merged += lr->layers_merged;
        for (size_t j = 0; j < lr->n_sources; j++) {
            if (lr->sources[j].first_cut == cut) res->sstables_new++;
            else res->sstables_unchanged++;
        }
    }
    for (size_t i = 0; i < rec->tables.n; i++) res->tables_kept_as_files += rec->as_files[i];
    v->files = files;
    v->n_files = nf;
    v->n_sources = ns;
    v->n_tables = nt;
    qsort(v->files, v->n_files, sizeof *v->files, repo_file_order);
    if (ns) qsort(v->sources, ns, sizeof *v->sources, cmp_source);
    if (nt) qsort(v->tables, nt, sizeof *v->tables, repo_table_summary_order);
    v->reconciled = 1;
    v->report = json_dumps(rec->report, JSON_COMPACT);
    v->new_file_bytes = res->bytes_read;
    v->stored_bytes = res->bytes_stored;
    v->n_sstables = (uint32_t)(res->sstables_new + res->sstables_unchanged);
    v->new_sstables = (uint32_t)res->sstables_new;
}

static strata_err publish(repo *r, const backup_options *opt, backup_job *job, const reconcile_state *rec,
                          int64_t time_us, uint64_t logical, backup_result *res) {
    repo_version v = {0};
    v.time_us = time_us;
    v.cluster = opt->cluster->name;
    v.n_nodes = opt->cluster->n_nodes;
    v.nodes = xcalloc(v.n_nodes, sizeof *v.nodes);
    for (size_t i = 0; i < v.n_nodes; i++) v.nodes[i] = opt->cluster->nodes[i].name;
    v.files = job->files;
    v.n_files = job->n_items;
    count_sstables(job, rec, res, &v);
    if (rec) add_reconciled(&v, rec, time_us, res);
    res->bytes_logical = v.logical_bytes = logical;
    strata_err e = repo_version_assign_id(r, &v);
    if (!e) e = repo_version_commit(r, &v);
    if (!e) snprintf(res->version, sizeof res->version, "%s", v.id);
    if (rec) free(v.files), free(v.sources), free(v.tables), free(v.report);
    free(v.nodes);
    return e;
}

/* Every node's snapshot files, and their total size. */
static void snapshot_files(snapshot_task *tasks, size_t n_nodes, const cluster_file ***files, size_t **count,
                           uint64_t *bytes) {
    *files = xcalloc(n_nodes + 1, sizeof **files);
    *count = xcalloc(n_nodes + 1, sizeof **count);
    *bytes = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        (*files)[i] = cluster_snapshot_files(tasks[i].snap, &(*count)[i]);
        for (size_t j = 0; j < (*count)[i]; j++) *bytes += (*files)[i][j].size;
    }
}

/* A table dropped and created again under its name gets a new id, so a
 * new directory.  The old one, when its SSTables are still there (the drop
 * raced the snapshot, or a schema disagreement gave a node another id),
 * holds data no node reads any more, and it would be restored as the live
 * table's, under the live table's schema.  The directories of a table
 * that system_schema names with another id are left out of the snapshot
 * of every node that also holds the live id's directory, as Cassandra
 * leaves them out of its own.  A node holding the table only under
 * another id disagrees with the cluster's schema (two nodes created the
 * table at once): its data is the same table's and is taken under the
 * live id, so that one table of the name reaches the version.  A table
 * that system_schema no longer names at all was dropped and not created
 * again: Cassandra keeps its directory, and SSTables a crash or a failed
 * deletion left there, but loads none of it; it is left out of every
 * node, or a restore would bring back a table the cluster no longer has
 * (its data is in the versions taken before the drop).  Only tables of a
 * keyspace system_schema names are judged so: a keyspace it does not know
 * at all may be one whose schema the nodes' system_schema SSTables lack,
 * and keeping too much loses nothing.  Keyspaces of Cassandra's own
 * (system*) are not judged either: the tables of system and
 * system_schema, and of the local keyspaces of later releases, are in no
 * system_schema.tables. */
static int node_holds_table(const cluster_snapshot *snap, const char *keyspace, const char *table,
                            const char *table_id) {
    size_t n;
    const cluster_file *f = cluster_snapshot_files(snap, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].table_id, table_id) && !strcmp(f[i].table, table) && !strcmp(f[i].keyspace, keyspace))
            return 1;
    return 0;
}

/* The id system_schema names for the table (32 hex digits) into live,
 * or "" when it names no such table; whether it names any table of the
 * table's keyspace. */
static int named_id(const merge_schema_set *set, const backup_table *t, char live[33]) {
    int keyspace_named = 0;
    const merge_schema *ks;
    live[0] = 0;
    if (merge_schema_set_get(set, t->keyspace, &ks)) return strata_clear_error(), 0;
    for (size_t j = 0; j < ks->ntables; j++) {
        const merge_table_params *p = &ks->tables[j].params;
        if (!p->has_id) continue;
        keyspace_named = 1;
        if (!strcmp(ks->tables[j].name, t->table)) strata_hex(p->id, 16, live);
    }
    return keyspace_named;
}

/* Reads the nodes' system_schema into *schemas, once for the whole backup
 * (with ids_only its tables and views alone: a backup that reconciles
 * nothing needs only the ids), and aligns the tables' directories with the
 * ids it names. */
static void align_table_ids(const cluster_config *c, snapshot_task *tasks, size_t n_nodes, int ids_only,
                            backup_schemas *schemas) {
    const cluster_file **files;
    size_t *count;
    uint64_t bytes;
    snapshot_files(tasks, n_nodes, &files, &count, &bytes);
    backup_table_list tables;
    backup_tables_group(files, count, n_nodes, &tables);
    merge_schema_file *schema;
    size_t n_schema;
    backup_tables_schema_files(&tables, &schema, &n_schema);
    size_t kept = 0;
    for (size_t i = 0; i < n_schema; i++)
        if (!ids_only || !strcmp(schema[i].table, "tables") || !strcmp(schema[i].table, "views"))
            schema[kept++] = schema[i];
    n_schema = kept;
    /* a schema that cannot be read is reported when the tables are reconciled */
    *schemas = (backup_schemas){0};
    if (merge_schema_read_all(schema, n_schema, &schemas->set)) {
        schemas->error = xstrdup(strata_errmsg());
        strata_clear_error();
    }
    /* only the SSTables of system_schema.tables can say a table is gone */
    int tables_read = 0;
    for (size_t i = 0; i < n_schema; i++) tables_read |= !strcmp(schema[i].table, "tables");
    /* keyspace, table, its id, the live id ("": dropped, not created again) */
    char **dropped = xcalloc(4 * tables.n + 1, sizeof *dropped);
    size_t n_dropped = 0;
    for (size_t i = 0; i < tables.n; i++) {
        const backup_table *t = &tables.v[i];
        char live[33];
        int keyspace_named = named_id(&schemas->set, t, live);
        if (!*t->table_id || !strcmp(live, t->table_id)) continue;
        int judged = tables_read && keyspace_named && strncmp(t->keyspace, "system", 6);
        if (!*live && !judged) continue;
        dropped[n_dropped++] = xstrdup(t->keyspace);
        dropped[n_dropped++] = xstrdup(t->table);
        dropped[n_dropped++] = xstrdup(t->table_id);
        dropped[n_dropped++] = xstrdup(live);
    }
    free(schema);
    backup_tables_free(&tables);
    free(files);
    free(count);
    for (size_t i = 0; i < n_dropped; i += 4) {
        for (size_t node = 0; node < n_nodes; node++) {
            if (!node_holds_table(tasks[node].snap, dropped[i], dropped[i + 1], dropped[i + 2])) continue;
            int recreated = *dropped[i + 3];
            if (!recreated || node_holds_table(tasks[node].snap, dropped[i], dropped[i + 1], dropped[i + 3])) {
                char *names = recreated ? xasprintf("the id %s", dropped[i + 3]) : xstrdup("no such table");
                strata_log(STRATA_LOG_WARN, "node %s: %s.%s: directory %s-%s is a dropped table's (system_schema "
                           "names %s); left out", c->nodes[node].name, dropped[i], dropped[i + 1], dropped[i + 1],
                           dropped[i + 2], names);
                free(names);
                cluster_snapshot_leave_out(tasks[node].snap, dropped[i], dropped[i + 1], dropped[i + 2]);
            } else {
                strata_log(STRATA_LOG_WARN, "node %s: %s.%s is only under id %s, which system_schema does not name "
                           "(it names %s: a schema disagreement?); taken as that table", c->nodes[node].name,
                           dropped[i], dropped[i + 1], dropped[i + 2], dropped[i + 3]);
                cluster_snapshot_rename_table(tasks[node].snap, dropped[i], dropped[i + 1], dropped[i + 2],
                                              dropped[i + 3]);
            }
        }
    }
    for (size_t i = 0; i < n_dropped; i++) free(dropped[i]);
    free(dropped);
}

/* A node whose data directories hold no SSTable is most likely a disk
 * that is not mounted, or a data_dir that names another directory than
 * Cassandra's: the version goes on without it (its coverage says so),
 * unless no node holds one, which is one mistake for all of them. */
static strata_err check_nodes_hold_sstables(const cluster_config *c, const cluster_file *const *files,
                                            const size_t *count) {
    size_t empty = 0;
    for (size_t i = 0; i < c->n_nodes; i++) empty += !backup_node_holds_sstables(files[i], count[i]);
    if (c->n_nodes && empty == c->n_nodes)
        return strata_fail(STRATA_ENOENT,
                           "no SSTable in the nodes' data directories (node %s: %s): a data_dir is the directory "
                           "holding <keyspace>/<table>-<id>/ directories, such as /var/lib/cassandra/data",
                           c->nodes[0].name, c->nodes[0].data_dirs[0]);
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!backup_node_holds_sstables(files[i], count[i]))
            strata_log(STRATA_LOG_WARN,
                       "node %s: no SSTable in its data directories (a disk not mounted, or not the directory "
                       "holding <keyspace>/<table>-<id>/); the version counts it as not captured",
                       c->nodes[i].name);
    return STRATA_OK;
}

/* Reconciles the tables (unless files_only) under the nodes' schema, then
 * stores the files kept as the nodes hold them. */
static strata_err store_aligned(repo *r, const backup_options *opt, snapshot_task *tasks,
                                const backup_schemas *schemas, int64_t time_us, backup_job *job,
                                reconcile_state *rec, uint64_t *logical) {
    size_t n_nodes = opt->cluster->n_nodes;
    const cluster_file **files;
    size_t *count;
    snapshot_files(tasks, n_nodes, &files, &count, logical);
    strata_err e = check_nodes_hold_sstables(opt->cluster, files, count);
    if (e) {
        free(files);
        free(count);
        return e;
    }
    uint64_t total = 0;
    collect_items(job, tasks, n_nodes, NULL, &total);
    if (!opt->files_only) {
        uint64_t tables = 0;
        for (size_t i = 0; i < job->n_items; i++) tables += *job->items[i].cf->sstable ? job->items[i].cf->size : 0;
        total = tables + (opt->keep_replicas ? total : 0);
    }
    job->progress = strata_progress_new("backup", total);
    if (!opt->files_only) {
        e = reconcile_run(r, opt, files, count, schemas, time_us, job->progress, rec);
        if (!e && !opt->keep_replicas) {
            free(job->items);
            free(job->files);
            job->n_items = 0;
            collect_items(job, tasks, n_nodes, rec, &total);
        }
    }
    if (!e) e = run_workers(job, opt->jobs);
    strata_progress_done(job->progress);
    free(files);
    free(count);
    return e;
}

static strata_err store_all(repo *r, const backup_options *opt, snapshot_task *tasks, int64_t time_us,
                            backup_job *job, reconcile_state *rec, uint64_t *logical) {
    backup_schemas schemas;
    align_table_ids(opt->cluster, tasks, opt->cluster->n_nodes, opt->files_only, &schemas);
    strata_err e = store_aligned(r, opt, tasks, &schemas, time_us, job, rec, logical);
    merge_schema_set_free(&schemas.set);
    free(schemas.error);
    return e;
}

/* Versions follow each other in time: a layer holds what was written up
 * to its version's cut, and the next one takes what came after; node
 * files of an older time would break the order of versions too. */
static strata_err check_cut(repo *r, int64_t cut) {
    repo_version *v = NULL;
    strata_err e = repo_version_load(r, "latest", &v);
    if (e == STRATA_ENOENT) return strata_clear_error(), STRATA_OK;
    if (!e && v->time_us >= cut) e = strata_fail(STRATA_EINVAL, "the cut must come after the latest version's (%s)", v->id);
    repo_version_free(v);
    return e;
}

/* Two nodes reading one directory (a copy-and-paste slip in the cluster
 * file) would take one replica twice and another not at all. */
static strata_err check_distinct_data_dirs(const cluster_config *c) {
    for (size_t i = 0; i < c->n_nodes; i++)
        for (size_t j = 0; j <= i; j++)
            for (size_t a = 0; a < c->nodes[i].n_data_dirs; a++)
                for (size_t b = 0; b < (j == i ? a : c->nodes[j].n_data_dirs); b++)
                    if (!strcmp(c->nodes[i].data_dirs[a], c->nodes[j].data_dirs[b]))
                        return strata_fail(STRATA_EINVAL, "node '%s' repeats the data_dir %s of node '%s'",
                                           c->nodes[i].name, c->nodes[i].data_dirs[a], c->nodes[j].name);
    return STRATA_OK;
}

strata_err backup_run(repo *r, const backup_options *opt, backup_result *res) {
    memset(res, 0, sizeof *res);
    double start = strata_mono_s();
    int64_t time_us = opt->cut_us ? opt->cut_us : strata_now_us();
    char iso[32], tag[64];
    strata_iso8601(strata_now_us() / 1000000, iso);
    snprintf(tag, sizeof tag, "strata-%.4s%.2s%.2sT%.2s%.2s%.2sZ-%d", iso, iso + 5, iso + 8, iso + 11,
             iso + 14, iso + 17, (int)getpid());
    size_t n_nodes = opt->cluster->n_nodes;
    snapshot_task *tasks = xcalloc(n_nodes, sizeof *tasks);
    backup_job job = {.r = r, .opt = opt};
    pthread_mutex_init(&job.lock, NULL);
    reconcile_state rec = {0};
    uint64_t logical = 0;

    strata_err e = check_distinct_data_dirs(opt->cluster);
    if (!e) e = check_cut(r, time_us);
    if (!e) e = snapshot_all(opt, tag, tasks);
    if (!e) e = store_all(r, opt, tasks, time_us, &job, &rec, &logical);
    if (!e) e = publish(r, opt, &job, opt->files_only ? NULL : &rec, time_us, logical, res);
    /* Releasing may log; keep the message of the failure that matters. */
    char saved[512];
    snprintf(saved, sizeof saved, "%s", strata_errmsg());
    release_all(tasks, n_nodes);
    if (e) strata_fail(e, "%s", saved);
    res->nodes = n_nodes;
    res->seconds = strata_mono_s() - start;
    for (size_t i = 0; i < job.n_items; i++) repo_file_clear(&job.files[i]);
    reconcile_free(&rec);
    free(job.files);
    free(job.items);
    free(tasks);
    pthread_mutex_destroy(&job.lock);
    return e;
}
