/* clustering.c - a clustering kept past the unfiltered it came from.
 *
 * The reader reuses an unfiltered's memory for the next one, and a few
 * things need a clustering later: the row index closes a partition's last
 * block with its last clustering, and the statistics take each
 * partition's last one as a candidate maximum.  Copying it is cheaper than
 * comparing or serializing every row's. */
#include "engine/writer/writer_int.h"

void wr_clustering_keep(wr_clustering *c, sstable_bound_kind kind, const sstable_value *v, size_t n) {
    c->kind = kind;
    c->n = n;
    if (n > c->cap) {
        c->cap = n;
        c->vals = xrealloc(c->vals, n * sizeof *c->vals);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += v[i].len;
    c->bytes.len = 0;
    /* one byte more: empty values point into it too */
    uint8_t *p = wr_room(&c->bytes, total + 1);
    for (size_t i = 0; i < n; i++) {
        c->vals[i].len = v[i].len;
        c->vals[i].p = v[i].p ? p : NULL;
        p = wr_store_bytes(p, v[i].p, v[i].len);
    }
}

void wr_clustering_keep_unfiltered(wr_clustering *c, const sstable_unfiltered *u) {
    wr_clustering_keep(c, u->kind == SSTABLE_ROW ? SSTABLE_CLUSTERING : u->bound_kind, u->clustering, u->nclustering);
}

void wr_clustering_free(wr_clustering *c) {
    free(c->vals);
    strata_buf_free(&c->bytes);
}
