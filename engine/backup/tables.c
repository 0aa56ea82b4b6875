/* tables.c - the snapshots' files seen as the cluster's tables.
 *
 * Snapshots list files per node; reconciling works per table across the
 * nodes, and per SSTable (a set of component files) inside a table.  A
 * table here is a keyspace, name and id: a table dropped and created
 * again under the same name is another table. */
#include "engine/backup/backup_int.h"

#include <string.h>

typedef struct {
    size_t node;
    const cluster_file *f;
} node_file;

static int cmp_node_file(const void *pa, const void *pb) {
    const node_file *a = pa, *b = pb;
    int c = strcmp(a->f->keyspace, b->f->keyspace);
    if (!c) c = strcmp(a->f->table, b->f->table);
    if (!c) c = strcmp(a->f->table_id, b->f->table_id);
    if (!c && a->node != b->node) c = a->node < b->node ? -1 : 1;
    if (!c) c = strcmp(a->f->rel_path, b->f->rel_path);
    return c;
}

static int same_table(const cluster_file *a, const cluster_file *b) {
    return !strcmp(a->keyspace, b->keyspace) && !strcmp(a->table, b->table) && !strcmp(a->table_id, b->table_id);
}

/* Adds the file to the table's SSTable of its node and name (the files
 * come sorted, so it is the last one or a new one). */
static void add_component(backup_table *t, size_t node, const cluster_file *f) {
    backup_sstable *s = t->n_sstables ? &t->sstables[t->n_sstables - 1] : NULL;
    if (!s || s->node != node || strcmp(s->sstable, f->sstable)) {
        t->sstables = xrealloc(t->sstables, (t->n_sstables + 1) * sizeof *t->sstables);
        s = &t->sstables[t->n_sstables++];
        *s = (backup_sstable){.node = node, .sstable = f->sstable};
    }
    s->files = xrealloc(s->files, (s->n_files + 1) * sizeof *s->files);
    s->files[s->n_files++] = f;
    s->bytes += f->size;
    t->bytes += f->size;
    if (strata_ends_with(f->rel_path, "-Data.db")) s->data = f;
}

void backup_tables_group(const cluster_file *const *files, const size_t *count, size_t n_nodes,
                         backup_table_list *out) {
    size_t n = 0;
    for (size_t i = 0; i < n_nodes; i++) n += count[i];
    node_file *all = xcalloc(n ? n : 1, sizeof *all);
    n = 0;
    for (size_t i = 0; i < n_nodes; i++)
        for (size_t j = 0; j < count[i]; j++) all[n++] = (node_file){i, &files[i][j]};
    if (n) qsort(all, n, sizeof *all, cmp_node_file);
    *out = (backup_table_list){0};
    for (size_t i = 0; i < n; i++) {
        const cluster_file *f = all[i].f;
        if (!out->n || !same_table(out->v[out->n - 1].files[0], f)) {
            out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = (backup_table){.keyspace = f->keyspace, .table = f->table, .table_id = f->table_id};
        }
        backup_table *t = &out->v[out->n - 1];
        t->files = xrealloc(t->files, (t->n_files + 1) * sizeof *t->files);
        t->files[t->n_files++] = f;
        if (*f->sstable && f->sstable[0] != '.') add_component(t, all[i].node, f);
    }
    free(all);
}

void backup_tables_free(backup_table_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        for (size_t j = 0; j < l->v[i].n_sstables; j++) free(l->v[i].sstables[j].files);
        free(l->v[i].sstables);
        free(l->v[i].files);
    }
    free(l->v);
    *l = (backup_table_list){0};
}

int backup_node_holds_sstables(const cluster_file *files, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (*files[i].sstable) return 1;
    return 0;
}

void backup_tables_schema_files(const backup_table_list *l, merge_schema_file **out, size_t *n) {
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const backup_table *t = &l->v[i];
        if (strcmp(t->keyspace, "system_schema")) continue;
        for (size_t j = 0; j < t->n_sstables; j++) {
            if (!t->sstables[j].data) continue;
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = (merge_schema_file){t->table, t->sstables[j].data->abs_path};
        }
    }
}
