/* row.c - reconciling the versions of one row held by several SSTables.
 *
 * Follows Row.Merger: the newest primary key liveness and row deletion
 * win; a row deletion newer than the covering deletion (partition or range
 * tombstone) becomes the deletion that shadows the row's liveness and
 * cells; per column the versions of a cell reconcile as Cells.reconcile
 * does, and a collection's newest complex deletion shadows its older
 * elements.  Cells of dropped columns written before the drop are left out
 * first, as Cassandra does when it reads them. */
#include "engine/merge/merge_int.h"

#include <string.h>

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

int merge_deletion_supersedes(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at > b->marked_for_delete_at ||
           (a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time > b->local_deletion_time);
}

/* ---- Liveness ---------------------------------------------------------- */

typedef struct {
    int present;
    int64_t timestamp;
    int32_t ttl;
    int64_t local_expiration;
} liveness;

static const liveness NO_LIVENESS = {0, INT64_MIN, 0, INT64_MAX};

static liveness liveness_of(const sstable_unfiltered *u) {
    if (!u->has_liveness) return NO_LIVENESS;
    return (liveness){1, u->timestamp, u->ttl, u->local_expiration};
}

/* LivenessInfo.supersedes; the TTL INT32_MAX marks an expired view row. */
static int liveness_supersedes(const liveness *a, const liveness *b) {
    if (a->timestamp != b->timestamp) return a->timestamp > b->timestamp;
    int aexpired = a->ttl == INT32_MAX, bexpired = b->ttl == INT32_MAX;
    if (aexpired != bexpired) return aexpired;
    int aexp = a->ttl != 0, bexp = b->ttl != 0;
    if (aexp == bexp) return a->local_expiration > b->local_expiration;
    return aexp;
}

/* ---- Cells --------------------------------------------------------------- */

static int compare_bytes(const sstable_value *a, const sstable_value *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->p, b->p, n) : 0;
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Cells.resolveRegular: returns the winner of two versions of a cell. */
static const sstable_cell *reconcile_regular(const sstable_cell *a, const sstable_cell *b) {
    if (a->timestamp != b->timestamp) return a->timestamp > b->timestamp ? a : b;
    int adel = a->deleted || a->expiring, bdel = b->deleted || b->expiring;
    if (adel || bdel) {
        if (adel != bdel) return adel ? a : b;
        int atomb = !a->expiring, btomb = !b->expiring;
        if (atomb != btomb) return atomb ? a : b;
        if (a->local_deletion_time != b->local_deletion_time)
            return a->local_deletion_time > b->local_deletion_time ? a : b;
    }
    return compare_bytes(&a->value, &b->value) >= 0 ? a : b;
}

/* A buffer for a counter context made for the current row, valid until
 * the next row. */
static strata_buf *counter_slot(merge *m) {
    if (m->ncounters == m->counters_cap) {
        size_t cap = m->counters_cap ? 2 * m->counters_cap : 16;
        m->counters = xrealloc(m->counters, cap * sizeof *m->counters);
        for (size_t i = m->counters_cap; i < cap; i++) strata_buf_init(&m->counters[i]);
        m->counters_cap = cap;
    }
    return &m->counters[m->ncounters++];
}

/* Cells.resolveCounter: a tombstone always wins; otherwise the contexts
 * merge shard by shard under the newer timestamp.  *merged receives the
 * result when it is neither input. */
static const sstable_cell *reconcile_counter(merge *m, const sstable_cell *a, const sstable_cell *b,
                                             sstable_cell *merged) {
    if (a->deleted || b->deleted) {
        if (a->deleted && b->deleted) return reconcile_regular(a, b);
        return a->deleted ? a : b;
    }
    if (!a->value.len || !b->value.len) {
        if (!a->value.len != !b->value.len) return !a->value.len ? a : b;
        return a->timestamp > b->timestamp ? a : b;
    }
    if (merge_counter_contexts(a->value.p, a->value.len, b->value.p, b->value.len, &m->counter_tmp)) {
        strata_log(STRATA_LOG_WARN, "merge: %s; keeping the newer counter cell", strata_errmsg());
        return a->timestamp >= b->timestamp ? a : b;
    }
    strata_buf *slot = counter_slot(m);
    strata_buf swap = *slot;
    *slot = m->counter_tmp;
    m->counter_tmp = swap;
    *merged = *a;
    merged->timestamp = a->timestamp > b->timestamp ? a->timestamp : b->timestamp;
    merged->value.p = slot->data;
    merged->value.len = slot->len;
    return merged;
}

/* ---- Ordering the inputs' cells ---------------------------------------- */

typedef struct {
    merge *m;
    const sstable_column *columns;
} order_ctx;

static int compare_paths(const merge *m, const sstable_type *t, const sstable_value *a, const sstable_value *b) {
    if (t->kind == SSTABLE_T_SET || t->kind == SSTABLE_T_MAP) return sstable_value_compare(t->params[0], a, b);
    if (t->kind == SSTABLE_T_LIST) return sstable_value_compare(m->list_path_type, a, b);
    return compare_bytes(a, b);
}

/* By column; inside a column the complex deletions first, then cells by
 * path; versions of one cell by input. */
static int item_order(const void *pa, const void *pb, void *arg) {
    const order_ctx *o = arg;
    const merge_item *a = pa, *b = pb;
    if (a->column != b->column) return a->column < b->column ? -1 : 1;
    if (!a->cell || !b->cell) {
        if (a->cell || b->cell) return a->cell ? 1 : -1;
    } else if (a->cell->path.p || b->cell->path.p) {
        int c = compare_paths(o->m, o->columns[a->column].type, &a->cell->path, &b->cell->path);
        if (c) return c;
    }
    return (a->src > b->src) - (a->src < b->src);
}

/* Makes room in m->items (and m->items_tmp, where merge_runs() merges
 * them) for `n` items. */
static void reserve_items(merge *m, size_t n) {
    if (n <= m->items_cap) return;
    m->items_cap = n > 2 * m->items_cap ? n : 2 * m->items_cap;
    m->items = xrealloc(m->items, m->items_cap * sizeof *m->items);
    m->items_tmp = xrealloc(m->items_tmp, m->items_cap * sizeof *m->items_tmp);
}

/* One input row's cells and complex deletions, less dropped ones, in
 * merged order: the input's column order maps onto the united one
 * monotonically, so interleaving its two lists by column is enough. */
static void gather_source(merge *m, size_t si, int is_static, size_t *count) {
    const int64_t *dropped = is_static ? m->static_dropped : m->regular_dropped;
    const merge_source *src = &m->src[si];
    const sstable_unfiltered *u = src->u;
    const size_t *map = is_static ? src->static_map : src->regular_map;
    size_t c = 0, d = 0;
    while (c < u->ncells || d < u->ncomplex_deletions) {
        int take_deletion = d < u->ncomplex_deletions &&
                            (c == u->ncells || u->complex_deletions[d].column_index <= u->cells[c].column_index);
        if (take_deletion) {
            const sstable_complex_deletion *cd = &u->complex_deletions[d++];
            size_t col = map[cd->column_index];
            if (cd->deletion.marked_for_delete_at > dropped[col])
                m->items[(*count)++] = (merge_item){col, si, NULL, &cd->deletion};
        } else {
            const sstable_cell *cell = &u->cells[c++];
            size_t col = map[cell->column_index];
            if (cell->timestamp > dropped[col]) m->items[(*count)++] = (merge_item){col, si, cell, NULL};
        }
    }
}

/* Merges the n runs of items (each in merged order already, run g
 * starting at m->run_start[g]) into merged order: the inputs' rows are
 * sorted, so a merge of runs does what a sort of the whole would, in a
 * fraction of the comparisons. */
static void merge_runs(merge *m, size_t n, size_t count, const order_ctx *o) {
    size_t *at = m->run_at, *end = m->run_at + n;
    for (size_t g = 0; g < n; g++) at[g] = m->run_start[g], end[g] = m->run_start[g + 1];
    for (size_t out = 0; out < count; out++) {
        size_t best = n;
        for (size_t g = 0; g < n; g++)
            if (at[g] < end[g] && (best == n || item_order(&m->items[at[g]], &m->items[at[best]], (void *)o) < 0))
                best = g;
        m->items_tmp[out] = m->items[at[best]++];
    }
    merge_item *t = m->items;
    m->items = m->items_tmp;
    m->items_tmp = t;
}

/* The cells and complex deletions of the rows of the `n` inputs in
 * `members`, in merged order; returns their count. */
static size_t gather(merge *m, const size_t *members, size_t n, int is_static) {
    size_t count = 0;
    for (size_t g = 0; g < n; g++) {
        const sstable_unfiltered *u = m->src[members[g]].u;
        count += u->ncells + u->ncomplex_deletions;
    }
    reserve_items(m, count);
    count = 0;
    for (size_t g = 0; g < n; g++) {
        m->run_start[g] = count;
        gather_source(m, members[g], is_static, &count);
    }
    m->run_start[n] = count;
    order_ctx o = {m, is_static ? m->header.statics : m->header.regulars};
    if (n > 1 && count > 1) merge_runs(m, n, count, &o);
    return count;
}

/* ---- Output ---------------------------------------------------------------- */

static void emit_cell(merge *m, const sstable_cell *c, size_t col, int is_static) {
    if (m->out.ncells == m->cells_cap) {
        m->cells_cap = m->cells_cap ? 2 * m->cells_cap : 32;
        m->cells = xrealloc(m->cells, m->cells_cap * sizeof *m->cells);
    }
    sstable_cell *o = &m->cells[m->out.ncells++];
    *o = *c;
    o->column = is_static ? &m->header.statics[col] : &m->header.regulars[col];
    o->column_index = col;
    o->is_static = is_static;
}

static void emit_complex_deletion(merge *m, size_t col, sstable_deletion d) {
    if (m->out.ncomplex_deletions == m->cdels_cap) {
        m->cdels_cap = m->cdels_cap ? 2 * m->cdels_cap : 8;
        m->cdels = xrealloc(m->cdels, m->cdels_cap * sizeof *m->cdels);
    }
    m->cdels[m->out.ncomplex_deletions++] = (sstable_complex_deletion){col, d};
}

static int is_reference(const merge *m, const merge_item *it) { return m->src[it->src].in.reference; }

static int cells_equal(const sstable_cell *a, const sstable_cell *b) {
    return a->timestamp == b->timestamp && a->deleted == b->deleted && a->expiring == b->expiring &&
           a->ttl == b->ttl && a->local_deletion_time == b->local_deletion_time &&
           merge_bytes_equal(&a->value, &b->value);
}

/* The winner among items[from..to) (only the references' when refs_only)
 * that `deletion` does not shadow, or NULL; scratch holds two cells for a
 * merged counter. */
static const sstable_cell *reconcile_items(merge *m, size_t from, size_t to, const sstable_deletion *deletion,
                                           int counter, int refs_only, sstable_cell *scratch) {
    const sstable_cell *win = NULL;
    for (size_t i = from; i < to; i++) {
        const sstable_cell *c = m->items[i].cell;
        if (c->timestamp <= deletion->marked_for_delete_at || (refs_only && !is_reference(m, &m->items[i]))) continue;
        if (!win) win = c;
        else if (counter) {
            sstable_cell *next = scratch == win ? scratch + 1 : scratch;
            win = reconcile_counter(m, win, c, next);
        } else win = reconcile_regular(win, c);
    }
    return win;
}

/* Reconciles the versions items[from..to) of one cell that `deletion`
 * does not shadow, and emits the winner unless the references alone
 * reconcile to the same cell. */
static void reduce_cell(merge *m, size_t from, size_t to, const sstable_deletion *deletion, int is_static) {
    size_t col = m->items[from].column;
    const sstable_column *column = is_static ? &m->header.statics[col] : &m->header.regulars[col];
    int counter = m->has_counters && column->type->kind == SSTABLE_T_COUNTER;
    sstable_cell scratch[2], ref_scratch[2];
    const sstable_cell *win = reconcile_items(m, from, to, deletion, counter, 0, scratch);
    if (!win) return;
    if (m->nrefs) {
        const sstable_cell *ref = reconcile_items(m, from, to, deletion, counter, 1, ref_scratch);
        if (ref && cells_equal(win, ref)) return;
        /* of a counter only the shards that moved on are new */
        int residual_shards = 0;
        if (ref && counter && !win->deleted && !ref->deleted && win->value.len && ref->value.len)
            residual_shards =
                merge_counter_residual(win->value.p, win->value.len, ref->value.p, ref->value.len, &m->counter_tmp);
        if (residual_shards < 0) {
            if (!m->error)
                m->error = strata_fail(STRATA_EFORMAT,
                                       "counter column %s: pre-2.1 local shards that the stored layers hold too "
                                       "add up with them, so no layer can hold only what is new",
                                       column->name);
            return;
        }
        if (residual_shards) {
            strata_buf *slot = counter_slot(m);
            strata_buf swap = *slot;
            *slot = m->counter_tmp;
            m->counter_tmp = swap;
            sstable_cell *residual = scratch == win ? scratch + 1 : scratch;
            *residual = *win;
            residual->value.p = slot->data;
            residual->value.len = slot->len;
            win = residual;
        }
    }
    emit_cell(m, win, col, is_static);
}

static int same_cell(const merge *m, const merge_item *a, const merge_item *b, const sstable_column *columns) {
    if (a->column != b->column || !a->cell || !b->cell) return 0;
    if (!a->cell->path.p && !b->cell->path.p) return 1;
    return compare_paths(m, columns[a->column].type, &a->cell->path, &b->cell->path) == 0;
}

/* Emits one column's surviving cells; items[from..to) are that column's. */
static void reduce_column(merge *m, size_t from, size_t to, sstable_deletion active, int is_static) {
    const sstable_column *columns = is_static ? m->header.statics : m->header.regulars;
    size_t col = m->items[from].column;
    sstable_deletion complex = LIVE, ref_complex = LIVE;
    size_t i = from;
    for (; i < to && !m->items[i].cell; i++) {
        const sstable_deletion *d = m->items[i].complex_deletion;
        if (merge_deletion_supersedes(d, &complex)) complex = *d;
        if (is_reference(m, &m->items[i]) && merge_deletion_supersedes(d, &ref_complex)) ref_complex = *d;
    }
    if (merge_deletion_supersedes(&complex, &active)) {
        if (merge_deletion_supersedes(&complex, &ref_complex)) emit_complex_deletion(m, col, complex);
        active = complex;
    }
    while (i < to) {
        size_t j = i + 1;
        while (j < to && same_cell(m, &m->items[i], &m->items[j], columns)) j++;
        reduce_cell(m, i, j, &active, is_static);
        i = j;
    }
}

static int liveness_equal(const liveness *a, const liveness *b) {
    return a->present == b->present && a->timestamp == b->timestamp && a->ttl == b->ttl &&
           a->local_expiration == b->local_expiration;
}

static int deletions_equal(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time == b->local_deletion_time;
}

/* Whether two inputs hold the same version of a row: the same write that
 * reached several replicas.  Counter cells never count as the same, since
 * local shards add up rather than replace each other. */
static int same_row(const merge *m, const merge_source *a, const merge_source *b, int is_static) {
    const sstable_unfiltered *x = a->u, *y = b->u;
    if (x->has_liveness != y->has_liveness || x->ncells != y->ncells ||
        x->ncomplex_deletions != y->ncomplex_deletions || x->shadowable != y->shadowable ||
        !deletions_equal(&x->row_deletion, &y->row_deletion))
        return 0;
    if (x->has_liveness && (x->timestamp != y->timestamp || x->ttl != y->ttl ||
                            x->local_expiration != y->local_expiration))
        return 0;
    const size_t *xmap = is_static ? a->static_map : a->regular_map, *ymap = is_static ? b->static_map : b->regular_map;
    for (size_t i = 0; i < x->ncomplex_deletions; i++)
        if (xmap[x->complex_deletions[i].column_index] != ymap[y->complex_deletions[i].column_index] ||
            !deletions_equal(&x->complex_deletions[i].deletion, &y->complex_deletions[i].deletion))
            return 0;
    for (size_t i = 0; i < x->ncells; i++) {
        const sstable_cell *c = &x->cells[i], *d = &y->cells[i];
        if (xmap[c->column_index] != ymap[d->column_index] ||
            (m->has_counters && c->column->type->kind == SSTABLE_T_COUNTER) ||
            !cells_equal(c, d) || (c->path.p != NULL) != (d->path.p != NULL) ||
            (c->path.p && !merge_bytes_equal(&c->path, &d->path)))
            return 0;
    }
    return 1;
}

/* Fills the merged row's own fields around its cells and complex
 * deletions, which the caller has set. */
static void finish_row(merge *m, const sstable_unfiltered *first, const liveness *live, sstable_deletion row_deletion,
                       int shadowable) {
    m->out.kind = first->kind;
    m->out.bound_kind = first->bound_kind;
    m->out.nclustering = first->nclustering;
    m->out.clustering = first->clustering;
    m->out.has_liveness = live->present;
    m->out.timestamp = live->timestamp;
    m->out.ttl = live->ttl;
    m->out.local_expiration = live->local_expiration;
    m->out.row_deletion = row_deletion;
    m->out.shadowable = shadowable;
    m->out.deletion = LIVE;
    m->out.end_deletion = LIVE;
}

/* Leaves in m->versions the distinct versions among the rows of the `n`
 * inputs in m->group, in input order, and returns their count.  Replicas
 * mostly hold the same writes, and reconciling a version with a copy of
 * itself changes nothing, so copies are left out; references stay, as the
 * residual needs to know what they hold. */
static size_t distinct_versions(merge *m, size_t n, int is_static) {
    size_t *v = m->versions, nv = 0;
    for (size_t g = 0; g < n; g++) {
        const merge_source *src = &m->src[m->group[g]];
        size_t k = 0;
        if (!src->in.reference)
            while (k < nv && (m->src[v[k]].in.reference || !same_row(m, &m->src[v[k]], src, is_static))) k++;
        if (src->in.reference || k == nv) v[nv++] = m->group[g];
    }
    return nv;
}

static void grow_out(merge *m, size_t ncells, size_t ncdels) {
    if (ncells > m->cells_cap) {
        m->cells_cap = ncells > 2 * m->cells_cap ? ncells : 2 * m->cells_cap;
        m->cells = xrealloc(m->cells, m->cells_cap * sizeof *m->cells);
    }
    if (ncdels > m->cdels_cap) {
        m->cdels_cap = ncdels > 2 * m->cdels_cap ? ncdels : 2 * m->cdels_cap;
        m->cdels = xrealloc(m->cdels, m->cdels_cap * sizeof *m->cdels);
    }
}

/* Whether a row's complex deletion of united column `col` stays in the
 * reduction under `active`: newer than the column's drop and superseding
 * `active`; it then shadows the column's cells. */
static int complex_stays(const sstable_complex_deletion *cd, size_t col, const int64_t *dropped,
                         const sstable_deletion *active) {
    return cd->deletion.marked_for_delete_at > dropped[col] && merge_deletion_supersedes(&cd->deletion, active);
}

/* Walks the complex deletions and cells of the row of one input as its
 * reduction alone filters them under `active`: a cell stays when it is
 * newer than its column's drop and than the deletion above it (its
 * collection's when that stays, else `active`).  With `copy` the ones
 * that stay go to m->cdels and m->cells under their united indexes, with
 * their counts in m->out; without, the walk stops at the first one left
 * out.  Returns whether all stay. */
static int filter_row(merge *m, const merge_source *src, const sstable_deletion *active, int is_static, int copy) {
    const sstable_unfiltered *u = src->u;
    const int64_t *dropped = is_static ? m->static_dropped : m->regular_dropped;
    const size_t *map = is_static ? src->static_map : src->regular_map;
    const sstable_column *columns = is_static ? m->header.statics : m->header.regulars;
    int all = 1;
    if (copy) grow_out(m, u->ncells, u->ncomplex_deletions);
    for (size_t i = 0; i < u->ncomplex_deletions; i++) {
        const sstable_complex_deletion *cd = &u->complex_deletions[i];
        size_t col = map[cd->column_index];
        if (!complex_stays(cd, col, dropped, active)) {
            if (!copy) return 0;
            all = 0;
        } else if (copy) {
            m->cdels[m->out.ncomplex_deletions++] = (sstable_complex_deletion){col, cd->deletion};
        }
    }
    size_t d = 0;
    for (size_t i = 0; i < u->ncells; i++) {
        const sstable_cell *c = &u->cells[i];
        size_t col = map[c->column_index];
        while (d < u->ncomplex_deletions && u->complex_deletions[d].column_index < c->column_index) d++;
        const sstable_complex_deletion *cd = d < u->ncomplex_deletions ? &u->complex_deletions[d] : NULL;
        int64_t shadow = cd && cd->column_index == c->column_index && complex_stays(cd, col, dropped, active)
                             ? cd->deletion.marked_for_delete_at
                             : active->marked_for_delete_at;
        if (c->timestamp <= shadow || c->timestamp <= dropped[col]) {
            if (!copy) return 0;
            all = 0;
        } else if (copy) {
            sstable_cell *o = &m->cells[m->out.ncells++];
            *o = *c;
            o->column_index = col;
            o->column = &columns[col];
        }
    }
    return all;
}

/* The reduction of a row that one input alone holds (not a reference), in
 * one pass: what the general path below gives for one version, without
 * gathering, sorting and reconciling its cells one by one.  When all of
 * them stay and the input's columns have their united indexes, its cells
 * are handed out as the reader holds them (their column, of the same name
 * and type, is the input's).  Returns 1 with the row in m->out, 0 when
 * nothing of it survives. */
static int single_version(merge *m, const merge_source *src, sstable_deletion active, int is_static) {
    const sstable_unfiltered *u = src->u;
    liveness live = liveness_of(u);
    sstable_deletion row_deletion = LIVE;
    int shadowable = 0;
    if (merge_deletion_supersedes(&u->row_deletion, &row_deletion))
        row_deletion = u->row_deletion, shadowable = u->shadowable;
    if (shadowable && live.present && live.timestamp > row_deletion.marked_for_delete_at) row_deletion = LIVE;
    if (merge_deletion_supersedes(&row_deletion, &active)) active = row_deletion;
    else row_deletion = LIVE, shadowable = 0;
    if (live.present && live.timestamp <= active.marked_for_delete_at) live = NO_LIVENESS;
    m->out = (sstable_unfiltered){0};
    if ((is_static ? src->static_same : src->regular_same) && filter_row(m, src, &active, is_static, 0)) {
        m->out.cells = u->cells;
        m->out.ncells = u->ncells;
        m->out.complex_deletions = u->complex_deletions;
        m->out.ncomplex_deletions = u->ncomplex_deletions;
    } else {
        filter_row(m, src, &active, is_static, 1);
        m->out.cells = m->cells;
        m->out.complex_deletions = m->cdels;
    }
    if (!live.present && row_deletion.marked_for_delete_at == INT64_MIN && !m->out.ncells &&
        !m->out.ncomplex_deletions)
        return 0;
    finish_row(m, u, &live, row_deletion, shadowable);
    return 1;
}

int merge_rows(merge *m, size_t n, sstable_deletion active) {
    const sstable_unfiltered *first = m->src[m->group[0]].u;
    int is_static = first->kind == SSTABLE_STATIC_ROW;
    n = distinct_versions(m, n, is_static);
    const size_t *v = m->versions;
    if (n == 1 && !m->src[v[0]].in.reference) return single_version(m, &m->src[v[0]], active, is_static);
    liveness live = NO_LIVENESS, ref_live = NO_LIVENESS;
    sstable_deletion row_deletion = LIVE, ref_row_deletion = LIVE;
    int shadowable = 0;
    m->ncounters = 0;
    for (size_t g = 0; g < n; g++) {
        const merge_source *src = &m->src[v[g]];
        const sstable_unfiltered *u = src->u;
        liveness l = liveness_of(u);
        if (l.present && liveness_supersedes(&l, &live)) live = l;
        if (merge_deletion_supersedes(&u->row_deletion, &row_deletion))
            row_deletion = u->row_deletion, shadowable = u->shadowable;
        if (!src->in.reference) continue;
        if (l.present && liveness_supersedes(&l, &ref_live)) ref_live = l;
        if (merge_deletion_supersedes(&u->row_deletion, &ref_row_deletion)) ref_row_deletion = u->row_deletion;
    }
    if (shadowable && live.present && live.timestamp > row_deletion.marked_for_delete_at) row_deletion = LIVE;
    if (merge_deletion_supersedes(&row_deletion, &active)) active = row_deletion;
    else row_deletion = LIVE, shadowable = 0;
    if (live.present && live.timestamp <= active.marked_for_delete_at) live = NO_LIVENESS;
    /* what the references hold already is not repeated */
    if (!merge_deletion_supersedes(&row_deletion, &ref_row_deletion)) row_deletion = LIVE, shadowable = 0;
    if (m->nrefs && liveness_equal(&live, &ref_live)) live = NO_LIVENESS;

    m->out = (sstable_unfiltered){0};
    size_t count = gather(m, v, n, is_static);
    for (size_t i = 0; i < count;) {
        size_t j = i + 1;
        while (j < count && m->items[j].column == m->items[i].column) j++;
        reduce_column(m, i, j, active, is_static);
        i = j;
    }
    if (!live.present && row_deletion.marked_for_delete_at == INT64_MIN && !m->out.ncells &&
        !m->out.ncomplex_deletions)
        return 0;
    m->out.cells = m->cells;
    m->out.complex_deletions = m->cdels;
    finish_row(m, first, &live, row_deletion, shadowable);
    return 1;
}
