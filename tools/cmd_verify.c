/* cmd_verify.c - `strata verify`: read everything back and check it. */
#include <getopt.h>
#include <string.h>

#include "engine/repo/repo.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO verify [--repair] [--json]\n"
           "\n"
           "Reads every pack, decompresses every chunk and checks its SHA-256,\n"
           "checks every version object, and checks that every chunk a version\n"
           "needs is stored.  Each damaged chunk is named with the versions and\n"
           "files it affects (up to 10 files per version, the others counted;\n"
           "--json names all).  A version that only the local index holds (its\n"
           "object missing) is damage too: an index rebuild or a lost machine\n"
           "would lose it.  Exit status 3 when damage was found (and, with\n"
           "--repair, is left).\n"
           "\n"
           "  --repair   write missing or damaged version objects again from this\n"
           "             machine's index, which keeps a copy of every version it\n"
           "             has seen; point the index at a whole copy of a damaged\n"
           "             chunk when another pack holds one, else drop damaged and\n"
           "             missing chunks from the index, so that the next backup\n"
           "             stores again what the nodes still hold (node files\n"
           "             unchanged since: every version naming them is whole again;\n"
           "             a reconciled table whose layers lost chunks is reconciled\n"
           "             again from all its SSTables, over its whole layers)\n"
           "  --json     print the result as JSON\n"
           "\n"
           "examples:\n"
           "  strata -r /backup/strata verify\n"
           "  strata -r /backup/strata verify --repair\n");
}

/* Files named per version in the text output: a lost chunk that every
 * layer shares (a TOC.txt) affects every file of every version, which
 * --json lists in full. */
#define AFFECTED_SHOWN 10

typedef struct {
    int json;
    char affected_version[64]; /* the version whose affected files are being named */
    uint64_t shown, hidden;    /* of its files, named and not named */
    json_t *damage, *affected;
    char **bad_versions; /* ids of the version objects found missing or damaged */
    size_t n_bad_versions;
    strata_buf bad_chunks; /* ids of the chunks found damaged or missing, end to end */
    json_t *repaired;      /* ids of the version objects written again */
    size_t forgotten;      /* chunks dropped from the index */
    size_t moved;          /* chunks the index now finds in another pack's whole copy */
} report;

static void on_damage(void *ctx, const uint8_t *chunk, const char *pack, const char *problem) {
    report *rep = ctx;
    char hex[2 * STRATA_HASH_LEN + 1] = "";
    if (chunk) strata_hex(chunk, STRATA_HASH_LEN, hex);
    if (rep->json) {
        json_array_append_new(rep->damage, json_pack("{s:s?, s:s, s:s}", "chunk", chunk ? hex : NULL, "object",
                                                     pack, "problem", problem));
    } else if (chunk) {
        printf("damaged chunk %s in %s: %s\n", hex, *pack ? pack : "(no pack)", problem);
    } else {
        printf("damaged object %s: %s\n", pack, problem);
    }
    if (chunk) strata_buf_put(&rep->bad_chunks, chunk, STRATA_HASH_LEN);
    if (!chunk && !strncmp(pack, "versions/", strlen("versions/"))) {
        rep->bad_versions = xrealloc(rep->bad_versions, (rep->n_bad_versions + 1) * sizeof *rep->bad_versions);
        rep->bad_versions[rep->n_bad_versions++] = xstrdup(pack + strlen("versions/"));
    }
}

/* Writes the damaged version objects again from the index (those repaired
 * are damage no more) and mends the index's record of the damaged chunks.
 * A version whose object the index holds no copy of stays damaged (a
 * warning); a repair the storage or the index refuses is an error. */
static strata_err repair_damage(repo *r, report *rep, repo_verify_result *res) {
    for (size_t i = 0; i < rep->n_bad_versions; i++) {
        const char *id = rep->bad_versions[i];
        strata_err e = repo_version_rewrite_object(r, id);
        if (e == STRATA_ENOENT) {
            strata_log(STRATA_LOG_WARN, "cannot repair versions/%s: this machine's index holds no copy of it", id);
            continue;
        }
        if (e) return strata_fail(e, "repairing versions/%s: %s", id, strata_errmsg());
        res->bad_objects--;
        json_array_append_new(rep->repaired, json_string(id));
        if (!rep->json) printf("repaired object versions/%s: written again from the local index\n", id);
    }
    size_t n = rep->bad_chunks.len / STRATA_HASH_LEN;
    strata_err e = n ? repo_forget_chunks(r, rep->bad_chunks.data, n, &rep->forgotten, &rep->moved) : STRATA_OK;
    if (e) return strata_fail(e, "repairing the index's damaged chunks: %s", strata_errmsg());
    if (rep->json) return STRATA_OK;
    if (rep->moved)
        printf("moved %zu damaged chunks in the index to a whole copy in another pack\n", rep->moved);
    if (rep->forgotten)
        printf("forgot %zu damaged or missing chunks in the index: the next backup stores again those the "
               "nodes still hold\n", rep->forgotten);
    return STRATA_OK;
}

static void print_summary(const report *rep, const repo_verify_result *res, uint64_t damaged) {
    if (rep->json) {
        cli_print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:I, s:I}", "ok",
                                 damaged == 0, "packs", (json_int_t)res->packs, "chunks", (json_int_t)res->chunks,
                                 "checked_bytes", (json_int_t)res->bytes, "bad_chunks", (json_int_t)res->bad_chunks,
                                 "missing_chunks", (json_int_t)res->missing_chunks, "bad_objects",
                                 (json_int_t)res->bad_objects, "affected_files", (json_int_t)res->affected_files,
                                 "damage", rep->damage, "affected", rep->affected, "repaired", rep->repaired,
                                 "forgotten_chunks", (json_int_t)rep->forgotten, "moved_chunks",
                                 (json_int_t)rep->moved));
        return;
    }
    char bytes[16];
    strata_human_bytes(res->bytes, bytes);
    printf("%s: %llu packs, %llu chunks, %s checked; %llu damaged chunks, %llu missing, %llu bad objects, "
           "%llu files affected\n",
           damaged ? "DAMAGED" : "ok", (unsigned long long)res->packs, (unsigned long long)res->chunks, bytes,
           (unsigned long long)res->bad_chunks, (unsigned long long)res->missing_chunks,
           (unsigned long long)res->bad_objects, (unsigned long long)res->affected_files);
}

static void flush_hidden(report *rep) {
    if (rep->hidden)
        printf("  ... and %llu more files of version %s (verify --json names them all)\n",
               (unsigned long long)rep->hidden, rep->affected_version);
    rep->hidden = 0;
}

static void on_affected(void *ctx, const char *version, const repo_file *f, const uint8_t chunk[STRATA_HASH_LEN]) {
    report *rep = ctx;
    char hex[2 * STRATA_HASH_LEN + 1];
    strata_hex(chunk, STRATA_HASH_LEN, hex);
    if (rep->json) {
        json_array_append_new(rep->affected, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "version", version,
                                                       "node", f->node, "keyspace", f->keyspace, "table",
                                                       f->table, "path", f->rel_path, "chunk", hex));
        return;
    }
    if (strcmp(version, rep->affected_version)) {
        flush_hidden(rep);
        snprintf(rep->affected_version, sizeof rep->affected_version, "%s", version);
        rep->shown = 0;
    }
    if (rep->shown++ >= AFFECTED_SHOWN) {
        rep->hidden++;
        return;
    }
    /* as ls names files: a reconciled one (node "") as keyspace/table/path */
    printf("  affects version %s file %s%s%s/%s/%s (chunk %.16s)\n", version, f->node, *f->node ? "/" : "",
           f->keyspace, f->table, f->rel_path, hex);
}

int cmd_verify(const cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {{"repair", no_argument, NULL, 'R'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    report rep = {0};
    int repair = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'R': repair = 1; break;
        case 'J': rep.json = 1; break;
        case 'h': return help(), CLI_EXIT_OK;
        default: return cli_bad_option("verify", argv);
        }
    }
    if (optind < argc) return cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
    repo *r;
    int rc = cli_open_repo(g, "verify", repair ? REPO_WRITE : REPO_READ, &r);
    if (rc) return rc;
    uint64_t total = 0, packs = 0;
    repo_stored_bytes(r, &total, &packs);
    strata_progress *progress = strata_progress_new("verify", total);
    rep.damage = json_array();
    rep.affected = json_array();
    repo_verify_result res;
    strata_err e = repo_verify(r, progress, on_damage, on_affected, &rep, &res);
    strata_progress_done(progress);
    flush_hidden(&rep);
    rep.repaired = json_array();
    if (!e && repair) e = repair_damage(r, &rep, &res);
    uint64_t damaged = res.bad_chunks + res.missing_chunks + res.bad_objects;
    if (e)
        rc = cli_fail();
    else if (rep.json || !g->quiet || damaged)
        print_summary(&rep, &res, damaged);
    json_decref(rep.damage);
    json_decref(rep.affected);
    json_decref(rep.repaired);
    strata_buf_free(&rep.bad_chunks);
    for (size_t i = 0; i < rep.n_bad_versions; i++) free(rep.bad_versions[i]);
    free(rep.bad_versions);
    repo_close(r);
    if (!rc && damaged) rc = CLI_EXIT_DAMAGE;
    return rc;
}
