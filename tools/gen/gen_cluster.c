/* gen_cluster.c - strata-gen-cluster: writes large synthetic Cassandra
 * clusters (RF replicas that diverge, several flushes per node) with
 * strata's own SSTable writer, and their next versions, for benchmarks
 * and tests that need more than the real corpus holds. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/gen/gen.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: strata-gen-cluster --out DIR [--nodes 3] [--rf 3] [--mb 1000] [--seed 1]\n"
            "                          [--flush-mb 64] [--miss 0.1] [--wide]\n"
            "       strata-gen-cluster --out DIR --next [--percent 1]\n"
            "       strata-gen-cluster --out DIR --compact NODE\n"
            "\n"
            "Writes DIR/node1..N in Cassandra's data directory layout: keyspace gen\n"
            "(tables readings and users; nb SSTables, LZ4, 16 KiB chunks) and the\n"
            "system_schema describing it and itself, each node's system.local and\n"
            "system.peers_v2 (its tokens, the others'), plus DIR/cluster.ini for strata\n"
            "(with every node's tokens, for the coverage of versions) and DIR/gen.json\n"
            "for later versions.  Every write goes to its RF replicas on a ring of\n"
            "16 tokens per node, each replica missing it with chance --miss; a node\n"
            "flushes its largest memtable when its memtables hold about --flush-mb MB.\n"
            "--mb is the size of all nodes' SSTables in MB (10^6 bytes).  The same\n"
            "arguments give byte-identical files.\n"
            "\n"
            "--wide      every write goes to one partition of readings (no partition\n"
            "            deletions): one partition of about --mb MB on its replicas\n"
            "--next      more writes to an existing DIR, about --percent %% of its SSTable\n"
            "            bytes, later than all before: new flushes on every node\n"
            "--compact   major compaction of every table of NODE (node1, ...): its\n"
            "            SSTables merged into one new generation, the old ones removed\n");
}

static int number(const char *opt, const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    if (*s && !*end) return 0;
    fprintf(stderr, "strata-gen-cluster: %s: not a number: %s\n", opt, s);
    return -1;
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},   {"nodes", required_argument, 0, 'n'},
        {"rf", required_argument, 0, 'r'},    {"mb", required_argument, 0, 'm'},
        {"seed", required_argument, 0, 's'},  {"flush-mb", required_argument, 0, 'f'},
        {"miss", required_argument, 0, 'x'},  {"next", no_argument, 0, 'N'},
        {"percent", required_argument, 0, 'p'}, {"compact", required_argument, 0, 'c'},
        {"wide", no_argument, 0, 'w'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    gen_options o;
    gen_options_init(&o);
    int next = 0;
    double percent = 1, v;
    const char *compact = NULL;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'N': next = 1; break;
        case 'w': o.wide = 1; break;
        case 'c': compact = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'n': case 'r': case 'm': case 's': case 'f': case 'x': case 'p':
            if (number(longopts[idx].name, optarg, &v)) return 2;
            if (c == 'n') o.nodes = (int)v;
            else if (c == 'r') o.rf = (int)v;
            else if (c == 'm') o.mb = v;
            else if (c == 's') o.seed = (uint64_t)v;
            else if (c == 'f') o.flush_mb = v;
            else if (c == 'x') o.miss = v;
            else percent = v;
            break;
        default: usage(stderr); return 2;
        }
    }
    if (!o.out || optind < argc || (next && compact)) {
        usage(stderr);
        return 2;
    }
    double t0 = strata_mono_s();
    strata_err e = next ? gen_cluster_next(o.out, percent, NULL, NULL)
                   : compact ? gen_cluster_compact(o.out, compact)
                             : gen_cluster_create(&o);
    if (e) {
        fprintf(stderr, "strata-gen-cluster: %s\n", strata_errmsg());
        return 1;
    }
    char bytes[16];
    strata_human_bytes(gen_keyspace_bytes(o.out, next || compact ? 32 : o.nodes), bytes);
    printf("strata-gen-cluster: %s: keyspace gen holds %s of SSTables (%.1f s)\n", o.out, bytes,
           strata_mono_s() - t0);
    return 0;
}
