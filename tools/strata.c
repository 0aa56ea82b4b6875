/* strata.c - the command line: global options, then one command.
 *
 *   strata [-r REPO] [-q] [--s3-*] COMMAND [ARGS...]
 *
 * Each command lives in tools/cmd_<name>.c and parses its own options.
 * The --s3-* options configure s3:// repositories; they are passed on as
 * the STRATA_S3_* environment variables the S3 backend reads, so the
 * options and the environment are one mechanism. */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "tools/cli.h"

#define STRATA_VERSION "0.1.0"

static const cli_command commands[] = {
    {"init", "create a repository", cmd_init},
    {"backup", "take a cluster version from the nodes' data directories", cmd_backup},
    {"versions", "list cluster versions", cmd_versions},
    {"ls", "list the contents of a version", cmd_ls},
    {"stats", "logical and stored bytes, per table", cmd_stats},
    {"verify", "re-read every pack and check every chunk", cmd_verify},
    {"restore", "write a version's SSTables back to a directory", cmd_restore},
    {"index", "maintain the local index ('index rebuild')", cmd_index},
    {"sstable", "read SSTables: dump content as JSON, print metadata", cmd_sstable},
    {"mount", "show versions as directories of SSTables (FUSE)", cmd_mount},
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: strata [-r REPO] [-q] [--s3-...] COMMAND [ARGS...]\n"
            "\n"
            "Backup and recovery for Apache Cassandra: cluster-wide versions,\n"
            "incremental forever, restored byte for byte.\n"
            "\n"
            "global options:\n"
            "  -r, --repo REPO   repository location (default: $STRATA_REPO)\n"
            "  -q, --quiet       no informational output (lines, progress meter)\n"
            "  --s3-endpoint URL S3 endpoint, e.g. http://127.0.0.1:9000 (default: AWS for\n"
            "                    the region; $STRATA_S3_ENDPOINT)\n"
            "  --s3-region R     S3 region (default: $AWS_REGION or us-east-1)\n"
            "  --s3-path-style   address buckets as ENDPOINT/BUCKET, not BUCKET.ENDPOINT\n"
            "  --s3-insecure     do not verify TLS certificates (tests only)\n"
            "  --s3-concurrency N  S3 requests in flight at once (default 8)\n"
            "                    credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"
            "                    (AWS_SESSION_TOKEN), or AWS_PROFILE in ~/.aws/credentials\n"
            "  -h, --help        this help; 'strata COMMAND --help' for a command\n"
            "  --version         print the version\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "exit status: 0 success, 1 failure, 2 usage error, 3 verify found damage\n");
}

int main(int argc, char **argv) {
    cli_globals g = {.repo = getenv("STRATA_REPO"), .quiet = 0};
    static const struct option opts[] = {
        {"repo", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"s3-endpoint", required_argument, NULL, 'E'},
        {"s3-region", required_argument, NULL, 'G'},
        {"s3-path-style", no_argument, NULL, 'P'},
        {"s3-insecure", no_argument, NULL, 'I'},
        {"s3-concurrency", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    /* '+' stops at the first non-option: the command's own flags follow. */
    int c;
    opterr = 0; /* a bad option is one line of ours, not getopt's and the whole usage */
    while ((c = getopt_long(argc, argv, "+r:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': g.repo = optarg; break;
        case 'q': g.quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': printf("strata %s\n", STRATA_VERSION); return CLI_EXIT_OK;
        case 'E': setenv("STRATA_S3_ENDPOINT", optarg, 1); break;
        case 'G': setenv("STRATA_S3_REGION", optarg, 1); break;
        case 'P': setenv("STRATA_S3_PATH_STYLE", "1", 1); break;
        case 'I': setenv("STRATA_S3_INSECURE", "1", 1); break;
        case 'C': setenv("STRATA_S3_CONCURRENCY", optarg, 1); break;
        default:
            fprintf(stderr, "strata: unknown option or missing argument: '%s' (see 'strata --help')\n",
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    strata_log_set_quiet(g.quiet);
    signal(SIGPIPE, SIG_IGN);
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(commands[i].name, name)) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0; /* full getopt reset for the command's own parsing */
            return commands[i].run(&g, sub_argc, sub_argv);
        }
    }
    fprintf(stderr, "strata: unknown command '%s' (see 'strata --help')\n", name);
    return CLI_EXIT_USAGE;
}
