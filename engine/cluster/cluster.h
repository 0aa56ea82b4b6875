/* cluster.h - the cluster as strata sees it from the outside: a description
 * file naming the nodes and their data directories, the SSTable files found
 * there, and a snapshot that keeps them in place while they are read.
 *
 * A Cassandra data directory is laid out <data_dir>/<keyspace>/<table>-<id>/
 * with SSTable components named <ver>-<generation>-<big|bti>-<Component>,
 * secondary index SSTables in hidden .<index>/ subdirectories, and
 * snapshots/ and backups/ subdirectories that hold copies of the same data
 * (and are therefore never read as live data). */
#ifndef STRATA_CLUSTER_H
#define STRATA_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/base.h"

/* ---- Cluster description file (INI) -------------------------------------
 *
 *   [cluster]
 *   name = prod-eu
 *
 *   [node node1]
 *   data_dir = /var/lib/cassandra/data        ; may repeat
 *   snapshot_cmd = ssh node1 nodetool snapshot -t {tag}
 *   clear_snapshot_cmd = ssh node1 nodetool clearsnapshot -t {tag}
 *
 * Relative data_dir paths are taken relative to the file's directory. */
typedef struct {
    char *name;
    char **data_dirs;
    size_t n_data_dirs;
    char *snapshot_cmd;       /* NULL: strata links its own snapshot */
    char *clear_snapshot_cmd; /* NULL: nothing to run afterwards */
} cluster_node;

typedef struct {
    char *name;
    cluster_node *nodes;
    size_t n_nodes;
} cluster_config;

/* Parses the file.  Errors name the file and line ("cluster.ini:7: ...")
 * and cover: unreadable file, syntax errors, unknown sections or keys,
 * a missing [cluster] name, no nodes, a node without data_dir, duplicate
 * node names. */
strata_err cluster_config_load(const char *path, cluster_config **out);
void cluster_config_free(cluster_config *c);

/* ---- SSTable file names ------------------------------------------------- */
typedef struct {
    char version[8];     /* "nb", "oa", "da", ... */
    char generation[64]; /* "12" or a time-UUID id "3gdc_0e6x_1g2n42e3jg2f6sdtlv" */
    char format[8];      /* "big" or "bti" */
    char component[64];  /* "Data.db", "TOC.txt", "Digest.crc32", "SAI+aa+...db" */
} sstable_name;

/* Returns 0 and fills *out when `filename` (no directory part) is an
 * SSTable component of the 3.0+ naming, -1 otherwise. */
int sstable_name_parse(const char *filename, sstable_name *out);

/* ---- Files of a node ------------------------------------------------------ */
typedef struct {
    char *keyspace;
    char *table;     /* table name without the id suffix */
    char *table_id;  /* 32 hex digits, "" for a directory without id */
    char *rel_path;  /* inside the table directory: "nb-1-big-Data.db",
                        ".users_name_idx/nb-1-big-Data.db", "manifest.json" */
    char *abs_path;  /* where to read the bytes (inside the snapshot) */
    char *sstable;   /* "nb-1-big" (with the index dir prefix when in one:
                        ".users_name_idx/nb-1-big"), "" for other files */
    uint64_t size;
    int64_t mtime_ns;
    uint32_t mode;
} cluster_file;

/* Which keyspaces and tables to take: the union of both lists, or every
 * keyspace but the node-local system ones when both are empty.  A name
 * that matches nothing in a node's data directories is an error. */
typedef struct {
    const char *const *keyspaces; /* "app" */
    size_t n_keyspaces;
    const char *const *tables;    /* "app.users" */
    size_t n_tables;
    int include_system;           /* also system, system_auth, ... (system_schema is always in) */
} cluster_filter;

/* ---- Snapshots --------------------------------------------------------------
 * cluster_snapshot_take() freezes a node's SSTables under `tag`: with a
 * snapshot_cmd it runs it through /bin/sh ({tag} replaced, its output
 * sent to stderr; a non-zero exit fails) and reads <table dir>/snapshots/
 * <tag>/ of each table that has one; without one it hard-links every file of
 * each selected table directory into <table dir>/snapshots/<tag>/ itself,
 * as Cassandra's own snapshot does, so compaction cannot remove a file
 * while it is read; such a snapshot holds an owner file (not listed) by
 * which a later run recognises and removes it if its backup was killed.
 * Where links cannot be made (read-only or foreign file system) it reads
 * the files in place and logs one warning.  Either way SSTables that an
 * uncommitted flush or compaction transaction log shows unfinished, and
 * the logs themselves, are left out, as Cassandra's own snapshot does.
 * Files are listed sorted by keyspace, table, rel_path.  Failures name the
 * directory or command concerned but not the node: the caller names it. */
typedef struct cluster_snapshot cluster_snapshot;

strata_err cluster_snapshot_take(const cluster_node *node, const char *tag,
                                 const cluster_filter *filter, cluster_snapshot **out);
const cluster_file *cluster_snapshot_files(const cluster_snapshot *s, size_t *count);
/* Removes strata's own links (or runs clear_snapshot_cmd) and frees. */
strata_err cluster_snapshot_release(cluster_snapshot *s);

#endif
