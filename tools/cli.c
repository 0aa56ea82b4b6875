/* cli.c - error reporting and output helpers shared by all commands. */
#include "tools/cli.h"

#include <string.h>

int cli_fail(void) {
    fprintf(stderr, "strata: error: %s\n", strata_errmsg());
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "strata: %s: ", command);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'strata %s --help')\n", command);
    return CLI_EXIT_USAGE;
}

const char *cli_repo(const cli_globals *g, const char *command) {
    if (g->repo && *g->repo) return g->repo;
    cli_usage_error(command, "no repository given: use -r REPO or set STRATA_REPO");
    return NULL;
}

void cli_print_json(json_t *value) {
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
    json_decref(value);
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    }
    return 0;
}
