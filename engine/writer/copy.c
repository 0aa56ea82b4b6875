/* copy.c - feeding a reader's partition stream into a writer, and the
 * whole rewrite of one SSTable built on it (the command line's rewrite,
 * the tests and the benchmark all go through it). */
#include "engine/writer/writer_int.h"

strata_err sstable_writer_copy(sstable *s, sstable_writer *w) {
    strata_err e = sstable_rewind(s);
    const sstable_partition *part;
    while (!e && !(e = sstable_next_partition(s, &part)) && part) {
        if ((e = sstable_writer_begin_partition(w, part->key, part->key_len, &part->deletion))) break;
        const sstable_unfiltered *u;
        while (!(e = sstable_next_unfiltered(s, &u)) && u)
            if ((e = sstable_writer_add_unfiltered(w, u))) break;
        if (!e) e = sstable_writer_end_partition(w);
    }
    return e;
}

strata_err sstable_writer_rewrite(const char *path, const char *dir, sstable_writer_adjust adjust, void *arg,
                                  uint64_t *data_length) {
    sstable *s;
    strata_err e = sstable_open(path, &s);
    if (e) return e;
    sstable_writer_params p;
    if ((e = sstable_writer_params_from(s, &p))) {
        sstable_close(s);
        return e;
    }
    p.dir = dir;
    if (adjust) adjust(&p, arg);
    sstable_writer *w;
    if (!(e = sstable_writer_open(&p, &w))) {
        e = sstable_writer_copy(s, w);
        if (data_length) *data_length = sstable_writer_data_length(w);
        if (e) sstable_writer_abort(w);
        else e = sstable_writer_finish(w);
    }
    sstable_writer_params_free(&p);
    sstable_close(s);
    return e;
}

void sstable_writer_use_compressor(sstable_writer_params *p, const char *compressor) {
    /* an uncompressed original's chunk length is CRC.db's, not a choice */
    if (!p->compressor) p->chunk_length = 0;
    p->compressor = compressor;
    p->compression_options = NULL;
    p->trailing_empty_chunk = 0;
    p->max_compressed_length = 0;
    if (!p->chunk_length) p->chunk_length = 16384;
}
