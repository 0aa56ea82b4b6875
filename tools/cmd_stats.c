/* cmd_stats.c - `strata stats`: logical versus stored bytes. */
#include <getopt.h>
#include <string.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO stats [--json]\n"
           "\n"
           "What the versions stand for against what the repository stores.\n"
           "Logical bytes are every replica's SSTables: for a reconciled table the\n"
           "SSTables of all captured nodes, for a table stored as the nodes' files\n"
           "those files (secondary index SSTables and snapshot manifests, which\n"
           "'versions' counts in its logical bytes, left out of reconciled tables).\n"
           "Stored bytes are the packs.  The ratio is logical:stored.\n"
           "\n"
           "Per version: logical bytes, its reconciled SSTables (what a restore\n"
           "writes) and the bytes its backup added.  Per table: files and logical\n"
           "bytes of the newest version, ONE NODE (the node holding most of the\n"
           "table there: its SSTables, or its files for a table not reconciled),\n"
           "the reconciled bytes, logical bytes of all versions, the stored bytes\n"
           "of the table's distinct chunks, and /NODE: stored against ONE NODE\n"
           "(under 1 costs less than one replica; all versions count as stored).\n"
           "\n"
           "  --json   print the same as JSON (bytes as integers)\n"
           "\n"
           "example:\n"
           "  strata -r /backup/strata stats\n");
}

static double ratio(uint64_t logical, uint64_t stored) {
    return stored ? (double)logical / (double)stored : 0;
}

/* What the table costs against one node's copy of it: below 1/RF is
 * better than storing one replica. */
static double stored_per_node(const repo_table_stats *t) {
    return t->one_node_latest ? (double)t->stored / (double)t->one_node_latest : 0;
}

static void print_versions(const repo_stats *s) {
    printf("%-24s %11s %11s %11s %9s\n", "VERSION", "LOGICAL", "RECONCILED", "STORED", "RATIO");
    for (size_t i = 0; i < s->n_versions; i++) {
        const repo_version_stats *v = &s->versions[i];
        char logical[16], layers[16], stored[16], r[16];
        strata_human_bytes(v->logical, logical);
        strata_human_bytes(v->reconciled_bytes, layers);
        strata_human_bytes(v->stored, stored);
        if (v->stored) snprintf(r, sizeof r, "%.2f", ratio(v->logical, v->stored));
        else snprintf(r, sizeof r, "-");
        printf("%-24s %11s %11s %11s %9s\n", v->id, logical, v->reconciled ? layers : "-", stored, r);
    }
}

/* The TABLE column: 40 wide, or as wide as its longest keyspace.table
 * (Cassandra allows names of 48 characters each). */
static int table_column_width(const repo_stats *s) {
    size_t width = 40;
    for (size_t i = 0; i < s->n_tables; i++) {
        size_t len = strlen(s->tables[i].keyspace) + 1 + strlen(s->tables[i].table);
        if (len > width) width = len;
    }
    return (int)width;
}

static void print_tables(const repo_stats *s) {
    int width = table_column_width(s);
    printf("%-*s %6s %11s %11s %11s %11s %11s %8s %8s\n", width, "TABLE", "FILES", "LATEST", "ONE NODE",
           "RECONCILED", "ALL", "STORED", "RATIO", "/NODE");
    for (size_t i = 0; i < s->n_tables; i++) {
        const repo_table_stats *t = &s->tables[i];
        char latest[16], node[16], layers[16], all[16], st[16], per_node[16];
        char *name = xasprintf("%s.%s", t->keyspace, t->table);
        strata_human_bytes(t->logical_latest, latest);
        strata_human_bytes(t->one_node_latest, node);
        strata_human_bytes(t->reconciled_latest, layers);
        strata_human_bytes(t->logical_all, all);
        strata_human_bytes(t->stored, st);
        if (t->one_node_latest) snprintf(per_node, sizeof per_node, "%.3f", stored_per_node(t));
        else snprintf(per_node, sizeof per_node, "-");
        printf("%-*s %6llu %11s %11s %11s %11s %11s %8.2f %8s\n", width, name, (unsigned long long)t->files_latest,
               latest, node, t->reconciled_latest ? layers : "-", all, st, ratio(t->logical_all, t->stored),
               per_node);
        free(name);
    }
}

static void print_text(const repo_stats *s) {
    char logical[16], stored[16];
    strata_human_bytes(s->logical_all, logical);
    strata_human_bytes(s->stored, stored);
    printf("versions: %zu, packs: %llu\n", s->n_versions, (unsigned long long)s->packs);
    printf("logical: %s, stored: %s, ratio %.2f:1\n\n", logical, stored, ratio(s->logical_all, s->stored));
    print_versions(s);
    printf("\n");
    print_tables(s);
}

static json_t *versions_json(const repo_stats *s) {
    json_t *list = json_array();
    for (size_t i = 0; i < s->n_versions; i++) {
        const repo_version_stats *v = &s->versions[i];
        json_array_append_new(list, json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:f}", "id", v->id, "reconciled",
                                              v->reconciled, "files", (json_int_t)v->files, "logical_bytes",
                                              (json_int_t)v->logical, "reconciled_bytes",
                                              (json_int_t)v->reconciled_bytes, "stored_bytes",
                                              (json_int_t)v->stored, "ratio", ratio(v->logical, v->stored)));
    }
    return list;
}

static json_t *tables_json(const repo_stats *s) {
    json_t *list = json_array();
    for (size_t i = 0; i < s->n_tables; i++) {
        const repo_table_stats *t = &s->tables[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "keyspace",
                                              t->keyspace, "table", t->table, "files_latest",
                                              (json_int_t)t->files_latest, "logical_bytes_latest",
                                              (json_int_t)t->logical_latest, "one_node_bytes_latest",
                                              (json_int_t)t->one_node_latest, "reconciled_bytes_latest",
                                              (json_int_t)t->reconciled_latest, "logical_bytes_all",
                                              (json_int_t)t->logical_all, "stored_bytes", (json_int_t)t->stored,
                                              "ratio", ratio(t->logical_all, t->stored), "stored_per_node",
                                              stored_per_node(t)));
    }
    return list;
}

static json_t *to_json(const repo_stats *s) {
    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:o, s:o}", "versions", (json_int_t)s->n_versions, "packs",
                     (json_int_t)s->packs, "logical_bytes", (json_int_t)s->logical_all, "stored_bytes",
                     (json_int_t)s->stored, "ratio", ratio(s->logical_all, s->stored), "by_version",
                     versions_json(s), "tables", tables_json(s));
}

int cmd_stats(const cli_globals *g, int argc, char **argv) {
    int json;
    int rc = cli_json_options("stats", argc, argv, help, &json);
    if (rc >= 0) return rc;
    if (optind < argc) return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
    repo *r;
    rc = cli_open_repo(g, "stats", REPO_READ, &r);
    if (rc) return rc;
    repo_stats *s;
    if (repo_stats_compute(r, &s)) {
        rc = cli_fail();
    } else {
        if (json) cli_print_json(to_json(s));
        else print_text(s);
        repo_stats_free(s);
    }
    repo_close(r);
    return rc;
}
