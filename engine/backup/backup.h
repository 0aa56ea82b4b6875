/* backup.h - cluster versions in and out of a repository.
 *
 * backup_run() takes one version of a whole cluster: it snapshots every
 * node, stores the SSTable files the repository does not hold yet, and
 * publishes the version.  restore_run() writes a version (or one keyspace
 * or table of it) back: reconciled tables as one directory each, the
 * nodes' files byte for byte.  backup_ring_from_nodes() finds the token
 * ring in the nodes' own system tables when the cluster file names none. */
#ifndef STRATA_BACKUP_H
#define STRATA_BACKUP_H

#include <stdatomic.h>

#include "engine/cluster/cluster.h"
#include "engine/repo/repo.h"

typedef struct {
    const cluster_config *cluster;
    cluster_filter filter;
    int jobs;                                /* worker threads; <= 0: one per CPU */
    const atomic_int *cancel;                /* set non-zero to stop (may be NULL) */
    int files_only;       /* store the nodes' files as they are, reconcile nothing */
    int keep_replicas;    /* reconcile, and also store the nodes' files */
    int64_t cut_us;       /* the version's time: 0 is now; else when the
                             snapshots were taken, after the latest version's */
    const char *spool_dir; /* where layers are written before being stored;
                              NULL: a directory of the repository's own */
    int max_layers;       /* a table with more layers has them merged;
                             <= 0: BACKUP_DEFAULT_MAX_LAYERS */
} backup_options;

/* Each version adds a layer to the tables it has news of; reading a table
 * means merging its layers, so past this depth they are merged into one
 * (the base alone is kept when it outweighs the others together). */
#define BACKUP_DEFAULT_MAX_LAYERS 8

typedef struct {
    char version[48];
    size_t nodes;
    uint64_t sstables_new, sstables_unchanged;
    uint64_t files_new, files_unchanged;
    uint64_t bytes_logical; /* all files of the version */
    uint64_t bytes_read;    /* files that had to be read */
    uint64_t bytes_stored;  /* added to the repository */
    double seconds;
    /* reconciling */
    size_t tables, tables_with_new_layer, tables_kept_as_files, tables_layers_merged;
    uint64_t layer_bytes;   /* the version's reconciled SSTables (what a restore writes) */
    uint64_t facts_later;   /* past the cut: left for the next version */
    uint64_t facts_beyond;  /* far past the cut (no clock time): kept */
} backup_result;

/* Takes one cluster version.  By default every table is reconciled: the
 * nodes' SSTables are merged with Cassandra's rules into layers of
 * reconciled SSTables (see layer.c), so the version stores each row once
 * whatever the replication factor; tables whose SSTables cannot be read
 * are stored as the nodes' files, with a warning.  Nothing is published
 * unless every node was read completely; snapshots are released in every
 * case. */
strata_err backup_run(repo *r, const backup_options *opt, backup_result *res);

/* When the cluster file gives no ring (no ring file, no tokens), sets
 * c->ring from what each node records of itself in system.local, read
 * from its data directories: its tokens, datacenter, rack and broadcast
 * address (see cluster_config_ring_from_self).  Fails, leaving no ring,
 * with STRATA_ENOENT when a node has no system.local or no tokens in it,
 * and with the reader's error when its SSTables cannot be read. */
strata_err backup_ring_from_nodes(cluster_config *c);

typedef struct {
    const char *version;  /* id or "latest" */
    const char *keyspace; /* NULL: all */
    const char *table;    /* NULL: all (needs keyspace) */
    const char *node;     /* NULL: the version's tables; else this node's own files */
    const char *to;       /* target directory */
    int overwrite;        /* replace existing files instead of failing */
    int jobs;             /* files written at once; <= 0: RESTORE_DEFAULT_JOBS */
    const atomic_int *cancel; /* set non-zero to stop (may be NULL) */
} restore_options;

/* Several files at once overlap fetching (a remote repository's latency)
 * with decompression and SHA-256 checks on every core. */
#define RESTORE_DEFAULT_JOBS 4

typedef struct {
    char version[48];
    uint64_t files, bytes;
    size_t reconciled_tables; /* written as <to>/<keyspace>/<table>/ */
    size_t node_tables;       /* written as <to>/<node>/<keyspace>/<table>/ */
    storage_traffic fetched;  /* from the repository's storage, read-ahead included */
} restore_result;

/* Writes the selected tables of a version under `to`, each chunk checked
 * against its SHA-256, each file written to a temporary name and renamed,
 * with its original mode and mtime.  A reconciled table becomes
 * <to>/<keyspace>/<table>/: its layers and schema.cql, a directory for any
 * node's table directory or for sstableloader.  A table stored as the
 * nodes' files becomes <to>/<node>/<keyspace>/<table>/<rel_path> per node,
 * byte for byte.  With opt->node, only that node's own files are written
 * (a reconciling version holds them when backed up with --keep-replicas).
 * Fails with STRATA_EEXIST, before writing anything, when a target table
 * directory holds an SSTable component that the restore does not write,
 * or, without opt->overwrite, a file of the name of one it writes. */
strata_err restore_run(repo *r, const restore_options *opt, restore_result *res);

#endif
