/* schema.c - a keyspace's tables, columns and dropped columns, read from
 * the system_schema SSTables of one or more nodes.
 *
 * The merge needs the drop times of dropped columns and the view needs
 * the names of key and clustering columns, which no data SSTable records.
 * Both live in system_schema.columns and system_schema.dropped_columns
 * (partition keyspace_name, clustering table_name, column_name).  The
 * nodes' copies are reconciled with the merge itself, so the schema is
 * the one the cluster agrees on even when a node missed a change. */
#include "engine/merge/merge_int.h"

#include <dirent.h>
#include <string.h>

/* Every Data.db of system_schema.<name> under the given directories. */
static void find_data_files(const char *const *dirs, size_t ndirs, const char *name, char ***paths, size_t *n) {
    size_t nl = strlen(name);
    for (size_t d = 0; d < ndirs; d++) {
        DIR *top = opendir(dirs[d]);
        struct dirent *te;
        while (top && (te = readdir(top))) {
            if (strncmp(te->d_name, name, nl) || te->d_name[nl] != '-') continue;
            char *tdir = xasprintf("%s/%s", dirs[d], te->d_name);
            DIR *td = opendir(tdir);
            struct dirent *fe;
            while (td && (fe = readdir(td))) {
                size_t fl = strlen(fe->d_name);
                if (fl < 8 || strcmp(fe->d_name + fl - 8, "-Data.db")) continue;
                *paths = xrealloc(*paths, (*n + 1) * sizeof **paths);
                (*paths)[(*n)++] = xasprintf("%s/%s", tdir, fe->d_name);
            }
            if (td) closedir(td);
            free(tdir);
        }
        if (top) closedir(top);
    }
}

static const sstable_cell *cell_named(const sstable_unfiltered *u, const char *name) {
    for (size_t i = 0; i < u->ncells; i++)
        if (!u->cells[i].deleted && !strcmp(u->cells[i].column->name, name)) return &u->cells[i];
    return NULL;
}

static char *cell_text(const sstable_unfiltered *u, const char *name) {
    const sstable_cell *c = cell_named(u, name);
    return c && c->value.p ? xstrndup((const char *)c->value.p, c->value.len) : NULL;
}

static int64_t cell_be(const sstable_unfiltered *u, const char *name, int64_t absent) {
    const sstable_cell *c = cell_named(u, name);
    if (!c || !c->value.p || !c->value.len || c->value.len > 8) return absent;
    int64_t v = (c->value.p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < c->value.len; i++) v = (int64_t)(((uint64_t)v << 8) | c->value.p[i]);
    return v;
}

static int row_is_live(const sstable_unfiltered *u) {
    if (u->has_liveness) return 1;
    for (size_t i = 0; i < u->ncells; i++)
        if (!u->cells[i].deleted) return 1;
    return 0;
}

static merge_table *table_get(merge_schema *s, const uint8_t *name, size_t len) {
    for (size_t i = 0; i < s->ntables; i++)
        if (strlen(s->tables[i].name) == len && !memcmp(s->tables[i].name, name, len)) return &s->tables[i];
    s->tables = xrealloc(s->tables, (s->ntables + 1) * sizeof *s->tables);
    merge_table *t = &s->tables[s->ntables++];
    *t = (merge_table){0};
    t->name = xstrndup((const char *)name, len);
    return t;
}

typedef void (*row_fn)(merge_schema *s, merge_table *t, const sstable_value *column, const sstable_unfiltered *u);

static void add_column(merge_schema *s, merge_table *t, const sstable_value *column, const sstable_unfiltered *u) {
    (void)s;
    t->columns = xrealloc(t->columns, (t->ncolumns + 1) * sizeof *t->columns);
    merge_column *c = &t->columns[t->ncolumns++];
    c->name = xstrndup((const char *)column->p, column->len);
    c->kind = cell_text(u, "kind");
    c->type = cell_text(u, "type");
    c->position = (int)cell_be(u, "position", -1);
    if (!c->kind) c->kind = xstrdup("regular");
    if (!c->type) c->type = xstrdup("blob");
}

static void add_dropped(merge_schema *s, merge_table *t, const sstable_value *column, const sstable_unfiltered *u) {
    (void)s;
    t->dropped = xrealloc(t->dropped, (t->ndropped + 1) * sizeof *t->dropped);
    merge_dropped *d = &t->dropped[t->ndropped++];
    d->name = xstrndup((const char *)column->p, column->len);
    /* dropped_time is a CQL timestamp (ms); cell timestamps are µs */
    d->dropped_time = cell_be(u, "dropped_time", INT64_MIN / 1000) * 1000;
}

/* Reconciles system_schema.<name> across the nodes and calls fn for each
 * live row of the keyspace. */
static strata_err read_table(const char *const *dirs, size_t ndirs, const char *name, merge_schema *s, row_fn fn) {
    char **paths = NULL;
    size_t n = 0;
    find_data_files(dirs, ndirs, name, &paths, &n);
    strata_err e = STRATA_OK;
    merge *m = NULL;
    if (n) e = merge_open((const char *const *)paths, n, NULL, &m);
    const sstable_partition *p;
    size_t klen = strlen(s->keyspace);
    while (m && !e && !(e = merge_next_partition(m, &p)) && p) {
        if (p->key_len != klen || memcmp(p->key, s->keyspace, klen)) continue;
        const sstable_unfiltered *u;
        while (!(e = merge_next_unfiltered(m, &u)) && u) {
            if (u->kind != SSTABLE_ROW || u->nclustering < 2 || !row_is_live(u)) continue;
            fn(s, table_get(s, u->clustering[0].p, u->clustering[0].len), &u->clustering[1], u);
        }
    }
    merge_close(m);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return e;
}

static int kind_rank(const char *k) {
    if (!strcmp(k, "partition_key")) return 0;
    if (!strcmp(k, "clustering")) return 1;
    return 2;
}

static int column_cmp(const void *pa, const void *pb) {
    const merge_column *a = pa, *b = pb;
    int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
    if (ra != rb) return ra - rb;
    if (ra < 2 && a->position != b->position) return a->position - b->position;
    return strcmp(a->name, b->name);
}

strata_err merge_schema_read(const char *const *dirs, size_t ndirs, const char *keyspace, merge_schema **out) {
    merge_schema *s = xcalloc(1, sizeof *s);
    s->keyspace = xstrdup(keyspace);
    strata_err e = read_table(dirs, ndirs, "columns", s, add_column);
    if (!e) e = read_table(dirs, ndirs, "dropped_columns", s, add_dropped);
    if (!e && !s->ntables) e = strata_fail(STRATA_ENOENT, "keyspace %s: not in system_schema", keyspace);
    if (e) {
        merge_schema_free(s);
        *out = NULL;
        return e;
    }
    for (size_t i = 0; i < s->ntables; i++)
        if (s->tables[i].ncolumns)
            qsort(s->tables[i].columns, s->tables[i].ncolumns, sizeof *s->tables[i].columns, column_cmp);
    *out = s;
    return STRATA_OK;
}

void merge_schema_free(merge_schema *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ntables; i++) {
        merge_table *t = &s->tables[i];
        for (size_t c = 0; c < t->ncolumns; c++) {
            free(t->columns[c].name);
            free(t->columns[c].kind);
            free(t->columns[c].type);
        }
        for (size_t d = 0; d < t->ndropped; d++) free(t->dropped[d].name);
        free(t->columns);
        free(t->dropped);
        free(t->name);
    }
    free(s->tables);
    free(s->keyspace);
    free(s);
}

const merge_table *merge_schema_table(const merge_schema *s, const char *name) {
    for (size_t i = 0; i < s->ntables; i++)
        if (!strcmp(s->tables[i].name, name)) return &s->tables[i];
    return NULL;
}
