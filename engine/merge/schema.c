/* schema.c - a keyspace's replication, user types, tables, materialized
 * views, columns, dropped columns and indexes, read from the system_schema SSTables of one
 * or more nodes.
 *
 * The merge needs the drop times of dropped columns, the view the names of
 * key and clustering columns, a restore the replication and the CQL that
 * recreates each table: none of it is in a table's own SSTables.  All of
 * it is in system_schema (partition keyspace_name; clustering the table or
 * type name, then the column or index name).  The nodes' copies are
 * reconciled with the merge itself, so the schema is the one the cluster
 * agrees on even when a node missed a change. */
#include "engine/merge/merge_int.h"

#include <dirent.h>
#include <stddef.h>
#include <string.h>

static const sstable_cell *cell_named(const sstable_unfiltered *u, const char *name) {
    for (size_t i = 0; i < u->ncells; i++)
        if (!u->cells[i].deleted && !strcmp(u->cells[i].column->name, name)) return &u->cells[i];
    return NULL;
}

/* The cell's value as sstable_value_json() renders it; NULL when absent. */
static json_t *cell_json(const sstable_unfiltered *u, const char *name) {
    const sstable_cell *c = cell_named(u, name);
    return c && c->value.p ? sstable_value_json(c->column->type, c->value.p, c->value.len) : NULL;
}

static char *cell_text(const sstable_unfiltered *u, const char *name, const char *absent) {
    const sstable_cell *c = cell_named(u, name);
    if (c && c->value.p) return xstrndup((const char *)c->value.p, c->value.len);
    return absent ? xstrdup(absent) : NULL;
}

static int64_t cell_be(const sstable_unfiltered *u, const char *name, int64_t absent) {
    const sstable_cell *c = cell_named(u, name);
    if (!c || !c->value.p || !c->value.len || c->value.len > 8) return absent;
    int64_t v = (c->value.p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < c->value.len; i++) v = (int64_t)(((uint64_t)v << 8) | c->value.p[i]);
    return v;
}

static double cell_double(const sstable_unfiltered *u, const char *name) {
    json_t *j = cell_json(u, name);
    double d = json_is_number(j) ? json_number_value(j) : 0;
    json_decref(j);
    return d;
}

static int pair_cmp(const void *pa, const void *pb) {
    return strcmp(((const merge_pair *)pa)->key, ((const merge_pair *)pb)->key);
}

/* A map<text, text> or map<text, blob> cell (blobs as "0x…"). */
static void cell_map(const sstable_unfiltered *u, const char *name, merge_map *m) {
    json_t *j = cell_json(u, name);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (!json_is_string(v)) continue;
        m->pairs = xrealloc(m->pairs, (m->n + 1) * sizeof *m->pairs);
        m->pairs[m->n++] = (merge_pair){xstrdup(k), xstrdup(json_string_value(v))};
    }
    json_decref(j);
    if (m->n) qsort(m->pairs, m->n, sizeof *m->pairs, pair_cmp);
}

/* A list<text> cell as strings; returns the count. */
static size_t cell_list(const sstable_unfiltered *u, const char *name, char ***out) {
    json_t *j = cell_json(u, name);
    size_t n = 0, i;
    json_t *v;
    *out = NULL;
    json_array_foreach(j, i, v) {
        *out = xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = xstrdup(json_is_string(v) ? json_string_value(v) : "");
    }
    json_decref(j);
    return n;
}

static void map_free(merge_map *m) {
    for (size_t i = 0; i < m->n; i++) free(m->pairs[i].key), free(m->pairs[i].value);
    free(m->pairs);
}

const char *merge_map_get(const merge_map *m, const char *key) {
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->pairs[i].key, key)) return m->pairs[i].value;
    return NULL;
}

static int row_is_live(const sstable_unfiltered *u) {
    if (u->has_liveness) return 1;
    for (size_t i = 0; i < u->ncells; i++)
        if (!u->cells[i].deleted) return 1;
    return 0;
}

static char *clustering_text(const sstable_unfiltered *u, size_t i) {
    return xstrndup((const char *)u->clustering[i].p, u->clustering[i].len);
}

static merge_table *table_get(merge_schema *s, const sstable_unfiltered *u) {
    const sstable_value *name = &u->clustering[0];
    for (size_t i = 0; i < s->ntables; i++)
        if (strlen(s->tables[i].name) == name->len && (!name->len || !memcmp(s->tables[i].name, name->p, name->len)))
            return &s->tables[i];
    s->tables = xrealloc(s->tables, (s->ntables + 1) * sizeof *s->tables);
    merge_table *t = &s->tables[s->ntables++];
    *t = (merge_table){0};
    t->name = clustering_text(u, 0);
    return t;
}

/* ---- One reader per system_schema table; u is a live row of the keyspace ---- */

static void add_keyspace(merge_schema *s, const sstable_unfiltered *u) {
    json_t *dw = cell_json(u, "durable_writes");
    s->durable_writes = json_is_true(dw);
    json_decref(dw);
    map_free(&s->replication);
    s->replication = (merge_map){0};
    cell_map(u, "replication", &s->replication);
}

static void add_type(merge_schema *s, const sstable_unfiltered *u) {
    s->types = xrealloc(s->types, (s->ntypes + 1) * sizeof *s->types);
    merge_type *t = &s->types[s->ntypes++];
    *t = (merge_type){0};
    t->name = clustering_text(u, 0);
    t->nfields = cell_list(u, "field_names", &t->field_names);
    char **types;
    size_t ntypes = cell_list(u, "field_types", &types);
    t->field_types = xcalloc(t->nfields + 1, sizeof *t->field_types);
    for (size_t i = 0; i < t->nfields; i++) t->field_types[i] = xstrdup(i < ntypes ? types[i] : "blob");
    for (size_t i = 0; i < ntypes; i++) free(types[i]);
    free(types);
}

static void params_free(merge_table_params *p) {
    free(p->additional_write_policy), free(p->comment), free(p->read_repair), free(p->speculative_retry);
    map_free(&p->caching), map_free(&p->compaction), map_free(&p->compression), map_free(&p->extensions);
    *p = (merge_table_params){0};
}

/* The options system_schema.tables and .views share.  A second row of the
 * same name (a table and a view named alike in damaged SSTables) replaces
 * the first. */
static void read_params(merge_table *t, const sstable_unfiltered *u) {
    merge_table_params *p = &t->params;
    params_free(p);
    const sstable_cell *id = cell_named(u, "id");
    p->has_id = id && id->value.p && id->value.len == 16;
    if (p->has_id) memcpy(p->id, id->value.p, 16);
    /* Cassandra's defaults where versions before 4.0 stored nothing */
    p->additional_write_policy = cell_text(u, "additional_write_policy", "99p");
    p->read_repair = cell_text(u, "read_repair", "BLOCKING");
    json_t *cdc = cell_json(u, "cdc");
    p->cdc = json_is_true(cdc);
    json_decref(cdc);
    p->bloom_filter_fp_chance = cell_double(u, "bloom_filter_fp_chance");
    p->crc_check_chance = cell_double(u, "crc_check_chance");
    cell_map(u, "caching", &p->caching);
    cell_map(u, "compaction", &p->compaction);
    cell_map(u, "compression", &p->compression);
    cell_map(u, "extensions", &p->extensions);
    p->comment = cell_text(u, "comment", "");
    p->speculative_retry = cell_text(u, "speculative_retry", "99p");
    p->default_time_to_live = (int32_t)cell_be(u, "default_time_to_live", 0);
    p->gc_grace_seconds = (int32_t)cell_be(u, "gc_grace_seconds", 0);
    p->max_index_interval = (int32_t)cell_be(u, "max_index_interval", 0);
    p->memtable_flush_period_in_ms = (int32_t)cell_be(u, "memtable_flush_period_in_ms", 0);
    p->min_index_interval = (int32_t)cell_be(u, "min_index_interval", 0);
    t->has_params = 1;
}

static void add_table(merge_schema *s, const sstable_unfiltered *u) { read_params(table_get(s, u), u); }

static void add_view(merge_schema *s, const sstable_unfiltered *u) {
    merge_table *t = table_get(s, u);
    read_params(t, u);
    if (!t->view) t->view = xcalloc(1, sizeof *t->view);
    free(t->view->base_table), free(t->view->where_clause);
    t->view->base_table = cell_text(u, "base_table_name", "");
    t->view->where_clause = cell_text(u, "where_clause", "");
    json_t *all = cell_json(u, "include_all_columns");
    t->view->include_all_columns = json_is_true(all);
    json_decref(all);
}

static void add_column(merge_schema *s, const sstable_unfiltered *u) {
    merge_table *t = table_get(s, u);
    t->columns = xrealloc(t->columns, (t->ncolumns + 1) * sizeof *t->columns);
    merge_column *c = &t->columns[t->ncolumns++];
    c->name = clustering_text(u, 1);
    c->kind = cell_text(u, "kind", "regular");
    c->type = cell_text(u, "type", "blob");
    c->position = (int)cell_be(u, "position", -1);
    char *order = cell_text(u, "clustering_order", "none");
    c->descending = !strcmp(order, "desc");
    free(order);
}

static void add_dropped(merge_schema *s, const sstable_unfiltered *u) {
    merge_table *t = table_get(s, u);
    t->dropped = xrealloc(t->dropped, (t->ndropped + 1) * sizeof *t->dropped);
    merge_dropped *d = &t->dropped[t->ndropped++];
    d->name = clustering_text(u, 1);
    d->type = cell_text(u, "type", "blob");
    d->kind = cell_text(u, "kind", "regular");
    /* dropped_time is a CQL timestamp (ms); cell timestamps are µs.  As
     * Cassandra's TimeUnit conversion, a time beyond the µs range
     * saturates. */
    int64_t ms = cell_be(u, "dropped_time", INT64_MIN / 1000);
    d->dropped_time = ms > INT64_MAX / 1000 ? INT64_MAX : ms < INT64_MIN / 1000 ? INT64_MIN : ms * 1000;
}

static void add_index(merge_schema *s, const sstable_unfiltered *u) {
    merge_table *t = table_get(s, u);
    t->indexes = xrealloc(t->indexes, (t->nindexes + 1) * sizeof *t->indexes);
    merge_index *x = &t->indexes[t->nindexes++];
    *x = (merge_index){0};
    x->name = clustering_text(u, 1);
    x->kind = cell_text(u, "kind", "COMPOSITES");
    cell_map(u, "options", &x->options);
}

typedef void (*row_fn)(merge_schema *s, const sstable_unfiltered *u);

/* Types come before columns: whether a column is multi-cell, which orders
 * it, can depend on them. */
static const struct {
    const char *table;
    size_t nclustering;
    row_fn fn;
} READERS[] = {
    {"keyspaces", 0, add_keyspace},     {"types", 1, add_type},    {"tables", 1, add_table},
    {"views", 1, add_view},             {"columns", 2, add_column},
    {"dropped_columns", 2, add_dropped}, {"indexes", 2, add_index},
};

/* The schema of keyspace `name` in the set, or NULL. */
static merge_schema *set_find(const merge_schema_set *set, const uint8_t *name, size_t len) {
    for (size_t i = 0; i < set->n; i++)
        if (strlen(set->v[i]->keyspace) == len && !memcmp(set->v[i]->keyspace, name, len)) return set->v[i];
    return NULL;
}

static merge_schema *set_add(merge_schema_set *set, const uint8_t *name, size_t len) {
    merge_schema *s = xcalloc(1, sizeof *s);
    s->keyspace = xstrndup((const char *)name, len);
    set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
    set->v[set->n++] = s;
    return s;
}

/* Reconciles the given SSTables of one system_schema table and calls fn
 * for each live row of a keyspace of the set; with `grow`, a keyspace the
 * set lacks is added to it, else its rows are passed over. */
static strata_err read_table(const char *const *paths, size_t n, size_t nclustering, merge_schema_set *set,
                             int grow, row_fn fn) {
    merge *m = NULL;
    strata_err e = merge_open(paths, n, NULL, &m);
    const sstable_partition *p;
    while (!e && !(e = merge_next_partition(m, &p)) && p) {
        merge_schema *s = set_find(set, p->key, p->key_len);
        if (!s && !grow) continue;
        if (!s) s = set_add(set, p->key, p->key_len);
        const sstable_unfiltered *u;
        while (!(e = merge_next_unfiltered(m, &u)) && u)
            if (u->kind == SSTABLE_ROW && u->nclustering >= nclustering && row_is_live(u)) fn(s, u);
    }
    merge_close(m);
    return e;
}

/* ---- Order ---- */

static int kind_rank(const char *k) {
    static const char *const order[] = {"partition_key", "clustering", "static"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(k, order[i])) return i;
    return 3;
}

/* A CQL type names a multi-cell column: a collection or a user type, not
 * frozen (system_schema spells frozen ones "frozen<…>"). */
static int type_is_complex(const merge_schema *s, const char *type) {
    if (!strncmp(type, "list<", 5) || !strncmp(type, "set<", 4) || !strncmp(type, "map<", 4)) return 1;
    size_t n = strlen(type);
    if (n >= 2 && type[0] == '"' && type[n - 1] == '"') {
        char *name = xstrndup(type + 1, n - 2);
        int udt = merge_schema_type(s, name) != NULL;
        free(name);
        return udt;
    }
    return merge_schema_type(s, type) != NULL;
}

typedef struct {
    merge_column column;
    int complex;
} sort_column;

static int column_cmp(const void *pa, const void *pb) {
    const sort_column *a = pa, *b = pb;
    int ra = kind_rank(a->column.kind), rb = kind_rank(b->column.kind);
    if (ra != rb) return ra - rb;
    if (ra < 2 && a->column.position != b->column.position) return a->column.position - b->column.position;
    return merge_column_compare(a->column.name, a->complex, b->column.name, b->complex);
}

static void sort_columns(const merge_schema *s, merge_table *t) {
    sort_column *v = xmalloc((t->ncolumns + 1) * sizeof *v);
    for (size_t i = 0; i < t->ncolumns; i++)
        v[i] = (sort_column){t->columns[i], type_is_complex(s, t->columns[i].type)};
    qsort(v, t->ncolumns, sizeof *v, column_cmp);
    for (size_t i = 0; i < t->ncolumns; i++) t->columns[i] = v[i].column;
    free(v);
}

/* ---- Reading ---- */

/* Reads every system_schema table of the files into the schemas of the
 * set, one pass over each: with `grow` every keyspace met gets one. */
static strata_err read_set(const merge_schema_file *files, size_t nfiles, merge_schema_set *set, int grow) {
    const char **paths = xcalloc(nfiles + 1, sizeof *paths);
    strata_err e = STRATA_OK;
    for (size_t r = 0; !e && r < sizeof READERS / sizeof *READERS; r++) {
        size_t n = 0;
        for (size_t i = 0; i < nfiles; i++)
            if (!strcmp(files[i].table, READERS[r].table)) paths[n++] = files[i].path;
        if (n) e = read_table(paths, n, READERS[r].nclustering, set, grow, READERS[r].fn);
    }
    free(paths);
    for (size_t k = 0; !e && k < set->n; k++)
        for (size_t i = 0; i < set->v[k]->ntables; i++) sort_columns(set->v[k], &set->v[k]->tables[i]);
    return e;
}

/* Rows of other system_schema tables alone (a user type) do not make a
 * keyspace known. */
static int keyspace_known(const merge_schema *s) { return s->ntables || s->replication.n; }

static strata_err not_known(const char *keyspace) {
    return strata_fail(STRATA_ENOENT, "keyspace %s: not in system_schema", keyspace);
}

strata_err merge_schema_read_files(const merge_schema_file *files, size_t nfiles, const char *keyspace,
                                   merge_schema **out) {
    merge_schema_set set = {0};
    merge_schema *s = set_add(&set, (const uint8_t *)keyspace, strlen(keyspace));
    strata_err e = read_set(files, nfiles, &set, 0);
    if (!e && !keyspace_known(s)) e = not_known(keyspace);
    free(set.v);
    if (e) {
        merge_schema_free(s);
        *out = NULL;
        return e;
    }
    *out = s;
    return STRATA_OK;
}

strata_err merge_schema_read_all(const merge_schema_file *files, size_t nfiles, merge_schema_set *out) {
    *out = (merge_schema_set){0};
    strata_err e = read_set(files, nfiles, out, 1);
    if (e) merge_schema_set_free(out);
    return e;
}

strata_err merge_schema_set_get(const merge_schema_set *set, const char *keyspace, const merge_schema **out) {
    *out = set_find(set, (const uint8_t *)keyspace, strlen(keyspace));
    if (*out && keyspace_known(*out)) return STRATA_OK;
    *out = NULL;
    return not_known(keyspace);
}

void merge_schema_set_free(merge_schema_set *set) {
    for (size_t i = 0; i < set->n; i++) merge_schema_free(set->v[i]);
    free(set->v);
    *set = (merge_schema_set){0};
}

void merge_find_table_data(const char *const *dirs, size_t ndirs, const char *name, char ***paths, size_t *n) {
    size_t nl = strlen(name);
    for (size_t d = 0; d < ndirs; d++) {
        DIR *top = opendir(dirs[d]);
        struct dirent *te;
        while (top && (te = readdir(top))) {
            if (strncmp(te->d_name, name, nl) || (te->d_name[nl] != '-' && te->d_name[nl])) continue;
            char *tdir = xasprintf("%s/%s", dirs[d], te->d_name);
            DIR *td = opendir(tdir);
            struct dirent *fe;
            while (td && (fe = readdir(td))) {
                if (!strata_ends_with(fe->d_name, "-Data.db")) continue;
                *paths = xrealloc(*paths, (*n + 1) * sizeof **paths);
                (*paths)[(*n)++] = xasprintf("%s/%s", tdir, fe->d_name);
            }
            if (td) closedir(td);
            free(tdir);
        }
        if (top) closedir(top);
    }
}

strata_err merge_schema_read(const char *const *dirs, size_t ndirs, const char *keyspace, merge_schema **out) {
    merge_schema_file *files = NULL;
    size_t n = 0;
    for (size_t r = 0; r < sizeof READERS / sizeof *READERS; r++) {
        char **paths = NULL;
        size_t np = 0;
        merge_find_table_data(dirs, ndirs, READERS[r].table, &paths, &np);
        files = xrealloc(files, (n + np + 1) * sizeof *files);
        for (size_t i = 0; i < np; i++) files[n++] = (merge_schema_file){READERS[r].table, paths[i]};
        free(paths);
    }
    strata_err e = merge_schema_read_files(files, n, keyspace, out);
    for (size_t i = 0; i < n; i++) free((char *)files[i].path);
    free(files);
    return e;
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
        for (size_t d = 0; d < t->ndropped; d++) {
            free(t->dropped[d].name);
            free(t->dropped[d].type);
            free(t->dropped[d].kind);
        }
        for (size_t x = 0; x < t->nindexes; x++) {
            free(t->indexes[x].name);
            free(t->indexes[x].kind);
            map_free(&t->indexes[x].options);
        }
        params_free(&t->params);
        if (t->view) free(t->view->base_table), free(t->view->where_clause), free(t->view);
        free(t->columns);
        free(t->dropped);
        free(t->indexes);
        free(t->name);
    }
    for (size_t i = 0; i < s->ntypes; i++) {
        merge_type *u = &s->types[i];
        for (size_t f = 0; f < u->nfields; f++) free(u->field_names[f]), free(u->field_types[f]);
        free(u->field_names);
        free(u->field_types);
        free(u->name);
    }
    map_free(&s->replication);
    free(s->types);
    free(s->tables);
    free(s->keyspace);
    free(s);
}

const merge_table *merge_schema_table(const merge_schema *s, const char *name) {
    for (size_t i = 0; i < s->ntables; i++)
        if (!strcmp(s->tables[i].name, name)) return &s->tables[i];
    return NULL;
}

const merge_type *merge_schema_type(const merge_schema *s, const char *name) {
    for (size_t i = 0; i < s->ntypes; i++)
        if (!strcmp(s->types[i].name, name)) return &s->types[i];
    return NULL;
}
