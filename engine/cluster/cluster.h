/* cluster.h - the cluster as strata sees it from the outside: a description
 * file naming the nodes and their data directories, the SSTable files found
 * there, a snapshot that keeps them in place while they are read, and the
 * token ring, which says how many replicas of each token range a backup of
 * some of the nodes holds.
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

#include <jansson.h>

#include "engine/base/base.h"

/* ---- Token ring -------------------------------------------------------------
 * The Murmur3 token ring: every token in ascending order with the endpoint
 * that owns it.  The range (previous token, token] is the token's; the
 * first token's range wraps around from the last token.  Endpoints that
 * are not in the cluster file are ring members all the same: they hold
 * replicas that a backup of the listed nodes does not capture. */
#define CLUSTER_NO_NODE ((size_t)-1)

typedef struct {
    char *address; /* as nodetool ring prints it; the node's name for a ring
                      built from tokens = without an address */
    char *dc;
    char *rack;
    int joining;   /* bootstrapping: its tokens are pending, it replicates nothing yet */
    size_t node;   /* index in cluster_config.nodes, CLUSTER_NO_NODE when not there */
} cluster_endpoint;

typedef struct {
    int64_t token;
    size_t endpoint; /* index in cluster_ring.endpoints */
} cluster_token;

typedef struct {
    cluster_endpoint *endpoints; /* in order of first appearance */
    size_t n_endpoints;
    cluster_token *tokens;       /* ascending, no token twice */
    size_t n_tokens;
} cluster_ring;

/* Reads the output of `nodetool ring` (Murmur3 tokens) as saved by the
 * operator, also when the file holds other nodetool output: only the
 * ring entries (address, rack, status, state, load, owns, token) and the
 * "Datacenter: X" headings above them are read, every other line is
 * ignored.  Errors name the file and line: a ring entry whose token is no
 * signed 64-bit integer, an entry before any "Datacenter:" heading, an
 * address seen in two datacenters or racks, one token given to two
 * endpoints; and a file without any ring entry. */
strata_err cluster_ring_load(const char *path, cluster_ring **out);
void cluster_ring_free(cluster_ring *r);

/* A Murmur3 token as Cassandra spells it: 0 and *out for a signed 64-bit
 * decimal integer and nothing else, -1 otherwise. */
int cluster_token_parse(const char *s, int64_t *out);

/* ---- Cluster description file (INI) -------------------------------------
 *
 *   [cluster]
 *   name = prod-eu
 *   ring = ring.txt                           ; `nodetool ring > ring.txt`
 *
 *   [node node1]
 *   data_dir = /var/lib/cassandra/data        ; may repeat
 *   snapshot_cmd = ssh node1 nodetool snapshot -t {tag}
 *   clear_snapshot_cmd = ssh node1 nodetool clearsnapshot -t {tag}
 *   address = 10.0.0.1                        ; its entries in the ring file
 *   dc = eu-west                              ; overrides the ring's datacenter
 *   rack = rack1                              ; overrides the ring's rack
 *   tokens = -9034171729784284480, 164729898556557704   ; without a ring file
 *       2049891267463725411, 7022834498337225339        ; indented: the list goes on
 *
 * Relative data_dir and ring paths are taken relative to the file's
 * directory.  The ring comes either from the ring file, where each node is
 * found by its address, or from the tokens of every node (its address, or
 * its name when it has none, naming it; datacenter and rack default to
 * Cassandra's SimpleSnitch names datacenter1 and rack1); without either
 * the file gives no ring, and cluster_config_ring_from_self() can make one
 * from the nodes' own system tables. */
typedef struct {
    char *name;
    char **data_dirs;
    size_t n_data_dirs;
    char *snapshot_cmd;       /* NULL: strata links its own snapshot */
    char *clear_snapshot_cmd; /* NULL: nothing to run afterwards */
    char *address;            /* NULL: not given */
    char *dc;                 /* NULL: the ring file's (or datacenter1) */
    char *rack;               /* NULL: the ring file's (or rack1) */
    int64_t *tokens;          /* as listed */
    size_t n_tokens;
} cluster_node;

typedef struct {
    char *name;
    cluster_node *nodes;
    size_t n_nodes;
    char *ring_file;          /* NULL: none named */
    cluster_ring *ring;       /* NULL: no ring file and no tokens */
} cluster_config;

/* Parses the file and reads the ring file it names.  Errors name the file
 * and line ("cluster.ini:7: ...") and cover: unreadable file, syntax
 * errors, unknown sections or keys, a missing [cluster] name, no nodes, a
 * node without data_dir, duplicate node names or keys, a bad token; with a
 * ring file: the ring file's own errors (after the line of the ring key),
 * a node without an address or with one the ring lacks, two nodes at one
 * address, tokens given as well; without one: some nodes with tokens and
 * others without, a token given to two nodes. */
strata_err cluster_config_load(const char *path, cluster_config **out);
void cluster_config_free(cluster_config *c);

/* What a node records of itself in its system.local table, or of another
 * ring member in its system.peers_v2 (system.peers before 4.0). */
typedef struct {
    char *address;   /* broadcast_address, or the peer's; NULL: not recorded */
    char *dc, *rack; /* NULL: not recorded */
    int64_t *tokens;
    size_t n_tokens;
} cluster_node_self;

/* Sets c->ring (NULL before: no ring file, no tokens) from self[i], the
 * record of c->nodes[i], and peers[0..npeers), the ring members the nodes
 * know of; a peer at the address of a node (the cluster file's or the
 * node's record's) or of an earlier peer adds nothing.  The cluster
 * file's address, dc and rack of a node win over its record's, and the
 * node's name stands for an address recorded nowhere.
 * Fails, leaving no ring, with STRATA_ENOENT when a node records no tokens,
 * and STRATA_EINVAL when two ring members hold one token or two nodes
 * share an address. */
strata_err cluster_config_ring_from_self(cluster_config *c, const cluster_node_self *self,
                                         const cluster_node_self *peers, size_t npeers);

/* ---- Replica placement ------------------------------------------------------
 * Which endpoints hold each token range of a keyspace, as Cassandra 4.0
 * computes its natural replicas from the ring and the keyspace's
 * replication (the map system_schema.keyspaces stores).  SimpleStrategy:
 * the next replication_factor distinct endpoints clockwise from the
 * range's token.  NetworkTopologyStrategy: the same walk for each
 * datacenter, taking an endpoint on a rack not used yet, or on a used one
 * while the datacenter has fewer racks than replicas left to place (the
 * first ones met); a datacenter with fewer endpoints than its factor has
 * them all.  LocalStrategy and EverywhereStrategy: every endpoint.
 * Joining endpoints are no replicas. */
typedef enum {
    CLUSTER_SIMPLE_STRATEGY,
    CLUSTER_NETWORK_TOPOLOGY_STRATEGY,
    CLUSTER_EVERY_NODE_STRATEGY, /* LocalStrategy, EverywhereStrategy */
} cluster_strategy;

/* One entry of the replication map: {"class", "org.apache.cassandra.
 * locator.NetworkTopologyStrategy"}, {"datacenter1", "3"}. */
typedef struct {
    const char *key;
    const char *value;
} cluster_replication_option;

typedef struct {
    char *name;
    unsigned rf;
} cluster_dc_rf;

typedef struct {
    int64_t start, end;  /* the range (start, end] */
    size_t *replicas;    /* endpoint indexes in Cassandra's order (the first is the primary) */
    size_t n_replicas;   /* below the factor when the ring has too few endpoints */
} cluster_range;

typedef struct {
    const cluster_ring *ring; /* borrowed: must outlive the placement */
    cluster_strategy strategy;
    unsigned rf;              /* replicas per range asked for: the sum over
                                 datacenters, or the endpoint count */
    cluster_dc_rf *dcs;       /* NetworkTopologyStrategy's datacenters by name */
    size_t n_dcs;
    cluster_range *ranges;    /* one per token of a replica, ascending */
    size_t n_ranges;
} cluster_placement;

/* Fails with STRATA_EFORMAT for another class or transient replication
 * ("3/1"), with STRATA_EINVAL for a map Cassandra would refuse (no class,
 * a missing or bad factor, an unknown option) or a ring without a token
 * of a replica. */
strata_err cluster_placement_compute(const cluster_ring *ring, const cluster_replication_option *options,
                                     size_t n_options, cluster_placement **out);
void cluster_placement_free(cluster_placement *p);

/* ---- Coverage -------------------------------------------------------------
 * How much of a keyspace a cluster version holds when some nodes were
 * captured and others not.  A write acknowledged at a consistency level
 * by W replicas of a range is certainly in the version when fewer than W
 * of the range's replicas are missing from it: ONE needs every replica,
 * QUORUM more than RF - (RF/2 + 1), ALL one.  For NetworkTopologyStrategy
 * LOCAL_QUORUM counts a datacenter's replicas against its own quorum (the
 * version is complete for it when it is for every datacenter: writes may
 * be coordinated in any) and EACH_QUORUM needs one datacenter where that
 * holds. */
typedef enum {
    CLUSTER_CL_ONE,
    CLUSTER_CL_QUORUM,
    CLUSTER_CL_ALL,
    CLUSTER_CL_LOCAL_QUORUM,
    CLUSTER_CL_EACH_QUORUM,
    CLUSTER_CL_COUNT
} cluster_consistency;

/* "ONE", "QUORUM", ... */
const char *cluster_consistency_name(cluster_consistency cl);

typedef struct {
    size_t replicas;
    size_t captured;
} cluster_range_coverage;

typedef struct {
    const char *name;     /* borrowed from the placement */
    unsigned rf;
    size_t min_captured;  /* over the ranges */
    int local_quorum;     /* 1 complete, 0 not, -1 no endpoint in this datacenter */
} cluster_dc_coverage;

typedef struct {
    const cluster_config *config;       /* borrowed */
    const cluster_placement *placement; /* borrowed; NULL: no ring known */
    size_t n_captured;                  /* captured nodes of the cluster file */
    unsigned char *endpoint_captured;   /* per ring endpoint, 1 when captured */
    cluster_range_coverage *ranges;     /* parallel to placement->ranges */
    size_t min_captured;                /* over the ranges */
    size_t n_short;                     /* ranges with a replica not captured */
    cluster_dc_coverage *dcs;           /* parallel to placement->dcs */
    size_t n_dcs;
    int complete[CLUSTER_CL_COUNT];     /* 1 complete, 0 not, -1 does not
                                           apply (no ring; LOCAL_QUORUM and
                                           EACH_QUORUM outside NetworkTopologyStrategy) */
} cluster_coverage;

/* `captured` names nodes of `c`.  `p` is the placement of c->ring, or NULL
 * when c->ring is NULL: then only the captured nodes are counted.  Fails
 * with STRATA_EINVAL on an unknown node name or a placement of another
 * ring. */
strata_err cluster_coverage_compute(const cluster_config *c, const cluster_placement *p,
                                    const char *const *captured, size_t n_captured, cluster_coverage **out);
void cluster_coverage_free(cluster_coverage *cov);

/* The report as JSON: whether a ring is known, node counts; with a ring
 * the strategy and factor, range counts, min_captured, the consistency
 * levels and whether the version is complete for each, per datacenter
 * figures, the endpoints not captured and every range that lacks a
 * replica (tokens, replicas, captured, missing addresses). */
json_t *cluster_coverage_json(const cluster_coverage *cov);

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

/* 1 when `filename` is a file that Cassandra writes for a moment only and
 * deletes unfinished when it starts: "<component>.tmp" (a component being
 * rewritten, one being streamed), and the tmp-/tmplink- SSTables of 2.1
 * and 2.2; no SSTable's data, and never in Cassandra's snapshots. */
int sstable_name_is_temporary(const char *filename);

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
 * the files in place and logs one warning.  Either way SSTables that a
 * flush or compaction transaction log shows not live (added and not yet
 * committed, or removed by a committed one), the logs themselves and
 * temporary files (sstable_name_is_temporary) are left out, as Cassandra's
 * own snapshot does.
 * Files are listed sorted by keyspace, table, rel_path.  Failures name the
 * directory or command concerned but not the node: the caller names it. */
typedef struct cluster_snapshot cluster_snapshot;

strata_err cluster_snapshot_take(const cluster_node *node, const char *tag,
                                 const cluster_filter *filter, cluster_snapshot **out);
/* The snapshot's files, sorted as above; borrowed, valid until the
 * snapshot is released or its list changed by the two calls below. */
const cluster_file *cluster_snapshot_files(const cluster_snapshot *s, size_t *count);
/* Takes the files of directory <keyspace>/<table>-<table_id>/ out of the
 * snapshot's list (a dropped table's, which its node never reads). */
void cluster_snapshot_leave_out(cluster_snapshot *s, const char *keyspace, const char *table, const char *table_id);
/* Files the snapshot's <keyspace>/<table>-<from_id>/ holds under table id
 * `to_id` (a node that disagrees with the cluster on the table's id holds
 * data of the same table). */
void cluster_snapshot_rename_table(cluster_snapshot *s, const char *keyspace, const char *table, const char *from_id,
                                   const char *to_id);
/* Removes strata's own links (or runs clear_snapshot_cmd) and frees. */
strata_err cluster_snapshot_release(cluster_snapshot *s);

#endif
