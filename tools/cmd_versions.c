/* cmd_versions.c - `strata versions`: list cluster versions. */
#include <getopt.h>
#include <string.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO versions [--json]\n"
           "\n"
           "Lists the cluster versions, oldest first: id (UTC time of the cut),\n"
           "nodes ('2/3': one node of the cluster file had no SSTables), tables,\n"
           "files, node SSTables (new in that version), logical bytes (every\n"
           "node's files, secondary indexes and snapshot manifests included) and\n"
           "bytes the version added to the repository.\n"
           "A reconciled version also shows its reconciled SSTables (what a restore\n"
           "writes) and how many replicas of each token range it captured:\n"
           "'all replicas', or e.g. '2/3 replicas, complete for QUORUM' (a write\n"
           "acknowledged at QUORUM is in the version); '-' for older versions.\n"
           "\n"
           "--json adds, for reconciled versions, the backup's report (cut, notes,\n"
           "coverage of each keyspace with the ranges that lack a replica), the\n"
           "summary of each table, the number of nodes captured and of node\n"
           "SSTables it saw.\n"
           "\n"
           "example:\n"
           "  strata -r /backup/strata versions --json\n");
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

static uint64_t reconciled_bytes(const repo_version *v) {
    uint64_t n = 0;
    for (size_t i = 0; i < v->n_tables; i++) n += v->tables[i].layer_bytes;
    return n;
}

/* The version's report as JSON, NULL when it has none or it does not parse. */
static json_t *parse_report(const repo_version *v) {
    return v->report ? json_loads(v->report, 0, NULL) : NULL;
}

static int64_t int_field(json_t *obj, const char *key) {
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

/* Nodes of the cluster file whose SSTables the version holds: the most
 * any keyspace's coverage counts (a node without SSTables is in the
 * version's node list but not captured); all of them without a report. */
static size_t captured_nodes(const repo_version *v, json_t *report) {
    json_t *coverage = json_object_get(report, "coverage"), *ks;
    if (!json_object_size(coverage)) return v->n_nodes;
    int64_t most = 0;
    const char *keyspace;
    json_object_foreach(coverage, keyspace, ks) {
        int64_t n = int_field(ks, "captured_nodes");
        if (n > most) most = n;
    }
    return (size_t)most < v->n_nodes ? (size_t)most : v->n_nodes;
}

/* One phrase for the coverage of all keyspaces: the fewest replicas any
 * range of any keyspace has, and the weakest level complete in all. */
static void coverage_brief(json_t *report, char *out, size_t len) {
    json_t *coverage = json_object_get(report, "coverage");
    if (!json_object_size(coverage)) {
        snprintf(out, len, "-");
        return;
    }
    static const char *const levels[] = {"QUORUM", "ALL"};
    int complete[2] = {1, 1}, all_replicas = 1;
    int64_t fewest = -1, rf = 0, nodes = 0;
    const char *keyspace;
    json_t *ks;
    json_object_foreach(coverage, keyspace, ks) {
        if (json_object_get(ks, "error")) {
            snprintf(out, len, "unknown (%s: %s)", keyspace, json_string_value(json_object_get(ks, "error")));
            return;
        }
        nodes = int_field(ks, "captured_nodes");
        if (!json_is_true(json_object_get(ks, "ring"))) {
            snprintf(out, len, "%lld nodes, replicas not counted (no ring)", (long long)nodes);
            return;
        }
        all_replicas &= json_is_true(json_object_get(ks, "all_replicas_captured"));
        int64_t captured = int_field(ks, "min_captured"), factor = int_field(ks, "replication_factor");
        if (fewest < 0 || captured * rf < fewest * factor) fewest = captured, rf = factor;
        for (size_t i = 0; i < 2; i++)
            complete[i] &= json_is_true(json_object_get(json_object_get(ks, "complete"), levels[i]));
    }
    if (all_replicas) snprintf(out, len, "all replicas");
    else if (complete[0] || complete[1])
        snprintf(out, len, "%lld/%lld replicas, complete for %s", (long long)fewest, (long long)rf,
                 complete[0] ? levels[0] : levels[1]);
    else snprintf(out, len, "%lld/%lld replicas, incomplete", (long long)fewest, (long long)rf);
}

static json_t *table_summaries(const repo_version *v) {
    json_t *list = json_array();
    for (size_t i = 0; i < v->n_tables; i++) {
        const repo_table_summary *t = &v->tables[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "keyspace", t->keyspace,
                                              "table", t->table, "table_id", t->table_id, "replica_bytes",
                                              (json_int_t)t->replica_bytes, "layer_bytes",
                                              (json_int_t)t->layer_bytes, "stored_bytes",
                                              (json_int_t)t->stored_bytes, "layers", (json_int_t)t->layers,
                                              "sstables_read", (json_int_t)t->sstables_read));
    }
    return list;
}

/* What a reconciling version adds to the fields every version has. */
static void add_reconciled(json_t *j, const repo_version *v) {
    json_t *report = parse_report(v);
    char brief[256];
    coverage_brief(report, brief, sizeof brief);
    json_object_set_new(j, "captured_nodes", json_integer((json_int_t)captured_nodes(v, report)));
    json_object_set_new(j, "reconciled_bytes", json_integer((json_int_t)reconciled_bytes(v)));
    json_object_set_new(j, "node_sstables", json_integer((json_int_t)v->n_sources));
    json_object_set_new(j, "coverage_brief", json_string(brief));
    json_object_set_new(j, "table_summaries", table_summaries(v));
    json_object_set_new(j, "report", report ? report : json_null());
}

static json_t *version_json(const repo_version *v) {
    json_t *nodes = json_array();
    for (size_t i = 0; i < v->n_nodes; i++) json_array_append_new(nodes, json_string(v->nodes[i]));
    char time[32];
    strata_iso8601(v->time_us / 1000000, time);
    json_t *j = json_pack("{s:s, s:s, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "id", v->id, "time",
                          time, "time_us", (json_int_t)v->time_us, "cluster", cli_json_text(v->cluster), "nodes",
                          nodes, "tables", (json_int_t)count_tables(v), "files", (json_int_t)v->n_files, "sstables",
                          (json_int_t)v->n_sstables, "new_sstables", (json_int_t)v->new_sstables, "logical_bytes",
                          (json_int_t)v->logical_bytes, "read_bytes", (json_int_t)v->new_file_bytes,
                          "stored_bytes", (json_int_t)v->stored_bytes, "reconciled", v->reconciled);
    if (v->reconciled) add_reconciled(j, v);
    return j;
}

static void print_line(const repo_version *v) {
    char logical[16], stored[16], layers[16] = "-", brief[256] = "-", nodes[48];
    strata_human_bytes(v->logical_bytes, logical);
    strata_human_bytes(v->stored_bytes, stored);
    snprintf(nodes, sizeof nodes, "%zu", v->n_nodes);
    if (v->reconciled) {
        json_t *report = parse_report(v);
        size_t captured = captured_nodes(v, report);
        if (captured < v->n_nodes) snprintf(nodes, sizeof nodes, "%zu/%zu", captured, v->n_nodes);
        strata_human_bytes(reconciled_bytes(v), layers);
        coverage_brief(report, brief, sizeof brief);
        json_decref(report);
    }
    printf("%-24s %5s %6zu %7zu %6u %6u %11s %11s %11s  %s\n", v->id, nodes, count_tables(v), v->n_files,
           v->n_sstables, v->new_sstables, logical, stored, layers, brief);
}

int cmd_versions(const cli_globals *g, int argc, char **argv) {
    int json;
    int rc = cli_json_options("versions", argc, argv, help, &json);
    if (rc >= 0) return rc;
    if (optind < argc) return cli_usage_error("versions", "unexpected argument '%s'", argv[optind]);
    repo *r;
    rc = cli_open_repo(g, "versions", REPO_READ, &r);
    if (rc) return rc;
    char **ids;
    size_t n;
    if (repo_version_list(r, &ids, &n)) {
        repo_close(r);
        return cli_fail();
    }
    json_t *all = json_array();
    if (!json)
        printf("%-24s %5s %6s %7s %6s %6s %11s %11s %11s  %s\n", "VERSION", "NODES", "TABLES", "FILES", "SST", "NEW",
               "LOGICAL", "STORED", "RECONCILED", "COVERAGE");
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
