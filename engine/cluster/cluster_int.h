/* cluster_int.h - what the cluster module's files share internally:
 * finding the table directories of a data directory and listing the files
 * of one table directory or of its snapshot (scan.c) with every
 * component its TOC.txt names (dir_names.c), strata's own
 * hard-link snapshot (link.c) with its owner files (snapshot_owner.c),
 * the SSTables Cassandra is still writing (txn_log.c) and the operator's
 * snapshot commands (command.c), all used by snapshot.c; and building the
 * token ring (ring.c) from a ring file (ring_file.c) or the cluster file
 * (config_ring.c), and the datacenters of a placement (placement.c). */
#ifndef STRATA_CLUSTER_INT_H
#define STRATA_CLUSTER_INT_H

#include "engine/cluster/cluster.h"

/* One <data_dir>/<keyspace>/<table>-<id>/ directory. */
typedef struct {
    char *keyspace;
    char *table;
    char *table_id; /* "" when the directory name carries no id */
    char *path;
} cluster_table_dir;

typedef struct {
    cluster_table_dir *v;
    size_t n;
} cluster_table_list;

typedef struct {
    cluster_file *v;
    size_t n, cap;
} cluster_file_list;

/* The file strata writes into each snapshot directory it makes, naming
 * the process that owns it, so that a later run can remove snapshots left
 * behind by a killed one.  It is not part of the table's data. */
#define CLUSTER_SNAPSHOT_OWNER ".strata-snapshot"

/* Strata's own hard-link snapshot of one table (link.c).  `made` records
 * the directories it created, for cluster_links_remove(). */
typedef struct {
    char **dirs;    /* <table dir>/snapshots/<tag> */
    size_t n_dirs;
    char **parents; /* <table dir>/snapshots, removed when left empty */
    size_t n_parents;
} cluster_links;

/* Links table `t` into <t>/snapshots/<tag>/, first removing snapshots a
 * killed strata left there.  On failure *impossible tells whether links
 * cannot be made here at all (read-only or foreign file system, no
 * permission), so that reading in place is the answer. */
strata_err cluster_link_table(const cluster_table_dir *t, const char *tag, cluster_links *made, int *impossible);
/* Removes everything `made` records and empties it. */
strata_err cluster_links_remove(cluster_links *made);

/* The operator's commands (command.c): `cmd` with every {tag} replaced,
 * and running a command line through /bin/sh, failing on a non-zero exit. */
char *cluster_with_tag(const char *cmd, const char *tag);
strata_err cluster_run_command(const char *what, const char *cmd);

/* The transaction logs of one directory (txn_log.c). */
typedef struct {
    char **logs;        /* "<name> <size> <committed>", sorted */
    size_t n_logs;
    char **not_live;    /* "nb-5-big": added by a transaction not committed, or removed by one committed */
    size_t n_not_live;
} cluster_txn_state;

/* Reads the transaction logs in `dir`; 0 or an errno value. */
int cluster_txn_read(const char *dir, cluster_txn_state *out);
/* 1 when `name` is a transaction log or a component of an SSTable that is not live. */
int cluster_txn_skip(const cluster_txn_state *t, const char *name);
/* 1 when no transaction started, grew or ended between the two readings. */
int cluster_txn_same(const cluster_txn_state *a, const cluster_txn_state *b);
void cluster_txn_free(cluster_txn_state *t);

/* Prefix of the name a snapshot directory has while strata makes it. */
#define CLUSTER_SNAPSHOT_TEMP ".strata-new+"

/* The temporary name, naming this process, for the snapshot `tag`. */
char *cluster_owner_temp_name(const char *tag);

/* Writes the owner file of this process into `dir`; 0 or an errno value. */
int cluster_owner_write(const char *dir);

/* 1 when the entry `name` of a snapshots/ directory `parent` is a snapshot
 * (or temporary one) of a process of this host that has ended; 0 when it
 * has no owner, a live one, or another host's. */
int cluster_owner_is_stale(const char *parent, const char *name);

/* Appends the table directories of `data_dir` that `filter` selects.  A
 * missing or unreadable data directory (or keyspace directory) fails with
 * a message naming it: a silently skipped directory would be missing data. */
strata_err cluster_scan_tables(const char *data_dir, const cluster_filter *filter, cluster_table_list *out);
void cluster_table_list_free(cluster_table_list *l);

/* Fails when a keyspace or table the filter names is not among `found`
 * (a misspelt name would otherwise back up nothing); `where` names the
 * directories searched in the message. */
strata_err cluster_filter_check(const cluster_filter *f, const cluster_table_list *found, const char *where);

/* The names of a directory's entries, sorted, without "." and "..". */
typedef struct {
    char **v;
    size_t n;
} cluster_names;

/* Lists `dir`, adding the components that an SSTable's TOC.txt names and
 * that exist but the listing missed (readdir may miss a file renamed
 * meanwhile, as Cassandra renames a new Statistics.db over the old).  0 or
 * an errno value; out is empty on failure. */
int cluster_dir_names(const char *dir, cluster_names *out);
void cluster_names_free(cluster_names *n);

/* Appends the regular files of `read_dir` (the table directory itself or
 * a snapshot of it) and of its hidden .<index>/ subdirectories, described
 * as files of table `t`.  Files that vanish while listed (compacted away),
 * transaction logs and the SSTables they show not live (added by an
 * uncommitted transaction, removed by a committed one) and temporary files
 * are left out. */
strata_err cluster_scan_files(const cluster_table_dir *t, const char *read_dir, cluster_file_list *out);

/* Sorts by keyspace, table, table id, rel_path and fails on a file that
 * two data directories both hold. */
strata_err cluster_file_list_finish(cluster_file_list *l);
void cluster_file_clear(cluster_file *f);
void cluster_file_list_free(cluster_file_list *l);

/* A ring being built: each token remembers the line it came from, so
 * that a token given to two endpoints is reported where it was. */
typedef struct {
    int64_t token;
    size_t endpoint;
    int line;
} cluster_ring_entry;

typedef struct {
    cluster_ring *ring;
    cluster_ring_entry *entries;
    size_t n_entries;
} cluster_ring_builder;

/* The index of the endpoint at `address`, SIZE_MAX when there is none. */
size_t cluster_ring_find(const cluster_ring *r, const char *address);

/* Appends an endpoint that is not a cluster file node (yet); its index. */
size_t cluster_ring_add_endpoint(cluster_ring *r, const char *address, const char *dc, const char *rack);

void cluster_ring_add_token(cluster_ring_builder *b, int64_t token, size_t endpoint, int line);

/* Sorts the tokens into b->ring and frees the entries.  The same token of
 * the same endpoint listed twice counts once; given to two endpoints it
 * fails as "<path>:<line>: ...", or "<path>: ..." naming both endpoints
 * for tokens added without a line (0). */
strata_err cluster_ring_finish(cluster_ring_builder *b, const char *path);

/* The cluster file's lines that later checks name in their errors. */
typedef struct {
    int header;  /* [node NAME] */
    int address; /* 0: no address key */
    int tokens;  /* 0: no tokens key */
} cluster_node_lines;

/* Sets c->ring from c->ring_file (line `ring_line` of the cluster file
 * `path`) and the nodes' address, dc and rack, or from their tokens. */
strata_err cluster_config_ring(cluster_config *c, const char *path, int ring_line, const cluster_node_lines *lines);

/* For each endpoint of p->ring, the index of its datacenter in p->dcs or
 * SIZE_MAX when the placement has none of that name. */
size_t *cluster_placement_endpoint_dcs(const cluster_placement *p);

#endif
