/* cmd_sstable_merge.c - `strata sstable merge --view TIME PATH...`: what a
 * table's SSTables from several nodes reconcile to, as CQL rows.
 *
 * For operators comparing replicas and for debugging the merge: the given
 * SSTables (files, or table directories whose Data.db files are all taken)
 * are merged as Cassandra reconciles them and the rows a client would read
 * at TIME are printed as JSON lines shaped like SELECT JSON with
 * writetime() and ttl(); with --to, as one SSTable that appears in DIR
 * only once complete (a failure or Ctrl-C leaves none of its files).
 * Column names and dropped columns come from the
 * system_schema directory next to each node's keyspace directory, found
 * from the data-directory layout (…/<keyspace>/<table>-<id>/, or the
 * mount's …/<keyspace>/<table>/).  Doubles are
 * printed as Java's Double.toString spells them, as cqlsh shows them, so
 * the output can be compared with Cassandra's text. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/merge/merge.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata sstable merge [--view TIME] PATH...\n"
           "       strata sstable merge --to DIR [--generation N] [--format F] [--compression C] PATH...\n"
           "\n"
           "PATH is an SSTable's Data.db or a table directory (…/<keyspace>/<table>-<id>,\n"
           "or …/<keyspace>/<table> in a strata mount)\n"
           "of a node's data or snapshot layout; give the same table of every node.\n"
           "The SSTables are merged with Cassandra's reconciliation rules and the CQL\n"
           "rows visible at a time are printed as JSON lines with writetime() and\n"
           "ttl() of each column.  The schema is read from the system_schema\n"
           "directory beside each node's keyspace directory.\n"
           "\n"
           "  --view TIME        the rows visible at TIME (\"now\", seconds since the\n"
           "                     epoch, or 2026-11-21T23:20:00Z; default now)\n"
           "  --to DIR           write the merge as one SSTable into DIR instead (as an\n"
           "                     offline compaction of the inputs would, nothing\n"
           "                     purged), e.g. to hand a table's reconciled replicas to\n"
           "                     sstableloader; it appears there only once complete\n"
           "                     (a failure or Ctrl-C leaves none of its files); with it:\n"
           "  --generation N     its generation (default 1)\n"
           "  --format F         nb, oa, me... (default: the newest of the inputs)\n"
           "  --compression C    lz4 (default), zstd, snappy, deflate or none\n"
           "\n"
           "examples:\n"
           "  strata sstable merge --view 2026-11-21T23:20:00Z node1/app/users-<id> node2/app/users-<id>\n"
           "  strata sstable merge --to /tmp/users node1/app/users-<id> node2/app/users-<id>\n");
}


typedef struct {
    char **paths;
    size_t npaths;
    char **schema_dirs;
    size_t nschema;
    char *keyspace;
    char *table;
} inputs;

static void add(char ***v, size_t *n, char *s) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s)) return free(s);
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

/* Notes the keyspace, table and system_schema directory of table
 * directory `dir`; fails when it names another table than earlier ones. */
static strata_err note_table(inputs *in, const char *dir) {
    char *copy = xstrdup(dir), *tdir = xstrdup(basename(copy));
    char *dash = strrchr(tdir, '-');
    char *ksdir = xstrdup(dirname(copy));
    char *c2 = xstrdup(ksdir), *ks = xstrdup(basename(c2));
    char *node = xstrdup(dirname(ksdir));
    /* <table>-<id> in a data directory, <table> in strata's mount */
    if (dash) *dash = 0;
    strata_err e = STRATA_OK;
    if (in->table && (strcmp(in->table, tdir) || strcmp(in->keyspace, ks)))
        e = strata_fail(STRATA_EINVAL, "%s: another table than %s.%s", dir, in->keyspace, in->table);
    if (!e && !in->table) in->table = xstrdup(tdir), in->keyspace = xstrdup(ks);
    if (!e) add(&in->schema_dirs, &in->nschema, xasprintf("%s/system_schema", node));
    free(copy), free(tdir), free(ksdir), free(c2), free(ks), free(node);
    return e;
}

static strata_err collect(inputs *in, const char *arg) {
    struct stat st;
    if (stat(arg, &st)) return strata_fail_errno(STRATA_ENOENT, errno, "%s", arg);
    if (!S_ISDIR(st.st_mode)) {
        char *copy = xstrdup(arg);
        strata_err e = note_table(in, dirname(copy));
        free(copy);
        if (!e) add(&in->paths, &in->npaths, xstrdup(arg));
        return e;
    }
    char *dir = xstrdup(arg);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dir[--dl] = 0;
    strata_err e = note_table(in, dir);
    DIR *d = e ? NULL : opendir(dir);
    struct dirent *f;
    while (d && (f = readdir(d))) {
        if (strata_ends_with(f->d_name, "-Data.db"))
            add(&in->paths, &in->npaths, xasprintf("%s/%s", dir, f->d_name));
    }
    if (d) closedir(d);
    free(dir);
    return e;
}

static void inputs_free(inputs *in) {
    for (size_t i = 0; i < in->npaths; i++) free(in->paths[i]);
    for (size_t i = 0; i < in->nschema; i++) free(in->schema_dirs[i]);
    free(in->paths), free(in->schema_dirs), free(in->keyspace), free(in->table);
}

/* JSON text with keys in insertion order and doubles in Java's spelling. */
static void json_text(json_t *j, strata_buf *out) {
    if (json_is_real(j)) return merge_java_double(json_real_value(j), out);
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        int first = 1;
        strata_buf_put(out, "{", 1);
        json_object_foreach(j, k, v) {
            if (!first) strata_buf_put(out, ", ", 2);
            json_t *key = json_string(k);
            json_text(key, out);
            json_decref(key);
            strata_buf_put(out, ": ", 2);
            json_text(v, out);
            first = 0;
        }
        strata_buf_put(out, "}", 1);
        return;
    }
    if (json_is_array(j)) {
        strata_buf_put(out, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i) strata_buf_put(out, ", ", 2);
            json_text(json_array_get(j, i), out);
        }
        strata_buf_put(out, "]", 1);
        return;
    }
    char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s) strata_buf_put(out, s, strlen(s));
    free(s);
}

static strata_err print_view(const inputs *in, int64_t now) {
    merge_schema *schema;
    strata_err e = merge_schema_read((const char *const *)in->schema_dirs, in->nschema, in->keyspace, &schema);
    if (e) return e;
    const merge_table *t = merge_schema_table(schema, in->table);
    merge *m = NULL;
    merge_view *v = NULL;
    if (!t) e = strata_fail(STRATA_ENOENT, "table %s.%s: not in system_schema", in->keyspace, in->table);
    if (!e) e = merge_open((const char *const *)in->paths, in->npaths, t, &m);
    if (!e) e = merge_view_open(m, t, now, &v);
    json_t *row;
    strata_buf line;
    strata_buf_init(&line);
    while (!e && !(e = merge_view_next(v, &row)) && row) {
        line.len = 0;
        json_text(row, &line);
        strata_buf_put(&line, "\n", 1);
        fwrite(line.data, 1, line.len, stdout);
        json_decref(row);
    }
    strata_buf_free(&line);
    merge_view_close(v);
    merge_close(m);
    merge_schema_free(schema);
    return e;
}

/* The newest format among the inputs' names ("nb-5-big-Data.db"). */
static void newest_format(const inputs *in, char out[3]) {
    memcpy(out, "ma", 3);
    for (size_t i = 0; i < in->npaths; i++) {
        const char *base = strrchr(in->paths[i], '/');
        base = base ? base + 1 : in->paths[i];
        if (strlen(base) > 2 && base[2] == '-' && memcmp(base, out, 2) > 0) memcpy(out, base, 2);
    }
    if (!strcmp(out, "da") || !strcmp(out, "nc")) memcpy(out, "oa", 3);
}

static strata_err write_merged(const inputs *in, const char *dir, long generation, const char *format,
                               const char *compressor) {
    merge_schema *schema = NULL;
    const merge_table *t = NULL;
    if (merge_schema_read((const char *const *)in->schema_dirs, in->nschema, in->keyspace, &schema) == STRATA_OK)
        t = merge_schema_table(schema, in->table);
    strata_clear_error();
    merge *m;
    strata_err e = merge_open((const char *const *)in->paths, in->npaths, t, &m);
    sstable_writer *w = NULL;
    uint64_t partitions = 0;
    if (!e) {
        sstable_writer_params p = {0};
        merge_writer_params(m, &p);
        p.dir = dir;
        if (format) snprintf(p.version, sizeof p.version, "%s", format);
        else newest_format(in, p.version);
        p.generation = generation;
        p.compressor = compressor;
        p.cancel = cli_catch_interrupt();
        e = sstable_writer_open(&p, &w);
    }
    if (!e) e = merge_write(m, w, &partitions);
    if (w) e = e ? (sstable_writer_abort(w), e) : sstable_writer_finish(w);
    if (!e)
        strata_log(STRATA_LOG_INFO, "%llu partitions of %zu SSTables written to %s", (unsigned long long)partitions,
                   in->npaths, dir);
    merge_close(m);
    merge_schema_free(schema);
    return e;
}

int cmd_sstable_merge(const cli_globals *g, int argc, char **argv) {
    (void)g;
    static const struct option opts[] = {
        {"view", required_argument, NULL, 'v'},        {"to", required_argument, NULL, 't'},
        {"generation", required_argument, NULL, 'g'},  {"format", required_argument, NULL, 'f'},
        {"compression", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int64_t now = strata_now_us() / 1000000;
    const char *to = NULL, *format = NULL, *compressor = "LZ4Compressor";
    long generation = 1;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': return help(), CLI_EXIT_OK;
        case 'v': {
            int64_t view_us; /* expiry is in whole seconds, as Cassandra's deletion times */
            if (cli_parse_time_us(optarg, &view_us) || view_us < 0)
                return cli_usage_error("sstable merge", "bad --view time '%s'", optarg);
            now = view_us / 1000000;
            break;
        }
        case 't': to = optarg; break;
        case 'f':
            if (strlen(optarg) != 2) return cli_usage_error("sstable merge", "bad --format '%s'", optarg);
            format = optarg;
            break;
        case 'g':
            generation = strtol(optarg, &end, 10);
            if (*end || generation < 1) return cli_usage_error("sstable merge", "bad --generation '%s'", optarg);
            break;
        case 'c':
            if (cli_parse_compression(optarg, &compressor))
                return cli_usage_error("sstable merge", "unknown --compression '%s'", optarg);
            break;
        default: return cli_bad_option("sstable merge", argv);
        }
    }
    if (optind >= argc) return cli_usage_error("sstable merge", "expected at least one PATH");
    inputs in = {0};
    strata_err e = STRATA_OK;
    for (int i = optind; i < argc && !e; i++) e = collect(&in, argv[i]);
    if (!e && !in.npaths) e = strata_fail(STRATA_ENOENT, "no SSTables in the given paths");
    if (!e && to) e = write_merged(&in, to, generation, format, compressor);
    else if (!e) e = print_view(&in, now);
    inputs_free(&in);
    return e ? cli_fail() : CLI_EXIT_OK;
}
