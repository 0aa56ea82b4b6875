/* schema_cql.c - the CQL that recreates a table, as Cassandra 4.0's
 * `nodetool snapshot` writes it into schema.cql.
 *
 * A backup that stores a table's SSTables must also store what recreates
 * the table before they are loaded back; Cassandra's own file is the
 * reference a restore and an operator expect, so it is rebuilt from
 * system_schema with the rules of SchemaCQLHelper, TableMetadata,
 * UserType, IndexMetadata and TableParams, down to their quirks: a
 * single-column key with dropped columns leaves the last comma out, user
 * type field names are never quoted, and two orders are those of Java
 * HashMaps. */
#include "engine/merge/merge_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ---- Java HashMap order ----------------------------------------------------
 * TableMetadata keeps its columns and dropped columns in HashMaps keyed by
 * the names' bytes (ByteBuffer), and the user types of a table are listed
 * and the dropped columns printed in those maps' iteration order: by
 * bucket, and in a bucket by insertion.  When Cassandra loads a table from
 * system_schema, names are put in clustering (byte) order, columns one by
 * one into a map that grows from 16 buckets, dropped columns likewise into
 * one map that is then copied with putAll into an empty map sized for
 * them. */

typedef struct {
    uint32_t bucket;       /* in the final map */
    uint32_t first_bucket; /* in the map it was copied from, if any */
    const char *name;
    size_t index;
} hashed_name;

/* ByteBuffer.hashCode of the name's bytes, spread as HashMap.hash does. */
static uint32_t java_hash(const char *name) {
    uint32_t h = 1;
    for (size_t i = strlen(name); i-- > 0;) h = 31 * h + (uint32_t)(int32_t)(int8_t)name[i];
    return h ^ (h >> 16);
}

/* Buckets of a HashMap given n keys one by one: it doubles past 3/4 full. */
static uint32_t grown_capacity(size_t n) {
    uint32_t c = 16;
    while (n > (size_t)c / 4 * 3) c *= 2;
    return c;
}

/* Buckets of an empty HashMap given n keys by putAll (tableSizeFor). */
static uint32_t presized_capacity(size_t n) {
    uint32_t t = (uint32_t)((float)n / 0.75f + 1.0f), c = 1;
    while (c < t) c <<= 1;
    return c;
}

static int hashed_cmp(const void *pa, const void *pb) {
    const hashed_name *a = pa, *b = pb;
    if (a->bucket != b->bucket) return a->bucket < b->bucket ? -1 : 1;
    if (a->first_bucket != b->first_bucket) return a->first_bucket < b->first_bucket ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The permutation of names[0..n) in the iteration order of such a map,
 * copied by putAll into a fresh one when `copied`.  Caller frees. */
static size_t *hashmap_order(const char *const *names, size_t n, int copied) {
    uint32_t grown = grown_capacity(n), final = copied ? presized_capacity(n) : grown;
    hashed_name *h = xmalloc((n + 1) * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        uint32_t hash = java_hash(names[i]);
        h[i] = (hashed_name){hash & (final - 1), hash & (grown - 1), names[i], i};
    }
    qsort(h, n, sizeof *h, hashed_cmp);
    size_t *order = xmalloc((n + 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = h[i].index;
    free(h);
    return order;
}

/* ---- User types ------------------------------------------------------------- */

static const char *const NATIVE_TYPES[] = {
    "ascii", "bigint",  "blob", "boolean", "counter",   "date",     "decimal", "double", "duration", "float",
    "inet",  "int",     "smallint", "text", "time",     "timestamp", "timeuuid", "tinyint", "uuid",  "varchar",
    "varint", "empty",
};

static int is_native(const char *name) {
    for (size_t i = 0; i < sizeof NATIVE_TYPES / sizeof *NATIVE_TYPES; i++)
        if (!strcmp(name, NATIVE_TYPES[i])) return 1;
    return 0;
}

typedef struct {
    const merge_type **v;
    size_t n;
} type_list;

/* The next type name in a CQL type string (a word not followed by '<', or
 * a double-quoted name), or NULL at the end; *p moves past it.  Custom
 * types, in single quotes, are skipped. */
static char *next_type_name(const char **p) {
    for (const char *s = *p; *s;) {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            strata_buf b;
            strata_buf_init(&b);
            for (; *s && (*s != q || s[1] == q); s++) {
                if (*s == q) s++;
                strata_buf_put(&b, s, 1);
            }
            s += *s == q;
            strata_buf_put(&b, "", 1);
            if (q == '"') {
                *p = s;
                return (char *)b.data;
            }
            strata_buf_free(&b);
        } else if (isalnum((unsigned char)*s) || *s == '_') {
            const char *w = s;
            while (isalnum((unsigned char)*s) || *s == '_') s++;
            const char *after = s;
            while (*after == ' ') after++;
            if (*after != '<') {
                *p = s;
                return xstrndup(w, (size_t)(s - w));
            }
        } else {
            s++;
        }
    }
    return NULL;
}

/* Adds the user types `type` uses to list, each after the ones its fields
 * use (TableMetadata.addUserTypes). */
static strata_err add_user_types(const merge_schema *s, const merge_table *t, const char *type, type_list *list,
                                 int depth) {
    const char *p = type;
    char *name;
    strata_err e = STRATA_OK;
    while (!e && (name = next_type_name(&p))) {
        const merge_type *u = merge_schema_type(s, name);
        if (!u && !is_native(name))
            e = strata_fail(STRATA_ENOENT, "%s.%s uses user type %s, which system_schema.types lacks", s->keyspace,
                            t->name, name);
        else if (u && depth > 64)
            e = strata_fail(STRATA_ECORRUPT, "user type %s.%s: nested too deeply", s->keyspace, u->name);
        for (size_t f = 0; !e && u && f < u->nfields; f++) e = add_user_types(s, t, u->field_types[f], list, depth + 1);
        size_t i = 0;
        while (u && i < list->n && list->v[i] != u) i++;
        if (!e && u && i == list->n) {
            list->v = xrealloc(list->v, (list->n + 1) * sizeof *list->v);
            list->v[list->n++] = u;
        }
        free(name);
    }
    return e;
}

static void put_type(strata_buf *b, const merge_schema *s, const merge_type *u) {
    merge_buf_puts(b, "CREATE TYPE IF NOT EXISTS ");
    merge_cql_identifier(b, s->keyspace);
    merge_buf_puts(b, ".");
    merge_cql_identifier(b, u->name);
    merge_buf_puts(b, " (\n");
    for (size_t f = 0; f < u->nfields; f++) {
        merge_buf_puts(b, f ? ",\n    " : "    ");
        merge_buf_puts(b, u->field_names[f]);
        merge_buf_puts(b, " ");
        merge_buf_puts(b, u->field_types[f]);
    }
    merge_buf_puts(b, "\n);\n");
}

/* ---- Table -------------------------------------------------------------------- */

static void put_table_name(strata_buf *b, const merge_schema *s, const merge_table *t) {
    merge_cql_identifier(b, s->keyspace);
    merge_buf_puts(b, ".");
    merge_cql_identifier(b, t->name);
}

static void put_column(strata_buf *b, const char *name, const char *type, const char *kind) {
    merge_cql_identifier(b, name);
    merge_buf_puts(b, " ");
    merge_buf_puts(b, type);
    if (!strcmp(kind, "static")) merge_buf_puts(b, " static");
}

static const merge_dropped *dropped_named(const merge_table *t, const char *name) {
    for (size_t i = 0; i < t->ndropped; i++)
        if (!strcmp(t->dropped[i].name, name)) return &t->dropped[i];
    return NULL;
}

static const merge_column *column_named(const merge_table *t, const char *name) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (!strcmp(t->columns[i].name, name)) return &t->columns[i];
    return NULL;
}

static size_t count_kind(const merge_table *t, const char *kind) {
    size_t n = 0;
    for (size_t i = 0; i < t->ncolumns; i++) n += !strcmp(t->columns[i].kind, kind);
    return n;
}

/* The names of the columns of `kind`, comma separated, each followed by
 * its clustering order when `order`. */
static void put_names(strata_buf *b, const merge_table *t, const char *kind, int order) {
    int first = 1;
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (strcmp(t->columns[i].kind, kind)) continue;
        if (!first) merge_buf_puts(b, ", ");
        merge_cql_identifier(b, t->columns[i].name);
        if (order) merge_buf_puts(b, t->columns[i].descending ? " DESC" : " ASC");
        first = 0;
    }
}

static void put_primary_key(strata_buf *b, const merge_table *t);

/* TableMetadata.appendColumnDefinitions and appendPrimaryKey.  A column
 * dropped and added again is left to the ALTER TABLE ADD that follows its
 * drop. */
static void put_columns(strata_buf *b, const merge_table *t, const size_t *dropped_order) {
    int single_key = count_kind(t, "partition_key") == 1 && count_kind(t, "clustering") == 0;
    for (size_t i = 0; i < t->ncolumns; i++) {
        const merge_column *c = &t->columns[i];
        if (dropped_named(t, c->name)) continue;
        merge_buf_puts(b, "    ");
        put_column(b, c->name, c->type, c->kind);
        if (single_key && !strcmp(c->kind, "partition_key")) merge_buf_puts(b, " PRIMARY KEY");
        if (!single_key || t->ndropped || i + 1 < t->ncolumns) merge_buf_puts(b, ",");
        merge_buf_puts(b, "\n");
    }
    for (size_t i = 0; i < t->ndropped; i++) {
        const merge_dropped *d = &t->dropped[dropped_order[i]];
        merge_buf_puts(b, "    ");
        put_column(b, d->name, d->type, d->kind);
        merge_buf_puts(b, single_key ? "\n" : ",\n");
    }
    if (single_key) return;
    merge_buf_puts(b, "    ");
    put_primary_key(b, t);
}

/* TableMetadata.appendPrimaryKey. */
static void put_primary_key(strata_buf *b, const merge_table *t) {
    merge_buf_puts(b, "PRIMARY KEY (");
    int compound = count_kind(t, "partition_key") > 1;
    if (compound) merge_buf_puts(b, "(");
    put_names(b, t, "partition_key", 0);
    if (compound) merge_buf_puts(b, ")");
    if (count_kind(t, "clustering")) {
        merge_buf_puts(b, ", ");
        put_names(b, t, "clustering", 0);
    }
    merge_buf_puts(b, ")\n");
}

static void put_uuid(strata_buf *b, const uint8_t id[16]) {
    char hex[33];
    strata_hex(id, 16, hex);
    char text[37];
    snprintf(text, sizeof text, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    merge_buf_puts(b, text);
}

/* TableMetadata.appendTableOptions, after "WITH ": the ID, the clustering
 * order, the options. */
static void put_table_options(strata_buf *b, const merge_table *t) {
    merge_buf_puts(b, "ID = ");
    put_uuid(b, t->params.id);
    if (count_kind(t, "clustering")) {
        merge_buf_puts(b, "\n    AND CLUSTERING ORDER BY (");
        put_names(b, t, "clustering", 1);
        merge_buf_puts(b, ")");
    }
    merge_buf_puts(b, "\n    AND ");
    merge_cql_table_options(b, &t->params, t->view != NULL);
    merge_buf_puts(b, ";");
}

static int select_order(const void *a, const void *b) {
    return merge_column_compare((*(const merge_column *const *)a)->name, 0, (*(const merge_column *const *)b)->name, 0);
}

/* ", " and the names of the columns of `kind` in Columns.selectOrderIterator
 * order: as in a row (ColumnMetadata.compareTo), but simple and complex ones
 * together. */
static void put_select_names(strata_buf *b, const merge_table *t, const char *kind) {
    const merge_column **v = xmalloc((t->ncolumns + 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < t->ncolumns; i++)
        if (!strcmp(t->columns[i].kind, kind)) v[n++] = &t->columns[i];
    qsort(v, n, sizeof *v, select_order);
    for (size_t i = 0; i < n; i++) {
        merge_buf_puts(b, ", ");
        merge_cql_identifier(b, v[i]->name);
    }
    free(v);
}

/* ViewMetadata.appendCqlTo. */
static void put_view(strata_buf *b, const merge_schema *s, const merge_table *t) {
    merge_buf_puts(b, "CREATE MATERIALIZED VIEW IF NOT EXISTS ");
    put_table_name(b, s, t);
    merge_buf_puts(b, " AS\n    SELECT ");
    if (t->view->include_all_columns) {
        merge_buf_puts(b, "*");
    } else {
        put_names(b, t, "partition_key", 0);
        if (count_kind(t, "clustering")) merge_buf_puts(b, ", ");
        put_names(b, t, "clustering", 0);
        put_select_names(b, t, "static");
        put_select_names(b, t, "regular");
    }
    merge_buf_puts(b, "\n    FROM ");
    merge_cql_identifier(b, s->keyspace);
    merge_buf_puts(b, ".");
    merge_cql_identifier(b, t->view->base_table);
    merge_buf_puts(b, "\n    WHERE ");
    merge_buf_puts(b, t->view->where_clause);
    merge_buf_puts(b, "\n    ");
    put_primary_key(b, t);
    merge_buf_puts(b, " WITH ");
    put_table_options(b, t);
    merge_buf_puts(b, "\n");
}

/* ---- Drops and indexes ----------------------------------------------------------- */

static void put_drops(strata_buf *b, const merge_schema *s, const merge_table *t, const size_t *dropped_order) {
    for (size_t i = 0; i < t->ndropped; i++) {
        const merge_dropped *d = &t->dropped[dropped_order[i]];
        char ts[32];
        snprintf(ts, sizeof ts, "%lld", (long long)d->dropped_time);
        merge_buf_puts(b, "\nALTER TABLE ");
        put_table_name(b, s, t);
        merge_buf_puts(b, " DROP ");
        merge_cql_identifier(b, d->name);
        merge_buf_puts(b, " USING TIMESTAMP ");
        merge_buf_puts(b, ts);
        merge_buf_puts(b, ";");
        const merge_column *again = column_named(t, d->name);
        if (!again) continue;
        merge_buf_puts(b, "\nALTER TABLE ");
        put_table_name(b, s, t);
        merge_buf_puts(b, " ADD ");
        put_column(b, again->name, again->type, again->kind);
        merge_buf_puts(b, ";");
    }
}

/* IndexMetadata.appendCqlTo: the target as stored; a custom index's
 * class, and its other options as a map. */
static void put_index(strata_buf *b, const merge_schema *s, const merge_table *t, const merge_index *x) {
    int custom = !strcmp(x->kind, "CUSTOM");
    const char *target = merge_map_get(&x->options, "target");
    merge_buf_puts(b, custom ? "CREATE CUSTOM INDEX IF NOT EXISTS " : "CREATE INDEX IF NOT EXISTS ");
    merge_cql_identifier(b, x->name);
    merge_buf_puts(b, " ON ");
    put_table_name(b, s, t);
    merge_buf_puts(b, " (");
    merge_buf_puts(b, target ? target : "null");
    merge_buf_puts(b, ")");
    if (custom) {
        const char *cls = merge_map_get(&x->options, "class_name");
        merge_buf_puts(b, " USING ");
        merge_cql_string(b, cls ? cls : "null");
        merge_map rest = {0, xmalloc((x->options.n + 1) * sizeof *rest.pairs)};
        for (size_t i = 0; i < x->options.n; i++)
            if (strcmp(x->options.pairs[i].key, "target") && strcmp(x->options.pairs[i].key, "class_name"))
                rest.pairs[rest.n++] = x->options.pairs[i];
        if (rest.n) {
            merge_buf_puts(b, " WITH OPTIONS = ");
            merge_cql_map(b, &rest, 1);
        }
        free(rest.pairs);
    }
    merge_buf_puts(b, ";\n");
}

/* ---- The file ---------------------------------------------------------------------- */

strata_err merge_table_cql(const merge_schema *s, const merge_table *t, char **out) {
    *out = NULL;
    if (!t->has_params)
        return strata_fail(STRATA_ENOENT, "%s.%s: not in system_schema.tables or .views", s->keyspace, t->name);
    const char **names = xmalloc((t->ncolumns + t->ndropped + 1) * sizeof *names);
    for (size_t i = 0; i < t->ncolumns; i++) names[i] = t->columns[i].name;
    size_t *column_order = hashmap_order(names, t->ncolumns, 0);
    type_list types = {0};
    strata_err e = STRATA_OK;
    /* a DESC clustering column's type is wrapped in ReversedType, which
     * hides the user types inside it from Cassandra's search */
    for (size_t i = 0; !e && i < t->ncolumns; i++) {
        const merge_column *c = &t->columns[column_order[i]];
        if (!c->descending) e = add_user_types(s, t, c->type, &types, 0);
    }
    for (size_t i = 0; i < t->ndropped; i++) names[i] = t->dropped[i].name;
    size_t *dropped_order = hashmap_order(names, t->ndropped, 1);
    free(names);
    free(column_order);
    if (e) {
        free(types.v);
        free(dropped_order);
        return e;
    }

    strata_buf b;
    strata_buf_init(&b);
    for (size_t i = 0; i < types.n; i++) put_type(&b, s, types.v[i]);
    if (t->view) {
        put_view(&b, s, t);
    } else {
        merge_buf_puts(&b, "CREATE TABLE IF NOT EXISTS ");
        put_table_name(&b, s, t);
        merge_buf_puts(&b, " (\n");
        put_columns(&b, t, dropped_order);
        merge_buf_puts(&b, ") WITH ");
        put_table_options(&b, t);
        put_drops(&b, s, t, dropped_order);
        merge_buf_puts(&b, "\n");
        for (size_t i = 0; i < t->nindexes; i++) put_index(&b, s, t, &t->indexes[i]);
    }
    strata_buf_put(&b, "", 1);
    free(types.v);
    free(dropped_order);
    *out = (char *)b.data;
    return STRATA_OK;
}
