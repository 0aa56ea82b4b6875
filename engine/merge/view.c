/* view.c - the CQL rows a reconciled stream shows at one point in time.
 *
 * A backup holds everything the cluster held, tombstones and expired
 * cells included; what a client would read at time T is derived from it
 * as Cassandra's read path does: cells deleted or expired at T vanish, a
 * row is there while its primary key liveness or one of its cells is live,
 * and a partition whose rows are all gone still shows its live static
 * columns on a row of null clustering columns.  Rows come out in the shape
 * of SELECT JSON with writetime() and ttl() of every simple column, which
 * is how the merge is checked against what Cassandra returned and how a
 * backup can be shown "as of" a time.  One partition's static row is the
 * only thing held across rows. */
#include "engine/merge/merge_int.h"

#include <string.h>

struct merge_view {
    merge *m;
    const merge_table *table;
    int64_t now;
    int in_partition;
    json_t *key;      /* the partition key columns of the current partition */
    json_t *statics;  /* its static columns, rendered */
    int static_live;
    int rows_shown;
};

strata_err merge_view_open(merge *m, const merge_table *table, int64_t now, merge_view **out) {
    merge_view *v = xcalloc(1, sizeof *v);
    v->m = m, v->table = table, v->now = now;
    *out = v;
    return STRATA_OK;
}

void merge_view_close(merge_view *v) {
    if (!v) return;
    json_decref(v->key);
    json_decref(v->statics);
    free(v);
}

/* The n-th column of a kind ("partition_key", "clustering") by position. */
static const merge_column *key_column(const merge_table *t, const char *kind, size_t n) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (!strcmp(t->columns[i].kind, kind) && t->columns[i].position == (int)n) return &t->columns[i];
    return NULL;
}

static int cell_live(const sstable_cell *c, int64_t now) {
    if (c->deleted) return 0;
    return !c->expiring || now < c->local_deletion_time;
}

static int row_live(const sstable_unfiltered *u, int64_t now) {
    if (u->has_liveness && (!u->ttl || now < u->local_expiration)) return 1;
    for (size_t i = 0; i < u->ncells; i++)
        if (cell_live(&u->cells[i], now)) return 1;
    return 0;
}

/* sstable_value_json(), except that IPv6 addresses are spelled as Java's
 * InetAddress does in Cassandra's JSON: eight hex groups, none elided. */
static json_t *value_json(const sstable_type *t, const uint8_t *p, size_t len) {
    if (t->kind != SSTABLE_T_INET || len != 16) return sstable_value_json(t, p, len);
    char buf[48];
    size_t n = 0;
    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, i ? ":%x" : "%x", ((unsigned)p[2 * i] << 8) | p[2 * i + 1]);
    return json_string(buf);
}

static json_t *map_key(json_t *k) {
    if (json_is_string(k)) return k;
    char *s = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(k);
    json_t *r = json_string(s ? s : "");
    free(s);
    return r;
}

/* A multi-cell column's live cells as Cassandra renders the collection. */
static json_t *complex_json(const sstable_type *t, const sstable_unfiltered *u, size_t col, int64_t now) {
    json_t *out = NULL;
    for (size_t i = 0; i < u->ncells; i++) {
        const sstable_cell *c = &u->cells[i];
        if (c->column_index != col || !cell_live(c, now)) continue;
        if (t->kind == SSTABLE_T_SET) {
            if (!out) out = json_array();
            json_array_append_new(out, value_json(t->params[0], c->path.p, c->path.len));
        } else if (t->kind == SSTABLE_T_LIST) {
            if (!out) out = json_array();
            json_array_append_new(out, value_json(t->params[0], c->value.p, c->value.len));
        } else if (t->kind == SSTABLE_T_MAP) {
            if (!out) out = json_object();
            json_t *k = map_key(value_json(t->params[0], c->path.p, c->path.len));
            json_object_set_new(out, json_string_value(k), value_json(t->params[1], c->value.p, c->value.len));
            json_decref(k);
        } else if (t->kind == SSTABLE_T_UDT && c->path.len == 2) {
            if (!out) {
                out = json_object();
                for (size_t f = 0; f < t->nparams; f++) json_object_set_new(out, t->field_names[f], json_null());
            }
            size_t f = ((size_t)c->path.p[0] << 8) | c->path.p[1];
            if (f < t->nparams)
                json_object_set_new(out, t->field_names[f], value_json(t->params[f], c->value.p, c->value.len));
        }
    }
    return out ? out : json_null();
}

/* Sets column `name`, and for simple non-counter columns writetime(name)
 * and ttl(name), from row u (NULL: all null). */
static void put_column(json_t *obj, const char *name, const sstable_column *hc, size_t col, const sstable_unfiltered *u,
                       int64_t now) {
    int simple = !hc || !hc->type->multicell;
    int counter = hc && hc->type->kind == SSTABLE_T_COUNTER;
    char *wt = xasprintf("writetime(%s)", name), *ttl = xasprintf("ttl(%s)", name);
    json_t *value = json_null(), *wv = json_null(), *tv = json_null();
    if (hc && u && !simple) {
        json_decref(value);
        value = complex_json(hc->type, u, col, now);
    }
    for (size_t i = 0; hc && u && simple && i < u->ncells; i++) {
        const sstable_cell *c = &u->cells[i];
        if (c->column_index != col || !cell_live(c, now)) continue;
        json_decref(value), json_decref(wv), json_decref(tv);
        value = counter ? json_integer(merge_counter_total(c->value.p, c->value.len))
                        : value_json(hc->type, c->value.p, c->value.len);
        wv = json_integer(c->timestamp);
        tv = c->expiring ? json_integer(c->local_deletion_time - now) : json_null();
    }
    json_object_set_new(obj, name, value);
    if (simple && !counter) {
        json_object_set_new(obj, wt, wv);
        json_object_set_new(obj, ttl, tv);
    } else {
        json_decref(wv), json_decref(tv);
    }
    free(wt), free(ttl);
}

/* The schema's columns of `kind` rendered from row u. */
static void put_columns(const merge_view *v, json_t *obj, const char *kind, const sstable_unfiltered *u) {
    const sstable_header *h = merge_get_header(v->m);
    int is_static = !strcmp(kind, "static");
    const sstable_column *cols = is_static ? h->statics : h->regulars;
    size_t n = is_static ? h->nstatic : h->nregular;
    for (size_t i = 0; i < v->table->ncolumns; i++) {
        const merge_column *c = &v->table->columns[i];
        if (strcmp(c->kind, kind)) continue;
        size_t col = 0;
        while (col < n && strcmp(cols[col].name, c->name)) col++;
        put_column(obj, c->name, col < n ? &cols[col] : NULL, col, u, v->now);
    }
}

static json_t *key_json(const merge_view *v, const sstable_partition *p) {
    const sstable_header *h = merge_get_header(v->m);
    sstable_value parts[64];
    int n = sstable_key_split(h->key_type, p->key, p->key_len, parts, 64);
    json_t *obj = json_object();
    for (int i = 0; i < n; i++) {
        const merge_column *c = key_column(v->table, "partition_key", (size_t)i);
        const sstable_type *t = h->key_type->kind == SSTABLE_T_COMPOSITE ? h->key_type->params[i] : h->key_type;
        if (c) json_object_set_new(obj, c->name, value_json(t, parts[i].p, parts[i].len));
    }
    return obj;
}

/* A CQL row: the key, clustering u's (null when u is NULL), the statics
 * and u's regular columns. */
static json_t *row_json(const merge_view *v, const sstable_unfiltered *u) {
    const sstable_header *h = merge_get_header(v->m);
    json_t *obj = json_deep_copy(v->key);
    for (size_t i = 0; i < h->nclustering; i++) {
        const merge_column *c = key_column(v->table, "clustering", i);
        if (!c) continue;
        json_t *val = u && i < u->nclustering ? value_json(h->clustering[i], u->clustering[i].p, u->clustering[i].len)
                                              : json_null();
        json_object_set_new(obj, c->name, val);
    }
    if (v->statics) json_object_update(obj, v->statics);
    put_columns(v, obj, "regular", u);
    return obj;
}

static strata_err start_partition(merge_view *v, int *end) {
    const sstable_partition *p;
    strata_err e = merge_next_partition(v->m, &p);
    if (e || !p) {
        *end = 1;
        return e;
    }
    json_decref(v->key);
    json_decref(v->statics);
    v->key = key_json(v, p);
    v->statics = NULL;
    v->static_live = 0;
    v->rows_shown = 0;
    v->in_partition = 1;
    return STRATA_OK;
}

strata_err merge_view_next(merge_view *v, json_t **row) {
    *row = NULL;
    for (;;) {
        if (!v->in_partition) {
            int end = 0;
            strata_err e = start_partition(v, &end);
            if (e || end) return e;
        }
        const sstable_unfiltered *u;
        strata_err e = merge_next_unfiltered(v->m, &u);
        if (e) return e;
        if (!u) {
            v->in_partition = 0;
            if (!v->rows_shown && v->static_live) {
                *row = row_json(v, NULL);
                return STRATA_OK;
            }
            continue;
        }
        if (u->kind == SSTABLE_STATIC_ROW) {
            v->statics = json_object();
            put_columns(v, v->statics, "static", u);
            v->static_live = row_live(u, v->now);
        } else if (u->kind == SSTABLE_ROW && row_live(u, v->now)) {
            if (!v->statics) {
                v->statics = json_object();
                put_columns(v, v->statics, "static", NULL);
            }
            v->rows_shown++;
            *row = row_json(v, u);
            return STRATA_OK;
        }
    }
}
