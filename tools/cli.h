/* cli.h - what the strata command line's command files share.
 *
 * tools/strata.c parses the global options and dispatches to one
 * cmd_<name>() per command, each in its own tools/cmd_<name>.c file.
 * Exit codes are the same for every command. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>

#include "engine/base/base.h"
#include "engine/repo/repo.h"

enum {
    CLI_EXIT_OK = 0,      /* done */
    CLI_EXIT_FAIL = 1,    /* the operation failed; one error line was printed */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_DAMAGE = 3,  /* verify found damaged or missing data */
};

typedef struct {
    const char *repo; /* -r/--repo or $STRATA_REPO; NULL when neither */
    int quiet;        /* -q: no informational lines */
} cli_globals;

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(const cli_globals *g, int argc, char **argv);
} cli_command;

/* Prints "strata: error: <last error message>" and returns CLI_EXIT_FAIL. */
int cli_fail(void);

/* Prints "strata: <command>: <message>" plus a pointer to --help and
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses the options of a command whose only options are --json and
 * --help, leaving optind at the first operand.  Returns -1 to go on, or
 * the exit code to return (help printed, or a bad option). */
int cli_json_options(const char *command, int argc, char **argv, void (*help)(void), int *json);

/* The usage error for the option getopt just rejected (unknown, or
 * missing its argument): names it from argv, and says that one of
 * strata's global options goes before the command.  Returns
 * CLI_EXIT_USAGE. */
int cli_bad_option(const char *command, char **argv);

/* Returns the repository location or prints the usage error for `command`
 * and returns NULL. */
const char *cli_repo(const cli_globals *g, const char *command);

/* Opens the repository for `command`; prints the error and returns the
 * exit code (non-zero) on failure. */
int cli_open_repo(const cli_globals *g, const char *command, repo_mode mode, repo **out);

/* Splits "VERSION[/KEYSPACE[/TABLE]]" into newly allocated parts (absent
 * parts NULL); returns -1 when there are more parts or empty ones. */
int cli_parse_selector(const char *arg, char **version, char **keyspace, char **table);

/* A name from outside (a path, the cluster file's name) as a JSON string:
 * jansson takes UTF-8 only, so each byte of it that is not part of a UTF-8
 * sequence (a Latin-1 path) is shown as U+FFFD. */
json_t *cli_json_text(const char *s);

/* Writes `value` as indented JSON plus a newline on stdout and releases it. */
void cli_print_json(json_t *value);

/* A time in microseconds since the epoch: "now", a number of seconds, or
 * ISO 8601 UTC ("2026-11-21T23:20:00Z"), either with a fraction of a second
 * of up to 6 digits ("1795303196.550666", "2026-11-21T23:19:56.550666Z");
 * 0 on success. */
int cli_parse_time_us(const char *s, int64_t *out_us);

/* A count given on the command line: decimal digits only, 1 to `max`;
 * 0 on success. */
int cli_parse_count(const char *s, int max, int *out);

/* A --compression flag (lz4, zstd, snappy, deflate, none) as the writer's
 * compressor name (NULL for none); 0 when known. */
int cli_parse_compression(const char *flag, const char **compressor);

/* Catches SIGINT and SIGTERM from now on: the flag it returns turns
 * non-zero when one comes, for a long command to stop at a point where
 * what it leaves is whole. */
const atomic_int *cli_catch_interrupt(void);

/* True when argv holds -h or --help (commands print their help then). */
int cli_wants_help(int argc, char **argv);

/* The commands: argv starts at the command's name, and each returns the
 * process's exit code (CLI_EXIT_*), having printed its output or error. */
int cmd_init(const cli_globals *g, int argc, char **argv);
int cmd_backup(const cli_globals *g, int argc, char **argv);
int cmd_versions(const cli_globals *g, int argc, char **argv);
int cmd_ls(const cli_globals *g, int argc, char **argv);
int cmd_stats(const cli_globals *g, int argc, char **argv);
int cmd_verify(const cli_globals *g, int argc, char **argv);
int cmd_restore(const cli_globals *g, int argc, char **argv);
int cmd_index(const cli_globals *g, int argc, char **argv);
int cmd_sstable(const cli_globals *g, int argc, char **argv);
/* `strata sstable merge`: called by cmd_sstable() with argv from "merge". */
int cmd_sstable_merge(const cli_globals *g, int argc, char **argv);
/* `strata sstable rewrite`: called by cmd_sstable() with argv from "rewrite". */
int cmd_sstable_rewrite(const cli_globals *g, int argc, char **argv);
int cmd_mount(const cli_globals *g, int argc, char **argv);

#endif
