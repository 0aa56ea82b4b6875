/* gen.h - strata-gen-cluster: synthetic replicated Cassandra clusters
 * written with strata's own SSTable writer.
 *
 * Benchmarks and tests of the backup need clusters far larger than the
 * real corpus, with the same shape: several nodes, each holding the
 * SSTables of the keyspace `gen` in the data-directory layout plus the
 * system_schema that describes it, replicas that diverge because each
 * missed some writes, and several flushes per table and node.  This
 * header is what the command line (gen_cluster.c) and the unit test
 * share: the mutation a workload produces, the cluster operations, and
 * the internals of the pieces (schema, ring, memtable, workload) that the
 * small files of tools/gen/ implement.
 */
#ifndef STRATA_GEN_H
#define STRATA_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/base.h"
#include "engine/sstable/sstable.h"

#define GEN_KEYSPACE "gen"

/* When the keyspace was created (2026-11-22T00:00:00Z); the first
 * mutation follows a minute later. */
#define GEN_SCHEMA_US INT64_C(1795305600000000)

/* ---- Tables ---------------------------------------------------------------
 * readings ((sensor text, day date), ts timestamp, seq int, note text,
 *           payload blob, value double, tags map<text,text>,
 *           location text static)
 * users    (id uuid PRIMARY KEY, active boolean, age int, email text,
 *           name text, score bigint, prefs map<text,int>, recent list<int>)
 * Column indexes below are positions in the serialization header, which
 * lists simple columns before complex ones, each by name. */
enum { GEN_READINGS, GEN_USERS, GEN_NTABLES };

enum { GEN_R_NOTE, GEN_R_PAYLOAD, GEN_R_VALUE, GEN_R_TAGS, GEN_R_NREGULAR };
enum { GEN_R_LOCATION, GEN_R_NSTATIC };
enum { GEN_U_ACTIVE, GEN_U_AGE, GEN_U_EMAIL, GEN_U_NAME, GEN_U_SCORE, GEN_U_PREFS, GEN_U_RECENT, GEN_U_NREGULAR };

typedef struct {
    const char *name;
    uint8_t id[16];        /* the table id, a time-based UUID */
    sstable_header header; /* min_* fields zero: each flush sets its own */
} gen_table;

/* A header from type class names; column lists are NULL-terminated
 * (name, class) pairs in serialization order. */
void gen_header_init(sstable_header *h, const char *key, const char *const *clustering, const char *const *statics,
                     const char *const *regulars);
void gen_header_free(sstable_header *h);

/* The workload's tables for `seed`; gen_tables_free() releases them. */
void gen_tables_init(gen_table tables[GEN_NTABLES], uint64_t seed);
void gen_tables_free(gen_table tables[GEN_NTABLES]);

/* Writes <node_dir>/system_schema/{keyspaces,tables,columns}-<id>/ SSTables
 * describing keyspace gen with replication factor rf, written at `ts`, and
 * system_schema itself as Cassandra 4.0 describes it (written just before). */
strata_err gen_schema_write(const char *node_dir, const gen_table tables[GEN_NTABLES], int rf, int64_t ts,
                            const uint8_t host_id[16]);

/* ---- Mutations --------------------------------------------------------------
 * One CQL write to one partition: a row (or static row) update, a range
 * deletion, or a partition deletion.  Every part of it has `timestamp`;
 * deletion and expiry times count from `now` (seconds). */
typedef enum { GEN_M_ROW, GEN_M_STATIC, GEN_M_RANGE, GEN_M_PARTITION } gen_mutation_kind;

#define GEN_MAX_CELLS 16

typedef struct {
    uint8_t column;    /* header index (static list for static rows) */
    uint8_t deleted;   /* cell tombstone */
    int32_t ttl;       /* 0: none */
    sstable_value path; /* collection element; p NULL for simple columns */
    sstable_value value;
} gen_cell;

typedef struct {
    int table;
    gen_mutation_kind kind;
    const uint8_t *key;
    size_t key_len;
    int64_t token;
    int64_t timestamp;
    int64_t now;
    size_t nclustering;          /* row: the clustering; range: start prefix */
    sstable_value clustering[2];
    size_t nend;                 /* range: end prefix, both bounds inclusive */
    sstable_value end[2];
    int liveness;                /* INSERT: primary key liveness */
    int32_t liveness_ttl;
    int row_deleted;             /* DELETE of the row */
    uint32_t collections_replaced; /* bit per column: complex deletion at timestamp - 1 */
    size_t ncells;
    gen_cell cells[GEN_MAX_CELLS];
} gen_mutation;

/* Called for every mutation with the nodes (bit k: node k+1) that applied
 * it; lets a test keep its own account of what the cluster must hold. */
typedef void (*gen_observer)(const gen_mutation *m, uint32_t applied, void *arg);

/* ---- Memtable -----------------------------------------------------------------
 * One node's unflushed mutations of one table, in arrival order; a flush
 * sorts them into partitioner and clustering order, reconciles each row
 * and writes one SSTable. */
typedef struct {
    strata_buf arena;   /* encoded mutations */
    size_t count;
} gen_memtable;

void gen_memtable_add(gen_memtable *mt, const gen_mutation *m);
/* Writes the memtable as SSTable `generation` in `dir` (nb, LZ4, 16 KiB
 * chunks) and empties it. */
strata_err gen_memtable_flush(gen_memtable *mt, const gen_table *t, const char *dir, long generation,
                              const uint8_t host_id[16]);
void gen_memtable_free(gen_memtable *mt);

/* Where a partition goes: its deletion first, then its unfiltereds. */
typedef struct {
    strata_err (*begin)(void *arg, const sstable_deletion *deletion);
    strata_err (*emit)(void *arg, const sstable_unfiltered *u);
    void *arg;
} gen_sink;

/* The partition deletion, static row, rows and range tombstone markers of
 * one partition, built from its mutations (in arrival order) and given to
 * the sink in clustering order, what is shadowed inside the partition
 * removed as a memtable flush removes it. */
strata_err gen_partition_build(const sstable_header *h, const gen_mutation *muts, size_t n, const gen_sink *sink);

/* ---- Files ------------------------------------------------------------------------ */
/* Creates a directory and its missing parents. */
strata_err gen_mkdirs(const char *path);
/* The generations of the SSTables (their Data.db) in dir, ascending; the
 * caller frees *out. */
size_t gen_generations(const char *dir, long **out);
/* One more than the highest generation in dir, or 1. */
long gen_next_generation(const char *dir);
/* Bytes of all component files of one SSTable, and their removal. */
uint64_t gen_sstable_bytes(const char *dir, long generation);
void gen_sstable_remove(const char *dir, long generation);
/* Bytes of every SSTable of keyspace gen on DIR/node1..nodes. */
uint64_t gen_keyspace_bytes(const char *dir, int nodes);

/* ---- Ring -----------------------------------------------------------------------
 * Murmur3 tokens, `vnodes` per node, from the seed; the replicas of a token
 * are the owner of the first token at or after it and the next distinct
 * nodes clockwise, as SimpleStrategy (or NetworkTopologyStrategy in one
 * rack) places them. */
typedef struct {
    size_t ntokens;
    int64_t *tokens;
    int *owners;
    int nodes, rf;
} gen_ring;

void gen_ring_init(gen_ring *r, int nodes, int rf, int vnodes, uint64_t seed);
/* Fills replicas[0..rf) with node indexes (0-based). */
void gen_ring_replicas(const gen_ring *r, int64_t token, int *replicas);
void gen_ring_free(gen_ring *r);

/* Writes <node_dir>/system/local-<id>/ as Cassandra 4.0 leaves it on node
 * `node` (0-based) of `ring`: its metadata and tokens written at `boot`,
 * and the metadata again a minute later, in a second SSTable; and
 * system/peers_v2-<id>/ with the other nodes' datacenter, rack and tokens.
 * Node k's broadcast address is 127.0.0.<k + 1>. */
strata_err gen_local_write(const char *node_dir, int node, const gen_ring *ring, int64_t boot,
                           const uint8_t host_id[16]);

/* ---- Randomness and values ---------------------------------------------------- */
typedef struct {
    uint64_t s;
} gen_rng;

uint64_t gen_rng_next(gen_rng *r);
/* Uniform in [0, n). */
uint64_t gen_rng_below(gen_rng *r, uint64_t n);
/* 1 with probability p. */
int gen_rng_chance(gen_rng *r, double p);
/* A 64-bit hash of the words, for values that must be derived again later. */
uint64_t gen_hash(uint64_t a, uint64_t b, uint64_t c);

void gen_put_be32(uint8_t *p, uint32_t v);
void gen_put_be64(uint8_t *p, uint64_t v);
/* A version 1 (time-based) UUID for microsecond `us`, with a clock
 * sequence and node taken from `node`. */
void gen_timeuuid(uint8_t out[16], int64_t us, uint64_t node);

/* ---- Workload -------------------------------------------------------------------- */
typedef struct {
    uint64_t seed;
    int64_t clock;       /* µs: the timestamp of the last mutation */
    int round;           /* 0 for the first data set, then one per --next */
    int wide;            /* every write to one readings partition */
    int nsensors;
    int *sensor_day;     /* per sensor: its current partition's day offset */
    int *sensor_rows;    /* per sensor: rows in its current partition */
    uint64_t nusers;
    uint8_t bytes[8192]; /* the current mutation's keys and values */
    size_t used;
} gen_workload;

/* A new workload sized for about `mb` MB of cluster data; with `wide`,
 * one partition of readings (one sensor's day that never fills) receives
 * every write but partition deletions. */
void gen_workload_init(gen_workload *w, uint64_t seed, double mb, int wide);
void gen_workload_free(gen_workload *w);
/* The next mutation; its pointers stay valid until the next call. */
void gen_workload_next(gen_workload *w, gen_rng *rng, gen_mutation *m);

/* ---- Cluster ---------------------------------------------------------------------- */
typedef struct {
    const char *out;   /* directory of the data set */
    int nodes;         /* default 3 */
    int rf;            /* default 3 */
    double mb;         /* SSTable bytes of all nodes, MB (10^6); default 1000 */
    uint64_t seed;     /* default 1 */
    double flush_mb;   /* memtable bytes of a node that trigger a flush; default 64 */
    double miss;       /* chance that a replica misses a write; default 0.1 */
    int wide;          /* all data in one partition (gen_workload_init) */
    gen_observer observe; /* may be NULL */
    void *observe_arg;
} gen_options;

/* Fills the defaults above. */
void gen_options_init(gen_options *o);

/* Creates the data set: DIR/node1..N, DIR/cluster.ini and DIR/gen.json
 * (what --next needs).  Fails with STRATA_EEXIST when DIR holds nodes. */
strata_err gen_cluster_create(const gen_options *o);

/* Applies more mutations, about `percent` % of the data set's SSTable
 * bytes, as new flushes on every node, later than everything before. */
strata_err gen_cluster_next(const char *dir, double percent, gen_observer observe, void *arg);

/* Major compaction of every table of node `node` ("node2"): its SSTables
 * of a table merged into one with a new generation, the old ones removed. */
strata_err gen_cluster_compact(const char *dir, const char *node);

/* DIR/gen.json: the options and the workload's counters and clock. */
strata_err gen_state_save(const char *dir, const gen_options *o, const gen_workload *w);
/* Fills *o's cluster fields and initializes *w from DIR/gen.json. */
strata_err gen_state_load(const char *dir, gen_options *o, gen_workload *w);

/* The table directory DIR/<node>/gen/<table>-<id> (caller frees). */
char *gen_table_dir(const char *dir, const char *node, const gen_table *t);

#endif
