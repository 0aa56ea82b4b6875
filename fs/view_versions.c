/* view_versions.c - /versions/<version>/<keyspace>/<table>/: a table's
 * SSTables in one directory.
 *
 * A reconciled table shows its layers (SSTables of the whole cluster,
 * numbered by the backup so that none collide) and the schema.cql that
 * recreates it, under their stored names.  A table stored as the nodes'
 * files shows every node's SSTables.  Nodes number their SSTables independently, so node1's nb-5-big and
 * node2's nb-5-big would collide.  The view renumbers numeric generations
 * 1..N per directory (table directory, and each .<index>/ directory on its
 * own), in a stable order: by node, then original generation.  All
 * components of one SSTable get the same new number, and the format
 * version and big/bti parts stay, so the directory can be copied as a whole
 * into one node's table directory or handed to sstableloader.  Time-UUID
 * generations are unique across nodes already and keep their names.
 * Non-SSTable files (manifest.json, schema.cql) exist once per node and
 * would collide here; they are shown under /nodes only. */
#include "fs/mount_int.h"

#include <ctype.h>
#include <string.h>

/* A component of a node's SSTable "[.<index>/]<ver>-<gen>-<format>", split
 * up in place, with what orders it among the components of its directory.
 * A version has hundreds of files per table and a listing of a thousand
 * versions fills each: the order is kept to integers and pointers where
 * it can be. */
typedef struct {
    const repo_file *f;
    fs_node *tdir;       /* its <keyspace>/<table> directory */
    size_t dir_len;      /* of the ".<index>/" that starts f->sstable, 0 if none */
    uint32_t node;       /* rank of f->node (a version's files come sorted by node) */
    size_t ver_len;      /* f->sstable + dir_len: "nb" */
    const char *gen;     /* "5", or a time UUID */
    size_t gen_len;
    const char *fmt;     /* "big": the rest of f->sstable */
    int numeric;
    unsigned long long gen_num;
} sst_entry;

static int split_sstable(const repo_file *f, sst_entry *s) {
    const char *base = strrchr(f->sstable, '/');
    base = base ? base + 1 : f->sstable;
    const char *d1 = strchr(base, '-'), *d2 = strrchr(base, '-');
    size_t sst_len = strlen(f->sstable);
    if (!d1 || d1 == d2 || strncmp(f->rel_path, f->sstable, sst_len) || f->rel_path[sst_len] != '-') return -1;
    s->f = f;
    s->dir_len = (size_t)(base - f->sstable);
    s->ver_len = (size_t)(d1 - base);
    s->gen = d1 + 1;
    s->gen_len = (size_t)(d2 - d1 - 1);
    s->fmt = d2 + 1;
    s->numeric = s->gen_len > 0;
    for (size_t i = 0; i < s->gen_len; i++) s->numeric &= isdigit((unsigned char)s->gen[i]) != 0;
    s->gen_num = s->numeric ? strtoull(s->gen, NULL, 10) : 0;
    return 0;
}

static int cmp_index_dir(const sst_entry *a, const sst_entry *b) {
    size_t n = a->dir_len < b->dir_len ? a->dir_len : b->dir_len;
    int c = memcmp(a->f->sstable, b->f->sstable, n);
    return c ? c : (a->dir_len > b->dir_len) - (a->dir_len < b->dir_len);
}

/* Directory first (renumbering restarts per directory; directories in any
 * fixed order), then node, then generation: numeric ones in numeric
 * order, UUID ones after them; the components of one SSTable together. */
static int cmp_entry(const void *pa, const void *pb) {
    const sst_entry *a = pa, *b = pb;
    if (a->tdir != b->tdir) return (uintptr_t)a->tdir < (uintptr_t)b->tdir ? -1 : 1;
    int c = cmp_index_dir(a, b);
    if (c) return c;
    if (a->node != b->node) return a->node < b->node ? -1 : 1;
    if (a->numeric != b->numeric) return a->numeric ? -1 : 1;
    if (a->numeric && a->gen_num != b->gen_num) return a->gen_num < b->gen_num ? -1 : 1;
    return strcmp(a->f->sstable, b->f->sstable);
}

static int same_dir(const sst_entry *a, const sst_entry *b) {
    return a->tdir == b->tdir && !cmp_index_dir(a, b);
}

static int same_sstable(const sst_entry *a, const sst_entry *b) {
    return same_dir(a, b) && a->node == b->node && !strcmp(a->f->sstable, b->f->sstable);
}

/* Adds one component under its new name "<ver>-<gen>-<format>-<component>"
 * to its directory. */
static void place(fs_mount *m, fs_node *dir, const sst_entry *s, const char *gen, size_t gen_len,
                  int64_t mtime_ns) {
    const repo_file *f = s->f;
    const char *ver = f->sstable + s->dir_len;
    const char *component = f->rel_path + strlen(f->sstable) + 1;
    size_t fmt_len = strlen(s->fmt), comp_len = strlen(component);
    char name[256]; /* a file name's limit on Linux */
    if (s->ver_len + gen_len + fmt_len + comp_len + 4 > sizeof name) {
        strata_log(STRATA_LOG_WARN, "%s/%s/%s of node %s: its new name is too long; not shown", f->keyspace,
                   f->table, f->rel_path, f->node);
        return;
    }
    char *p = name;
    memcpy(p, ver, s->ver_len);
    p += s->ver_len;
    *p++ = '-';
    memcpy(p, gen, gen_len);
    p += gen_len;
    *p++ = '-';
    memcpy(p, s->fmt, fmt_len);
    p += fmt_len;
    *p++ = '-';
    memcpy(p, component, comp_len + 1);
    if (!fs_dir_put_file(dir, name, fs_mount_content(m, f), mtime_ns))
        strata_log(STRATA_LOG_WARN, "%s/%s/%.*s%s of node %s clashes with another file; not shown", f->keyspace,
                   f->table, (int)s->dir_len, f->sstable, name, f->node);
}

/* The directory <keyspace>/<table> of a version directory. */
static fs_node *table_dir(fs_node *vdir, const repo_file *f, int64_t mtime_ns) {
    fs_node *ks = fs_dir_make(vdir, f->keyspace, mtime_ns);
    return ks ? fs_dir_make(ks, f->table, mtime_ns) : NULL;
}

/* Whether the table of f has reconciled files in v (sorted: node "" first). */
static int is_reconciled(const repo_version_files *v, const repo_file *f) {
    for (size_t i = 0; i < v->n_files && !*v->files[i].node; i++)
        if (!strcmp(v->files[i].keyspace, f->keyspace) && !strcmp(v->files[i].table_id, f->table_id)) return 1;
    return 0;
}

/* The reconciled files, under their own names. */
static void place_reconciled(fs_mount *m, fs_node *vdir, const char *id, const repo_version_files *v,
                             int64_t mtime_ns) {
    for (size_t i = 0; i < v->n_files && !*v->files[i].node; i++) {
        const repo_file *f = &v->files[i];
        fs_node *tdir = table_dir(vdir, f, mtime_ns);
        if (tdir && !fs_dir_put_file(tdir, f->rel_path, fs_mount_content(m, f), mtime_ns))
            strata_log(STRATA_LOG_WARN, "version %s: %s/%s/%s is there twice (two table ids?); showing the first",
                       id, f->keyspace, f->table, f->rel_path);
    }
}

/* The directory the components of an entry go to: its table directory
 * or the .<index> directory in it. */
static fs_node *entry_dir(const sst_entry *s, int64_t mtime_ns) {
    if (!s->dir_len) return s->tdir;
    char name[256];
    if (s->dir_len > sizeof name) return NULL;
    memcpy(name, s->f->sstable, s->dir_len - 1);
    name[s->dir_len - 1] = '\0';
    return fs_dir_make(s->tdir, name, mtime_ns);
}

/* The node files: every node's SSTables of a table in its directory,
 * generations renumbered. */
static void place_node_files(fs_mount *m, fs_node *vdir, const char *id, const repo_version_files *v,
                             int64_t mtime_ns) {
    sst_entry *es = xmalloc((v->n_files ? v->n_files : 1) * sizeof *es);
    size_t n = 0;
    const repo_file *prev = NULL;
    fs_node *tdir = NULL;
    uint32_t node = 0;
    for (size_t i = 0; i < v->n_files; i++) {
        const repo_file *f = &v->files[i];
        if (!*f->sstable || !*f->node || is_reconciled(v, f)) continue;
        if (split_sstable(f, &es[n])) {
            strata_log(STRATA_LOG_WARN, "version %s: unrecognised SSTable name %s; not shown", id, f->rel_path);
            continue;
        }
        if (prev && strcmp(prev->node, f->node)) node++;
        if (!prev || strcmp(prev->keyspace, f->keyspace) || strcmp(prev->table, f->table))
            tdir = table_dir(vdir, f, mtime_ns);
        prev = f;
        if (!tdir) continue;
        es[n].tdir = tdir;
        es[n].node = node;
        n++;
    }
    qsort(es, n, sizeof *es, cmp_entry);
    unsigned long long next_gen = 0;
    char gen[24];
    size_t gen_len = 0;
    fs_node *dir = NULL;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !same_dir(&es[i - 1], &es[i])) {
            next_gen = 0;
            dir = entry_dir(&es[i], mtime_ns);
        }
        if (es[i].numeric && (i == 0 || !same_sstable(&es[i - 1], &es[i])))
            gen_len = (size_t)snprintf(gen, sizeof gen, "%llu", ++next_gen);
        if (!dir) continue;
        if (es[i].numeric)
            place(m, dir, &es[i], gen, gen_len, mtime_ns);
        else
            place(m, dir, &es[i], es[i].gen, es[i].gen_len, mtime_ns);
    }
    free(es);
}

/* A version's tree, built without the mount lock: loading and placing
 * hundreds of files takes long enough to hold up every other request. */
static strata_err build_version(fs_mount *m, const fs_node *vdir, fs_node *into) {
    repo_version_files v;
    strata_err e = repo_version_load_files(m->repo, vdir->name, &v);
    if (e) return e;
    int64_t mtime_ns = v.time_us * 1000;
    into->mtime_ns = mtime_ns;
    place_reconciled(m, into, vdir->name, &v, mtime_ns);
    place_node_files(m, into, vdir->name, &v, mtime_ns);
    repo_version_files_free(&v);
    return STRATA_OK;
}

static strata_err fill_version(fs_mount *m, fs_node *vdir) {
    return fs_dir_build_unlocked(m, vdir, build_version);
}

static strata_err fill_top(fs_mount *m, fs_node *dir) {
    strata_err e = fs_versions_refresh(m);
    if (e) return e;
    for (size_t i = 0; i < m->versions.n; i++) {
        const fs_version_info *vi = &m->versions.v[i];
        if (fs_dir_find(dir, vi->id)) continue;
        fs_node *vdir = fs_dir_make(dir, vi->id, vi->mtime_ns);
        if (!vdir) continue;
        vdir->fill = fill_version;
        vdir->filled = 0;
        dir->mtime_ns = vi->mtime_ns;
    }
    if (m->versions.n) {
        const fs_version_info *newest = &m->versions.v[m->versions.n - 1];
        fs_dir_set_link(dir, "latest", newest->id, newest->mtime_ns);
    }
    return STRATA_OK;
}

const fs_view fs_view_versions = {"versions", fill_top};
