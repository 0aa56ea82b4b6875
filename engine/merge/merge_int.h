/* merge_int.h - what the files of the merge share: the handle with its
 * input SSTables, the united header, the row and cell reconciliation the
 * partition-level driver (merge.c) calls, Cassandra's column order, and
 * the CQL spellings the schema's statements are made of. */
#ifndef STRATA_MERGE_INT_H
#define STRATA_MERGE_INT_H

#include "engine/merge/merge.h"

#include <string.h>

/* One input SSTable and where it stands in the merged stream. */
typedef struct {
    sstable *s;
    merge_input in;       /* path and vfs borrowed from the caller */
    int windowed;         /* in's window leaves something out */
    size_t *static_map;   /* its static column index -> united index */
    size_t *regular_map;  /* its regular column index -> united index */
    int static_same;      /* static_map is the identity: its cells' indexes */
    int regular_same;     /* are the united ones (regular_map likewise) */
    const uint8_t *key;   /* its current partition key, the reader's */
    size_t key_len;
    int64_t token;
    sstable_deletion deletion;
    int at_end;           /* no partition left */
    int active;           /* its current partition is the merged one */
    const sstable_unfiltered *u; /* current unfiltered; NULL at partition end */
    sstable_deletion open; /* range tombstone open in this input */
    /* the window's copy of the current unfiltered (window.c) */
    sstable_unfiltered window_u;
    sstable_cell *window_cells;
    size_t window_cells_cap;
    sstable_complex_deletion *window_cdels;
    size_t window_cdels_cap;
    uint64_t facts_later, facts_beyond;
    uint64_t reported;    /* uncompressed Data.db bytes added to the progress */
} merge_source;

/* A cell or complex deletion of one input row, sorted into merged order. */
typedef struct {
    size_t column;        /* united column index */
    size_t src;
    const sstable_cell *cell;                  /* NULL for a complex deletion */
    const sstable_deletion *complex_deletion;  /* when cell is NULL */
} merge_item;

/* An entry of the merge's heaps: an input and, when `keyed`, an
 * order-preserving summary of what it sorts by there (its token, its
 * clustering's first value), so that most comparisons read the heap's own
 * array and compare two integers. */
typedef struct {
    uint64_t key;
    size_t src;
    int keyed;
} merge_slot;

struct merge {
    size_t nsources;
    merge_source *src;
    sstable_header header;       /* united; types borrowed from the inputs */
    int64_t *static_dropped;     /* per united static column: drop time or INT64_MIN */
    int64_t *regular_dropped;
    sstable_type *list_path_type; /* TimeUUIDType: the paths of list cells */

    int murmur3;                 /* tokens order the partitions */
    int has_counters;            /* some column is a counter */
    strata_progress *progress;   /* may be NULL */
    merge_slot *heap;            /* inputs by their next partition, not references */
    size_t nheap;
    merge_slot *uheap;           /* active inputs by their current unfiltered (not static rows) */
    size_t nuheap;
    merge_slot *front;           /* inputs advanced since the last step that sort */
    size_t nfront;               /* before uheap's top: kept out of the heap */
    size_t *active;              /* inputs holding the current partition, in input order */
    size_t nactive;
    size_t *pending;             /* active inputs whose unfiltered was used: */
    size_t npending;             /* they advance before the next step */
    size_t *refs;                /* the reference inputs */
    size_t nrefs;
    sstable_partition part;      /* deletion: of all inputs, references too */
    sstable_partition out_part;  /* what is handed out: the residual's */
    sstable_deletion refs_deletion; /* the references' partition deletion */
    int in_partition;
    int static_done;
    size_t nopen;                /* active inputs with a range tombstone open */

    /* the unfiltered handed out, and the arrays it points to */
    sstable_unfiltered out;
    sstable_cell *cells;
    size_t cells_cap;
    sstable_complex_deletion *cdels;
    size_t cdels_cap;
    merge_item *items;
    merge_item *items_tmp;       /* where merge_runs() merges the items to */
    size_t items_cap;            /* of both */
    size_t *run_start;           /* per group member: where its items start, and the end */
    size_t *run_at;              /* 2 per group member: merge positions and ends */
    size_t *group;               /* sources taking part in one merge step */
    size_t *versions;            /* the group's distinct row versions (row.c) */
    strata_buf *counters;        /* merged counter contexts of the current row */
    size_t counters_cap, ncounters;
    strata_buf counter_tmp;
    strata_err error;            /* set by merge_rows(): the merge cannot go on */
};

/* ---- Windows (window.c) ---- */
/* A partition deletion outside the source's window becomes live. */
sstable_deletion merge_window_partition_deletion(merge_source *src, sstable_deletion d);
/* The part of u inside the source's window: u itself when the window
 * keeps all of it, else src->window_u; or 0 with *out NULL when none of
 * it is. */
int merge_window_unfiltered(merge_source *src, const sstable_unfiltered *u, const sstable_unfiltered **out);

/* The shards of counter context `all` that `ref` does not hold as they
 * are: 1 with them as a context in out; 0 (out untouched) when no shard
 * differs or a context does not parse, then the whole of `all` may be
 * repeated; -1 when neither can stand beside `ref`: pre-2.1 local shards
 * add up rather than replace each other, so a local shard of an id that
 * `ref` holds as local too cannot be split into stored and new, and
 * repeating one counts it twice. */
int merge_counter_residual(const uint8_t *all, size_t alen, const uint8_t *ref, size_t rlen, strata_buf *out);

/* DeletionTime.supersedes: a later markedForDeleteAt, or the same one with
 * a later local deletion time. */
int merge_deletion_supersedes(const sstable_deletion *a, const sstable_deletion *b);

/* Merges the rows (or static rows) that the `n` inputs in m->group hold at
 * one clustering, under `active` (the partition deletion or the range
 * tombstone covering them).  Returns 1 with the result in m->out, or 0
 * when nothing of them survives; sets m->error when the result cannot
 * be made (a counter's residual, see merge_counter_residual()). */
int merge_rows(merge *m, size_t n, sstable_deletion active);

/* ColumnMetadata.compareTo for two columns of one kind, each simple or
 * complex (multi-cell): negative, zero or positive. */
int merge_column_compare(const char *a, int a_complex, const char *b, int b_complex);

/* ---- CQL text (cql_text.c) ---- */
void merge_buf_puts(strata_buf *b, const char *s);
/* A name as CQL needs it: bare, or in double quotes. */
void merge_cql_identifier(strata_buf *b, const char *name);
/* A string literal in single quotes, inner ones doubled. */
void merge_cql_string(strata_buf *b, const char *s);
/* {'k': 'v', ...}; values bare when quote_values is 0. */
void merge_cql_map(strata_buf *b, const merge_map *m, int quote_values);
/* The options after "WITH ID = …\n    AND ", one a line (table_options.c). */
void merge_cql_table_options(strata_buf *b, const merge_table_params *p, int is_view);

/* Unaligned loads of a word of value bytes (memcpy compiles to one move). */
static inline uint64_t merge_load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t merge_load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Whether two values hold the same bytes (a null value equals an empty
 * one, as the cells' comparisons by bytes have it).  Replicas' rows are
 * mostly equal, and their values mostly short: word loads, the last one
 * overlapping the one before, compare them in a few instructions, where a
 * call to memcmp costs more than the comparison. */
static inline int merge_bytes_equal(const sstable_value *a, const sstable_value *b) {
    size_t n = a->len;
    if (n != b->len) return 0;
    const uint8_t *x = a->p, *y = b->p;
    if (n >= 8) {
        for (size_t i = 0; i < n - 8; i += 8)
            if (merge_load64(x + i) != merge_load64(y + i)) return 0;
        return merge_load64(x + n - 8) == merge_load64(y + n - 8);
    }
    if (n >= 4) return merge_load32(x) == merge_load32(y) && merge_load32(x + n - 4) == merge_load32(y + n - 4);
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return 0;
    return 1;
}

#endif
