/* source.c - what a reconciling version records besides its files: each
 * SSTable it read from a node (so that the next backup neither reads it
 * again nor misses what it held past this version's cut), a summary per
 * table, and (in the index) the newest version holding each table. */
#include "engine/repo/repo_int.h"

#include <string.h>

void source_key(const char *node, const char *ks, const char *table_id, const char *sstable, strata_buf *out) {
    file_key(node, ks, table_id, sstable, out);
}

void source_encode(const repo_source *s, strata_buf *out) {
    strata_buf_put_str(out, s->node);
    strata_buf_put_str(out, s->keyspace);
    strata_buf_put_str(out, s->table);
    strata_buf_put_str(out, s->table_id);
    strata_buf_put_str(out, s->sstable);
    strata_buf_put_varint(out, s->bytes);
    strata_buf_put_varint(out, s->data_size);
    strata_buf_put(out, s->sample, STRATA_HASH_LEN);
    strata_buf_put_zigzag(out, s->min_timestamp);
    strata_buf_put_zigzag(out, s->max_timestamp);
    strata_buf_put_zigzag(out, s->first_cut);
    strata_buf_put_zigzag(out, s->covered_to);
}

int source_decode(strata_reader *rd, repo_source *s) {
    memset(s, 0, sizeof *s);
    s->node = strata_read_str(rd, REPO_MAX_STR);
    s->keyspace = strata_read_str(rd, REPO_MAX_STR);
    s->table = strata_read_str(rd, REPO_MAX_STR);
    s->table_id = strata_read_str(rd, REPO_MAX_STR);
    s->sstable = strata_read_str(rd, REPO_MAX_STR);
    s->bytes = strata_read_varint(rd);
    s->data_size = strata_read_varint(rd);
    strata_read(rd, s->sample, STRATA_HASH_LEN);
    s->min_timestamp = strata_read_zigzag(rd);
    s->max_timestamp = strata_read_zigzag(rd);
    s->first_cut = strata_read_zigzag(rd);
    s->covered_to = strata_read_zigzag(rd);
    return rd->failed ? -1 : 0;
}

void repo_source_clear(repo_source *s) {
    free(s->node);
    free(s->keyspace);
    free(s->table);
    free(s->table_id);
    free(s->sstable);
    memset(s, 0, sizeof *s);
}

void table_summary_encode(const repo_table_summary *t, strata_buf *out) {
    strata_buf_put_str(out, t->keyspace);
    strata_buf_put_str(out, t->table);
    strata_buf_put_str(out, t->table_id);
    strata_buf_put_varint(out, t->replica_bytes);
    strata_buf_put_varint(out, t->layer_bytes);
    strata_buf_put_varint(out, t->stored_bytes);
    strata_buf_put_varint(out, t->layers);
    strata_buf_put_varint(out, t->sstables_read);
}

int table_summary_decode(strata_reader *rd, repo_table_summary *t) {
    memset(t, 0, sizeof *t);
    t->keyspace = strata_read_str(rd, REPO_MAX_STR);
    t->table = strata_read_str(rd, REPO_MAX_STR);
    t->table_id = strata_read_str(rd, REPO_MAX_STR);
    t->replica_bytes = strata_read_varint(rd);
    t->layer_bytes = strata_read_varint(rd);
    t->stored_bytes = strata_read_varint(rd);
    t->layers = (uint32_t)strata_read_varint(rd);
    t->sstables_read = (uint32_t)strata_read_varint(rd);
    return rd->failed ? -1 : 0;
}

void repo_table_summary_clear(repo_table_summary *t) {
    free(t->keyspace);
    free(t->table);
    free(t->table_id);
    memset(t, 0, sizeof *t);
}

strata_err repo_source_lookup(repo *r, const char *node, const char *keyspace, const char *table_id,
                              const char *sstable, repo_source *out) {
    strata_buf key, rec;
    strata_buf_init(&key);
    strata_buf_init(&rec);
    source_key(node, keyspace, table_id, sstable, &key);
    strata_err e = index_record_get(r, INDEX_SOURCES, (const char *)key.data, key.len, &rec);
    if (!e) {
        strata_reader rd;
        strata_reader_init(&rd, rec.data, rec.len);
        if (source_decode(&rd, out) || rd.left) {
            repo_source_clear(out);
            e = strata_fail(STRATA_ECORRUPT, "index: malformed source record");
        }
    }
    strata_buf_free(&key);
    strata_buf_free(&rec);
    return e;
}

void table_key(const char *keyspace, const char *table_id, strata_buf *out) {
    strata_buf_put(out, keyspace, strlen(keyspace) + 1);
    strata_buf_put(out, table_id, strlen(table_id) + 1);
}

strata_err repo_table_newest_version(repo *r, const char *keyspace, const char *table_id, char id[48]) {
    strata_buf key, val;
    strata_buf_init(&key);
    strata_buf_init(&val);
    table_key(keyspace, table_id, &key);
    strata_err e = index_record_get(r, INDEX_TABLES, (const char *)key.data, key.len, &val);
    if (!e && (!val.len || val.len > 48 || val.data[val.len - 1]))
        e = strata_fail(STRATA_ECORRUPT, "index: malformed table record");
    if (!e) memcpy(id, val.data, val.len);
    strata_buf_free(&key);
    strata_buf_free(&val);
    return e;
}
