/* sstable_lines.h - a compact text form of an SSTable's rows for unit
 * tests: one line per row, "KEY CLUSTERING col=value ...", values in the
 * JSON the module renders.  Tests compare these lines with the content the
 * corpus manifest states, so a test reads like the manifest's table. */
#ifndef STRATA_TEST_SSTABLE_LINES_H
#define STRATA_TEST_SSTABLE_LINES_H

#include <string.h>

#include "engine/sstable/sstable.h"

static void lines_append_json(strata_buf *b, json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    strata_buf_put(b, s, strlen(s));
    free(s);
    json_decref(j);
}

static void lines_append(strata_buf *b, const char *s) { strata_buf_put(b, s, strlen(s)); }

/* The element type of a multi-cell column's path and value. */
static const sstable_type *lines_path_type(const sstable_type *t) {
    if (t->kind == SSTABLE_T_SET || t->kind == SSTABLE_T_MAP) return t->params[0];
    return NULL;
}

static const sstable_type *lines_value_type(const sstable_type *t, const sstable_cell *c) {
    if (!t->multicell) return t;
    if (t->kind == SSTABLE_T_LIST) return t->params[0];
    if (t->kind == SSTABLE_T_MAP) return t->params[1];
    if (t->kind == SSTABLE_T_UDT && c->path.len == 2) {
        size_t i = (size_t)c->path.p[0] << 8 | c->path.p[1];
        return i < t->nparams ? t->params[i] : NULL;
    }
    return NULL;
}

/* Appends one row as a line (without the newline). */
static void lines_row(strata_buf *b, const sstable *s, const sstable_partition *p, const sstable_unfiltered *u) {
    const sstable_header *h = sstable_get_header(s);
    lines_append_json(b, sstable_value_json(h->key_type, p->key, p->key_len));
    if (u->kind == SSTABLE_STATIC_ROW) {
        lines_append(b, " static");
    } else {
        json_t *ck = json_array();
        for (size_t i = 0; i < u->nclustering; i++)
            json_array_append_new(ck, sstable_value_json(h->clustering[i], u->clustering[i].p, u->clustering[i].len));
        lines_append(b, " ");
        lines_append_json(b, ck);
    }
    for (size_t i = 0; i < u->ncells; i++) {
        const sstable_cell *c = &u->cells[i];
        const sstable_type *t = c->column->type;
        lines_append(b, " ");
        lines_append(b, c->column->name);
        if (c->path.p) {
            const sstable_type *pt = lines_path_type(t);
            lines_append(b, "[");
            if (pt) lines_append_json(b, sstable_value_json(pt, c->path.p, c->path.len));
            lines_append(b, "]");
        }
        if (c->deleted) {
            lines_append(b, "=<deleted>");
            continue;
        }
        const sstable_type *vt = lines_value_type(t, c);
        if (t->multicell && t->kind == SSTABLE_T_SET) continue;
        lines_append(b, "=");
        if (vt) lines_append_json(b, sstable_value_json(vt, c->value.p, c->value.len));
    }
}

/* All rows (not markers, not empty static rows) of the SSTable at path, as
 * one newline-separated string; NULL when reading fails. */
static char *lines_of(const char *path) {
    sstable *s;
    if (sstable_open(path, &s)) return NULL;
    strata_buf b;
    strata_buf_init(&b);
    const sstable_partition *p;
    const sstable_unfiltered *u;
    strata_err e;
    while (!(e = sstable_next_partition(s, &p)) && p) {
        while (!(e = sstable_next_unfiltered(s, &u)) && u) {
            if (u->kind == SSTABLE_RT_BOUND || u->kind == SSTABLE_RT_BOUNDARY) continue;
            if (u->kind == SSTABLE_STATIC_ROW && !u->ncells) continue;
            lines_row(&b, s, p, u);
            lines_append(&b, "\n");
        }
        if (e) break;
    }
    sstable_close(s);
    strata_buf_put_u8(&b, 0);
    if (e) {
        strata_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

#endif
