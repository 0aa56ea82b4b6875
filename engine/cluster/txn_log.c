/* txn_log.c - SSTables that Cassandra is still writing.
 *
 * Since 3.0 every flush or compaction writes its new SSTables under their
 * final names and records them in a transaction log in the same directory,
 * <ver>_txn_<operation>_<uuid>.log, one line per record:
 *
 *   ADD:[/var/lib/cassandra/data/ks/t-<id>/nb-5-big,0,8][2586637013]
 *   REMOVE:[/var/lib/cassandra/data/ks/t-<id>/nb-1-big,1456189154000,8][1413394585]
 *   COMMIT:[,0,0][2613697770]
 *
 * Until COMMIT the added SSTables are incomplete (still growing, TOC not
 * yet written) and the removed ones are still live; after COMMIT the
 * removed ones are obsolete, deleted before the log goes (or, after a
 * crash, when Cassandra starts: its LogAwareFileLister counts them as
 * temporary files).  Cassandra's own snapshot takes only live SSTables;
 * strata's does the same by leaving out the logs, every SSTable added by
 * a transaction without COMMIT and every SSTable removed by one with it. */
#include "engine/cluster/cluster_int.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int is_txn_log(const char *name) {
    return strstr(name, "_txn_") && strata_ends_with(name, ".log");
}

/* "ADD:[/path/nb-5-big,0,8][123]" with record "ADD" -> "nb-5-big", or
 * NULL for a line of another record. */
static char *record_sstable(const char *line, const char *record) {
    size_t n = strlen(record);
    if (strncasecmp(line, record, n) || strncmp(line + n, ":[", 2)) return NULL;
    const char *start = line + n + 2;
    const char *end = strstr(start, "][");
    if (!end) return NULL;
    char *path = xstrndup(start, (size_t)(end - start));
    for (int fields = 0; fields < 2; fields++) {
        char *comma = strrchr(path, ',');
        if (comma) *comma = 0;
    }
    const char *slash = strrchr(path, '/');
    char *base = xstrdup(slash ? slash + 1 : path);
    free(path);
    return base;
}

/* Reads one log: whether it is committed and the SSTables that are not
 * live (its ADD records until COMMIT, its REMOVE records after); returns
 * 0 or an errno value (ENOENT: it just ended). */
static int read_log(const char *path, int *committed, char ***not_live, size_t *n_not_live) {
    FILE *f = fopen(path, "r");
    if (!f) return errno;
    char line[4096];
    *committed = 0;
    char **added = NULL, **removed = NULL;
    size_t n_added = 0, n_removed = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncasecmp(line, "COMMIT:", 7)) *committed = 1;
        char *base = record_sstable(line, "ADD");
        if (base) {
            added = xrealloc(added, (n_added + 1) * sizeof *added);
            added[n_added++] = base;
        } else if ((base = record_sstable(line, "REMOVE"))) {
            removed = xrealloc(removed, (n_removed + 1) * sizeof *removed);
            removed[n_removed++] = base;
        }
    }
    char **drop = *committed ? added : removed;
    size_t n_drop = *committed ? n_added : n_removed;
    for (size_t i = 0; i < n_drop; i++) free(drop[i]);
    free(drop);
    *not_live = *committed ? removed : added;
    *n_not_live = *committed ? n_removed : n_added;
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    return err;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_log(cluster_txn_state *out, const char *name, off_t size, int committed, char **not_live,
                    size_t n_not_live) {
    char *entry = xasprintf("%s %lld %d", name, (long long)size, committed);
    out->logs = xrealloc(out->logs, (out->n_logs + 1) * sizeof *out->logs);
    out->logs[out->n_logs++] = entry;
    out->not_live = xrealloc(out->not_live, (out->n_not_live + n_not_live + 1) * sizeof *out->not_live);
    for (size_t i = 0; i < n_not_live; i++) out->not_live[out->n_not_live++] = not_live[i];
}

int cluster_txn_read(const char *dir, cluster_txn_state *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return errno;
    int err = 0;
    struct dirent *de;
    while (!err && (de = readdir(d))) {
        if (!is_txn_log(de->d_name)) continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        char **not_live = NULL;
        size_t n_not_live = 0;
        int committed = 0;
        int rc = stat(path, &st) ? errno : read_log(path, &committed, &not_live, &n_not_live);
        if (!rc) {
            add_log(out, de->d_name, st.st_size, committed, not_live, n_not_live);
        } else {
            if (rc != ENOENT) err = rc;
            for (size_t i = 0; i < n_not_live; i++) free(not_live[i]);
        }
        free(not_live);
        free(path);
    }
    closedir(d);
    if (out->n_logs) qsort(out->logs, out->n_logs, sizeof *out->logs, cmp_str);
    return err;
}

int cluster_txn_skip(const cluster_txn_state *t, const char *name) {
    if (is_txn_log(name)) return 1;
    for (size_t i = 0; i < t->n_not_live; i++) {
        size_t n = strlen(t->not_live[i]);
        if (!strncmp(name, t->not_live[i], n) && name[n] == '-') return 1;
    }
    return 0;
}

int cluster_txn_same(const cluster_txn_state *a, const cluster_txn_state *b) {
    if (a->n_logs != b->n_logs) return 0;
    for (size_t i = 0; i < a->n_logs; i++)
        if (strcmp(a->logs[i], b->logs[i])) return 0;
    return 1;
}

void cluster_txn_free(cluster_txn_state *t) {
    for (size_t i = 0; i < t->n_logs; i++) free(t->logs[i]);
    for (size_t i = 0; i < t->n_not_live; i++) free(t->not_live[i]);
    free(t->logs);
    free(t->not_live);
    memset(t, 0, sizeof *t);
}
