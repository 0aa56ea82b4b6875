/* cmd_restore.c - `strata restore`: write a version back as node files. */
#include <getopt.h>
#include <stdlib.h>

#include "engine/backup/backup.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO restore VERSION[/KEYSPACE[/TABLE]] --to DIR\n"
           "                              [--node NODE] [--overwrite] [--json]\n"
           "\n"
           "Writes the selected files of VERSION ('latest' for the newest) as\n"
           "DIR/<node>/<keyspace>/<table>/<file>, byte-identical to what the node\n"
           "held, each chunk checked against its SHA-256.  Secondary index SSTables\n"
           "go to DIR/<node>/<keyspace>/<table>/.<index>/.\n"
           "\n"
           "  --to DIR       target directory (created if missing)\n"
           "  --node NODE    only this node's files\n"
           "  --overwrite    replace existing files (default: refuse)\n"
           "  --jobs N       files written at once (default 4)\n"
           "  --json         print the result as JSON\n");
}

int cmd_restore(const cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'}, {"node", required_argument, NULL, 'n'},
        {"overwrite", no_argument, NULL, 'o'}, {"json", no_argument, NULL, 'J'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0}};
    restore_options opt = {0};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "t:n:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': opt.to = optarg; break;
        case 'n': opt.node = optarg; break;
        case 'o': opt.overwrite = 1; break;
        case 'j':
            opt.jobs = atoi(optarg);
            if (opt.jobs < 1) return cli_usage_error("restore", "--jobs wants a positive number, not '%s'", optarg);
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
    int rc = cli_open_repo(g, "restore", 0, &r);
    restore_result res;
    if (!rc) {
        rc = restore_run(r, &opt, &res) ? cli_fail() : CLI_EXIT_OK;
        repo_close(r);
    }
    if (!rc && json)
        cli_print_json(json_pack("{s:s, s:I, s:I, s:s}", "version", res.version, "files", (json_int_t)res.files,
                                 "bytes", (json_int_t)res.bytes, "to", opt.to));
    else if (!rc && !g->quiet) {
        char bytes[16];
        strata_human_bytes(res.bytes, bytes);
        printf("restored %llu files (%s) of version %s to %s\n", (unsigned long long)res.files, bytes,
               res.version, opt.to);
    }
    free(version);
    free(ks);
    free(table);
    return rc;
}
