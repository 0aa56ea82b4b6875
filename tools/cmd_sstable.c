/* cmd_sstable.c - `strata sstable dump|meta PATH`: look inside one SSTable.
 *
 * dump prints the content as JSON shaped like Cassandra's sstabledump (one
 * object per partition with its rows, cells and tombstones; timestamps in
 * microseconds), streaming partition by partition so memory stays bounded.
 * meta prints what sstablemetadata prints: Statistics.db, compression and
 * the serialization header. */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "engine/sstable/sstable.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata sstable dump [-k KEY] PATH\n"
           "       strata sstable meta PATH\n"
           "       strata sstable merge [...] PATH...          (see 'strata sstable merge --help')\n"
           "       strata sstable rewrite PATH OUTDIR [...]    (see 'strata sstable rewrite --help')\n"
           "\n"
           "PATH is any component file of an SSTable (…/nb-1-big-Data.db), its prefix,\n"
           "a directory holding one SSTable, or DIR/GENERATION.\n"
           "\n"
           "dump    the partitions as JSON, in file order (-k, --key KEY: only the\n"
           "        partition whose key is KEY, given as hex, found through Summary.db\n"
           "        and Index.db)\n"
           "meta    the metadata as JSON: versions, timestamps, TTLs, compression,\n"
           "        partitioner and the serialization header (schema)\n"
           "\n"
           "Every chunk checksum is verified while reading, and a whole dump checks\n"
           "Digest.crc32 too; a damaged SSTable stops the command with the file and\n"
           "offset of the damage.\n"
           "\n"
           "examples:\n"
           "  strata sstable dump /var/lib/cassandra/data/app/users-<id>/nb-1-big-Data.db\n"
           "  strata sstable dump -k 5a1e3f0c8b7d4e2a9c6b1d0e2f3a4b5c /var/lib/cassandra/data/app/users-<id>/nb-1-big\n"
           "  strata sstable meta /var/lib/cassandra/data/app/users-<id>/nb-1-big-Data.db\n");
}

static json_t *deletion_json(const sstable_deletion *d) {
    return json_pack("{s:I, s:I}", "marked_deleted", (json_int_t)d->marked_for_delete_at, "local_delete_time",
                     (json_int_t)d->local_deletion_time);
}

static json_t *clustering_json(const sstable_header *h, const sstable_unfiltered *u) {
    json_t *a = json_array();
    for (size_t i = 0; i < u->nclustering; i++)
        json_array_append_new(a, sstable_value_json(h->clustering[i], u->clustering[i].p, u->clustering[i].len));
    return a;
}

/* List cells are keyed by a timeuuid. */
static const sstable_type list_path_type = {.kind = SSTABLE_T_TIMEUUID, .fixed_len = 16};

/* The type of a cell's value and of its path, from its column's type. */
static void cell_types(const sstable_cell *c, const sstable_type **value, const sstable_type **path,
                       const char **field) {
    const sstable_type *t = c->column->type;
    *value = t, *path = NULL, *field = NULL;
    if (!t->multicell) return;
    switch (t->kind) {
    case SSTABLE_T_LIST: *path = &list_path_type, *value = t->params[0]; break;
    case SSTABLE_T_SET: *path = t->params[0], *value = NULL; break;
    case SSTABLE_T_MAP: *path = t->params[0], *value = t->params[1]; break;
    case SSTABLE_T_UDT:
        if (c->path.len == 2) {
            size_t idx = (size_t)c->path.p[0] << 8 | c->path.p[1];
            if (idx < t->nparams) *value = t->params[idx], *field = t->field_names[idx];
        }
        break;
    default: break;
    }
}

static json_t *cell_json(const sstable_cell *c) {
    const sstable_type *vt, *pt;
    const char *field;
    cell_types(c, &vt, &pt, &field);
    json_t *j = json_pack("{s:s}", "name", c->column->name);
    if (c->path.p) {
        json_t *path;
        if (field) path = json_string(field);
        else if (pt) path = sstable_value_json(pt, c->path.p, c->path.len);
        else path = sstable_value_json(&(sstable_type){.kind = SSTABLE_T_BLOB, .fixed_len = -1}, c->path.p, c->path.len);
        json_object_set_new(j, "path", json_pack("[o]", path));
    }
    if (c->deleted) {
        json_object_set_new(j, "deletion_info", json_pack("{s:I}", "local_delete_time", (json_int_t)c->local_deletion_time));
    } else if (vt && (c->value.len || (c->column->type->kind != SSTABLE_T_SET || !c->column->type->multicell))) {
        json_object_set_new(j, "value", sstable_value_json(vt, c->value.p, c->value.len));
    }
    json_object_set_new(j, "tstamp", json_integer(c->timestamp));
    if (c->expiring) {
        json_object_set_new(j, "ttl", json_integer(c->ttl));
        json_object_set_new(j, "expires_at", json_integer(c->local_deletion_time));
        if (c->local_deletion_time < 0) json_object_set_new(j, "expiry_overflowed", json_true());
    }
    return j;
}

static const char *bound_name(sstable_bound_kind k, int start) {
    switch (k) {
    case SSTABLE_INCL_START_BOUND: case SSTABLE_INCL_END_BOUND: return "inclusive";
    case SSTABLE_EXCL_START_BOUND: case SSTABLE_EXCL_END_BOUND: return "exclusive";
    case SSTABLE_EXCL_END_INCL_START_BOUNDARY: return start ? "inclusive" : "exclusive";
    case SSTABLE_INCL_END_EXCL_START_BOUNDARY: return start ? "exclusive" : "inclusive";
    default: return "?";
    }
}

static json_t *unfiltered_json(const sstable_header *h, const sstable_unfiltered *u) {
    if (u->kind == SSTABLE_RT_BOUND || u->kind == SSTABLE_RT_BOUNDARY) {
        int is_start = u->bound_kind == SSTABLE_INCL_START_BOUND || u->bound_kind == SSTABLE_EXCL_START_BOUND;
        json_t *j = json_pack("{s:s, s:I}", "type", u->kind == SSTABLE_RT_BOUND ? "range_tombstone_bound"
                                                                                : "range_tombstone_boundary",
                              "position", (json_int_t)u->offset);
        if (u->kind == SSTABLE_RT_BOUNDARY) {
            json_object_set_new(j, "end", json_pack("{s:s, s:o, s:o}", "type", bound_name(u->bound_kind, 0),
                                                    "clustering", clustering_json(h, u), "deletion_info",
                                                    deletion_json(&u->end_deletion)));
            json_object_set_new(j, "start", json_pack("{s:s, s:o, s:o}", "type", bound_name(u->bound_kind, 1),
                                                      "clustering", clustering_json(h, u), "deletion_info",
                                                      deletion_json(&u->deletion)));
        } else {
            json_object_set_new(j, is_start ? "start" : "end",
                                json_pack("{s:s, s:o, s:o}", "type", bound_name(u->bound_kind, is_start),
                                          "clustering", clustering_json(h, u), "deletion_info",
                                          deletion_json(&u->deletion)));
        }
        return j;
    }
    json_t *j = json_pack("{s:s, s:I}", "type", u->kind == SSTABLE_STATIC_ROW ? "static_block" : "row",
                          "position", (json_int_t)u->offset);
    if (u->kind == SSTABLE_ROW) json_object_set_new(j, "clustering", clustering_json(h, u));
    if (u->has_liveness) {
        json_t *l = json_pack("{s:I}", "tstamp", (json_int_t)u->timestamp);
        if (u->ttl) {
            json_object_set_new(l, "ttl", json_integer(u->ttl));
            json_object_set_new(l, "expires_at", json_integer(u->local_expiration));
        }
        json_object_set_new(j, "liveness_info", l);
    }
    if (!sstable_deletion_is_live(&u->row_deletion)) {
        json_t *d = deletion_json(&u->row_deletion);
        if (u->shadowable) json_object_set_new(d, "shadowable", json_true());
        json_object_set_new(j, "deletion_info", d);
    }
    json_t *cells = json_array();
    for (size_t i = 0; i < u->ncomplex_deletions; i++) {
        const sstable_complex_deletion *cd = &u->complex_deletions[i];
        const sstable_column *col = u->kind == SSTABLE_STATIC_ROW ? &h->statics[cd->column_index]
                                                                  : &h->regulars[cd->column_index];
        json_array_append_new(cells, json_pack("{s:s, s:o}", "name", col->name, "deletion_info",
                                               deletion_json(&cd->deletion)));
    }
    for (size_t i = 0; i < u->ncells; i++) json_array_append_new(cells, cell_json(&u->cells[i]));
    json_object_set_new(j, "cells", cells);
    return j;
}

static json_t *partition_json(const sstable *s, const sstable_partition *p) {
    const sstable_header *h = sstable_get_header(s);
    sstable_value parts[64];
    int n = sstable_key_split(h->key_type, p->key, p->key_len, parts, 64);
    json_t *key = json_array();
    for (int i = 0; i < n; i++) {
        const sstable_type *t = h->key_type->kind == SSTABLE_T_COMPOSITE
                                    ? (size_t)i < h->key_type->nparams ? h->key_type->params[i] : NULL
                                    : h->key_type;
        if (t) json_array_append_new(key, sstable_value_json(t, parts[i].p, parts[i].len));
    }
    json_t *j = json_pack("{s:o, s:I}", "key", key, "position", (json_int_t)p->offset);
    if (sstable_is_murmur3(s)) json_object_set_new(j, "token", json_integer(p->token));
    if (!sstable_deletion_is_live(&p->deletion)) json_object_set_new(j, "deletion_info", deletion_json(&p->deletion));
    return j;
}

static void print_compact(json_t *j, const char *indent) {
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    printf("%s%s", indent, s ? s : "null");
    free(s);
    json_decref(j);
}

/* Prints one partition; the partition is positioned by the caller. */
static strata_err dump_partition(sstable *s, const sstable_partition *p) {
    const sstable_header *h = sstable_get_header(s);
    printf("  {\n    \"partition\" : ");
    print_compact(partition_json(s, p), "");
    printf(",\n    \"rows\" : [");
    const sstable_unfiltered *u;
    strata_err e;
    int first = 1;
    while (!(e = sstable_next_unfiltered(s, &u)) && u) {
        if (u->kind == SSTABLE_STATIC_ROW && !u->ncells && !u->ncomplex_deletions && !u->has_liveness) continue;
        printf(first ? "\n" : ",\n");
        print_compact(unfiltered_json(h, u), "      ");
        first = 0;
    }
    printf("%s]\n  }", first ? "" : "\n    ");
    return e;
}

static int dump(const char *path, const char *hexkey) {
    size_t n = hexkey ? strlen(hexkey) / 2 : 0;
    uint8_t *key = xmalloc(n + 1);
    if (hexkey && (strlen(hexkey) % 2 || strata_unhex(hexkey, key, n))) {
        free(key);
        return cli_usage_error("sstable", "-k wants the partition key in hex");
    }
    sstable *s;
    if (sstable_open(path, &s)) return free(key), cli_fail();
    strata_err e = STRATA_OK;
    const sstable_partition *p;
    printf("[\n");
    if (hexkey) {
        int found = 0;
        if (!(e = sstable_seek(s, key, n, &found)) && found && !(e = sstable_next_partition(s, &p)) && p)
            e = dump_partition(s, p);
    } else {
        int first = 1;
        while (!(e = sstable_next_partition(s, &p)) && p) {
            if (!first) printf(",\n");
            first = 0;
            if ((e = dump_partition(s, p))) break;
        }
    }
    free(key);
    printf("\n]\n");
    fflush(stdout);
    /* a whole dump also vouches for the file as Cassandra wrote it */
    if (!e && !hexkey && access(sstable_component_path(s, "Digest.crc32"), F_OK) == 0) e = sstable_verify_digest(s);
    sstable_close(s);
    return e ? cli_fail() : CLI_EXIT_OK;
}

static json_t *columns_json(const sstable_column *cols, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char *cql = sstable_type_cql(cols[i].type);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", cols[i].name, "type", cql, "class",
                                           cols[i].type->name));
        free(cql);
    }
    return a;
}

static json_t *uuid_or_null(int has, const uint8_t id[16]) {
    if (!has) return json_null();
    char hex[33], s[40];
    strata_hex(id, 16, hex);
    snprintf(s, sizeof s, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return json_string(s);
}

static int meta(const char *path) {
    sstable *s;
    if (sstable_open(path, &s)) return cli_fail();
    const sstable_meta *m = sstable_get_meta(s);
    const sstable_header *h = sstable_get_header(s);
    json_t *clustering = json_array();
    for (size_t i = 0; i < h->nclustering; i++) {
        char *cql = sstable_type_cql(h->clustering[i]);
        json_array_append_new(clustering, json_pack("{s:s, s:b}", "type", cql, "reversed", h->clustering[i]->reversed));
        free(cql);
    }
    char *key_cql = sstable_type_cql(h->key_type);
    json_t *components = json_array();
    for (size_t i = 0; i < m->ncomponents; i++) json_array_append_new(components, json_string(m->components[i]));
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:s?, s:f, s:{s:I, s:I, s:I, s:I, s:i, s:i}, s:f, s:i, s:I, s:I, s:I, s:b, s:b, s:o, s:o,"
        " s:I, s:b, s:{s:s?, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:s, s:s, s:o, s:o, s:o}, s:o}",
        "version", m->version, "format", m->bti ? "bti" : "big", "generation", (json_int_t)m->generation,
        "partitioner", m->partitioner, "bloom_filter_fp_chance", m->bloom_fp_chance,
        "stats", "min_timestamp", (json_int_t)m->min_timestamp, "max_timestamp", (json_int_t)m->max_timestamp,
        "min_local_deletion_time", (json_int_t)m->min_local_deletion_time, "max_local_deletion_time",
        (json_int_t)m->max_local_deletion_time, "min_ttl", m->min_ttl, "max_ttl", m->max_ttl,
        "compression_ratio", m->compression_ratio, "sstable_level", m->sstable_level,
        "repaired_at", (json_int_t)m->repaired_at, "total_columns_set", (json_int_t)m->total_columns_set,
        "total_rows", (json_int_t)m->total_rows, "has_legacy_counter_shards", m->has_legacy_counter_shards,
        "is_transient", m->is_transient, "pending_repair", uuid_or_null(m->has_pending_repair, m->pending_repair),
        "originating_host_id", uuid_or_null(m->has_host_id, m->host_id),
        "estimated_partitions", (json_int_t)m->estimated_partitions, "stats_complete", m->stats_complete,
        "compression", "compressor", m->compressor, "chunk_length", (json_int_t)m->chunk_length, "chunks",
        (json_int_t)m->chunk_count, "data_length", (json_int_t)m->data_length, "data_file_size",
        (json_int_t)m->data_file_size,
        "header", "min_timestamp", (json_int_t)h->min_timestamp, "min_local_deletion_time",
        (json_int_t)h->min_local_deletion_time, "min_ttl", (json_int_t)h->min_ttl, "partition_key", key_cql,
        "partition_key_class", h->key_type->name, "clustering", clustering, "static_columns",
        columns_json(h->statics, h->nstatic), "regular_columns", columns_json(h->regulars, h->nregular),
        "components", components);
    free(key_cql);
    sstable_close(s);
    if (!j) return strata_fail(STRATA_EINVAL, "cannot format metadata"), cli_fail();
    cli_print_json(j);
    return CLI_EXIT_OK;
}

int cmd_sstable(const cli_globals *g, int argc, char **argv) {
    /* merge and rewrite parse their own options (and --help). */
    if (argc >= 2 && !strcmp(argv[1], "merge")) return cmd_sstable_merge(g, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "rewrite")) return cmd_sstable_rewrite(g, argc - 1, argv + 1);
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) return help(), CLI_EXIT_OK;
    if (argc < 2) return cli_usage_error("sstable", "expected dump, meta, merge or rewrite");
    const char *sub = argv[1];
    if (strcmp(sub, "dump") && strcmp(sub, "meta"))
        return cli_usage_error("sstable", "unknown subcommand '%s' (dump, meta, merge, rewrite)", sub);
    const char *key = NULL;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "k:h", opts, NULL)) != -1) {
        if (c == 'k') key = optarg;
        else return cli_bad_option("sstable", argv + 1);
    }
    if (optind + 1 != argc - 1) return cli_usage_error("sstable", "expected one PATH");
    const char *path = argv[optind + 1];
    if (!strcmp(sub, "dump")) return dump(path, key);
    if (key) return cli_usage_error("sstable", "-k applies to dump only");
    return meta(path);
}
