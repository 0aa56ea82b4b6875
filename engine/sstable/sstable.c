/* sstable.c - opening an SSTable: naming its components, reading its
 * metadata, and the public iteration entry points.
 *
 * Components share a prefix "<dir>/<version>-<generation>-<big|bti>-"; the
 * version letters decide every format difference, so they are parsed first
 * and an unknown or pre-3.0 version is refused before anything is read. */
#include "engine/sstable/sstable_int.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Splits "<ver>-<gen>-<fmt>-..." (a file name); returns the length of the
 * prefix through the third dash, or 0 when the name has another shape. */
static size_t name_prefix_len(const char *base, char ver[3], int *bti, long *gen) {
    const char *d1 = strchr(base, '-');
    if (!d1 || d1 - base != 2) return 0;
    const char *d2 = strchr(d1 + 1, '-');
    if (!d2 || d2 == d1 + 1) return 0;
    const char *d3 = strchr(d2 + 1, '-');
    if (!d3 || d3 - d2 != 4) return 0;
    if (strncmp(d2 + 1, "big", 3) && strncmp(d2 + 1, "bti", 3)) return 0;
    memcpy(ver, base, 2);
    ver[2] = 0;
    *bti = d2[3] == 'i';
    *gen = strtol(d1 + 1, NULL, 10);
    return (size_t)(d3 - base) + 1;
}

/* Finds the Data.db in `dir` whose generation is `gen` (NULL: the only
 * one); returns its newly allocated path. */
static strata_err find_data(const char *dir, const char *gen, char **out) {
    DIR *d = opendir(dir);
    if (!d) return strata_fail_errno(strata_err_from_errno(errno), errno, "%s", dir);
    struct dirent *e;
    int found = 0;
    *out = NULL;
    while ((e = readdir(d))) {
        if (!strata_ends_with(e->d_name, "-Data.db")) continue;
        if (gen) {
            const char *d1 = strchr(e->d_name, '-');
            size_t gl = strlen(gen);
            if (!d1 || strncmp(d1 + 1, gen, gl) || d1[1 + gl] != '-') continue;
        }
        found++;
        free(*out);
        *out = xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (found == 1) return STRATA_OK;
    free(*out);
    *out = NULL;
    if (found == 0) return strata_fail(STRATA_ENOENT, "%s: no SSTable%s%s found", dir, gen ? " with generation " : "", gen ? gen : "");
    return strata_fail(STRATA_EINVAL, "%s: holds %d SSTables; name one (a component file or DIR/GENERATION)", dir, found);
}

/* Turns any accepted spelling of an SSTable into its component prefix;
 * directories are searched only on the local file system. */
static strata_err resolve_prefix(const char *path, int local, char **prefix, char ver[3], int *bti, long *gen) {
    char *file = NULL;
    strata_err e = STRATA_OK;
    if (!local) {
        file = xstrdup(path);
    } else if (is_dir(path)) {
        e = find_data(path, NULL, &file);
    } else {
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
        if (*base && strspn(base, "0123456789") == strlen(base) && is_dir(dir)) e = find_data(dir, base, &file);
        else file = xstrdup(path);
        free(dir);
    }
    if (e) return e;
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    char *tmp = NULL;
    size_t bl = strlen(base);
    if (bl >= 4 && (!strcmp(base + bl - 4, "-big") || !strcmp(base + bl - 4, "-bti"))) {
        tmp = xasprintf("%s-", file);
        free(file);
        file = tmp;
        slash = strrchr(file, '/');
        base = slash ? slash + 1 : file;
    }
    size_t pl = name_prefix_len(base, ver, bti, gen);
    if (!pl) {
        if (local && access(path, F_OK) != 0) /* a mistyped path is not an old format */
            e = strata_fail_errno(strata_err_from_errno(errno), errno, "%s", path);
        else
            e = strata_fail(STRATA_EFORMAT, "%s: not an SSTable name of Cassandra 3.0 or later "
                            "(<version>-<generation>-big-<Component>); older formats are not read", file);
        free(file);
        return e;
    }
    *prefix = xstrndup(file, (size_t)(base - file) + pl);
    free(file);
    return STRATA_OK;
}

const char *sstable_component_path(sstable *s, const char *component) {
    free(s->comp_path);
    s->comp_path = xasprintf("%s%s", s->prefix, component);
    return s->comp_path;
}

static char *component(const sstable *s, const char *name) {
    return xasprintf("%s%s", s->prefix, name);
}

strata_err sst_read_component(const sstable *s, const char *name, char **path, uint8_t **buf, size_t *len) {
    *path = component(s, name);
    return sst_read_file(s->vfs, *path, buf, len);
}

static strata_err read_toc(sstable *s) {
    char *path = component(s, "TOC.txt");
    uint8_t *buf;
    size_t len;
    if (!sst_file_exists(s->vfs, path)) {
        free(path);
        return STRATA_OK;
    }
    strata_err e = sst_read_file(s->vfs, path, &buf, &len);
    free(path);
    if (e) return e;
    char *text = xstrndup((const char *)buf, len);
    free(buf);
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (!*line) continue;
        s->meta.components = xrealloc(s->meta.components, (s->meta.ncomponents + 1) * sizeof(char *));
        s->meta.components[s->meta.ncomponents++] = xstrdup(line);
    }
    free(text);
    return STRATA_OK;
}

static int32_t *column_layout(const sstable_column *cols, size_t n) {
    int32_t *layout = xmalloc((n ? n : 1) * sizeof *layout);
    for (size_t i = 0; i < n; i++)
        layout[i] = cols[i].type->multicell ? SST_LAYOUT_MULTICELL : (int32_t)cols[i].type->fixed_len;
    return layout;
}

strata_err sstable_open(const char *path, sstable **out) { return sstable_open_vfs(path, NULL, out); }

strata_err sstable_open_vfs(const char *path, const sstable_vfs *vfs, sstable **out) {
    *out = NULL;
    sstable *s = xcalloc(1, sizeof *s);
    s->vfs = sst_vfs_or_local(vfs);
    strata_err e = resolve_prefix(path, !vfs, &s->prefix, s->meta.version, &s->meta.bti, &s->meta.generation);
    if (e) goto fail;
    if (sst_version_parse(s->meta.version, s->meta.bti, &s->v) != 0) {
        e = strata_fail(STRATA_EFORMAT, "%sData.db: unsupported SSTable version '%s' (this reader reads "
                        "ma..me, na, nb, oa and bti da)", s->prefix, s->meta.version);
        goto fail;
    }
    if ((e = read_toc(s))) goto fail;
    char *stats = component(s, "Statistics.db");
    e = sst_stats_read(s->vfs, stats, &s->v, &s->meta, &s->header);
    free(stats);
    if (e) goto fail;
    s->column_layout[0] = column_layout(s->header.regulars, s->header.nregular);
    s->column_layout[1] = column_layout(s->header.statics, s->header.nstatic);
    s->murmur3 = s->meta.partitioner && strstr(s->meta.partitioner, "Murmur3Partitioner") != NULL;
    s->random = s->meta.partitioner && strstr(s->meta.partitioner, "RandomPartitioner") != NULL;
    char *data = component(s, "Data.db");
    char *cinfo = component(s, "CompressionInfo.db");
    char *crc = component(s, "CRC.db");
    int compressed = sst_file_exists(s->vfs, cinfo);
    e = sst_data_open(&s->data, s->vfs, data, compressed ? cinfo : NULL, sst_file_exists(s->vfs, crc) ? crc : NULL,
                      &s->v, &s->meta);
    free(cinfo);
    free(crc);
    if (e) goto fail; /* data path is freed with the handle */
    *out = s;
    return STRATA_OK;
fail:
    sstable_close(s);
    return e;
}

void sstable_close(sstable *s) {
    if (!s) return;
    free((char *)s->data.path);
    sst_data_close(&s->data);
    sst_header_free(&s->header);
    free(s->column_layout[0]);
    free(s->column_layout[1]);
    free(s->meta.partitioner);
    free(s->meta.compressor);
    for (size_t i = 0; i < s->meta.ncomponents; i++) free(s->meta.components[i]);
    free(s->meta.components);
    free(s->prefix);
    free(s->comp_path);
    free(s->key_copy);
    free(s->scratch.clustering);
    free(s->scratch.cells);
    free(s->scratch.cdel);
    sst_seek_state_free(s);
    if (s->index_path) sst_file_close(&s->index_file);
    free(s->index_path);
    free(s->summary);
    free(s->filter);
    free(s);
}

const sstable_header *sstable_get_header(const sstable *s) { return &s->header; }
const sstable_meta *sstable_get_meta(const sstable *s) { return &s->meta; }
int sstable_is_murmur3(const sstable *s) { return s->murmur3; }

strata_err sstable_next_unfiltered(sstable *s, const sstable_unfiltered **out) {
    *out = NULL;
    if (s->replay) {
        s->replay = 0;
        *out = &s->unf;
        return STRATA_OK;
    }
    if (!s->in_partition) return STRATA_OK;
    int end;
    strata_err e = sst_stream_next_unfiltered(s, &end);
    if (e) return e;
    if (end) s->in_partition = 0;
    else *out = &s->unf;
    return STRATA_OK;
}

strata_err sstable_next_partition(sstable *s, const sstable_partition **out) {
    *out = NULL;
    const sstable_unfiltered *u;
    strata_err e;
    do {
        if ((e = sstable_next_unfiltered(s, &u))) return e;
    } while (u);
    if (s->at_end) return STRATA_OK;
    if ((e = sst_stream_next_partition(s))) return e;
    if (!s->at_end) *out = &s->part;
    return STRATA_OK;
}

strata_err sstable_rewind(sstable *s) {
    s->in_partition = 0;
    s->replay = 0;
    s->at_end = 0;
    return sst_data_seek(&s->data, 0);
}

/* Positions the stream at uncompressed offset `pos` (a partition start). */
strata_err sst_position(sstable *s, uint64_t pos) {
    s->in_partition = 0;
    s->replay = 0;
    s->at_end = 0;
    return sst_data_seek(&s->data, pos);
}
