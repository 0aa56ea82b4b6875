/* layer_rows.c - what the repository needs to store a layer's Data.db as
 * streams of its fields (docs/FORMAT.md, codec 3): the file's bytes,
 * mapped, and its rows' layout, from the layer's own Statistics.db.
 *
 * Only layers get it: strata writes them, uncompressed, so their chunks
 * are rows; the nodes' own Data.db files are compressed and stored as
 * they are. */
#include "engine/backup/backup_int.h"

#include <string.h>
#include <sys/mman.h>

static int32_t column_layout(const sstable_type *t) { return t->multicell ? REPO_LAYOUT_MULTICELL : t->fixed_len; }

int layer_rows_open(const char *sstable_path, int fd, uint64_t size, layer_rows *lr) {
    memset(lr, 0, sizeof *lr);
    sstable *s;
    if (!size || sstable_open(sstable_path, &s)) return strata_clear_error(), 0;
    const sstable_header *h = sstable_get_header(s);
    const sstable_meta *m = sstable_get_meta(s);
    if (m->compressor) {
        sstable_close(s);
        return 0;
    }
    size_t n = h->nclustering + h->nregular + h->nstatic;
    int32_t *len = xmalloc((n ? n : 1) * sizeof *len);
    for (size_t i = 0; i < h->nclustering; i++)
        len[i] = h->clustering[i]->kind == SSTABLE_T_TIMEUUID ? REPO_LAYOUT_TIMEUUID : h->clustering[i]->fixed_len;
    for (size_t i = 0; i < h->nregular; i++) len[h->nclustering + i] = column_layout(h->regulars[i].type);
    for (size_t i = 0; i < h->nstatic; i++) len[h->nclustering + h->nregular + i] = column_layout(h->statics[i].type);
    lr->layout = (repo_rows_layout){m->bti || strcmp(m->version, "oa") >= 0, h->nclustering, len,
                                    h->nregular, len + h->nclustering, h->nstatic,
                                    len + h->nclustering + h->nregular};
    sstable_close(s);
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        free(len);
        return 0;
    }
    lr->lengths = len;
    lr->map = map;
    lr->rows = (repo_store_rows){map, size, &lr->layout};
    return 1;
}

void layer_rows_close(layer_rows *lr) {
    if (!lr->map) return;
    munmap(lr->map, (size_t)lr->rows.size);
    free(lr->lengths);
    memset(lr, 0, sizeof *lr);
}
