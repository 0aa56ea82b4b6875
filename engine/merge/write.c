/* write.c - a merged stream written as one SSTable.
 *
 * The writer takes partitions in order with their unfiltereds; a merge
 * yields exactly that, except that a residual can hold partitions with
 * nothing left in them, which an SSTable must not contain.  The settings
 * the content does not give (partitioner, bloom filter chance, expected
 * key count) come from the inputs' statistics. */
#include "engine/merge/merge_int.h"

#include <string.h>

void merge_writer_params(const merge *m, sstable_writer_params *p) {
    p->header = &m->header;
    p->expected_keys = 1;
    for (size_t i = 0; i < m->nsources; i++) {
        const merge_source *src = &m->src[i];
        const sstable_meta *meta = sstable_get_meta(src->s);
        if (src->in.reference) continue;
        if (!p->partitioner && meta->partitioner) p->partitioner = meta->partitioner;
        if (meta->bloom_fp_chance > 0) p->bloom_fp_chance = meta->bloom_fp_chance;
        int first = 1;
        for (size_t j = 0; j < i && first; j++) first = m->src[j].in.reference || m->src[j].in.replica != src->in.replica;
        if (!first) continue;
        uint64_t keys = 0;
        for (size_t j = i; j < m->nsources; j++)
            if (!m->src[j].in.reference && m->src[j].in.replica == src->in.replica)
                keys += sstable_get_meta(m->src[j].s)->estimated_partitions;
        if (keys > p->expected_keys) p->expected_keys = keys;
    }
}

strata_err merge_write(merge *m, sstable_writer *w, uint64_t *partitions) {
    const sstable_partition *p;
    const sstable_unfiltered *u;
    strata_err e;
    *partitions = 0;
    while (!(e = merge_next_partition(m, &p)) && p) {
        int begun = 0;
        sstable_deletion d = p->deletion;
        if (!sstable_deletion_is_live(&d)) {
            if ((e = sstable_writer_begin_partition(w, p->key, p->key_len, &d))) return e;
            begun = 1;
        }
        while (!(e = merge_next_unfiltered(m, &u)) && u) {
            if (!begun && (e = sstable_writer_begin_partition(w, p->key, p->key_len, &d))) return e;
            begun = 1;
            if ((e = sstable_writer_add_unfiltered(w, u))) return e;
        }
        if (e || (begun && (e = sstable_writer_end_partition(w)))) return e;
        *partitions += begun;
    }
    return e;
}
