/* cmd_ls.c - `strata ls`: the files of a version, one keyspace or one table. */
#include <getopt.h>
#include <string.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO ls VERSION[/KEYSPACE[/TABLE]] [--json]\n"
           "\n"
           "Lists the files of a version (VERSION may be 'latest'), optionally of\n"
           "one keyspace or table, with their sizes.  A reconciled table's files\n"
           "(its layers and schema.cql, what restore writes to DIR/<keyspace>/<table>/)\n"
           "show as keyspace/table/file; the nodes' own files (tables that were not\n"
           "reconciled, replicas kept with backup --keep-replicas, older versions)\n"
           "as node/keyspace/table/file.\n"
           "\n"
           "  --json   print the files as JSON: node, keyspace, table, table_id, path,\n"
           "           sstable and size_bytes; reconciled files have\n"
           "           \"reconciled\": true and node \"\"\n"
           "\n"
           "examples:\n"
           "  strata -r /backup/strata ls latest/app/users\n"
           "  strata -r /backup/strata ls 2026-11-21T22:30:55Z --json\n");
}

static json_t *file_json(const repo_file *f) {
    return json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:I}", "node", f->node, "reconciled", !*f->node,
                     "keyspace", f->keyspace, "table", f->table, "table_id", f->table_id, "path", f->rel_path,
                     "sstable", f->sstable, "size_bytes", (json_int_t)f->size);
}

int cmd_ls(const cli_globals *g, int argc, char **argv) {
    int json;
    int rc = cli_json_options("ls", argc, argv, help, &json);
    if (rc >= 0) return rc;
    if (optind + 1 != argc) return cli_usage_error("ls", "expects one VERSION[/KEYSPACE[/TABLE]]");
    char *version, *ks, *table;
    if (cli_parse_selector(argv[optind], &version, &ks, &table))
        return cli_usage_error("ls", "bad selector '%s'", argv[optind]);
    repo *r = NULL;
    repo_version *v = NULL;
    rc = cli_open_repo(g, "ls", REPO_READ, &r);
    if (!rc && repo_version_load(r, version, &v)) rc = cli_fail();
    json_t *all = json_array();
    size_t shown = 0;
    for (size_t i = 0; !rc && i < v->n_files; i++) {
        const repo_file *f = &v->files[i];
        if ((ks && strcmp(ks, f->keyspace)) || (table && strcmp(table, f->table))) continue;
        shown++;
        if (json)
            json_array_append_new(all, file_json(f));
        else
            printf("%12llu  %s%s%s/%s/%s\n", (unsigned long long)f->size, f->node, *f->node ? "/" : "",
                   f->keyspace, f->table, f->rel_path);
    }
    if (!rc && !shown && (ks || table)) {
        strata_fail(STRATA_ENOENT, "version %s has no %s%s%s", v->id, ks, table ? "." : "", table ? table : "");
        rc = cli_fail();
    }
    if (!rc && json) cli_print_json(all);
    else json_decref(all);
    repo_version_free(v);
    repo_close(r);
    free(version);
    free(ks);
    free(table);
    return rc;
}
