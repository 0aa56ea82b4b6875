/* gen_partition.c - one partition of a memtable flush.
 *
 * A node's memtable holds the mutations it applied; when it is flushed
 * each partition becomes what Cassandra writes: the newest partition
 * deletion, one row per clustering with the newest liveness, row deletion
 * and version of each cell (a collection replaced by a newer write loses
 * its older elements), and the range deletions normalized into
 * non-overlapping bound and boundary markers.  Data shadowed by a newer
 * deletion of the same partition is left out, as the flush of a memtable
 * leaves it out.  Timestamps of one node's mutations never tie, so the
 * newest version is the one with the highest timestamp. */
#include "tools/gen/gen.h"

#include <string.h>

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

static int supersedes(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at > b->marked_for_delete_at ||
           (a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time > b->local_deletion_time);
}

static int same_deletion(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time == b->local_deletion_time;
}

static const sstable_deletion *newer(const sstable_deletion *a, const sstable_deletion *b) {
    return supersedes(a, b) ? a : b;
}

/* ---- Rows ------------------------------------------------------------------ */

/* A version of a cell, with the mutation it came from. */
typedef struct {
    const gen_cell *cell;
    const gen_mutation *m;
} version;

typedef struct {
    const sstable_header *h;
    version *versions;
    size_t versions_cap;
    sstable_cell *cells;
    size_t cells_cap;
    sstable_complex_deletion cdels[GEN_MAX_CELLS];
} row_builder;

static const sstable_type *path_type(const sstable_type *t) {
    return t->kind == SSTABLE_T_MAP ? t->params[0] : NULL;
}

static const sstable_type *timeuuid_type(void) {
    static sstable_type *t;
    if (!t) t = sstable_type_parse("org.apache.cassandra.db.marshal.TimeUUIDType");
    return t;
}

static const sstable_header *sort_header;
static int sort_static;

/* The two versions are of the same cell: column and collection path. */
static int slot_cmp(const version *a, const version *b) {
    if (a->cell->column != b->cell->column) return a->cell->column - b->cell->column;
    if (!a->cell->path.p) return 0;
    const sstable_column *cols = sort_static ? sort_header->statics : sort_header->regulars;
    const sstable_type *pt = path_type(cols[a->cell->column].type);
    return sstable_value_compare(pt ? pt : timeuuid_type(), &a->cell->path, &b->cell->path);
}

/* By column, then collection path, then newest first. */
static int version_cmp(const void *pa, const void *pb) {
    const version *a = pa, *b = pb;
    int c = slot_cmp(a, b);
    return c ? c : (a->m->timestamp < b->m->timestamp) - (a->m->timestamp > b->m->timestamp);
}

static sstable_cell *add_cell(row_builder *b, size_t *n) {
    if (*n == b->cells_cap) {
        b->cells_cap = b->cells_cap ? 2 * b->cells_cap : 64;
        b->cells = xrealloc(b->cells, b->cells_cap * sizeof *b->cells);
    }
    return &b->cells[(*n)++];
}

/* Reconciles the mutations of one row (n >= 1) under `active`, the
 * partition or range deletion covering it.  Returns 1 with the row in *u
 * when something of it remains. */
static int build_row(row_builder *b, const gen_mutation *const *muts, size_t n, int is_static,
                     const sstable_deletion *active, sstable_unfiltered *u) {
    const sstable_column *cols = is_static ? b->h->statics : b->h->regulars;
    const gen_mutation *live_m = NULL;
    sstable_deletion row_del = LIVE, complex_del[32];
    size_t nversions = 0, ncols = is_static ? b->h->nstatic : b->h->nregular;
    for (size_t c = 0; c < ncols; c++) complex_del[c] = LIVE;
    for (size_t i = 0; i < n; i++) {
        const gen_mutation *m = muts[i];
        if (m->liveness && (!live_m || m->timestamp > live_m->timestamp)) live_m = m;
        sstable_deletion d = {m->timestamp, m->now};
        if (m->row_deleted && supersedes(&d, &row_del)) row_del = d;
        for (size_t c = 0; c < ncols; c++) {
            sstable_deletion cd = {m->timestamp - 1, m->now};
            if ((m->collections_replaced >> c & 1) && supersedes(&cd, &complex_del[c])) complex_del[c] = cd;
        }
        if (nversions + m->ncells > b->versions_cap) {
            b->versions_cap = 2 * (nversions + m->ncells) + 64;
            b->versions = xrealloc(b->versions, b->versions_cap * sizeof *b->versions);
        }
        for (size_t k = 0; k < m->ncells; k++) b->versions[nversions++] = (version){&m->cells[k], m};
    }
    sort_header = b->h, sort_static = is_static;
    if (nversions) qsort(b->versions, nversions, sizeof *b->versions, version_cmp);

    if (!supersedes(&row_del, active)) row_del = LIVE;
    const sstable_deletion *eff = newer(&row_del, active);
    *u = (sstable_unfiltered){.kind = is_static ? SSTABLE_STATIC_ROW : SSTABLE_ROW,
                              .bound_kind = is_static ? SSTABLE_STATIC_CLUSTERING : SSTABLE_CLUSTERING,
                              .nclustering = is_static ? 0 : muts[0]->nclustering,
                              .clustering = is_static ? NULL : muts[0]->clustering, .timestamp = INT64_MIN,
                              .local_expiration = INT64_MAX, .row_deletion = row_del, .deletion = LIVE,
                              .end_deletion = LIVE};
    if (live_m && live_m->timestamp > eff->marked_for_delete_at) {
        u->has_liveness = 1;
        u->timestamp = live_m->timestamp;
        u->ttl = live_m->liveness_ttl;
        if (u->ttl) u->local_expiration = live_m->now + u->ttl;
    }
    size_t ncells = 0, ncdels = 0;
    for (size_t v = 0; v < nversions; v++) {
        const gen_cell *c = b->versions[v].cell;
        const gen_mutation *m = b->versions[v].m;
        if (v > 0 && !slot_cmp(&b->versions[v - 1], &b->versions[v]))
            continue; /* an older version of the cell just taken (or dropped) */
        const sstable_deletion *shadow = eff;
        if (cols[c->column].type->multicell) {
            if (!supersedes(&complex_del[c->column], eff)) complex_del[c->column] = LIVE;
            shadow = newer(&complex_del[c->column], eff);
        }
        if (m->timestamp <= shadow->marked_for_delete_at) continue;
        sstable_cell *out = add_cell(b, &ncells);
        *out = (sstable_cell){.column = &cols[c->column], .is_static = is_static, .column_index = c->column,
                              .deleted = c->deleted, .expiring = !c->deleted && c->ttl, .timestamp = m->timestamp,
                              .ttl = c->deleted ? 0 : c->ttl, .local_deletion_time = INT64_MAX, .path = c->path,
                              .value = c->value};
        if (c->deleted) out->local_deletion_time = m->now, out->value = (sstable_value){(const uint8_t *)"", 0};
        else if (c->ttl) out->local_deletion_time = m->now + c->ttl;
    }
    for (size_t c = 0; c < ncols; c++) {
        if (!cols[c].type->multicell || !supersedes(&complex_del[c], eff)) continue;
        b->cdels[ncdels++] = (sstable_complex_deletion){c, complex_del[c]};
    }
    u->ncells = ncells, u->cells = b->cells;
    u->ncomplex_deletions = ncdels, u->complex_deletions = b->cdels;
    return u->has_liveness || !sstable_deletion_is_live(&u->row_deletion) || ncells || ncdels;
}

/* ---- Range deletions --------------------------------------------------------- */

typedef struct {
    const sstable_value *v;
    size_t n;
    sstable_bound_kind kind; /* INCL_START or INCL_END */
} cut;

static int cut_cmp(const sstable_header *h, const cut *a, const cut *b) {
    return sstable_clustering_compare(h, a->v, a->n, a->kind, b->v, b->n, b->kind);
}

static const sstable_header *cut_header;

static int cut_sort(const void *a, const void *b) { return cut_cmp(cut_header, a, b); }

/* The marker at a cut between the deletions before and after it; 0 when
 * they are the same. */
static int marker_at(const cut *c, const sstable_deletion *before, const sstable_deletion *after,
                     sstable_unfiltered *u) {
    if (same_deletion(before, after)) return 0;
    int at_start = c->kind == SSTABLE_INCL_START_BOUND; /* before the rows of the prefix */
    int opens = sstable_deletion_is_live(before), closes = sstable_deletion_is_live(after);
    *u = (sstable_unfiltered){.kind = opens || closes ? SSTABLE_RT_BOUND : SSTABLE_RT_BOUNDARY,
                              .nclustering = c->n, .clustering = c->v, .timestamp = INT64_MIN,
                              .local_expiration = INT64_MAX, .row_deletion = LIVE, .deletion = *after,
                              .end_deletion = *before};
    if (opens) u->bound_kind = at_start ? SSTABLE_INCL_START_BOUND : SSTABLE_EXCL_START_BOUND;
    else if (closes) u->bound_kind = at_start ? SSTABLE_EXCL_END_BOUND : SSTABLE_INCL_END_BOUND;
    else u->bound_kind = at_start ? SSTABLE_EXCL_END_INCL_START_BOUNDARY : SSTABLE_INCL_END_EXCL_START_BOUNDARY;
    if (closes) u->deletion = *before;
    return 1;
}

/* ---- Partition ---------------------------------------------------------------- */

typedef struct {
    const gen_mutation *m;
    size_t order;
} row_ref;

static const sstable_header *row_header;

static int row_ref_cmp(const void *pa, const void *pb) {
    const row_ref *a = pa, *b = pb;
    int c = sstable_clustering_compare(row_header, a->m->clustering, a->m->nclustering, SSTABLE_CLUSTERING,
                                       b->m->clustering, b->m->nclustering, SSTABLE_CLUSTERING);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

strata_err gen_partition_build(const sstable_header *h, const gen_mutation *muts, size_t n, const gen_sink *sink) {
    sstable_deletion pdel = LIVE;
    for (size_t i = 0; i < n; i++) {
        sstable_deletion d = {muts[i].timestamp, muts[i].now};
        if (muts[i].kind == GEN_M_PARTITION && supersedes(&d, &pdel)) pdel = d;
    }
    row_ref *rows = xmalloc((n + 1) * sizeof *rows);
    const gen_mutation **statics = xmalloc((n + 1) * sizeof *statics), **group = xmalloc((n + 1) * sizeof *group);
    const gen_mutation **ranges = xmalloc((n + 1) * sizeof *ranges);
    cut *cuts = xmalloc((2 * n + 1) * sizeof *cuts);
    size_t nrows = 0, nstatics = 0, ncuts = 0, nranges = 0;
    for (size_t i = 0; i < n; i++) {
        const gen_mutation *m = &muts[i];
        if (m->kind == GEN_M_ROW) rows[nrows++] = (row_ref){m, i};
        else if (m->kind == GEN_M_STATIC) statics[nstatics++] = m;
        else if (m->kind == GEN_M_RANGE && m->timestamp > pdel.marked_for_delete_at) {
            cuts[ncuts++] = (cut){m->clustering, m->nclustering, SSTABLE_INCL_START_BOUND};
            cuts[ncuts++] = (cut){m->end, m->nend, SSTABLE_INCL_END_BOUND};
            ranges[nranges++] = m;
        }
    }
    row_header = h;
    qsort(rows, nrows, sizeof *rows, row_ref_cmp);
    cut_header = h;
    qsort(cuts, ncuts, sizeof *cuts, cut_sort);
    size_t ndistinct = 0;
    for (size_t i = 0; i < ncuts; i++)
        if (!ndistinct || cut_cmp(h, &cuts[ndistinct - 1], &cuts[i])) cuts[ndistinct++] = cuts[i];
    /* the deletion of the segment after each cut: the newest range
     * deletion whose start is at or before it and whose end is after it */
    sstable_deletion *seg = xmalloc((ndistinct + 1) * sizeof *seg);
    for (size_t j = 0; j < ndistinct; j++) {
        seg[j] = LIVE;
        for (size_t i = 0; i < nranges; i++) {
            const gen_mutation *m = ranges[i];
            cut start = {m->clustering, m->nclustering, SSTABLE_INCL_START_BOUND};
            cut end = {m->end, m->nend, SSTABLE_INCL_END_BOUND};
            sstable_deletion d = {m->timestamp, m->now};
            if (cut_cmp(h, &start, &cuts[j]) <= 0 && cut_cmp(h, &end, &cuts[j]) > 0 && supersedes(&d, &seg[j]))
                seg[j] = d;
        }
    }

    row_builder b = {.h = h};
    sstable_unfiltered u;
    strata_err e = sink->begin(sink->arg, &pdel);
    if (!e && nstatics && build_row(&b, statics, nstatics, 1, &pdel, &u)) e = sink->emit(sink->arg, &u);
    size_t r = 0, c = 0;
    sstable_deletion open = LIVE;
    while (!e && (r < nrows || c < ndistinct)) {
        if (c < ndistinct &&
            (r == nrows || sstable_clustering_compare(h, cuts[c].v, cuts[c].n, cuts[c].kind, rows[r].m->clustering,
                                                      rows[r].m->nclustering, SSTABLE_CLUSTERING) < 0)) {
            if (marker_at(&cuts[c], &open, &seg[c], &u)) e = sink->emit(sink->arg, &u);
            open = seg[c++];
            continue;
        }
        size_t k = 0;
        do group[k++] = rows[r++].m;
        while (r < nrows && !sstable_clustering_compare(h, group[0]->clustering, group[0]->nclustering,
                                                        SSTABLE_CLUSTERING, rows[r].m->clustering,
                                                        rows[r].m->nclustering, SSTABLE_CLUSTERING));
        if (build_row(&b, group, k, 0, newer(&open, &pdel), &u)) e = sink->emit(sink->arg, &u);
    }
    free(b.versions), free(b.cells), free(seg), free(cuts), free(ranges), free(rows), free(statics), free(group);
    return e;
}
