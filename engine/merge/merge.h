/* merge.h - Cassandra's reconciliation of one table's SSTables into one
 * stream, and the CQL view of such a stream at a point in time.
 *
 * A table of a replicated keyspace exists on several nodes, each holding
 * several SSTables with overlapping, diverging versions of the same rows.
 * merge_open() takes all of them and yields what Cassandra's compaction of
 * their union would hold, through the reader's own structures
 * (sstable_partition, sstable_unfiltered, sstable_cell), so the SSTable
 * writer can store the result as one native SSTable:
 *
 *   - partitions in partitioner order (Murmur3 token, then key bytes);
 *     inside one, the static row first, then rows and range tombstone
 *     markers in clustering order;
 *   - cells reconciled as Cells.reconcile does (higher timestamp; on a tie
 *     a tombstone or expiring cell beats a live one, a tombstone beats an
 *     expiring one, then the later local deletion time, then the greater
 *     value bytes); counter cells merged shard by shard (CounterContext);
 *   - partition deletions, range tombstones and row deletions remove the
 *     data they shadow, and overlapping range tombstones from different
 *     inputs become one sequence of bounds and boundaries
 *     (RangeTombstoneMarker.Merger); complex (collection) deletions and
 *     primary key liveness merge as in Row.Merger;
 *   - cells of dropped columns written at or before the drop are removed,
 *     as Cassandra does when it reads them;
 *   - nothing is purged: tombstones and expired cells stay, so the stream
 *     is exactly what the cluster holds.
 *
 * The stream is produced one unfiltered at a time: memory holds one
 * current unfiltered per input SSTable and the merged one, never a whole
 * partition.  Pointers returned stay valid until the next call on the
 * handle.  A handle is not thread-safe.
 */
#ifndef STRATA_MERGE_H
#define STRATA_MERGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/base.h"
#include "engine/sstable/sstable.h"
#include "engine/writer/writer.h"

/* ---- Schema ----------------------------------------------------------------
 * A keyspace as the nodes' system_schema tables describe it: what the merge
 * and the view need (key names, drop times), and what recreating its tables
 * takes (merge_table_cql()).  Strings are as system_schema stores them. */

/* A map<text, text> of system_schema, as pairs sorted by key bytes. */
typedef struct {
    char *key;
    char *value;
} merge_pair;

typedef struct {
    size_t n;
    merge_pair *pairs;
} merge_map;

/* The value of `key`, or NULL. */
const char *merge_map_get(const merge_map *m, const char *key);

typedef struct {
    char *name;
    char *kind;     /* "partition_key", "clustering", "static", "regular" */
    char *type;     /* CQL spelling, as system_schema stores it */
    int position;   /* order among key or clustering columns, else -1 */
    int descending; /* a clustering column in DESC order */
} merge_column;

typedef struct {
    char *name;
    char *type;           /* CQL type when dropped, user types as tuples */
    char *kind;           /* "regular" or "static" */
    int64_t dropped_time; /* µs: cells with timestamps <= this are gone */
} merge_dropped;

/* A secondary index (system_schema.indexes). */
typedef struct {
    char *name;
    char *kind;        /* "COMPOSITES", "KEYS" or "CUSTOM" */
    merge_map options; /* "target" (the indexed column, as CQL names it),
                          "class_name" for custom indexes, ... */
} merge_index;

/* A user-defined type (system_schema.types). */
typedef struct {
    char *name;
    size_t nfields;
    char **field_names;
    char **field_types;
} merge_type;

/* A table's options (system_schema.tables).  The ones older versions did
 * not store hold Cassandra's defaults for them. */
typedef struct {
    uint8_t id[16];
    int has_id; /* the row held a valid id (16 bytes) */
    char *additional_write_policy;
    double bloom_filter_fp_chance;
    merge_map caching;
    int cdc;
    char *comment;
    merge_map compaction;
    merge_map compression;
    double crc_check_chance;
    int32_t default_time_to_live;
    merge_map extensions; /* values as 0x-prefixed hex */
    int32_t gc_grace_seconds;
    int32_t max_index_interval;
    int32_t memtable_flush_period_in_ms;
    int32_t min_index_interval;
    char *read_repair;
    char *speculative_retry;
} merge_table_params;

/* What makes a table a materialized view (system_schema.views). */
typedef struct {
    char *base_table;        /* the table it selects from */
    char *where_clause;      /* as system_schema stores it */
    int include_all_columns; /* SELECT * */
} merge_view_def;

typedef struct {
    char *name;
    size_t ncolumns;
    merge_column *columns; /* in CREATE TABLE order: key columns by position,
                              clustering columns by position, static then
                              regular columns, each simple before complex
                              (multi-cell) ones, then by name as in
                              ColumnMetadata.compareTo */
    size_t ndropped;
    merge_dropped *dropped; /* by name */
    size_t nindexes;
    merge_index *indexes;   /* by name */
    int has_params;         /* system_schema.tables or .views holds it */
    merge_table_params params;
    merge_view_def *view;   /* a materialized view's definition, else NULL */
} merge_table;

typedef struct {
    char *keyspace;
    int durable_writes;
    merge_map replication; /* "class" (the strategy's full class name),
                              then its options: "replication_factor", or
                              one replica count per datacenter name */
    size_t ntables;
    merge_table *tables;
    size_t ntypes;
    merge_type *types;     /* by name */
} merge_schema;

/* One Data.db file of a system_schema table, named by that table:
 * "keyspaces", "tables", "views", "columns", "dropped_columns", "types" or
 * "indexes" (others are ignored).  Files can come from any place (a data
 * directory, a snapshot, a restored backup) and from several nodes. */
typedef struct {
    const char *table;
    const char *path;
} merge_schema_file;

/* Reads keyspace `keyspace` from these system_schema SSTables.  The
 * copies of several nodes are merged with the rules above, so a node that
 * missed a schema change does not hide it.  Fails with STRATA_ENOENT when
 * none of them knows the keyspace. */
strata_err merge_schema_read_files(const merge_schema_file *files, size_t nfiles, const char *keyspace,
                                   merge_schema **out);

/* The same from the system_schema directories of one or more nodes (each
 * "…/system_schema", holding keyspaces-<id>/, tables-<id>/, ... with their
 * SSTables directly inside). */
strata_err merge_schema_read(const char *const *dirs, size_t ndirs, const char *keyspace, merge_schema **out);

/* The schemas of several keyspaces. */
typedef struct {
    merge_schema **v;
    size_t n;
} merge_schema_set;

/* Every keyspace these system_schema SSTables hold a row of, each as
 * merge_schema_read_files() reads it, in one pass over the files (one
 * read per keyspace would read them all once per keyspace). */
strata_err merge_schema_read_all(const merge_schema_file *files, size_t nfiles, merge_schema_set *out);
/* Keyspace `keyspace` of the set; STRATA_ENOENT as merge_schema_read_files()
 * when the SSTables do not know it. */
strata_err merge_schema_set_get(const merge_schema_set *set, const char *keyspace, const merge_schema **out);
void merge_schema_set_free(merge_schema_set *set);

void merge_schema_free(merge_schema *s);
/* The table named `name`, or NULL. */
const merge_table *merge_schema_table(const merge_schema *s, const char *name);
/* The user type named `name`, or NULL. */
const merge_type *merge_schema_type(const merge_schema *s, const char *name);

/* Appends to *paths (*n of them, each allocated) the Data.db files of
 * table `name` in each keyspace directory dirs[i]: those directly inside
 * <dir>/<name>-<id>/ (a data directory) or <dir>/<name>/ (strata's mount).
 * Directories that cannot be read add nothing. */
void merge_find_table_data(const char *const *dirs, size_t ndirs, const char *name, char ***paths, size_t *n);

/* The text Cassandra 4.0's snapshot writes into a table's schema.cql
 * (SchemaCQLHelper.reCreateStatementsForSchemaCql): CREATE TYPE IF NOT
 * EXISTS for each user type the table uses, inner ones first; CREATE TABLE
 * IF NOT EXISTS with its columns, the dropped ones after them, its ID,
 * clustering order and options; for each dropped column an ALTER TABLE
 * DROP ... USING TIMESTAMP (and the ADD that follows when it was added
 * again); CREATE INDEX IF NOT EXISTS for each index.  One statement a
 * line, each ending in a newline.  Identifiers are quoted when CQL needs
 * it.  Where Cassandra's order comes from a Java HashMap (user types of
 * different columns, dropped columns), it is that of the maps Cassandra
 * builds when it loads its schema from system_schema.  For a materialized
 * view, after the user types: CREATE MATERIALIZED VIEW IF NOT EXISTS as
 * ViewMetadata.appendCqlTo writes it (SELECT * or the columns in select
 * order, its base table, the WHERE clause as stored, PRIMARY KEY, then ID,
 * clustering order and the table options but default_time_to_live).
 * Fails with STRATA_ENOENT when system_schema.tables or .views lacks the
 * table or a user type it uses is missing.  The caller frees *out. */
strata_err merge_table_cql(const merge_schema *s, const merge_table *t, char **out);

/* A double as Java's Double.toString spells it (and so Cassandra in CQL
 * and JSON): the shortest digits that read back as d, in plain notation
 * from 10^-3 to 10^7 ("0.01", "1.0"), else like "1.0E10". */
void merge_java_double(double d, strata_buf *out);

/* ---- Merge ------------------------------------------------------------------ */
typedef struct merge merge;

/* Opens every SSTable in `paths` (any form sstable_open() accepts).  They
 * must be SSTables of one table; `table` (may be NULL) supplies the dropped
 * columns.  Fails if an SSTable cannot be opened or the SSTables disagree
 * on the partition key or clustering types. */
strata_err merge_open(const char *const *paths, size_t npaths, const merge_table *table, merge **out);
void merge_close(merge *m);

/* One input of merge_open_inputs().
 *
 * Window: only the facts (cells, liveness, deletions) whose timestamp t
 * satisfies window_from < t <= window_to, or t > window_beyond, are
 * merged: that is how a cluster version takes what was written up to its
 * cut and no more.  Facts left out with window_to < t <= window_later are
 * counted as belonging to a later version (merge_window_counts()).
 * MERGE_WINDOW_ALL keeps everything.
 *
 * References: inputs whose content is already stored elsewhere.  When a
 * merge has references its stream is the residual: partitions come from
 * the other inputs only; a partition holding content of a `may_repeat`
 * input is looked up in the references (bloom filter, then index); and a
 * cell, liveness, deletion or range tombstone is emitted only where the
 * merge of everything differs from the merge of the references alone.
 * Residual and references together reconcile to exactly what all inputs
 * reconcile to, and content the references hold already costs nothing.
 * A partition of the residual may come out empty (no deletion and no
 * unfiltered); callers that write SSTables skip those. */
typedef struct {
    const char *path;        /* any form sstable_open_vfs() accepts */
    const sstable_vfs *vfs;  /* NULL: local files */
    int64_t window_from, window_to, window_beyond, window_later;
    int reference;
    int may_repeat;          /* may hold what a reference holds (see above) */
    int replica;             /* inputs with different numbers hold copies of
                                the same partitions (one node's SSTables
                                share one); sizes the bloom filter of
                                merge_writer_params() */
} merge_input;

#define MERGE_WINDOW_ALL INT64_MIN, INT64_MAX, INT64_MAX, INT64_MAX

/* merge_open() with a window, references and replicas per input; fails
 * as merge_open() does.  The array and its paths may be freed once it
 * returns; each vfs must outlive the merge. */
strata_err merge_open_inputs(const merge_input *inputs, size_t ninputs, const merge_table *table, merge **out);

/* Fills the settings of *p that a merged SSTable takes from the merge:
 * its header (borrowed from m), and from the non-reference inputs'
 * statistics the partitioner, bloom filter chance and expected key count
 * (the largest of the replicas' sums: replicas hold the same keys).
 * The caller sets the directory, version, generation and compression. */
void merge_writer_params(const merge *m, sstable_writer_params *p);

/* Writes the rest of the stream into w, leaving out partitions that hold
 * nothing; *partitions counts those written.  The caller finishes or
 * aborts w. */
strata_err merge_write(merge *m, sstable_writer *w, uint64_t *partitions);

/* From now on, the on-disk Data.db bytes of the non-reference inputs are
 * added to `progress` as the stream passes them, in steps of at least a
 * MiB of an input's uncompressed data: all of them once it has ended. */
void merge_set_progress(merge *m, strata_progress *progress);

/* Facts left out as belonging to a later cut (see window_later), and facts
 * kept because they are past window_beyond, summed over the inputs, as far
 * as the stream has been read. */
void merge_window_counts(const merge *m, uint64_t *later, uint64_t *beyond);

/* The header of the merged stream, as a compaction of the inputs would
 * write it (SerializationHeader.make): clustering and key types of the
 * inputs; their static and regular columns united in Cassandra's order
 * (simple columns, then complex ones, each by name bytes, except that, as
 * in ColumnMetadata.compareTo, a name whose first byte is not ASCII sorts
 * before ASCII ones); as encoding bases the smallest timestamp, local
 * deletion time and TTL of the inputs' statistics.  The column indexes of
 * the merged stream's cells are its own; their column is one of its
 * columns or an input's of the same name and type. */
const sstable_header *merge_get_header(const merge *m);

/* The next partition in partitioner order with its merged partition
 * deletion; *out is NULL at the end.  What is left of the previous
 * partition is skipped. */
strata_err merge_next_partition(merge *m, const sstable_partition **out);

/* The next merged unfiltered of the current partition; *out is NULL at its
 * end.  Rows carry no raw bytes (raw NULL, offset 0). */
strata_err merge_next_unfiltered(merge *m, const sstable_unfiltered **out);

/* Merges two counter contexts as CounterContext.merge does (per counter
 * id: global shards by clock, then count; local shards summed) into out,
 * which is overwritten.  Fails with STRATA_ECORRUPT on a malformed one. */
strata_err merge_counter_contexts(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, strata_buf *out);

/* The value of a counter context: the sum of its shards' counts. */
int64_t merge_counter_total(const uint8_t *ctx, size_t len);

/* ---- View --------------------------------------------------------------------
 * The CQL rows a merged stream shows at time `now` (seconds since the
 * epoch): what is deleted or expired at `now` disappears; a row is shown
 * when its primary key liveness or one of its cells is live; a partition
 * with a live static row and no live row shows one row with null
 * clustering columns.  Rows are JSON objects in the shape of Cassandra's
 * SELECT JSON: every column by name (key and clustering columns named by
 * the schema), collections as arrays (sets sorted) or objects (maps, user
 * types), counters as their totals, and for every simple non-counter
 * column "writetime(c)" (µs) and "ttl(c)" (seconds left at `now`, null
 * without a TTL). */
typedef struct merge_view merge_view;

/* The view borrows m and table; both must outlive it. */
strata_err merge_view_open(merge *m, const merge_table *table, int64_t now, merge_view **out);
/* The next row, or *row NULL at the end; the caller owns *row. */
strata_err merge_view_next(merge_view *v, json_t **row);
void merge_view_close(merge_view *v);

#endif
