/* cmd_backup.c - `strata backup`: take one cluster version. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backup/backup.h"
#include "tools/cli.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

static void help(void) {
    printf("usage: strata -r REPO backup --cluster FILE [--keyspace KS]... [--table KS.TABLE]...\n"
           "                             [--include-system] [--jobs N] [--json]\n"
           "\n"
           "Takes one version of the whole cluster described by FILE: every node is\n"
           "snapshotted, the SSTables the repository does not hold yet are stored,\n"
           "and the version is published under its UTC time (e.g. 2026-11-21T22:30:55Z).\n"
           "SSTables already stored from a node are recognised without being read.\n"
           "\n"
           "  --cluster FILE     cluster description (INI):\n"
           "                       [cluster]\n"
           "                       name = prod\n"
           "                       [node node1]\n"
           "                       data_dir = /var/lib/cassandra/data   (may repeat)\n"
           "                       snapshot_cmd = ssh node1 nodetool snapshot -t {tag}\n"
           "                       clear_snapshot_cmd = ssh node1 nodetool clearsnapshot -t {tag}\n"
           "                     without snapshot_cmd strata hard-links its own snapshot\n"
           "  --keyspace KS      only this keyspace (repeatable)\n"
           "  --table KS.TABLE   only this table (repeatable)\n"
           "  --include-system   also system keyspaces (system_schema is always taken)\n"
           "  --jobs N           worker threads (default: one per CPU)\n"
           "  --json             print the result as JSON\n");
}

static void print_result(const backup_result *res, int json) {
    if (json) {
        cli_print_json(json_pack("{s:s, s:I, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I, s:I}, s:f}",
                                 "version", res->version, "nodes", (json_int_t)res->nodes, "sstables",
                                 "new", (json_int_t)res->sstables_new, "unchanged",
                                 (json_int_t)res->sstables_unchanged, "files", "new",
                                 (json_int_t)res->files_new, "unchanged", (json_int_t)res->files_unchanged,
                                 "bytes", "logical", (json_int_t)res->bytes_logical, "read",
                                 (json_int_t)res->bytes_read, "stored", (json_int_t)res->bytes_stored,
                                 "seconds", res->seconds));
        return;
    }
    char logical[16], read[16], stored[16];
    strata_human_bytes(res->bytes_logical, logical);
    strata_human_bytes(res->bytes_read, read);
    strata_human_bytes(res->bytes_stored, stored);
    double rate = res->seconds > 0 ? (double)res->bytes_read / res->seconds / 1e6 : 0;
    printf("version %s: %zu nodes, %llu SSTables (%llu new, %llu unchanged), %llu files (%llu new)\n",
           res->version, res->nodes, (unsigned long long)(res->sstables_new + res->sstables_unchanged),
           (unsigned long long)res->sstables_new, (unsigned long long)res->sstables_unchanged,
           (unsigned long long)(res->files_new + res->files_unchanged), (unsigned long long)res->files_new);
    printf("  %s in the version, %s read, %s stored, %.1f s (%.0f MB/s read)\n", logical, read, stored,
           res->seconds, rate);
}

typedef struct {
    const char **items;
    size_t n;
} str_list;

static void push(str_list *l, const char *s) {
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = s;
}

int cmd_backup(const cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"cluster", required_argument, NULL, 'c'}, {"keyspace", required_argument, NULL, 'k'},
        {"table", required_argument, NULL, 't'},   {"include-system", no_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},    {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *cluster_file = NULL;
    str_list keyspaces = {0}, tables = {0};
    backup_options opt = {0};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "c:k:t:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cluster_file = optarg; break;
        case 'k': push(&keyspaces, optarg); break;
        case 't':
            if (!strchr(optarg, '.')) return cli_usage_error("backup", "--table takes KEYSPACE.TABLE, not '%s'", optarg);
            push(&tables, optarg);
            break;
        case 's': opt.filter.include_system = 1; break;
        case 'j': opt.jobs = atoi(optarg); break;
        case 'J': json = 1; break;
        case 'h': help(); return CLI_EXIT_OK;
        default: return cli_bad_option("backup", argv);
        }
    }
    if (optind < argc) return cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
    if (!cluster_file) return cli_usage_error("backup", "--cluster FILE is required");
    opt.filter.keyspaces = keyspaces.items;
    opt.filter.n_keyspaces = keyspaces.n;
    opt.filter.tables = tables.items;
    opt.filter.n_tables = tables.n;

    cluster_config *cluster;
    if (cluster_config_load(cluster_file, &cluster)) return cli_fail();
    repo *r;
    int rc = cli_open_repo(g, "backup", 1, &r);
    if (rc) {
        cluster_config_free(cluster);
        return rc;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    opt.cluster = cluster;
    opt.cancel = &interrupted;
    backup_result res;
    rc = backup_run(r, &opt, &res) ? cli_fail() : CLI_EXIT_OK;
    if (!rc && (json || !g->quiet)) print_result(&res, json);
    repo_close(r);
    cluster_config_free(cluster);
    free(keyspaces.items);
    free(tables.items);
    return rc;
}
