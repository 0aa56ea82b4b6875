/* gen_tables.c - the workload's two tables as serialization headers.
 *
 * The generator writes SSTables of keyspace gen without a Cassandra to
 * derive their headers from, so the headers are assembled here from the
 * type class names Cassandra stores, columns in its serialization order
 * (simple columns, then complex ones, each by name). */
#include "tools/gen/gen.h"

#include <string.h>

#define M "org.apache.cassandra.db.marshal."

static sstable_type *type(const char *name) {
    sstable_type *t = sstable_type_parse(name);
    if (!t) {
        fprintf(stderr, "strata-gen-cluster: type %s: %s\n", name, strata_errmsg());
        abort();
    }
    return t;
}

static void columns(sstable_column **out, size_t *n, const char *const *pairs) {
    for (*n = 0; pairs[2 * *n]; (*n)++) {}
    *out = xcalloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) (*out)[i] = (sstable_column){xstrdup(pairs[2 * i]), type(pairs[2 * i + 1])};
}

void gen_header_init(sstable_header *h, const char *key, const char *const *clustering, const char *const *statics,
                     const char *const *regulars) {
    *h = (sstable_header){0};
    h->key_type = type(key);
    for (h->nclustering = 0; clustering[h->nclustering]; h->nclustering++) {}
    h->clustering = xcalloc(h->nclustering ? h->nclustering : 1, sizeof *h->clustering);
    for (size_t i = 0; i < h->nclustering; i++) h->clustering[i] = type(clustering[i]);
    columns(&h->statics, &h->nstatic, statics);
    columns(&h->regulars, &h->nregular, regulars);
}

void gen_header_free(sstable_header *h) {
    sstable_type_free(h->key_type);
    for (size_t i = 0; i < h->nclustering; i++) sstable_type_free(h->clustering[i]);
    for (size_t i = 0; i < h->nstatic; i++) free(h->statics[i].name), sstable_type_free(h->statics[i].type);
    for (size_t i = 0; i < h->nregular; i++) free(h->regulars[i].name), sstable_type_free(h->regulars[i].type);
    free(h->clustering), free(h->statics), free(h->regulars);
    *h = (sstable_header){0};
}

void gen_tables_init(gen_table tables[GEN_NTABLES], uint64_t seed) {
    static const char *const none[] = {NULL};
    static const char *const r_clustering[] = {M "TimestampType", M "Int32Type", NULL};
    static const char *const r_static[] = {"location", M "UTF8Type", NULL};
    static const char *const r_regular[] = {"note", M "UTF8Type", "payload", M "BytesType", "value", M "DoubleType",
                                            "tags", M "MapType(" M "UTF8Type," M "UTF8Type)", NULL};
    static const char *const u_regular[] = {"active", M "BooleanType", "age", M "Int32Type", "email", M "UTF8Type",
                                            "name", M "UTF8Type", "score", M "LongType",
                                            "prefs", M "MapType(" M "UTF8Type," M "Int32Type)",
                                            "recent", M "ListType(" M "Int32Type)", NULL};
    tables[GEN_READINGS].name = "readings";
    gen_header_init(&tables[GEN_READINGS].header, M "CompositeType(" M "UTF8Type," M "SimpleDateType)", r_clustering,
                    r_static, r_regular);
    tables[GEN_USERS].name = "users";
    gen_header_init(&tables[GEN_USERS].header, M "UUIDType", none, none, u_regular);
    /* ids as CREATE TABLE makes them: time-based, a second apart */
    for (int t = 0; t < GEN_NTABLES; t++)
        gen_timeuuid(tables[t].id, GEN_SCHEMA_US + t * 1000000, gen_hash(seed, 0x7ab1e, 0));
}

void gen_tables_free(gen_table tables[GEN_NTABLES]) {
    for (int t = 0; t < GEN_NTABLES; t++) gen_header_free(&tables[t].header);
}

char *gen_table_dir(const char *dir, const char *node, const gen_table *t) {
    char hex[33];
    strata_hex(t->id, 16, hex);
    return xasprintf("%s/%s/" GEN_KEYSPACE "/%s-%s", dir, node, t->name, hex);
}
