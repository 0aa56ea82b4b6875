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

/* An SSTable name "[.<index>/]<ver>-<gen>-<format>" split up. */
typedef struct {
    const repo_file *f;
    char dir[256];  /* ".users_name_idx/" or "" */
    char ver[16];
    char gen[80];
    char fmt[16];
    int numeric;
    unsigned long long gen_num;
} sst_entry;

static int split_sstable(const repo_file *f, sst_entry *s) {
    memset(s, 0, sizeof *s);
    s->f = f;
    const char *base = strrchr(f->sstable, '/');
    base = base ? base + 1 : f->sstable;
    size_t dir_len = (size_t)(base - f->sstable);
    const char *d1 = strchr(base, '-'), *d2 = strrchr(base, '-');
    size_t sst_len = strlen(f->sstable);
    if (!d1 || d1 == d2 || dir_len >= sizeof s->dir || (size_t)(d1 - base) >= sizeof s->ver ||
        (size_t)(d2 - d1 - 1) >= sizeof s->gen || strlen(d2 + 1) >= sizeof s->fmt ||
        strncmp(f->rel_path, f->sstable, sst_len) || f->rel_path[sst_len] != '-')
        return -1;
    memcpy(s->dir, f->sstable, dir_len);
    memcpy(s->ver, base, (size_t)(d1 - base));
    memcpy(s->gen, d1 + 1, (size_t)(d2 - d1 - 1));
    strcpy(s->fmt, d2 + 1);
    s->numeric = s->gen[0] != '\0';
    for (const char *p = s->gen; *p; p++) s->numeric &= isdigit((unsigned char)*p) != 0;
    if (s->numeric) s->gen_num = strtoull(s->gen, NULL, 10);
    return 0;
}

/* Directory first (renumbering restarts per directory), then node, then
 * generation: numeric ones in numeric order, UUID ones after them. */
static int cmp_entry(const void *pa, const void *pb) {
    const sst_entry *a = pa, *b = pb;
    int c = strcmp(a->f->keyspace, b->f->keyspace);
    if (!c) c = strcmp(a->f->table, b->f->table);
    if (!c) c = strcmp(a->dir, b->dir);
    if (!c) c = strcmp(a->f->node, b->f->node);
    if (!c && a->numeric != b->numeric) c = a->numeric ? -1 : 1;
    if (!c && a->numeric && a->gen_num != b->gen_num) c = a->gen_num < b->gen_num ? -1 : 1;
    if (!c) c = strcmp(a->f->sstable, b->f->sstable);
    return c;
}

static int same_dir(const sst_entry *a, const sst_entry *b) {
    return !strcmp(a->f->keyspace, b->f->keyspace) && !strcmp(a->f->table, b->f->table) &&
           !strcmp(a->dir, b->dir);
}

static int same_sstable(const sst_entry *a, const sst_entry *b) {
    return same_dir(a, b) && !strcmp(a->f->node, b->f->node) && !strcmp(a->f->sstable, b->f->sstable);
}

/* Adds one component under its new name to the table directory. */
static void place(fs_mount *m, fs_node *tdir, const sst_entry *s, const char *gen, int64_t mtime_ns) {
    const repo_file *f = s->f;
    const char *component = f->rel_path + strlen(f->sstable) + 1;
    char name[512];
    snprintf(name, sizeof name, "%s%s-%s-%s-%s", s->dir, s->ver, gen, s->fmt, component);
    if (!fs_dir_put_file(tdir, name, fs_content_intern(&m->contents, f), mtime_ns))
        strata_log(STRATA_LOG_WARN, "%s/%s/%s of node %s clashes with another file; not shown",
                   f->keyspace, f->table, name, f->node);
}

/* The directory <keyspace>/<table> of a version directory. */
static fs_node *table_dir(fs_node *vdir, const repo_file *f, int64_t mtime_ns) {
    fs_node *ks = fs_dir_make(vdir, f->keyspace, mtime_ns);
    return ks ? fs_dir_make(ks, f->table, mtime_ns) : NULL;
}

/* Whether the table of f has reconciled files in v (sorted: node "" first). */
static int is_reconciled(const repo_version *v, const repo_file *f) {
    for (size_t i = 0; i < v->n_files && !*v->files[i].node; i++)
        if (!strcmp(v->files[i].keyspace, f->keyspace) && !strcmp(v->files[i].table_id, f->table_id)) return 1;
    return 0;
}

/* The reconciled files, under their own names. */
static void place_reconciled(fs_mount *m, fs_node *vdir, const repo_version *v, int64_t mtime_ns) {
    for (size_t i = 0; i < v->n_files && !*v->files[i].node; i++) {
        const repo_file *f = &v->files[i];
        fs_node *tdir = table_dir(vdir, f, mtime_ns);
        if (tdir && !fs_dir_put_file(tdir, f->rel_path, fs_content_intern(&m->contents, f), mtime_ns))
            strata_log(STRATA_LOG_WARN, "version %s: %s/%s/%s is there twice (two table ids?); showing the first",
                       v->id, f->keyspace, f->table, f->rel_path);
    }
}

static strata_err fill_version(fs_mount *m, fs_node *vdir) {
    repo_version *v;
    strata_err e = repo_version_load(m->repo, vdir->name, &v);
    if (e) return e;
    int64_t mtime_ns = v->time_us * 1000;
    vdir->mtime_ns = mtime_ns;
    place_reconciled(m, vdir, v, mtime_ns);
    sst_entry *es = xmalloc((v->n_files ? v->n_files : 1) * sizeof *es);
    size_t n = 0;
    for (size_t i = 0; i < v->n_files; i++) {
        if (!*v->files[i].sstable || !*v->files[i].node || is_reconciled(v, &v->files[i])) continue;
        if (split_sstable(&v->files[i], &es[n]) == 0)
            n++;
        else
            strata_log(STRATA_LOG_WARN, "version %s: unrecognised SSTable name %s; not shown", v->id,
                       v->files[i].rel_path);
    }
    qsort(es, n, sizeof *es, cmp_entry);
    unsigned long long next_gen = 0;
    char gen[32];
    fs_node *tdir = NULL;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !same_dir(&es[i - 1], &es[i])) {
            next_gen = 0;
            tdir = table_dir(vdir, es[i].f, mtime_ns);
        }
        if (es[i].numeric && (i == 0 || !same_sstable(&es[i - 1], &es[i])))
            snprintf(gen, sizeof gen, "%llu", ++next_gen);
        if (tdir) place(m, tdir, &es[i], es[i].numeric ? gen : es[i].gen, mtime_ns);
    }
    free(es);
    repo_version_free(v);
    return STRATA_OK;
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
        fs_node *moved = fs_dir_set_link(dir, "latest", newest->id, newest->mtime_ns);
        if (moved) m->relinked = moved;
    }
    return STRATA_OK;
}

const fs_view fs_view_versions = {"versions", fill_top};
