/* cmd_init.c - `strata init`: create a repository. */
#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO init\n"
           "\n"
           "Creates an empty repository at REPO (a directory that does not exist\n"
           "or is empty).  REPO may also come from $STRATA_REPO.\n"
           "\n"
           "example:\n"
           "  strata -r /backup/strata init\n"
           "  strata -r s3://backups/prod --s3-endpoint https://minio.example:9000 init\n");
}

int cmd_init(const cli_globals *g, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_EXIT_OK;
    }
    if (argc > 1) return cli_usage_error("init", "unexpected argument '%s'", argv[1]);
    const char *location = cli_repo(g, "init");
    if (!location) return CLI_EXIT_USAGE;
    if (repo_init(location)) return cli_fail();
    if (!g->quiet) printf("created repository %s\n", location);
    return CLI_EXIT_OK;
}
