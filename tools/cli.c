/* cli.c - error reporting and output helpers shared by all commands. */
#include "tools/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "engine/repo/repo.h"

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

/* Whether `arg` is one of strata's own options, which come before the
 * command ("strata -r REPO versions"): given after it, each command's
 * parser rejects it. */
static int is_global_option(const char *arg) {
    static const char *const exact[] = {"-r", "-q", "--repo", "--quiet"};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (!strcmp(arg, exact[i])) return 1;
    return !strncmp(arg, "--repo=", 7) || !strncmp(arg, "--s3-", 5);
}

int cli_bad_option(const char *command, char **argv) {
    const char *arg = argv[optind - 1];
    if (is_global_option(arg))
        return cli_usage_error(command, "'%s' goes before the command: strata [-r REPO] [-q] [--s3-...] %s ...", arg,
                               command);
    return cli_usage_error(command, "unknown option or missing argument: '%s'", arg);
}

int cli_json_options(const char *command, int argc, char **argv, void (*help)(void), int *json) {
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    *json = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'J') {
            *json = 1;
        } else if (c == 'h') {
            help();
            return CLI_EXIT_OK;
        } else {
            return cli_bad_option(command, argv);
        }
    }
    return -1;
}

const char *cli_repo(const cli_globals *g, const char *command) {
    if (g->repo && *g->repo) return g->repo;
    cli_usage_error(command, "no repository given: use -r REPO or set STRATA_REPO");
    return NULL;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), 0 if none. */
static size_t utf8_sequence(const unsigned char *s) {
    static const struct {
        unsigned char first_lo, first_hi, second_lo, second_hi;
        size_t len;
    } forms[] = {
        {0x01, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
        {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
        {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        if (s[0] < forms[i].first_lo || s[0] > forms[i].first_hi) continue;
        if (forms[i].len > 1 && (s[1] < forms[i].second_lo || s[1] > forms[i].second_hi)) return 0;
        for (size_t k = 2; k < forms[i].len; k++)
            if (s[k] < 0x80 || s[k] > 0xbf) return 0;
        return forms[i].len;
    }
    return 0;
}

json_t *cli_json_text(const char *s) {
    json_t *j = json_string(s);
    if (j) return j;
    strata_buf text;
    strata_buf_init(&text);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_sequence(p);
        if (n) strata_buf_put(&text, p, n);
        else strata_buf_put(&text, "\xef\xbf\xbd", 3);
        p += n ? n : 1;
    }
    j = json_stringn((const char *)text.data, text.len);
    strata_buf_free(&text);
    return j;
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

/* Atomic, not volatile sig_atomic_t: worker threads read it, and a lock-free
 * atomic is what both a signal handler and other threads may share. */
static atomic_int interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

const atomic_int *cli_catch_interrupt(void) {
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    return &interrupted;
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    }
    return 0;
}

int cli_open_repo(const cli_globals *g, const char *command, repo_mode mode, repo **out) {
    const char *location = cli_repo(g, command);
    if (!location) return CLI_EXIT_USAGE;
    if (repo_open(location, mode, out)) return cli_fail();
    return CLI_EXIT_OK;
}

int cli_parse_selector(const char *arg, char **version, char **keyspace, char **table) {
    char *parts[3] = {NULL, NULL, NULL};
    const char *p = arg;
    int n = 0;
    while (n < 3) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!len) break;
        parts[n++] = xstrndup(p, len);
        if (!slash) {
            p = NULL;
            break;
        }
        p = slash + 1;
        if (!*p) {
            p = NULL;
            break;
        }
    }
    if (p || !n) {
        for (int i = 0; i < n; i++) free(parts[i]);
        return -1;
    }
    *version = parts[0];
    *keyspace = parts[1];
    *table = parts[2];
    return 0;
}

int cli_parse_time_us(const char *s, int64_t *out_us) {
    if (!strcmp(s, "now")) return *out_us = strata_now_us(), 0;
    return strata_parse_seconds_us(s, out_us) && strata_parse_iso8601_us(s, out_us) ? -1 : 0;
}

int cli_parse_count(const char *s, int max, int *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < 1 || v > max) return -1;
    *out = (int)v;
    return 0;
}

int cli_parse_compression(const char *flag, const char **compressor) {
    static const struct {
        const char *flag;
        const char *compressor;
    } names[] = {
        {"lz4", "LZ4Compressor"},         {"zstd", "ZstdCompressor"}, {"snappy", "SnappyCompressor"},
        {"deflate", "DeflateCompressor"}, {"none", NULL},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(flag, names[i].flag)) return *compressor = names[i].compressor, 0;
    return -1;
}
