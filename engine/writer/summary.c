/* summary.c - Summary.db: every min_index_interval-th Index.db entry.
 *
 * At full sampling (Cassandra writes new SSTables at sampling level 128)
 * the keys sampled are those at index 0, interval, 2 * interval...  The
 * file is the header (min interval, entry count, size of the offsets and
 * entries region, sampling level, entry count at full sampling), the
 * region (little-endian int offsets, then each key followed by its
 * little-endian long Index.db position: IndexSummary keeps them in native
 * order) and the first and last keys of the SSTable with int lengths. */
#include "engine/writer/writer_int.h"

#include <string.h>

#define BASE_SAMPLING_LEVEL 128

struct wr_summary {
    int interval;
    uint64_t keys;
    strata_buf offsets; /* little-endian int offsets into entries */
    strata_buf entries;
    int until_sample;   /* keys to go before the next sampled one */
};

wr_summary *wr_summary_new(int min_index_interval) {
    wr_summary *s = xcalloc(1, sizeof *s);
    s->interval = min_index_interval > 0 ? min_index_interval : 128;
    strata_buf_init(&s->offsets);
    strata_buf_init(&s->entries);
    return s;
}

void wr_summary_add(wr_summary *s, const uint8_t *key, size_t len, uint64_t index_position) {
    if (s->until_sample-- == 0) {
        strata_buf_put_u32(&s->offsets, (uint32_t)s->entries.len);
        strata_buf_put(&s->entries, key, len);
        strata_buf_put_u64(&s->entries, index_position);
        s->until_sample = s->interval - 1;
    }
    s->keys++;
}

void wr_summary_serialize(const wr_summary *s, const strata_buf *first, const strata_buf *last, strata_buf *out) {
    uint32_t count = (uint32_t)(s->offsets.len / 4);
    wr_u32(out, (uint32_t)s->interval);
    wr_u32(out, count);
    wr_u64(out, s->offsets.len + s->entries.len);
    wr_u32(out, BASE_SAMPLING_LEVEL);
    wr_u32(out, (uint32_t)((s->keys + (uint64_t)s->interval - 1) / (uint64_t)s->interval));
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *p = s->offsets.data + (size_t)i * 4;
        uint32_t off = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        strata_buf_put_u32(out, off + count * 4);
    }
    strata_buf_put(out, s->entries.data, s->entries.len);
    wr_u32(out, (uint32_t)first->len);
    strata_buf_put(out, first->data, first->len);
    wr_u32(out, (uint32_t)last->len);
    strata_buf_put(out, last->data, last->len);
}

void wr_summary_free(wr_summary *s) {
    if (!s) return;
    strata_buf_free(&s->offsets);
    strata_buf_free(&s->entries);
    free(s);
}
