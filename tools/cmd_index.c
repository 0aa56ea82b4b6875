/* cmd_index.c - `strata index rebuild`: recreate the local index. */
#include <string.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO index rebuild\n"
           "\n"
           "Recreates the local index from the stored objects alone (pack\n"
           "trailers and version objects), beside the one in use, which then\n"
           "replaces it: commands started meanwhile read the old index, whole,\n"
           "and a rebuild that fails or is killed leaves it in use.  Never needed\n"
           "for correctness: opening a repository indexes whatever the index lacks.\n"
           "A running mount of the repository moves to the rebuilt index within\n"
           "about 10 seconds of the rebuild's end, and shows the versions backed\n"
           "up since.  The rebuild fails at once while a backup runs.\n"
           "\n"
           "example:\n"
           "  strata -r /backup/strata index rebuild\n");
}

int cmd_index(const cli_globals *g, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return help(), CLI_EXIT_OK;
    if (argc < 2 || strcmp(argv[1], "rebuild")) return cli_usage_error("index", "expects 'rebuild'");
    if (argc > 2) return cli_usage_error("index", "unexpected argument '%s'", argv[2]);
    repo *r;
    int rc = cli_open_repo(g, "index", REPO_REBUILD, &r);
    if (rc) return rc;
    strata_progress *progress = strata_progress_new("rebuild", 0);
    rc = repo_index_rebuild(r, progress) ? cli_fail() : CLI_EXIT_OK;
    strata_progress_done(progress);
    if (!rc && !g->quiet) {
        char **ids;
        size_t n;
        if (!repo_version_list(r, &ids, &n)) {
            printf("index rebuilt: %zu versions\n", n);
            repo_version_list_free(ids, n);
        }
    }
    repo_close(r);
    return rc;
}
