/* stats.c - how much the repository holds, and what it would cost without it.
 *
 * Logical bytes are what the versions contain (every node's files, every
 * version); stored bytes are what the packs occupy.  A table's stored
 * bytes count each distinct chunk of its files once, at its packed size. */
#include "engine/repo/repo_int.h"

#include <string.h>

typedef struct {
    repo_table_stats stats;
    pending_set *seen;
} table_acc;

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

static void account_file(repo *r, table_acc *t, const repo_file *f, int latest) {
    t->stats.logical_all += f->size;
    if (latest) {
        t->stats.files_latest++;
        t->stats.logical_latest += f->size;
    }
    for (uint32_t c = 0; c < f->n_chunks; c++) {
        chunk_location loc;
        if (pending_set_add(t->seen, f->chunks[c].id)) continue;
        if (index_chunk_get(r, f->chunks[c].id, &loc) == STRATA_OK) t->stats.stored += loc.stored_len;
    }
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
    table_acc *tables = NULL;
    size_t n_tables = 0;
    for (size_t i = 0; !e && i < n; i++) {
        repo_version *v;
        e = repo_version_load(r, ids[i], &v);
        if (e) break;
        s->versions++;
        s->logical_all += v->logical_bytes;
        for (size_t f = 0; f < v->n_files; f++) {
            const repo_file *file = &v->files[f];
            account_file(r, find_table(&tables, &n_tables, file->keyspace, file->table), file, i == n - 1);
        }
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
    free(s);
}
