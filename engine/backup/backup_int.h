/* backup_int.h - what the files of the backup share: the snapshots' files
 * grouped into tables and SSTables (tables.c), SSTables read back from
 * the repository (stored.c), and the building of one table's reconciled
 * layer (layer.c), which backup.c runs for every table of a version. */
#ifndef STRATA_BACKUP_INT_H
#define STRATA_BACKUP_INT_H

#include <jansson.h>

#include "engine/backup/backup.h"
#include "engine/merge/merge.h"

/* Facts written up to this long after a version's cut are taken for
 * writes that came in while the snapshots were being taken, and go to the
 * next version; anything later is no clock time (a client's made-up
 * timestamp) and is kept at once, so that it cannot go missing. */
#define BACKUP_FUTURE_TOLERANCE_US (3600LL * 1000000)

/* ---- tables.c ---------------------------------------------------------- */

/* One SSTable of one node in this backup's snapshots. */
typedef struct {
    size_t node;                /* index into the cluster's nodes */
    const char *sstable;        /* "nb-5-big" */
    const cluster_file **files; /* its components */
    size_t n_files;
    const cluster_file *data;   /* Data.db; NULL when the SSTable is incomplete */
    uint64_t bytes;
} backup_sstable;

/* One table of the cluster, as every node's snapshot holds it. */
typedef struct {
    const char *keyspace, *table, *table_id;
    backup_sstable *sstables;   /* by node, then name */
    size_t n_sstables;
    const cluster_file **files; /* every file of its directories, index SSTables
                                   and snapshot files included */
    size_t n_files;
    uint64_t bytes;             /* of its SSTables */
} backup_table;

typedef struct {
    backup_table *v;
    size_t n;
} backup_table_list;

/* Groups the files of every node's snapshot (files[i] holds count[i]
 * files of node i, sorted by keyspace, table, rel_path) by table, and each
 * table's data SSTables by node and name.  Secondary index SSTables are
 * files of their table but not SSTables of it. */
void backup_tables_group(const cluster_file *const *files, const size_t *count, size_t n_nodes,
                         backup_table_list *out);
void backup_tables_free(backup_table_list *l);

/* Whether a node's snapshot files hold an SSTable: a Cassandra data
 * directory always does (a live node has its system_schema tables), a
 * disk not mounted or a directory that is not Cassandra's does not. */
int backup_node_holds_sstables(const cluster_file *files, size_t count);

/* The system_schema Data.db files of every node, for merge_schema_read_all(). */
void backup_tables_schema_files(const backup_table_list *l, merge_schema_file **out, size_t *n);

/* ---- stored.c -----------------------------------------------------------
 * SSTables stored in the repository, read through the reader's vfs: paths
 * are "stored/<rel_path>" for the files given. */
typedef struct stored_sstables stored_sstables;
stored_sstables *stored_sstables_new(repo *r, const repo_file *const *files, size_t n);
void stored_sstables_free(stored_sstables *s);
const sstable_vfs *stored_sstables_vfs(stored_sstables *s);
/* The path of SSTable `sstable` ("nb-3-big") to hand to the reader. */
char *stored_sstables_path(const char *sstable);

/* ---- layer_rows.c -----------------------------------------------------------
 * A layer's Data.db as repo_store_file_with() takes it to store it as
 * streams of its fields. */
typedef struct {
    repo_store_rows rows;
    repo_rows_layout layout;
    int32_t *lengths; /* the layout's: clustering, then regular, then static columns */
    void *map;
} layer_rows;
/* Fills lr for the uncompressed Data.db `fd` (size bytes) of the SSTable
 * at `sstable_path` ("DIR/nb-1-big"), mapping it; 0 when it cannot (the
 * file is then stored as it is). */
int layer_rows_open(const char *sstable_path, int fd, uint64_t size, layer_rows *lr);
void layer_rows_close(layer_rows *lr);

/* ---- layer.c ------------------------------------------------------------ */

/* What a table's layer build needs from the backup. */
typedef struct {
    repo *r;
    const backup_options *opt;
    const backup_table *table;
    const merge_table *schema;       /* NULL: unknown to system_schema */
    const char *schema_cql;          /* NULL: none */
    int64_t cut;                     /* this version's cut, µs */
    int64_t previous_cut;            /* the previous version's, INT64_MIN: none */
    const repo_file *const *stack;   /* the previous version's layer files of the table */
    size_t n_stack;
    repo_pack_writer *w;
    strata_progress *progress;
    const char *spool;               /* where its SSTable is written before being stored */
    int fresh;                       /* read every SSTable whole: layers of the
                                        stack were lost, with facts only they held */
} layer_job;

typedef struct {
    repo_file *files;      /* the table's layer files and schema.cql in this version */
    size_t n_files;
    repo_source *sources;  /* its SSTables on the captured nodes */
    size_t n_sources;
    repo_table_summary summary;
    uint64_t bytes_read;   /* of the SSTables read */
    uint64_t facts_later, facts_beyond;
    int layers_merged;     /* the stack was too deep and was merged */
    int new_layer;         /* a layer was written for this version */
} layer_result;

/* Builds the table's layer for this version: reads what the stack does
 * not hold yet (new SSTables up to the cut, known ones past the previous
 * cut), reconciles it against the stack, and stores what is new as one
 * SSTable; the table's files in the version are the stack plus it. */
strata_err layer_build(const layer_job *job, layer_result *res);
void layer_result_free(layer_result *res);
/* Removes a spool directory of layer_build() and its files (also one a
 * killed backup left behind). */
void layer_remove_spool(const char *dir);

/* ---- reconcile.c ----------------------------------------------------------
 * Every table of a version through layer_build(), several at once. */
typedef struct {
    backup_table_list tables;
    layer_result *results; /* parallel to tables.v */
    int *as_files;         /* parallel: could not be reconciled, so its
                              files are stored as the nodes hold them */
    json_t *report;        /* the version's report (cut, notes) */
} reconcile_state;

/* The nodes' system_schema, read once for the whole backup (backup.c):
 * the alignment of table ids and every table's reconciling take it from
 * here. */
typedef struct {
    merge_schema_set set;
    char *error; /* why it could not be read, NULL: it was */
} backup_schemas;

/* files[i] holds count[i] files of node i (cluster_snapshot_files()). */
strata_err reconcile_run(repo *r, const backup_options *opt, const cluster_file *const *files, const size_t *count,
                         const backup_schemas *schemas, int64_t cut, strata_progress *progress, reconcile_state *st);
void reconcile_free(reconcile_state *st);
/* Whether the file's table is stored as files (see as_files). */
int reconcile_kept_as_files(const reconcile_state *st, const cluster_file *f);

#endif
