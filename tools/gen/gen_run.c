/* gen_run.c - writing a cluster: mutations to replicas, memtables to
 * SSTables.
 *
 * Each mutation goes to the replicas of its partition, each of which
 * misses it with the configured chance (a node down, a dropped message,
 * no hint replayed), though never all of them: a write that no replica
 * applied did not happen.  A node flushes, as Cassandra does when its
 * memtables reach their share of memory, the largest table's memtable once
 * all of its memtables hold about --flush-mb (each threshold jittered so
 * the nodes' SSTables differ in size); at the end every node flushes
 * what it holds, as before a snapshot. */
#include "tools/gen/gen.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *dir;
    const gen_options *o;
    gen_table tables[GEN_NTABLES];
    gen_ring ring;
    gen_memtable *mt;         /* node * GEN_NTABLES + table */
    uint8_t (*host_id)[16];
    size_t *flush_at;         /* per node: memtable bytes that trigger a flush */
    uint64_t written;         /* SSTable bytes of keyspace gen written */
    uint64_t flushed;         /* memtable bytes flushed */
    gen_rng rng;
} cluster;

void gen_options_init(gen_options *o) {
    *o = (gen_options){.nodes = 3, .rf = 3, .mb = 1000, .seed = 1, .flush_mb = 64, .miss = 0.1};
}

static void host_id(uint64_t seed, int node, uint8_t out[16]) {
    gen_put_be64(out, gen_hash(seed, 0x686f7374, (uint64_t)node));
    gen_put_be64(out + 8, gen_hash(seed, 0x686f7374, (uint64_t)node + 1000));
    out[6] = (uint8_t)(0x40 | (out[6] & 0x0f));
    out[8] = (uint8_t)(0x80 | (out[8] & 0x3f));
}

static void jitter(cluster *c, int node) {
    double f = 0.6 + (double)gen_rng_below(&c->rng, 800) / 1000.0;
    c->flush_at[node] = (size_t)(c->o->flush_mb * 1e6 * f);
}

static void cluster_init(cluster *c, const char *dir, const gen_options *o, int round) {
    *c = (cluster){.dir = dir, .o = o};
    gen_tables_init(c->tables, o->seed);
    gen_ring_init(&c->ring, o->nodes, o->rf, 16, o->seed);
    c->mt = xcalloc((size_t)o->nodes * GEN_NTABLES, sizeof *c->mt);
    c->host_id = xcalloc((size_t)o->nodes, sizeof *c->host_id);
    c->flush_at = xcalloc((size_t)o->nodes, sizeof *c->flush_at);
    c->rng.s = gen_hash(o->seed, 0x6d757473, (uint64_t)round);
    for (int k = 0; k < o->nodes; k++) host_id(o->seed, k, c->host_id[k]), jitter(c, k);
}

static void cluster_free(cluster *c) {
    for (int i = 0; i < c->o->nodes * GEN_NTABLES; i++) gen_memtable_free(&c->mt[i]);
    free(c->mt), free(c->host_id), free(c->flush_at);
    gen_ring_free(&c->ring);
    gen_tables_free(c->tables);
}

static char *node_name(int node) { return xasprintf("node%d", node + 1); }

static strata_err flush(cluster *c, int node, int table) {
    gen_memtable *mt = &c->mt[node * GEN_NTABLES + table];
    if (!mt->count) return STRATA_OK;
    char *name = node_name(node), *dir = gen_table_dir(c->dir, name, &c->tables[table]);
    long generation = gen_next_generation(dir);
    c->flushed += mt->arena.len;
    strata_err e = gen_memtable_flush(mt, &c->tables[table], dir, generation, c->host_id[node]);
    if (!e) c->written += gen_sstable_bytes(dir, generation);
    free(name), free(dir);
    return e;
}

/* Flushes the node's largest memtable once its memtables are full. */
static strata_err maybe_flush(cluster *c, int node) {
    size_t total = 0, largest = 0;
    int which = 0;
    for (int t = 0; t < GEN_NTABLES; t++) {
        size_t n = c->mt[node * GEN_NTABLES + t].arena.len;
        total += n;
        if (n > largest) largest = n, which = t;
    }
    if (total < c->flush_at[node]) return STRATA_OK;
    jitter(c, node);
    return flush(c, node, which);
}

static uint64_t pending(const cluster *c) {
    uint64_t bytes = 0;
    for (int i = 0; i < c->o->nodes * GEN_NTABLES; i++) bytes += c->mt[i].arena.len;
    /* at the ratio of SSTable to memtable bytes seen so far */
    return c->flushed ? (uint64_t)((double)bytes * (double)c->written / (double)c->flushed) : bytes / 2;
}

/* Mutations until the SSTables written and the memtables' share of them
 * reach `target` bytes, then the final flushes. */
static strata_err run(cluster *c, gen_workload *w, uint64_t target, gen_observer observe, void *arg) {
    strata_err e = STRATA_OK;
    int replicas[64];
    gen_mutation m;
    uint64_t start = c->written;
    while (!e && c->written - start + pending(c) < target) {
        gen_workload_next(w, &c->rng, &m);
        gen_ring_replicas(&c->ring, m.token, replicas);
        uint32_t applied = 0;
        for (int r = 0; r < c->o->rf; r++)
            if (!gen_rng_chance(&c->rng, c->o->miss)) applied |= 1u << replicas[r];
        if (!applied) applied = 1u << replicas[gen_rng_below(&c->rng, (uint64_t)c->o->rf)];
        if (observe) observe(&m, applied, arg);
        for (int k = 0; k < c->o->nodes && !e; k++) {
            if (!(applied >> k & 1)) continue;
            gen_memtable_add(&c->mt[k * GEN_NTABLES + m.table], &m);
            e = maybe_flush(c, k);
        }
    }
    for (int k = 0; k < c->o->nodes && !e; k++)
        for (int t = 0; t < GEN_NTABLES && !e; t++) e = flush(c, k, t);
    return e;
}

/* The nodes' tokens go into the file so that strata places replicas (and
 * reports a version's coverage) on the ring the writes were placed by. */
static strata_err write_ini(const char *dir, const gen_options *o, const gen_ring *ring) {
    char *path = xasprintf("%s/cluster.ini", dir);
    FILE *f = fopen(path, "w");
    strata_err e = f ? STRATA_OK : strata_fail(STRATA_EIO, "%s: cannot create", path);
    if (f) {
        fprintf(f, "[cluster]\nname = gen-%llu\n", (unsigned long long)o->seed);
        for (int k = 0; k < o->nodes; k++) {
            fprintf(f, "\n[node node%d]\ndata_dir = node%d\ntokens =", k + 1, k + 1);
            size_t listed = 0;
            for (size_t i = 0; i < ring->ntokens; i++) {
                if (ring->owners[i] != k) continue;
                /* four to a line: the file's lines are short (indented ones continue) */
                const char *sep = !listed ? " " : listed % 4 ? ", " : "\n   ";
                fprintf(f, "%s%lld", sep, (long long)ring->tokens[i]);
                listed++;
            }
            fputc('\n', f);
        }
        if (fclose(f)) e = strata_fail(STRATA_EIO, "%s: cannot write", path);
    }
    free(path);
    return e;
}

static strata_err check_options(const gen_options *o) {
    if (o->nodes < 1 || o->nodes > 32) return strata_fail(STRATA_EINVAL, "--nodes must be 1 to 32");
    if (o->rf < 1 || o->rf > o->nodes) return strata_fail(STRATA_EINVAL, "--rf must be 1 to the number of nodes");
    if (!(o->mb > 0) || !(o->flush_mb > 0)) return strata_fail(STRATA_EINVAL, "--mb and --flush-mb must be positive");
    if (!(o->miss >= 0 && o->miss < 1)) return strata_fail(STRATA_EINVAL, "the miss chance must be in [0, 1)");
    return STRATA_OK;
}

strata_err gen_cluster_create(const gen_options *o) {
    strata_err e = check_options(o);
    if (e) return e;
    char *node1 = xasprintf("%s/node1", o->out);
    struct stat st;
    if (!stat(node1, &st)) e = strata_fail(STRATA_EEXIST, "%s already holds a data set", o->out);
    free(node1);
    if (!e) e = gen_mkdirs(o->out);
    if (e) return e;
    cluster c;
    cluster_init(&c, o->out, o, 0);
    for (int k = 0; k < o->nodes && !e; k++) {
        char *node = xasprintf("%s/node%d", o->out, k + 1);
        e = gen_schema_write(node, c.tables, o->rf, GEN_SCHEMA_US, c.host_id[k]);
        if (!e) e = gen_local_write(node, k, &c.ring, GEN_SCHEMA_US - 2000000, c.host_id[k]);
        free(node);
    }
    gen_workload w;
    gen_workload_init(&w, o->seed, o->mb, o->wide);
    if (!e) e = run(&c, &w, (uint64_t)(o->mb * 1e6), o->observe, o->observe_arg);
    if (!e) e = write_ini(o->out, o, &c.ring);
    if (!e) e = gen_state_save(o->out, o, &w);
    gen_workload_free(&w);
    cluster_free(&c);
    return e;
}

strata_err gen_cluster_next(const char *dir, double percent, gen_observer observe, void *arg) {
    if (!(percent > 0)) return strata_fail(STRATA_EINVAL, "--percent must be positive");
    gen_options o;
    gen_options_init(&o);
    gen_workload w = {0};
    strata_err e = gen_state_load(dir, &o, &w);
    if (e) return e;
    uint64_t target = (uint64_t)((double)gen_keyspace_bytes(dir, o.nodes) * percent / 100.0);
    w.round++;
    w.clock += 3600 * INT64_C(1000000); /* an hour after the last write */
    cluster c;
    cluster_init(&c, dir, &o, w.round);
    e = run(&c, &w, target ? target : 1, observe, arg);
    if (!e) e = gen_state_save(dir, &o, &w);
    gen_workload_free(&w);
    cluster_free(&c);
    return e;
}
