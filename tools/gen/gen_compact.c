/* gen_compact.c - `nodetool compact` of one node, for the next version of
 * a data set.
 *
 * A major compaction replaces all SSTables of a table with one holding
 * their reconciliation, under a new generation: the backup then meets
 * merged data and files that vanished since the previous version.  The
 * merge is strata's own (engine/merge) with the node's schema, nothing
 * purged, written as Cassandra's compaction writes (nb, LZ4 in 16 KiB
 * chunks, a trailing empty chunk, the node's host id). */
#include "tools/gen/gen.h"

#include <dirent.h>
#include <string.h>

#include "engine/merge/merge.h"
#include "engine/writer/writer.h"

static strata_err compact_table(const char *dir, const merge_table *table) {
    long *gens;
    size_t n = gen_generations(dir, &gens);
    if (n < 2) {
        free(gens);
        return STRATA_OK;
    }
    char **paths = xmalloc(n * sizeof *paths);
    for (size_t i = 0; i < n; i++) paths[i] = xasprintf("%s/nb-%ld-big-Data.db", dir, gens[i]);
    merge *m = NULL;
    sstable_writer *w = NULL;
    sstable *first = NULL;
    uint64_t partitions;
    strata_err e = merge_open((const char *const *)paths, n, table, &m);
    if (!e) e = sstable_open(paths[0], &first);
    if (!e) {
        const sstable_meta *meta = sstable_get_meta(first);
        sstable_writer_params p = {.dir = dir, .version = "nb", .generation = gens[n - 1] + 1,
                                   .compressor = "LZ4Compressor", .trailing_empty_chunk = 1,
                                   .has_host_id = meta->has_host_id};
        merge_writer_params(m, &p);
        memcpy(p.host_id, meta->host_id, 16);
        e = sstable_writer_open(&p, &w);
    }
    if (!e) e = merge_write(m, w, &partitions);
    if (w) {
        if (e) sstable_writer_abort(w);
        else e = sstable_writer_finish(w);
    }
    sstable_close(first);
    merge_close(m);
    for (size_t i = 0; i < n; i++) {
        if (!e) gen_sstable_remove(dir, gens[i]);
        free(paths[i]);
    }
    free(paths);
    free(gens);
    return e;
}

strata_err gen_cluster_compact(const char *dir, const char *node) {
    char *ks = xasprintf("%s/%s/" GEN_KEYSPACE, dir, node), *schema_dir = xasprintf("%s/%s/system_schema", dir, node);
    merge_schema *schema = NULL;
    strata_err e = merge_schema_read((const char *const *)&schema_dir, 1, GEN_KEYSPACE, &schema);
    DIR *d = e ? NULL : opendir(ks);
    if (!e && !d) e = strata_fail(STRATA_ENOENT, "%s: no such keyspace directory", ks);
    struct dirent *de;
    while (!e && (de = readdir(d))) {
        char *dash = strrchr(de->d_name, '-');
        if (de->d_name[0] == '.' || !dash) continue;
        char *name = xstrndup(de->d_name, (size_t)(dash - de->d_name)), *tdir = xasprintf("%s/%s", ks, de->d_name);
        e = compact_table(tdir, merge_schema_table(schema, name));
        free(name), free(tdir);
    }
    if (d) closedir(d);
    merge_schema_free(schema);
    free(ks), free(schema_dir);
    return e;
}
