/* cmd_sstable_rewrite.c - `strata sstable rewrite PATH OUTDIR`: an SSTable
 * read and written again by strata's writer.
 *
 * With no options the copy has the original's format, compressor, chunk
 * size and generation, and its files are byte-identical to Cassandra's;
 * that is how the writer is checked against real clusters.  --format and
 * --compression convert it (to load into another Cassandra release, or to
 * trade size for speed); the content stays the same.  The new SSTable
 * appears in OUTDIR only once complete (TOC.txt last); a failure or
 * Ctrl-C (SIGINT, SIGTERM) before then leaves none of its files there. */
#include <getopt.h>
#include <string.h>

#include "engine/writer/writer.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata sstable rewrite [--format F] [--compression C] [--generation N] PATH OUTDIR\n"
           "\n"
           "Reads the SSTable at PATH (any component file, its prefix, or DIR/GEN) and\n"
           "writes it into OUTDIR, which must exist.  By default everything is kept:\n"
           "format, compressor and its options, chunk length, generation.  The SSTable\n"
           "appears in OUTDIR only once complete: a failure or Ctrl-C leaves none of\n"
           "its files there, and a file of one of its names already there is refused.\n"
           "\n"
           "  --format F        oa, nb, na, me, md, mc, mb or ma\n"
           "  --compression C   lz4, zstd, snappy, deflate or none (Data.db + CRC.db)\n"
           "  --generation N    the new SSTable's generation number\n"
           "\n"
           "example:\n"
           "  strata sstable rewrite --format oa --compression zstd users-<id>/nb-1-big-Data.db /tmp/oa\n");
}

typedef struct {
    const char *format;
    int set_compression;    /* --compression given */
    const char *compressor; /* its compressor, NULL for none */
    long generation; /* -1: keep */
    const atomic_int *cancel;
} choices;

static int parse(int argc, char **argv, choices *c) {
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"compression", required_argument, NULL, 'c'},
                                         {"generation", required_argument, NULL, 'g'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *c = (choices){NULL, 0, NULL, -1, NULL};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'f') {
            c->format = optarg;
        } else if (o == 'c') {
            if (cli_parse_compression(optarg, &c->compressor))
                return cli_usage_error("sstable rewrite", "unknown compression '%s'", optarg);
            c->set_compression = 1;
        } else if (o == 'g') {
            char *end;
            c->generation = strtol(optarg, &end, 10);
            if (!*optarg || *end || c->generation < 0)
                return cli_usage_error("sstable rewrite", "bad generation '%s'", optarg);
        } else {
            return cli_bad_option("sstable rewrite", argv);
        }
    }
    if (optind + 2 != argc) return cli_usage_error("sstable rewrite", "expected PATH and OUTDIR");
    if (c->format && strlen(c->format) != 2) return cli_usage_error("sstable rewrite", "bad format '%s'", c->format);
    return CLI_EXIT_OK;
}

static void adjust(sstable_writer_params *p, void *arg) {
    const choices *c = arg;
    if (c->format) memcpy(p->version, c->format, 3);
    if (c->generation >= 0) p->generation = c->generation;
    p->cancel = c->cancel;
    const char *want = c->set_compression ? c->compressor : p->compressor;
    /* the original's options stay when its compressor is kept */
    if (c->set_compression && !(want && p->compressor && strstr(p->compressor, want)))
        sstable_writer_use_compressor(p, want);
}

int cmd_sstable_rewrite(const cli_globals *g, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return help(), CLI_EXIT_OK;
    choices c;
    int r = parse(argc, argv, &c);
    if (r) return r;
    uint64_t bytes = 0;
    c.cancel = cli_catch_interrupt();
    if (sstable_writer_rewrite(argv[optind], argv[optind + 1], adjust, &c, &bytes)) return cli_fail();
    if (!g->quiet) {
        char human[16];
        strata_human_bytes(bytes, human);
        strata_log(STRATA_LOG_INFO, "rewrote %s into %s (%s of data)", argv[optind], argv[optind + 1], human);
    }
    return CLI_EXIT_OK;
}
