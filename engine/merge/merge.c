/* merge.c - the k-way merge of a table's SSTables: partitions by
 * partitioner order, and inside a partition the inputs' unfiltereds by
 * clustering, with range tombstone markers merged as
 * RangeTombstoneMarker.Merger does.
 *
 * Each input keeps its own current unfiltered, which the reader keeps valid
 * until that input is advanced.  An input whose unfiltered went into the
 * merged one is advanced only on the next call, so the merged unfiltered
 * can point into the inputs' memory instead of copying values: the memory
 * held is one unfiltered per input plus the merged one's arrays. */
#include "engine/merge/merge_int.h"

#include <string.h>

static const sstable_deletion LIVE = {INT64_MIN, INT64_MAX};

/* ---- The united header ------------------------------------------------------ */

/* The 48-bit name prefix ColumnMetadata's comparisonOrder holds: the first
 * six bytes, zero padded, with the top bit of the first one flipped (it was
 * meant for a signed comparison of all eight bytes). */
static uint64_t name_prefix(const char *name) {
    uint64_t v = 0;
    size_t n = strlen(name);
    for (size_t i = 0; i < 6; i++) v = (v << 8) | (i < n ? (uint8_t)name[i] : 0);
    return v ^ (UINT64_C(0x80) << 40);
}

/* Cassandra's column order in a row (ColumnMetadata.compareTo): simple
 * columns, then complex ones; each by that prefix, then by name bytes.  So
 * names whose first byte is not ASCII come before ASCII ones. */
int merge_column_compare(const char *a, int a_complex, const char *b, int b_complex) {
    if (a_complex != b_complex) return a_complex - b_complex;
    uint64_t ap = name_prefix(a), bp = name_prefix(b);
    if (ap != bp) return ap < bp ? -1 : 1;
    return strcmp(a, b);
}

static int column_order(const void *pa, const void *pb) {
    const sstable_column *a = pa, *b = pb;
    return merge_column_compare(a->name, a->type->multicell, b->name, b->type->multicell);
}

static size_t column_find(const sstable_column *cols, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i].name, name)) return i;
    return n;
}

/* Adds the columns not yet in (*cols, *n). */
static void unite(sstable_column **cols, size_t *n, const sstable_column *add, size_t nadd) {
    for (size_t i = 0; i < nadd; i++) {
        if (column_find(*cols, *n, add[i].name) < *n) continue;
        *cols = xrealloc(*cols, (*n + 1) * sizeof **cols);
        (*cols)[(*n)++] = add[i];
    }
}

/* Sets *same when every column keeps its index. */
static size_t *column_map(const sstable_column *united, size_t nunited, const sstable_column *own, size_t nown,
                          int *same) {
    size_t *map = xcalloc(nown + 1, sizeof *map);
    *same = 1;
    for (size_t i = 0; i < nown; i++) {
        map[i] = column_find(united, nunited, own[i].name);
        *same &= map[i] == i;
    }
    return map;
}

static int any_counter(const sstable_column *cols, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (cols[i].type->kind == SSTABLE_T_COUNTER) return 1;
    return 0;
}

static int64_t *drop_times(const sstable_column *cols, size_t n, const merge_table *table) {
    int64_t *t = xmalloc((n + 1) * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t[i] = INT64_MIN;
        for (size_t d = 0; table && d < table->ndropped; d++)
            if (!strcmp(table->dropped[d].name, cols[i].name) && table->dropped[d].dropped_time > t[i])
                t[i] = table->dropped[d].dropped_time;
    }
    return t;
}

/* Lowers the header's encoding bases to an input's minimums.  Like
 * SerializationHeader.make for compactions, the bases come from the
 * inputs' statistics, which are exact, rather than from their headers. */
static void min_encoding_stats(sstable_header *h, const sstable *s) {
    const sstable_meta *meta = sstable_get_meta(s);
    const sstable_header *own = sstable_get_header(s);
    int64_t ts = meta->stats_complete ? meta->min_timestamp : own->min_timestamp;
    /* "no deletion" is kept in the header's own spelling of it */
    int64_t ldt = meta->stats_complete && meta->min_local_deletion_time != INT64_MAX ? meta->min_local_deletion_time
                                                                                    : own->min_local_deletion_time;
    int64_t ttl = meta->stats_complete ? meta->min_ttl : own->min_ttl;
    if (ts < h->min_timestamp) h->min_timestamp = ts;
    if (ldt < h->min_local_deletion_time) h->min_local_deletion_time = ldt;
    if (ttl < h->min_ttl) h->min_ttl = ttl;
}

static int same_type(const sstable_type *a, const sstable_type *b) { return !strcmp(a->name, b->name); }

static strata_err build_header(merge *m) {
    sstable_header *h = &m->header;
    const sstable_header *first = sstable_get_header(m->src[0].s);
    *h = (sstable_header){0};
    h->min_timestamp = INT64_MAX;
    h->min_local_deletion_time = INT64_MAX;
    h->min_ttl = INT64_MAX;
    h->key_type = first->key_type;
    h->nclustering = first->nclustering;
    h->clustering = first->clustering;
    for (size_t i = 0; i < m->nsources; i++) {
        const sstable_header *s = sstable_get_header(m->src[i].s);
        if (!same_type(s->key_type, first->key_type) || s->nclustering != first->nclustering)
            return strata_fail(STRATA_EINVAL, "merge: SSTables of different tables (keys or clusterings differ)");
        for (size_t c = 0; c < s->nclustering; c++)
            if (!same_type(s->clustering[c], first->clustering[c]))
                return strata_fail(STRATA_EINVAL, "merge: SSTables disagree on clustering column %zu", c);
        min_encoding_stats(h, m->src[i].s);
        unite(&h->statics, &h->nstatic, s->statics, s->nstatic);
        unite(&h->regulars, &h->nregular, s->regulars, s->nregular);
    }
    if (h->nstatic) qsort(h->statics, h->nstatic, sizeof *h->statics, column_order);
    if (h->nregular) qsort(h->regulars, h->nregular, sizeof *h->regulars, column_order);
    for (size_t i = 0; i < m->nsources; i++) {
        const sstable_header *s = sstable_get_header(m->src[i].s);
        merge_source *src = &m->src[i];
        src->static_map = column_map(h->statics, h->nstatic, s->statics, s->nstatic, &src->static_same);
        src->regular_map = column_map(h->regulars, h->nregular, s->regulars, s->nregular, &src->regular_same);
    }
    m->has_counters = any_counter(h->statics, h->nstatic) || any_counter(h->regulars, h->nregular);
    return STRATA_OK;
}

static void activate(merge *m, size_t src);

/* ---- Open and close ------------------------------------------------------------- */

strata_err merge_open(const char *const *paths, size_t npaths, const merge_table *table, merge **out) {
    merge_input *in = xcalloc(npaths ? npaths : 1, sizeof *in);
    for (size_t i = 0; i < npaths; i++) in[i] = (merge_input){paths[i], NULL, MERGE_WINDOW_ALL, 0, 0, 0};
    strata_err e = merge_open_inputs(in, npaths, table, out);
    free(in);
    return e;
}

strata_err merge_open_inputs(const merge_input *inputs, size_t ninputs, const merge_table *table, merge **out) {
    *out = NULL;
    if (!ninputs) return strata_fail(STRATA_EINVAL, "merge: no SSTables");
    merge *m = xcalloc(1, sizeof *m);
    m->src = xcalloc(ninputs, sizeof *m->src);
    m->group = xcalloc(ninputs, sizeof *m->group);
    m->versions = xcalloc(ninputs, sizeof *m->versions);
    m->heap = xcalloc(ninputs, sizeof *m->heap);
    m->uheap = xcalloc(ninputs, sizeof *m->uheap);
    m->front = xcalloc(ninputs, sizeof *m->front);
    m->active = xcalloc(ninputs, sizeof *m->active);
    m->pending = xcalloc(ninputs, sizeof *m->pending);
    m->refs = xcalloc(ninputs, sizeof *m->refs);
    m->run_start = xcalloc(ninputs + 1, sizeof *m->run_start);
    m->run_at = xcalloc(2 * ninputs, sizeof *m->run_at);
    strata_buf_init(&m->counter_tmp);
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < ninputs && !e; i++) {
        merge_source *src = &m->src[i];
        e = sstable_open_vfs(inputs[i].path, inputs[i].vfs, &src->s);
        if (e) break;
        m->nsources++;
        src->at_end = 1;
        src->in = inputs[i];
        src->windowed = inputs[i].window_from != INT64_MIN || inputs[i].window_to != INT64_MAX;
    }
    if (!e) e = build_header(m);
    if (!e) {
        m->static_dropped = drop_times(m->header.statics, m->header.nstatic, table);
        m->regular_dropped = drop_times(m->header.regulars, m->header.nregular, table);
        m->list_path_type = sstable_type_parse("org.apache.cassandra.db.marshal.TimeUUIDType");
        if (!m->list_path_type) e = STRATA_EFORMAT;
    }
    for (size_t i = 0; i < m->nsources && !e; i++) {
        if (m->src[i].in.reference) {
            m->refs[m->nrefs++] = i;
            continue;
        }
        m->src[i].at_end = 0;
        activate(m, i); /* so that the first merge_next_partition reads it */
    }
    m->murmur3 = m->nsources && sstable_is_murmur3(m->src[0].s);
    if (e) {
        merge_close(m);
        return e;
    }
    *out = m;
    return STRATA_OK;
}

void merge_set_progress(merge *m, strata_progress *progress) { m->progress = progress; }

/* Progress is reported in steps of at least this many uncompressed bytes
 * (and at the end of an input): a report per partition took a lock and
 * read the clock for every row of a table of one-row partitions. */
#define PROGRESS_STEP (1u << 20)

/* Adds what src has passed since its last report, in on-disk bytes. */
static void report_progress(merge *m, merge_source *src, const sstable_partition *p) {
    const sstable_meta *meta = sstable_get_meta(src->s);
    uint64_t at = p ? p->offset : meta->data_length;
    if (!m->progress || at <= src->reported || !meta->data_length) return;
    if (p && at - src->reported < PROGRESS_STEP) return;
    uint64_t before = (uint64_t)((double)src->reported * meta->data_file_size / meta->data_length);
    uint64_t now = (uint64_t)((double)at * meta->data_file_size / meta->data_length);
    src->reported = at;
    strata_progress_add(m->progress, now - before);
}

void merge_window_counts(const merge *m, uint64_t *later, uint64_t *beyond) {
    *later = *beyond = 0;
    for (size_t i = 0; i < m->nsources; i++) *later += m->src[i].facts_later, *beyond += m->src[i].facts_beyond;
}

void merge_close(merge *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nsources; i++) {
        sstable_close(m->src[i].s);
        free(m->src[i].static_map);
        free(m->src[i].regular_map);
        free(m->src[i].window_cells);
        free(m->src[i].window_cdels);
    }
    for (size_t i = 0; i < m->counters_cap; i++) strata_buf_free(&m->counters[i]);
    strata_buf_free(&m->counter_tmp);
    sstable_type_free(m->list_path_type);
    free(m->header.statics);
    free(m->header.regulars);
    free(m->static_dropped);
    free(m->regular_dropped);
    free(m->counters);
    free(m->cells);
    free(m->cdels);
    free(m->items);
    free(m->group);
    free(m->versions);
    free(m->heap);
    free(m->uheap);
    free(m->front);
    free(m->active);
    free(m->pending);
    free(m->refs);
    free(m->items_tmp);
    free(m->run_start);
    free(m->run_at);
    free(m->src);
    free(m);
}

const sstable_header *merge_get_header(const merge *m) { return &m->header; }

/* ---- Partitions ------------------------------------------------------------------ */

static strata_err source_next_partition(merge *m, merge_source *src) {
    const sstable_partition *p;
    strata_err e = sstable_next_partition(src->s, &p);
    if (e) return e;
    if (!src->in.reference) report_progress(m, src, p);
    src->u = NULL;
    src->open = LIVE;
    if (!p) {
        src->at_end = 1;
        return STRATA_OK;
    }
    src->key = p->key;
    src->key_len = p->key_len;
    src->token = p->token;
    src->deletion = src->windowed ? merge_window_partition_deletion(src, p->deletion) : p->deletion;
    return STRATA_OK;
}

/* DecoratedKey order.  With Murmur3 the tokens the reader computed once per
 * partition decide, then the key bytes; other partitioners compare keys. */
static int key_compare(const merge *m, const merge_source *a, const merge_source *b) {
    if (!m->murmur3) return sstable_key_compare(a->s, a->key, a->key_len, b->key, b->key_len);
    if (a->token != b->token) return a->token < b->token ? -1 : 1;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* ---- The heap of inputs by their next partition --------------------------------- */

static int heap_less(const merge *m, size_t a, size_t b) {
    int c = key_compare(m, &m->src[a], &m->src[b]);
    return c ? c < 0 : a < b;
}

typedef int (*source_less)(const merge *m, size_t a, size_t b);

/* The order of the heaps: by keys where they differ, else by `less`. */
static inline int slot_before(const merge *m, const merge_slot *a, const merge_slot *b, source_less less) {
    if (a->keyed && b->keyed && a->key != b->key) return a->key < b->key;
    return less(m, a->src, b->src);
}

/* Binary heaps of inputs, smallest first.  sift_up puts `slot` into the
 * hole at i, moving it up as far as it must. */
static void sift_up(const merge *m, merge_slot *heap, size_t i, merge_slot slot, source_less less) {
    while (i && slot_before(m, &slot, &heap[(i - 1) / 2], less)) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = slot;
}

static void heap_push(const merge *m, merge_slot *heap, size_t *n, merge_slot slot, source_less less) {
    sift_up(m, heap, (*n)++, slot, less);
}

/* Takes the top out: the hole it leaves sinks along the smaller children
 * to the bottom, where the last entry fills it and moves up as far as it
 * must.  The last entry mostly belongs near the bottom, so this costs
 * about one comparison per level instead of two (Floyd's heapsort). */
static merge_slot heap_pop(const merge *m, merge_slot *heap, size_t *n, source_less less) {
    merge_slot top = heap[0];
    size_t len = --*n, i = 0;
    if (!len) return top;
    for (size_t l = 1; l < len; l = 2 * i + 1) {
        size_t c = l + 1 < len && slot_before(m, &heap[l + 1], &heap[l], less) ? l + 1 : l;
        heap[i] = heap[c];
        i = c;
    }
    sift_up(m, heap, i, heap[len], less);
    return top;
}

/* With Murmur3 the heap of inputs by their next partition orders by token
 * alone: one integer comparison whose outcome picks the child without a
 * branch.  Tokens of random keys are as unpredictable as a branch gets,
 * and replicas' equal tokens would each cost a comparison of keys, so the
 * inputs of one token leave the heap together and merge_next_partition
 * sorts out the rare two keys of one token.  token_sift_up puts `slot`
 * into the hole at i, moving it up as far as it must. */
static void token_sift_up(merge_slot *heap, size_t i, merge_slot slot) {
    while (i && slot.key < heap[(i - 1) / 2].key) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = slot;
}

/* heap_pop's walk, on tokens; heap[len], read when the last parent has one
 * child, is the entry that refills the hole, still in the array. */
static merge_slot token_heap_pop(merge_slot *heap, size_t *n) {
    merge_slot top = heap[0];
    size_t len = --*n, i = 0;
    if (!len) return top;
    for (size_t l = 1; l < len; l = 2 * i + 1) {
        size_t c = l + ((l + 1 < len) & (heap[l + 1].key < heap[l].key));
        heap[i] = heap[c];
        i = c;
    }
    token_sift_up(heap, i, heap[len]);
    return top;
}

static merge_slot token_slot(const merge_source *src, size_t i) {
    return (merge_slot){(uint64_t)src->token ^ UINT64_C(1) << 63, i, 1};
}

static void partition_heap_push(merge *m, size_t i) {
    if (m->murmur3) token_sift_up(m->heap, m->nheap++, token_slot(&m->src[i], i));
    else heap_push(m, m->heap, &m->nheap, (merge_slot){0, i, 0}, heap_less);
}

/* Adds an input to the current partition's, keeping them in input order
 * (so that ties between inputs resolve the same way every time). */
static void activate(merge *m, size_t src) {
    size_t i = m->nactive++;
    while (i && m->active[i - 1] > src) m->active[i] = m->active[i - 1], i--;
    m->active[i] = src;
    m->src[src].active = 1;
}

/* Of the active inputs, all at one token, keeps those at the smallest key
 * and puts the others back into the heap; returns one that stays. */
static const merge_source *smallest_key(merge *m) {
    const merge_source *min = &m->src[m->active[0]];
    size_t a = 1;
    while (a < m->nactive && !key_compare(m, &m->src[m->active[a]], min)) a++;
    if (a == m->nactive) return min;
    for (; a < m->nactive; a++)
        if (key_compare(m, &m->src[m->active[a]], min) < 0) min = &m->src[m->active[a]];
    size_t kept = 0;
    for (a = 0; a < m->nactive; a++) {
        size_t i = m->active[a];
        if (!key_compare(m, &m->src[i], min)) {
            m->active[kept++] = i;
        } else {
            m->src[i].active = 0;
            partition_heap_push(m, i);
        }
    }
    m->nactive = kept;
    return min;
}

/* Positions the references that hold the partition of `key` on it; the
 * others sit this partition out.  Only partitions that may repeat stored
 * content are looked up: the rest cannot differ from the references. */
static strata_err lookup_references(merge *m, const merge_source *key) {
    int wanted = 0;
    for (size_t a = 0; a < m->nactive; a++) wanted |= m->src[m->active[a]].in.may_repeat;
    for (size_t r = 0; wanted && r < m->nrefs; r++) {
        merge_source *src = &m->src[m->refs[r]];
        int may = 1, found;
        src->u = NULL;
        if (sstable_filter_check(src->s, key->key, key->key_len, &may)) strata_clear_error(), may = 1;
        if (!may) continue;
        strata_err e = sstable_seek(src->s, key->key, key->key_len, &found);
        src->at_end = 0;
        if (!e && found) e = source_next_partition(m, src);
        if (e) return e;
        if (found && !src->at_end) activate(m, m->refs[r]);
    }
    return STRATA_OK;
}

strata_err merge_next_partition(merge *m, const sstable_partition **out) {
    *out = NULL;
    /* the inputs of the previous partition move on (at first, all of them) */
    for (size_t a = 0; a < m->nactive; a++) {
        merge_source *src = &m->src[m->active[a]];
        src->active = 0;
        if (src->in.reference) continue;
        strata_err e = source_next_partition(m, src);
        if (e) return e;
        if (!src->at_end) partition_heap_push(m, m->active[a]);
    }
    m->nactive = 0;
    m->nuheap = m->nfront = m->npending = 0; /* what the previous partition left unread */
    m->nopen = 0;  /* inputs enter a partition with no range tombstone open */
    m->in_partition = 0;
    if (!m->nheap) return STRATA_OK;
    const merge_source *min;
    if (m->murmur3) {
        merge_slot first = token_heap_pop(m->heap, &m->nheap);
        activate(m, first.src);
        while (m->nheap && m->heap[0].key == first.key) activate(m, token_heap_pop(m->heap, &m->nheap).src);
        min = smallest_key(m);
    } else {
        merge_slot first = heap_pop(m, m->heap, &m->nheap, heap_less);
        min = &m->src[first.src];
        activate(m, first.src);
        while (m->nheap && !key_compare(m, &m->src[m->heap[0].src], min))
            activate(m, heap_pop(m, m->heap, &m->nheap, heap_less).src);
    }
    if (m->nrefs) {
        strata_err e = lookup_references(m, min);
        if (e) return e;
    }
    /* every input of the partition reads its first unfiltered */
    memcpy(m->pending, m->active, m->nactive * sizeof *m->pending);
    m->npending = m->nactive;
    sstable_deletion deletion = LIVE, refs = LIVE;
    for (size_t a = 0; a < m->nactive; a++) {
        const merge_source *src = &m->src[m->active[a]];
        if (merge_deletion_supersedes(&src->deletion, &deletion)) deletion = src->deletion;
        if (src->in.reference && merge_deletion_supersedes(&src->deletion, &refs)) refs = src->deletion;
    }
    m->part = (sstable_partition){min->key, min->key_len, min->token, deletion, 0};
    m->refs_deletion = refs;
    m->out_part = m->part;
    if (!merge_deletion_supersedes(&deletion, &refs)) m->out_part.deletion = LIVE;
    m->in_partition = 1;
    m->static_done = 0;
    *out = &m->out_part;
    return STRATA_OK;
}

/* ---- Unfiltereds ------------------------------------------------------------------ */

/* Whether two unfiltereds have the same kind and clustering bytes: then
 * they sit at the same position whatever the types (equal bytes are equal
 * values), which spares the replicas of one row a comparison by type. */
static int same_clustering_bytes(const sstable_unfiltered *x, const sstable_unfiltered *y) {
    if (x->bound_kind != y->bound_kind || x->nclustering != y->nclustering) return 0;
    for (size_t i = 0; i < x->nclustering; i++) {
        const sstable_value *a = &x->clustering[i], *b = &y->clustering[i];
        if (!a->p != !b->p || !merge_bytes_equal(a, b)) return 0;
    }
    return 1;
}

static int unfiltered_compare(const merge *m, const sstable_unfiltered *x, const sstable_unfiltered *y) {
    if (same_clustering_bytes(x, y)) return 0;
    return sstable_clustering_compare(&m->header, x->clustering, x->nclustering, x->bound_kind, y->clustering,
                                      y->nclustering, y->bound_kind);
}

static int unfiltered_less(const merge *m, size_t a, size_t b) {
    int c = unfiltered_compare(m, m->src[a].u, m->src[b].u);
    return c ? c < 0 : a < b;
}

/* Reads the next unfiltered of every input whose current one was used;
 * all but static rows (merged first, on their own) become candidates for
 * the next step: those that sort before every input in the heap go to
 * m->front, the others into the heap.  Replicas move in step through the
 * same rows, so the inputs of one step mostly hold the next one too, and
 * taking them from the front spares them a trip through the heap. */
static strata_err advance_pending(merge *m) {
    for (size_t p = 0; p < m->npending; p++) {
        size_t i = m->pending[p];
        merge_source *src = &m->src[i];
        const sstable_unfiltered *u;
        do {
            strata_err e = sstable_next_unfiltered(src->s, &u);
            if (e) return e;
        } while (u && src->windowed && !merge_window_unfiltered(src, u, &u));
        src->u = u;
        if (!u || u->kind == SSTABLE_STATIC_ROW) continue;
        merge_slot slot = {0, i, 0};
        slot.keyed = sstable_clustering_order_key(&m->header, u->clustering, u->nclustering, &slot.key);
        if (!m->nuheap || slot_before(m, &slot, &m->uheap[0], unfiltered_less)) m->front[m->nfront++] = slot;
        else heap_push(m, m->uheap, &m->nuheap, slot, unfiltered_less);
    }
    m->npending = 0;
    return STRATA_OK;
}

static int is_open_kind(sstable_bound_kind k) {
    return k == SSTABLE_INCL_START_BOUND || k == SSTABLE_EXCL_START_BOUND ||
           k == SSTABLE_EXCL_END_INCL_START_BOUNDARY || k == SSTABLE_INCL_END_EXCL_START_BOUNDARY;
}

/* The range tombstone open in the merged stream: the inputs' biggest, unless
 * the partition deletion shadows it. */
static sstable_deletion merged_open(const merge *m) {
    if (!m->nopen) return LIVE;
    sstable_deletion big = LIVE;
    for (size_t a = 0; a < m->nactive; a++)
        if (merge_deletion_supersedes(&m->src[m->active[a]].open, &big)) big = m->src[m->active[a]].open;
    return merge_deletion_supersedes(&big, &m->part.deletion) ? big : LIVE;
}

/* The range tombstone open in the residual: the merged one where it
 * deletes more than the references alone do (their range tombstone or
 * partition deletion). */
static sstable_deletion residual_open(const merge *m) {
    sstable_deletion open = merged_open(m);
    if (!m->nrefs) return open;
    sstable_deletion refs = m->refs_deletion;
    for (size_t a = 0; a < m->nactive; a++) {
        const merge_source *src = &m->src[m->active[a]];
        if (src->in.reference && merge_deletion_supersedes(&src->open, &refs)) refs = src->open;
    }
    return merge_deletion_supersedes(&open, &refs) ? open : LIVE;
}

static int deletion_equal(const sstable_deletion *a, const sstable_deletion *b) {
    return a->marked_for_delete_at == b->marked_for_delete_at && a->local_deletion_time == b->local_deletion_time;
}

static int deletion_live(const sstable_deletion *d) { return d->marked_for_delete_at == INT64_MIN; }

/* Applies the markers of the `n` inputs in m->group (all at one position)
 * and returns 1 with the merged marker in m->out when the merged stream's
 * open deletion changes. */
static int merge_markers(merge *m, size_t n) {
    sstable_deletion before = residual_open(m);
    const sstable_unfiltered *last = NULL;
    for (size_t g = 0; g < n; g++) {
        merge_source *src = &m->src[m->group[g]];
        last = src->u;
        m->nopen -= !deletion_live(&src->open);
        src->open = is_open_kind(last->bound_kind) ? last->deletion : LIVE;
        m->nopen += !deletion_live(&src->open);
    }
    sstable_deletion after = residual_open(m);
    if (deletion_equal(&before, &after)) return 0;
    /* bounds before their clustering (exclusive ends, inclusive starts)
     * merge into kinds before it too, and likewise after */
    int before_clustering = last->bound_kind == SSTABLE_EXCL_END_BOUND ||
                            last->bound_kind == SSTABLE_INCL_START_BOUND ||
                            last->bound_kind == SSTABLE_EXCL_END_INCL_START_BOUNDARY;
    m->out = (sstable_unfiltered){0};
    m->out.nclustering = last->nclustering;
    m->out.clustering = last->clustering;
    m->out.row_deletion = LIVE;
    m->out.local_expiration = INT64_MAX;
    m->out.end_deletion = LIVE;
    if (deletion_live(&before)) {
        m->out.kind = SSTABLE_RT_BOUND;
        m->out.bound_kind = before_clustering ? SSTABLE_INCL_START_BOUND : SSTABLE_EXCL_START_BOUND;
        m->out.deletion = after;
    } else if (deletion_live(&after)) {
        m->out.kind = SSTABLE_RT_BOUND;
        m->out.bound_kind = before_clustering ? SSTABLE_EXCL_END_BOUND : SSTABLE_INCL_END_BOUND;
        m->out.deletion = before;
    } else {
        m->out.kind = SSTABLE_RT_BOUNDARY;
        m->out.bound_kind =
            before_clustering ? SSTABLE_EXCL_END_INCL_START_BOUNDARY : SSTABLE_INCL_END_EXCL_START_BOUNDARY;
        m->out.end_deletion = before;
        m->out.deletion = after;
    }
    return 1;
}

/* Whether the unfiltereds of two slots sit at the same position. */
static int same_position(const merge *m, const merge_slot *a, const merge_slot *b) {
    if (a->keyed && b->keyed && a->key != b->key) return 0;
    return !unfiltered_compare(m, m->src[a->src].u, m->src[b->src].u);
}

/* Collects into m->group the inputs whose current unfiltered sorts first
 * (in input order); returns their count (0 at the end of the partition).
 * The front's other inputs go into the heap. */
static size_t smallest(merge *m) {
    if (!m->nfront && !m->nuheap) return 0;
    merge_slot min;
    if (m->nfront) {
        size_t best = 0;
        for (size_t f = 1; f < m->nfront; f++)
            if (slot_before(m, &m->front[f], &m->front[best], unfiltered_less)) best = f;
        min = m->front[best];
        if (m->nuheap && slot_before(m, &m->uheap[0], &min, unfiltered_less)) min = m->uheap[0];
    } else {
        min = m->uheap[0];
    }
    size_t n = 0;
    for (size_t f = 0; f < m->nfront; f++) {
        if (same_position(m, &m->front[f], &min)) m->group[n++] = m->front[f].src;
        else heap_push(m, m->uheap, &m->nuheap, m->front[f], unfiltered_less);
    }
    m->nfront = 0;
    while (m->nuheap && same_position(m, &m->uheap[0], &min))
        m->group[n++] = heap_pop(m, m->uheap, &m->nuheap, unfiltered_less).src;
    /* input order, which ties between inputs follow */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j && m->group[j - 1] > m->group[j]; j--) {
            size_t t = m->group[j];
            m->group[j] = m->group[j - 1];
            m->group[j - 1] = t;
        }
    return n;
}

/* The `n` inputs in m->group advance before the next step. */
static void mark_pending(merge *m, size_t n) {
    memcpy(m->pending + m->npending, m->group, n * sizeof *m->group);
    m->npending += n;
}

static strata_err next_static(merge *m, const sstable_unfiltered **out) {
    size_t n = 0;
    m->static_done = 1;
    for (size_t a = 0; a < m->nactive; a++) {
        size_t i = m->active[a];
        if (m->src[i].u && m->src[i].u->kind == SSTABLE_STATIC_ROW) m->group[n++] = i;
    }
    if (!n) return STRATA_OK;
    mark_pending(m, n);
    if (merge_rows(m, n, m->part.deletion)) *out = &m->out;
    return m->error;
}

strata_err merge_next_unfiltered(merge *m, const sstable_unfiltered **out) {
    *out = NULL;
    if (!m->in_partition) return STRATA_OK;
    strata_err e = advance_pending(m);
    if (e) return e;
    if (!m->static_done) {
        e = next_static(m, out);
        if (e || *out) return e;
        e = advance_pending(m);
        if (e) return e;
    }
    for (;;) {
        size_t n = smallest(m);
        if (!n) {
            m->in_partition = 0;
            return STRATA_OK;
        }
        int marker = m->src[m->group[0]].u->kind == SSTABLE_RT_BOUND ||
                     m->src[m->group[0]].u->kind == SSTABLE_RT_BOUNDARY;
        int emitted;
        if (marker) {
            emitted = merge_markers(m, n);
        } else {
            sstable_deletion open = merged_open(m);
            emitted = merge_rows(m, n, deletion_live(&open) ? m->part.deletion : open);
            if (m->error) return m->error;
        }
        mark_pending(m, n);
        if (emitted) {
            *out = &m->out;
            return STRATA_OK;
        }
        e = advance_pending(m);
        if (e) return e;
    }
}
