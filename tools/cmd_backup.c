/* cmd_backup.c - `strata backup`: take one cluster version. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backup/backup.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO backup --cluster FILE [--keyspace KS]... [--table KS.TABLE]...\n"
           "                             [--keep-replicas | --files] [--cut TIME] [--include-system]\n"
           "                             [--jobs N] [--spool DIR] [--max-layers N] [--json]\n"
           "\n"
           "Takes one version of the whole cluster described by FILE: every node is\n"
           "snapshotted and the version is published under its UTC time (the cut,\n"
           "e.g. 2026-11-21T22:30:55Z).  Each table's SSTables from all nodes are\n"
           "merged as Cassandra reconciles replicas, and only what earlier versions\n"
           "do not hold yet is stored, as native (uncompressed) SSTables: a table\n"
           "costs about one replica, whatever the replication factor.  Writes after\n"
           "the cut belong to the next version; writes dated more than an hour past\n"
           "it (no clock time) are kept and reported.  SSTables already read are\n"
           "recognised without being read again.  Secondary index SSTables are not\n"
           "stored (Cassandra rebuilds them on import).\n"
           "\n"
           "  --cluster FILE     cluster description (INI):\n"
           "                       [cluster]\n"
           "                       name = prod\n"
           "                       [node node1]\n"
           "                       data_dir = /var/lib/cassandra/data   (may repeat)\n"
           "                       snapshot_cmd = ssh node1 nodetool snapshot -t {tag}\n"
           "                       clear_snapshot_cmd = ssh node1 nodetool clearsnapshot -t {tag}\n"
           "                     without snapshot_cmd strata hard-links its own snapshot;\n"
           "                     the token ring (each version's coverage per range):\n"
           "                     ring = FILE (`nodetool ring` output) in [cluster] with\n"
           "                     each node's address = ..., or each node's tokens = ...;\n"
           "                     with neither, the nodes' own system.local and\n"
           "                     system.peers_v2 under data_dir\n"
           "  --keyspace KS      only this keyspace (repeatable)\n"
           "  --table KS.TABLE   only this table (repeatable)\n"
           "  --include-system   also system keyspaces (system_schema is always taken)\n"
           "  --keep-replicas    also store every node's files as they are (then under\n"
           "                     /nodes in the mount, and restore --node)\n"
           "  --files            only store the nodes' files as they are (no reconciling)\n"
           "  --cut TIME         the time the snapshots were taken, for snapshots made\n"
           "                     earlier (ISO 8601 UTC or seconds since 1970, either\n"
           "                     with up to 6 decimals); default: now\n"
           "  --jobs N           worker threads (default: one per CPU)\n"
           "  --spool DIR        an existing directory where reconciled SSTables are\n"
           "                     written before being stored (default: spool/ beside\n"
           "                     the repository's index)\n"
           "  --max-layers N     merge a table's layers into one past N (default 8)\n"
           "  --json             print the result as JSON\n"
           "\n"
           "examples:\n"
           "  strata -r /backup/strata backup --cluster cluster.ini\n"
           "  strata -r /backup/strata backup --cluster cluster.ini --keyspace app --cut 2026-11-21T23:19:56Z\n");
}

/* Without a ring in the cluster file, the nodes' own record of their
 * tokens; a version without a ring is still taken, only without its
 * coverage per token range. */
static void ring_from_nodes(cluster_config *cluster) {
    strata_err e = backup_ring_from_nodes(cluster);
    if (e)
        strata_log(e == STRATA_ENOENT ? STRATA_LOG_INFO : STRATA_LOG_WARN,
                   "no token ring (%s): coverage per token range is not reported", strata_errmsg());
}

static void print_result(const backup_result *res, int json) {
    if (json) {
        cli_print_json(json_pack("{s:s, s:I, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:I, s:I, "
                                 "s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:f}",
                                 "version", res->version, "nodes", (json_int_t)res->nodes, "sstables",
                                 "new", (json_int_t)res->sstables_new, "unchanged",
                                 (json_int_t)res->sstables_unchanged, "files", "new",
                                 (json_int_t)res->files_new, "unchanged", (json_int_t)res->files_unchanged,
                                 "logical_bytes", (json_int_t)res->bytes_logical, "read_bytes",
                                 (json_int_t)res->bytes_read, "stored_bytes", (json_int_t)res->bytes_stored,
                                 "reconciled_bytes", (json_int_t)res->layer_bytes, "tables", "reconciled",
                                 (json_int_t)res->tables, "with_new_layer", (json_int_t)res->tables_with_new_layer,
                                 "kept_as_files", (json_int_t)res->tables_kept_as_files, "layers_merged",
                                 (json_int_t)res->tables_layers_merged, "cut", "facts_after",
                                 (json_int_t)res->facts_later, "facts_far_future", (json_int_t)res->facts_beyond,
                                 "seconds", res->seconds));
        return;
    }
    char logical[16], read[16], stored[16];
    strata_human_bytes(res->bytes_logical, logical);
    strata_human_bytes(res->bytes_read, read);
    strata_human_bytes(res->bytes_stored, stored);
    double rate = res->seconds > 0 ? (double)res->bytes_read / res->seconds / 1e6 : 0;
    printf("version %s: %zu nodes, %llu SSTables (%llu new, %llu unchanged)", res->version, res->nodes,
           (unsigned long long)(res->sstables_new + res->sstables_unchanged), (unsigned long long)res->sstables_new,
           (unsigned long long)res->sstables_unchanged);
    if (res->files_new + res->files_unchanged)
        printf(", %llu node files kept (%llu new)", (unsigned long long)(res->files_new + res->files_unchanged),
               (unsigned long long)res->files_new);
    printf("\n");
    printf("  %s in the version, %s read, %s stored, %.1f s (%.0f MB/s read)\n", logical, read, stored,
           res->seconds, rate);
    if (!res->tables) return;
    char layers[16];
    strata_human_bytes(res->layer_bytes, layers);
    printf("  %zu tables reconciled (%zu with new data): %s of reconciled SSTables", res->tables,
           res->tables_with_new_layer, layers);
    if (res->tables_kept_as_files) printf(", %zu tables kept as the nodes' files", res->tables_kept_as_files);
    if (res->tables_layers_merged) printf(", %zu with their layers merged", res->tables_layers_merged);
    printf("\n");
    if (res->facts_later)
        printf("  %llu writes after the cut left for the next version\n", (unsigned long long)res->facts_later);
    if (res->facts_beyond)
        printf("  %llu writes dated far after the cut (no clock time) are in this version\n", (unsigned long long)res->facts_beyond);
}

typedef struct {
    const char **items;
    size_t n;
} str_list;

static void push(str_list *l, const char *s) {
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = s;
}

/* What the command line asks for.  The --keyspace and --table lists are
 * allocated as they are met, so they are freed whatever parsing says. */
typedef struct {
    backup_options opt;
    const char *cluster_file;
    str_list keyspaces, tables;
    int json;
} backup_request;

/* Returns -1 to go on, or the exit code (help printed, or a usage error). */
static int parse_options(int argc, char **argv, backup_request *q) {
    static const struct option opts[] = {
        {"cluster", required_argument, NULL, 'c'}, {"keyspace", required_argument, NULL, 'k'},
        {"table", required_argument, NULL, 't'},   {"include-system", no_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},    {"json", no_argument, NULL, 'J'},
        {"keep-replicas", no_argument, NULL, 'K'}, {"files", no_argument, NULL, 'F'},
        {"cut", required_argument, NULL, 'C'},     {"spool", required_argument, NULL, 'S'},
        {"max-layers", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    backup_options *opt = &q->opt;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': q->cluster_file = optarg; break;
        case 'k': push(&q->keyspaces, optarg); break;
        case 't':
            if (!strchr(optarg, '.')) return cli_usage_error("backup", "--table takes KEYSPACE.TABLE, not '%s'", optarg);
            push(&q->tables, optarg);
            break;
        case 's': opt->filter.include_system = 1; break;
        case 'j':
            if (cli_parse_count(optarg, 1024, &opt->jobs))
                return cli_usage_error("backup", "--jobs wants a number from 1 to 1024, not '%s'", optarg);
            break;
        case 'J': q->json = 1; break;
        case 'K': opt->keep_replicas = 1; break;
        case 'F': opt->files_only = 1; break;
        case 'S': opt->spool_dir = optarg; break;
        case 'L':
            if (cli_parse_count(optarg, INT_MAX, &opt->max_layers))
                return cli_usage_error("backup", "--max-layers wants a positive number, not '%s'", optarg);
            break;
        case 'C':
            if (cli_parse_time_us(optarg, &opt->cut_us) || opt->cut_us <= 0)
                return cli_usage_error("backup",
                                       "--cut wants a UTC time (2026-11-21T23:19:56Z, or with up to 6 "
                                       "decimals: 2026-11-21T23:19:56.550666Z) or seconds since 1970, not '%s'",
                                       optarg);
            if (opt->cut_us > strata_now_us()) return cli_usage_error("backup", "--cut %s is in the future", optarg);
            break;
        case 'h': help(); return CLI_EXIT_OK;
        default: return cli_bad_option("backup", argv);
        }
    }
    if (optind < argc) return cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
    if (!q->cluster_file) return cli_usage_error("backup", "--cluster FILE is required");
    if (opt->files_only && opt->keep_replicas)
        return cli_usage_error("backup", "--files and --keep-replicas exclude each other");
    opt->filter.keyspaces = q->keyspaces.items;
    opt->filter.n_keyspaces = q->keyspaces.n;
    opt->filter.tables = q->tables.items;
    opt->filter.n_tables = q->tables.n;
    return -1;
}

static int run_backup(const cli_globals *g, backup_request *q) {
    cluster_config *cluster;
    if (cluster_config_load(q->cluster_file, &cluster)) return cli_fail();
    repo *r;
    int rc = cli_open_repo(g, "backup", REPO_WRITE, &r);
    if (rc) {
        cluster_config_free(cluster);
        return rc;
    }
    if (!q->opt.files_only) ring_from_nodes(cluster);
    q->opt.cluster = cluster;
    q->opt.cancel = cli_catch_interrupt();
    backup_result res;
    rc = backup_run(r, &q->opt, &res) ? cli_fail() : CLI_EXIT_OK;
    if (!rc && (q->json || !g->quiet)) print_result(&res, q->json);
    repo_close(r);
    cluster_config_free(cluster);
    return rc;
}

int cmd_backup(const cli_globals *g, int argc, char **argv) {
    backup_request q = {0};
    int rc = parse_options(argc, argv, &q);
    if (rc < 0) rc = run_backup(g, &q);
    free(q.keyspaces.items);
    free(q.tables.items);
    return rc;
}
