/* copy.c - feeding a reader's partition stream into a writer: the whole
 * of a rewrite except choosing the parameters. */
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
