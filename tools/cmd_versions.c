/* cmd_versions.c - `strata versions`: list cluster versions. */
#include <getopt.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO versions [--json]\n"
           "\n"
           "Lists the cluster versions, oldest first: id (UTC time of the cut),\n"
           "nodes, files, SSTables (new in that version), logical bytes (every\n"
           "node's files) and bytes the version added to the repository.\n");
}

/* Distinct keyspace.table names; files are sorted by node first, so
 * tables repeat across nodes and are counted through a set. */
static size_t count_tables(const repo_version *v) {
    json_t *seen = json_object();
    for (size_t i = 0; i < v->n_files; i++) {
        char *name = xasprintf("%s.%s", v->files[i].keyspace, v->files[i].table);
        json_object_set_new(seen, name, json_true());
        free(name);
    }
    size_t n = json_object_size(seen);
    json_decref(seen);
    return n;
}

static json_t *version_json(const repo_version *v) {
    json_t *nodes = json_array();
    for (size_t i = 0; i < v->n_nodes; i++) json_array_append_new(nodes, json_string(v->nodes[i]));
    char time[32];
    strata_iso8601(v->time_us / 1000000, time);
    return json_pack("{s:s, s:s, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id", v->id, "time", time,
                     "time_us", (json_int_t)v->time_us, "cluster", v->cluster, "nodes", nodes, "tables",
                     (json_int_t)count_tables(v), "files",
                     (json_int_t)v->n_files, "sstables", (json_int_t)v->n_sstables, "new_sstables",
                     (json_int_t)v->new_sstables, "logical_bytes", (json_int_t)v->logical_bytes, "read_bytes",
                     (json_int_t)v->new_file_bytes, "stored_bytes", (json_int_t)v->stored_bytes);
}

static void print_line(const repo_version *v) {
    char logical[16], stored[16];
    strata_human_bytes(v->logical_bytes, logical);
    strata_human_bytes(v->stored_bytes, stored);
    printf("%-24s %5zu %6zu %7zu %6u %6u %11s %11s\n", v->id, v->n_nodes, count_tables(v), v->n_files,
           v->n_sstables, v->new_sstables, logical, stored);
}

int cmd_versions(const cli_globals *g, int argc, char **argv) {
    int json;
    int rc = cli_json_options("versions", argc, argv, help, &json);
    if (rc >= 0) return rc;
    if (optind < argc) return cli_usage_error("versions", "unexpected argument '%s'", argv[optind]);
    repo *r;
    rc = cli_open_repo(g, "versions", 0, &r);
    if (rc) return rc;
    char **ids;
    size_t n;
    if (repo_version_list(r, &ids, &n)) {
        repo_close(r);
        return cli_fail();
    }
    json_t *all = json_array();
    if (!json) printf("%-24s %5s %6s %7s %6s %6s %11s %11s\n", "VERSION", "NODES", "TABLES", "FILES", "SST", "NEW", "LOGICAL",
                      "STORED");
    for (size_t i = 0; !rc && i < n; i++) {
        repo_version *v;
        if (repo_version_load(r, ids[i], &v)) {
            rc = cli_fail();
            break;
        }
        if (json) json_array_append_new(all, version_json(v));
        else print_line(v);
        repo_version_free(v);
    }
    if (json && !rc) cli_print_json(all);
    else json_decref(all);
    repo_version_list_free(ids, n);
    repo_close(r);
    return rc;
}
