/* window.c - the part of an input that falls inside a time window.
 *
 * A cluster version is a cut at a time T: what was written at or before T
 * belongs to it, later writes to the next version, and an SSTable read for
 * an earlier version is later read again only for what it holds past that
 * version's cut.  Every fact of an unfiltered carries its own timestamp
 * (cells, primary key liveness, row, complex, range and partition
 * deletions) and any subset of a table's facts is itself a valid set of
 * writes, so the window filters them one by one.  Timestamps far past the
 * cut are not clock times and are kept (see merge_input.window_beyond). */
#include "engine/merge/merge_int.h"

#include <string.h>

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

/* Whether a fact with timestamp ts passes, counting what is held back
 * for the next version and what is kept beyond the cut. */
static int keeps(merge_source *src, int64_t ts) {
    const merge_input *in = &src->in;
    if (ts > in->window_beyond) {
        src->facts_beyond++;
        return 1;
    }
    if (ts > in->window_to) {
        src->facts_later += ts <= in->window_later;
        return 0;
    }
    return ts > in->window_from;
}

static int deletion_keeps(merge_source *src, const sstable_deletion *d) {
    return d->marked_for_delete_at == INT64_MIN || keeps(src, d->marked_for_delete_at);
}

sstable_deletion merge_window_partition_deletion(merge_source *src, sstable_deletion d) {
    return deletion_keeps(src, &d) ? d : LIVE;
}

static void grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return;
    *cap = need > 2 * *cap ? need : 2 * *cap;
    *p = xrealloc(*p, *cap * size);
}

/* The cells of u inside the window, into src->window_cells from the first
 * one left out; returns how many are kept, all of them (and no copy) when
 * none is left out.  Each cell is asked once, as keeps() counts. */
static size_t window_cells(merge_source *src, const sstable_unfiltered *u) {
    size_t i = 0, n;
    while (i < u->ncells && keeps(src, u->cells[i].timestamp)) i++;
    if (i == u->ncells) return i;
    grow((void **)&src->window_cells, &src->window_cells_cap, u->ncells, sizeof *src->window_cells);
    memcpy(src->window_cells, u->cells, i * sizeof *u->cells);
    n = i;
    for (i++; i < u->ncells; i++)
        if (keeps(src, u->cells[i].timestamp)) src->window_cells[n++] = u->cells[i];
    return n;
}

/* Likewise for the complex deletions, into src->window_cdels. */
static size_t window_cdels(merge_source *src, const sstable_unfiltered *u) {
    size_t i = 0, n;
    while (i < u->ncomplex_deletions && deletion_keeps(src, &u->complex_deletions[i].deletion)) i++;
    if (i == u->ncomplex_deletions) return i;
    grow((void **)&src->window_cdels, &src->window_cdels_cap, u->ncomplex_deletions, sizeof *src->window_cdels);
    memcpy(src->window_cdels, u->complex_deletions, i * sizeof *u->complex_deletions);
    n = i;
    for (i++; i < u->ncomplex_deletions; i++)
        if (deletion_keeps(src, &u->complex_deletions[i].deletion))
            src->window_cdels[n++] = u->complex_deletions[i];
    return n;
}

/* A row's facts inside the window: 1 with *out the row itself when the
 * window keeps all of it (most rows of most inputs: nothing is copied),
 * else src->window_u; 0 when none is left. */
static int window_row(merge_source *src, const sstable_unfiltered *u, const sstable_unfiltered **out) {
    int keep_liveness = !u->has_liveness || keeps(src, u->timestamp);
    int keep_deletion = deletion_keeps(src, &u->row_deletion);
    size_t ncells = window_cells(src, u), ncdels = window_cdels(src, u);
    if (keep_liveness && keep_deletion && ncells == u->ncells && ncdels == u->ncomplex_deletions) {
        *out = u;
        return 1;
    }
    sstable_unfiltered *w = &src->window_u;
    *w = *u;
    if (!keep_liveness) {
        w->has_liveness = 0;
        w->timestamp = INT64_MIN;
        w->ttl = 0;
        w->local_expiration = INT64_MAX;
    }
    if (!keep_deletion) w->row_deletion = LIVE, w->shadowable = 0;
    w->ncells = ncells;
    if (ncells != u->ncells) w->cells = src->window_cells;
    w->ncomplex_deletions = ncdels;
    if (ncdels != u->ncomplex_deletions) w->complex_deletions = src->window_cdels;
    *out = w;
    return w->has_liveness || w->row_deletion.marked_for_delete_at != INT64_MIN || w->ncells ||
           w->ncomplex_deletions;
}

/* A marker's deletions inside the window.  A boundary that loses one side
 * becomes the bound of the side it keeps, on the same side of its
 * clustering; 0 when nothing is left. */
static int window_marker(merge_source *src, const sstable_unfiltered *u) {
    sstable_unfiltered *w = &src->window_u;
    *w = *u;
    if (u->kind == SSTABLE_RT_BOUND) return keeps(src, u->deletion.marked_for_delete_at);
    int keep_end = keeps(src, u->end_deletion.marked_for_delete_at);
    int keep_start = keeps(src, u->deletion.marked_for_delete_at);
    if (keep_end && keep_start) return 1;
    if (!keep_end && !keep_start) return 0;
    int before = u->bound_kind == SSTABLE_EXCL_END_INCL_START_BOUNDARY;
    w->kind = SSTABLE_RT_BOUND;
    if (keep_end) {
        w->bound_kind = before ? SSTABLE_EXCL_END_BOUND : SSTABLE_INCL_END_BOUND;
        w->deletion = u->end_deletion;
    } else {
        w->bound_kind = before ? SSTABLE_INCL_START_BOUND : SSTABLE_EXCL_START_BOUND;
    }
    w->end_deletion = LIVE;
    return 1;
}

int merge_window_unfiltered(merge_source *src, const sstable_unfiltered *u, const sstable_unfiltered **out) {
    if (u->kind != SSTABLE_RT_BOUND && u->kind != SSTABLE_RT_BOUNDARY) {
        int keep = window_row(src, u, out);
        if (!keep) *out = NULL;
        return keep;
    }
    int keep = window_marker(src, u);
    *out = keep ? &src->window_u : NULL;
    return keep;
}
