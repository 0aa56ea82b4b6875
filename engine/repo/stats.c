/* stats.c - how much the repository holds, and what it would cost without it.
 *
 * Logical bytes are what the versions stand for: every replica of every
 * table, in every version.  A reconciled table stores about one replica
 * (its layers) and counts as the SSTables of all captured nodes, which the
 * backup recorded as its replica_bytes; a table stored as the nodes' files
 * counts as those files.  Stored bytes are what the packs occupy.  A
 * table's stored bytes count each distinct chunk of its files once, at its
 * packed size. */
#include "engine/repo/repo_int.h"

#include <string.h>

typedef struct {
    repo_table_stats stats;
    pending_set *seen;
    const char *node;    /* the node whose bytes are being summed (newest version) */
    uint64_t node_bytes; /* its bytes of the table so far */
} table_acc;

int repo_table_summary_order(const void *pa, const void *pb) {
    const repo_table_summary *a = pa, *b = pb;
    int c = strcmp(a->keyspace, b->keyspace);
    if (!c) c = strcmp(a->table, b->table);
    if (!c) c = strcmp(a->table_id, b->table_id);
    return c;
}

const repo_table_summary *repo_version_table_summary(const repo_version *v, const char *keyspace,
                                                     const char *table, const char *table_id) {
    if (!v->n_tables) return NULL;
    repo_table_summary key = {.keyspace = (char *)keyspace, .table = (char *)table, .table_id = (char *)table_id};
    return bsearch(&key, v->tables, v->n_tables, sizeof *v->tables, repo_table_summary_order);
}

static table_acc *find_table(table_acc **tables, size_t *n, const char *ks, const char *table) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*tables)[i].stats.keyspace, ks) && !strcmp((*tables)[i].stats.table, table))
            return &(*tables)[i];
    *tables = xrealloc(*tables, (*n + 1) * sizeof **tables);
    table_acc *t = &(*tables)[(*n)++];
    memset(t, 0, sizeof *t);
    t->stats.keyspace = xstrdup(ks);
    t->stats.table = xstrdup(table);
    t->seen = pending_set_new();
    return t;
}

static void add_logical(table_acc *t, repo_version_stats *vs, uint64_t bytes, int latest) {
    t->stats.logical_all += bytes;
    vs->logical += bytes;
    if (latest) t->stats.logical_latest += bytes;
}

/* Adds bytes of the table on `node`, which the newest version lists node
 * by node (its sources and files are sorted by node first). */
static void add_node_bytes(table_acc *t, const char *node, uint64_t bytes) {
    if (!t->node || strcmp(t->node, node)) t->node = node, t->node_bytes = 0;
    t->node_bytes += bytes;
    if (t->node_bytes > t->stats.one_node_latest) t->stats.one_node_latest = t->node_bytes;
}

/* A file counts towards stored bytes always, towards logical bytes (and
 * its node's copy of the table) only when its table was not reconciled
 * (the summary and the sources count those). */
static void account_file(repo *r, const repo_version *v, table_acc *t, repo_version_stats *vs, const repo_file *f,
                         int latest) {
    vs->files++;
    if (latest) t->stats.files_latest++;
    if (*f->node && !repo_version_table_summary(v, f->keyspace, f->table, f->table_id)) {
        add_logical(t, vs, f->size, latest);
        if (latest) add_node_bytes(t, f->node, f->size);
    }
    for (uint32_t c = 0; c < f->n_chunks; c++) {
        chunk_location loc;
        if (pending_set_add(t->seen, f->chunks[c].id)) continue;
        if (index_chunk_get(r, f->chunks[c].id, &loc) == STRATA_OK) t->stats.stored += loc.stored_len;
    }
}

static void account_version(repo *r, const repo_version *v, table_acc **tables, size_t *n_tables,
                            repo_version_stats *vs, int latest) {
    snprintf(vs->id, sizeof vs->id, "%s", v->id);
    vs->reconciled = v->reconciled;
    vs->stored = v->stored_bytes;
    for (size_t i = 0; i < v->n_tables; i++) {
        const repo_table_summary *sum = &v->tables[i];
        table_acc *t = find_table(tables, n_tables, sum->keyspace, sum->table);
        add_logical(t, vs, sum->replica_bytes, latest);
        vs->reconciled_bytes += sum->layer_bytes;
        if (latest) t->stats.reconciled_latest += sum->layer_bytes;
    }
    for (size_t i = 0; i < v->n_files; i++) {
        const repo_file *f = &v->files[i];
        account_file(r, v, find_table(tables, n_tables, f->keyspace, f->table), vs, f, latest);
    }
    if (!latest) return;
    /* one node's copy of a reconciled table: its SSTables as the backup read them */
    for (size_t i = 0; i < v->n_sources; i++) {
        const repo_source *s = &v->sources[i];
        add_node_bytes(find_table(tables, n_tables, s->keyspace, s->table), s->node, s->bytes);
    }
    for (size_t i = 0; i < *n_tables; i++) (*tables)[i].node = NULL; /* v's, freed after */
}

static int cmp_table(const void *a, const void *b) {
    const repo_table_stats *x = a, *y = b;
    int c = strcmp(x->keyspace, y->keyspace);
    return c ? c : strcmp(x->table, y->table);
}

strata_err repo_stats_compute(repo *r, repo_stats **out) {
    repo_stats *s = xcalloc(1, sizeof *s);
    strata_err e = repo_stored_bytes(r, &s->stored, &s->packs);
    char **ids = NULL;
    size_t n = 0;
    if (!e) e = repo_version_list(r, &ids, &n);
    s->versions = xcalloc(n ? n : 1, sizeof *s->versions);
    table_acc *tables = NULL;
    size_t n_tables = 0;
    for (size_t i = 0; !e && i < n; i++) {
        repo_version *v;
        e = repo_version_load(r, ids[i], &v);
        if (e) break;
        repo_version_stats *vs = &s->versions[s->n_versions++];
        account_version(r, v, &tables, &n_tables, vs, i == n - 1);
        s->logical_all += vs->logical;
        repo_version_free(v);
    }
    repo_version_list_free(ids, n);
    s->tables = xcalloc(n_tables ? n_tables : 1, sizeof *s->tables);
    for (size_t i = 0; i < n_tables; i++) {
        s->tables[i] = tables[i].stats;
        pending_set_free(tables[i].seen);
    }
    s->n_tables = n_tables;
    free(tables);
    if (s->n_tables) qsort(s->tables, s->n_tables, sizeof *s->tables, cmp_table);
    if (e) {
        repo_stats_free(s);
        return e;
    }
    *out = s;
    return STRATA_OK;
}

void repo_stats_free(repo_stats *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_tables; i++) {
        free(s->tables[i].keyspace);
        free(s->tables[i].table);
    }
    free(s->tables);
    free(s->versions);
    free(s);
}
