/* dir_names.c - the names in a table directory, none missed.
 *
 * readdir(3) may leave out a file renamed while the listing runs: POSIX
 * leaves it unspecified, and btrfs gives the new name a directory index
 * past the end the listing stops at.  Cassandra renames a new
 * Statistics.db over the old one whenever it marks an SSTable repaired or
 * moves it to another level, so a listing of a live node can miss a
 * component of a complete SSTable, and a backup would hold the SSTable
 * without it.  Each complete SSTable's TOC.txt names its components and a
 * rename never leaves a name absent: the components a listing missed are
 * looked up by name. */
#include "engine/cluster/cluster_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A TOC.txt is a dozen short lines; a larger file is no TOC. */
#define TOC_MAX 4096

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void push(cluster_names *out, char *s) {
    out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
    out->v[out->n++] = s;
}

static int listed(const cluster_names *names, const char *name) {
    return names->n && bsearch(&name, names->v, names->n, sizeof *names->v, cmp_name) != NULL;
}

/* The TOC's text, NUL-terminated; NULL when it is gone (compacted away
 * meanwhile) or is no TOC: then it names nothing to look for, and the
 * reader of its SSTable reports what is wrong with it. */
static char *read_toc(int dir_fd, const char *name) {
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char *text = xmalloc(TOC_MAX + 1);
    size_t got = 0;
    strata_err e = strata_pread_all(fd, text, TOC_MAX + 1, 0, &got);
    close(fd);
    if (e) strata_clear_error();
    if (e || got > TOC_MAX) {
        free(text);
        return NULL;
    }
    text[got] = 0;
    return text;
}

/* Appends to `found` the components TOC.txt `toc_name` names that `names`
 * lacks and that exist. */
static void find_unlisted(int dir_fd, const char *toc_name, const cluster_names *names, cluster_names *found) {
    char *text = read_toc(dir_fd, toc_name);
    if (!text) return;
    int prefix_len = (int)(strlen(toc_name) - strlen("TOC.txt"));
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *name = xasprintf("%.*s%s", prefix_len, toc_name, line);
        sstable_name sn;
        struct stat st;
        if (!sstable_name_parse(name, &sn) && !listed(names, name) && !listed(found, name) &&
            !fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
            push(found, name);
            qsort(found->v, found->n, sizeof *found->v, cmp_name);
        } else {
            free(name);
        }
    }
    free(text);
}

int cluster_dir_names(const char *dir, cluster_names *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return errno;
    struct dirent *de;
    while ((errno = 0, de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) push(out, xstrdup(de->d_name));
    int err = errno;
    if (!err && out->n) {
        qsort(out->v, out->n, sizeof *out->v, cmp_name);
        cluster_names found = {0};
        for (size_t i = 0; i < out->n; i++) {
            sstable_name sn;
            if (!sstable_name_parse(out->v[i], &sn) && !strcmp(sn.component, "TOC.txt"))
                find_unlisted(dirfd(d), out->v[i], out, &found);
        }
        for (size_t i = 0; i < found.n; i++) push(out, found.v[i]);
        free(found.v);
        if (found.n) qsort(out->v, out->n, sizeof *out->v, cmp_name);
    }
    closedir(d);
    if (err) cluster_names_free(out);
    return err;
}

void cluster_names_free(cluster_names *n) {
    for (size_t i = 0; i < n->n; i++) free(n->v[i]);
    free(n->v);
    memset(n, 0, sizeof *n);
}
