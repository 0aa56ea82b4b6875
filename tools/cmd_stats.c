/* cmd_stats.c - `strata stats`: logical versus stored bytes. */
#include <getopt.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO stats [--json]\n"
           "\n"
           "Logical bytes (the files of every node in every version), stored bytes\n"
           "(the packs), their ratio, and per table: the newest version's bytes and\n"
           "the stored bytes of the table's distinct chunks.\n");
}

static double ratio(uint64_t logical, uint64_t stored) {
    return stored ? (double)logical / (double)stored : 0;
}

static void print_text(const repo_stats *s) {
    char logical[16], stored[16];
    strata_human_bytes(s->logical_all, logical);
    strata_human_bytes(s->stored, stored);
    printf("versions: %llu, packs: %llu\n", (unsigned long long)s->versions, (unsigned long long)s->packs);
    printf("logical: %s, stored: %s, ratio %.2f:1\n\n", logical, stored, ratio(s->logical_all, s->stored));
    printf("%-40s %6s %11s %11s %11s %8s\n", "TABLE", "FILES", "LATEST", "ALL", "STORED", "RATIO");
    for (size_t i = 0; i < s->n_tables; i++) {
        const repo_table_stats *t = &s->tables[i];
        char name[256], latest[16], all[16], st[16];
        snprintf(name, sizeof name, "%s.%s", t->keyspace, t->table);
        strata_human_bytes(t->logical_latest, latest);
        strata_human_bytes(t->logical_all, all);
        strata_human_bytes(t->stored, st);
        printf("%-40s %6llu %11s %11s %11s %7.2f\n", name, (unsigned long long)t->files_latest, latest, all, st,
               ratio(t->logical_all, t->stored));
    }
}

static json_t *to_json(const repo_stats *s) {
    json_t *tables = json_array();
    for (size_t i = 0; i < s->n_tables; i++) {
        const repo_table_stats *t = &s->tables[i];
        json_array_append_new(tables, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f}", "keyspace", t->keyspace,
                                                "table", t->table, "files_latest", (json_int_t)t->files_latest,
                                                "logical_latest", (json_int_t)t->logical_latest, "logical_all",
                                                (json_int_t)t->logical_all, "stored", (json_int_t)t->stored,
                                                "ratio", ratio(t->logical_all, t->stored)));
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:o}", "versions", (json_int_t)s->versions, "packs",
                     (json_int_t)s->packs, "logical_bytes", (json_int_t)s->logical_all, "stored_bytes",
                     (json_int_t)s->stored, "ratio", ratio(s->logical_all, s->stored), "tables", tables);
}

int cmd_stats(const cli_globals *g, int argc, char **argv) {
    int json;
    int rc = cli_json_options("stats", argc, argv, help, &json);
    if (rc >= 0) return rc;
    if (optind < argc) return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
    repo *r;
    rc = cli_open_repo(g, "stats", 0, &r);
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
