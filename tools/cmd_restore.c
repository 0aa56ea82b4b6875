/* cmd_restore.c - `strata restore`: write a version's tables back. */
#include <getopt.h>
#include <stdlib.h>

#include "engine/backup/backup.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO restore VERSION[/KEYSPACE[/TABLE]] --to DIR\n"
           "                              [--node NODE] [--overwrite] [--jobs N] [--json]\n"
           "\n"
           "Writes the selected tables of VERSION ('latest' for the newest), each\n"
           "chunk checked against its SHA-256.\n"
           "\n"
           "A reconciled table (the default of backup) becomes one directory,\n"
           "DIR/<keyspace>/<table>/, holding its reconciled SSTables and the\n"
           "schema.cql that recreates the table: the cluster's data, to copy into\n"
           "any node's table directory (then nodetool import or refresh) or to hand\n"
           "to sstableloader.  A table stored as the nodes' files (backup --files,\n"
           "older versions, tables that could not be reconciled) becomes\n"
           "DIR/<node>/<keyspace>/<table>/<file> per node, byte-identical to what\n"
           "the node held; secondary index SSTables go to .<index>/ inside it.\n"
           "\n"
           "Restore refuses, before writing, a table directory that holds SSTables\n"
           "the version does not (a newer restore's, say): Cassandra would load\n"
           "them too.  Restore into an empty directory or remove them first.\n"
           "\n"
           "  --to DIR       target directory (created if missing)\n"
           "  --node NODE    that node's own files, as DIR/NODE/<keyspace>/<table>/;\n"
           "                 a reconciled version holds them only when backed up\n"
           "                 with --keep-replicas\n"
           "  --overwrite    replace existing files of the same name (default:\n"
           "                 refuse before writing anything); other SSTables still\n"
           "                 make restore refuse\n"
           "  --jobs N       files written at once (default 4)\n"
           "  --json         print the result as JSON\n"
           "\n"
           "examples:\n"
           "  strata -r /backup/strata restore latest/app/users --to /tmp/restore\n"
           "  strata -r /backup/strata restore 2026-11-21T22:30:55Z --node node1 --to /tmp/node1\n");
}

static void print_result(const restore_options *opt, const restore_result *res, int json) {
    if (json) {
        cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "version", res->version, "files",
                                 (json_int_t)res->files, "restored_bytes", (json_int_t)res->bytes, "reconciled_tables",
                                 (json_int_t)res->reconciled_tables, "node_tables", (json_int_t)res->node_tables,
                                 "to", cli_json_text(opt->to), "fetched_requests", (json_int_t)res->fetched.requests,
                                 "fetched_bytes", (json_int_t)res->fetched.bytes));
        return;
    }
    char bytes[16], fetched[16];
    strata_human_bytes(res->bytes, bytes);
    strata_human_bytes(res->fetched.bytes, fetched);
    printf("restored %llu files (%s) of version %s to %s\n", (unsigned long long)res->files, bytes, res->version,
           opt->to);
    printf("  read %s from the repository in %llu requests\n", fetched, (unsigned long long)res->fetched.requests);
    if (res->reconciled_tables)
        printf("  %zu reconciled table%s in %s/<keyspace>/<table>/\n", res->reconciled_tables,
               res->reconciled_tables == 1 ? "" : "s", opt->to);
    if (res->node_tables)
        printf("  %zu table director%s of nodes in %s/<node>/<keyspace>/<table>/\n", res->node_tables,
               res->node_tables == 1 ? "y" : "ies", opt->to);
}

int cmd_restore(const cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'}, {"node", required_argument, NULL, 'n'},
        {"overwrite", no_argument, NULL, 'o'}, {"json", no_argument, NULL, 'J'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0}};
    restore_options opt = {0};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': opt.to = optarg; break;
        case 'n': opt.node = optarg; break;
        case 'o': opt.overwrite = 1; break;
        case 'j':
            if (cli_parse_count(optarg, 1024, &opt.jobs))
                return cli_usage_error("restore", "--jobs wants a number from 1 to 1024, not '%s'", optarg);
            break;
        case 'J': json = 1; break;
        case 'h': help(); return CLI_EXIT_OK;
        default: return cli_bad_option("restore", argv);
        }
    }
    if (optind + 1 != argc) return cli_usage_error("restore", "expects one VERSION[/KEYSPACE[/TABLE]]");
    if (!opt.to) return cli_usage_error("restore", "--to DIR is required");
    char *version, *ks, *table;
    if (cli_parse_selector(argv[optind], &version, &ks, &table))
        return cli_usage_error("restore", "bad selector '%s'", argv[optind]);
    opt.version = version;
    opt.keyspace = ks;
    opt.table = table;
    repo *r;
    int rc = cli_open_repo(g, "restore", REPO_READ, &r);
    restore_result res;
    opt.cancel = cli_catch_interrupt();
    if (!rc) {
        rc = restore_run(r, &opt, &res) ? cli_fail() : CLI_EXIT_OK;
        repo_close(r);
    }
    if (!rc && (json || !g->quiet)) print_result(&opt, &res, json);
    free(version);
    free(ks);
    free(table);
    return rc;
}
