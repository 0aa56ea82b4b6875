/* gen_local.c - each node's system.local and system.peers_v2, where a
 * node keeps its own tokens and those of the other ring members.
 *
 * Without a ring in the cluster file, strata takes the ring from the
 * nodes' own system.local (backup_ring_from_nodes), as a Cassandra node
 * does at start.  So each node gets that table as Cassandra 4.0 leaves it:
 * the first start writes the node's metadata (SystemKeyspace.
 * persistLocalMetadata) and, once bootstrapped, its tokens (updateTokens:
 * the set replaced, so a collection deletion just below the elements) and
 * flushes; a later start writes the metadata again, newer, without the
 * tokens, into a second SSTable.  Reading the tokens then takes the merge
 * of both, like any table of several SSTables.  What gossip tells a node
 * of the others goes to system.peers_v2: a row per peer with its
 * datacenter, rack and tokens. */
#include "tools/gen/gen.h"

#include <stdlib.h>
#include <string.h>

#include "engine/writer/writer.h"

#define M "org.apache.cassandra.db.marshal."
/* TableId.forSystemTable("system", <table>): the directories' suffixes */
#define LOCAL_DIR "system/local-7ad54392bcdd35a684174e047860b377"
#define PEERS_DIR "system/peers_v2-c4325fbb8e5e3bafbd070f9250ed818e"

/* system.local's columns (SystemKeyspace), simple ones then complex ones,
 * each by name, as Cassandra serializes them. */
static const char *const local_columns[] = {
    "bootstrapped", M "UTF8Type", "broadcast_address", M "InetAddressType", "broadcast_port", M "Int32Type",
    "cluster_name", M "UTF8Type", "cql_version", M "UTF8Type", "data_center", M "UTF8Type",
    "gossip_generation", M "Int32Type", "host_id", M "UUIDType", "listen_address", M "InetAddressType",
    "listen_port", M "Int32Type", "native_protocol_version", M "UTF8Type", "partitioner", M "UTF8Type",
    "rack", M "UTF8Type", "release_version", M "UTF8Type", "rpc_address", M "InetAddressType",
    "rpc_port", M "Int32Type", "schema_version", M "UUIDType", "tokens", M "SetType(" M "UTF8Type)",
    "truncated_at", M "MapType(" M "UUIDType," M "BytesType)", NULL};

/* system.peers_v2's columns (SystemKeyspace), likewise */
static const char *const peer_columns[] = {
    "data_center", M "UTF8Type", "host_id", M "UUIDType", "jmx_address", M "InetAddressType",
    "jmx_port", M "Int32Type", "native_address", M "InetAddressType", "native_port", M "Int32Type",
    "preferred_ip", M "InetAddressType", "preferred_port", M "Int32Type", "rack", M "UTF8Type",
    "release_version", M "UTF8Type", "schema_version", M "UUIDType", "tokens", M "SetType(" M "UTF8Type)", NULL};

enum { LOCAL_MAX_CELLS = 64 };

typedef struct {
    const sstable_header *h;
    int64_t ts;
    sstable_cell cells[LOCAL_MAX_CELLS];
    size_t ncells;
    sstable_complex_deletion cdel;
    int has_cdel;
    char text[LOCAL_MAX_CELLS][24]; /* tokens in decimal, by cell */
    uint8_t bytes[LOCAL_MAX_CELLS][4]; /* ints and IPv4 addresses, by cell */
} local_row;

static size_t column_index(const sstable_header *h, const char *name) {
    for (size_t i = 0; i < h->nregular; i++)
        if (!strcmp(h->regulars[i].name, name)) return i;
    abort();
}

static void put(local_row *r, const char *column, const void *path, size_t path_len, const void *p, size_t len) {
    if (r->ncells == LOCAL_MAX_CELLS) abort();
    size_t i = column_index(r->h, column);
    r->cells[r->ncells++] = (sstable_cell){.column = &r->h->regulars[i], .column_index = i, .timestamp = r->ts,
                                           .local_deletion_time = INT64_MAX,
                                           .path = {path, path_len},
                                           .value = {p ? p : (const uint8_t *)"", len}};
}

static void put_text(local_row *r, const char *column, const char *s) { put(r, column, NULL, 0, s, strlen(s)); }

static void put_int(local_row *r, const char *column, int32_t v) {
    uint8_t *b = r->bytes[r->ncells];
    gen_put_be32(b, (uint32_t)v);
    put(r, column, NULL, 0, b, 4);
}

static void put_inet(local_row *r, const char *column, int node) {
    uint8_t *b = r->bytes[r->ncells];
    b[0] = 127, b[1] = 0, b[2] = 0, b[3] = (uint8_t)(node + 1);
    put(r, column, NULL, 0, b, 4);
}

/* The metadata persistLocalMetadata writes at every start. */
static void put_metadata(local_row *r, int node) {
    put_inet(r, "broadcast_address", node);
    put_int(r, "broadcast_port", 7000);
    put_text(r, "cluster_name", "gen");
    put_text(r, "cql_version", "3.4.5");
    put_text(r, "data_center", "datacenter1");
    put_inet(r, "listen_address", node);
    put_int(r, "listen_port", 7000);
    put_text(r, "native_protocol_version", "5");
    put_text(r, "partitioner", "org.apache.cassandra.dht.Murmur3Partitioner");
    put_text(r, "rack", "rack1");
    put_text(r, "release_version", "4.0.17");
    put_inet(r, "rpc_address", node);
    put_int(r, "rpc_port", 9042);
}

/* The node's tokens as updateTokens writes them: the set's elements are
 * the tokens in decimal (the cell path; a set's values are empty), over a
 * deletion of the previous set. */
static void put_tokens(local_row *r, int node, const gen_ring *ring) {
    size_t col = column_index(r->h, "tokens");
    r->cdel = (sstable_complex_deletion){col, {r->ts - 1, r->ts / 1000000}};
    r->has_cdel = 1;
    for (size_t i = 0; i < ring->ntokens; i++) {
        if (ring->owners[i] != node) continue;
        char *s = r->text[r->ncells];
        snprintf(s, sizeof r->text[0], "%lld", (long long)ring->tokens[i]);
        put(r, "tokens", s, strlen(s), NULL, 0);
    }
}

/* A row's cells go in header order, a set's elements in UTF-8 order. */
static int cell_order(const void *pa, const void *pb) {
    const sstable_cell *a = pa, *b = pb;
    if (a->column_index != b->column_index) return a->column_index < b->column_index ? -1 : 1;
    size_t n = a->path.len < b->path.len ? a->path.len : b->path.len;
    int c = n ? memcmp(a->path.p, b->path.p, n) : 0;
    return c ? c : (a->path.len > b->path.len) - (a->path.len < b->path.len);
}

/* One SSTable of the rows r[0..n), each its own partition (keys[i] of
 * key_len bytes, in token order) with the clustering `clustering` (NULL:
 * none). */
static strata_err write_rows(const char *dir, long generation, local_row *const *r, const uint8_t *const *keys,
                             size_t key_len, size_t n, const sstable_value *clustering, const uint8_t host_id[16]) {
    sstable_writer_params p = {.dir = dir, .version = "nb", .generation = generation, .header = r[0]->h,
                               .compressor = "LZ4Compressor", .expected_keys = n, .has_host_id = 1};
    memcpy(p.host_id, host_id, 16);
    sstable_writer *w;
    strata_err e = sstable_writer_open(&p, &w);
    if (e) return e;
    const sstable_deletion live = {INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < n && !e; i++) {
        qsort(r[i]->cells, r[i]->ncells, sizeof *r[i]->cells, cell_order);
        sstable_unfiltered u = {.kind = SSTABLE_ROW, .bound_kind = SSTABLE_CLUSTERING,
                                .nclustering = clustering != NULL, .clustering = clustering, .has_liveness = 1,
                                .timestamp = r[i]->ts, .local_expiration = INT64_MAX, .row_deletion = live,
                                .deletion = live, .end_deletion = live, .ncells = r[i]->ncells,
                                .cells = r[i]->cells, .ncomplex_deletions = r[i]->has_cdel,
                                .complex_deletions = &r[i]->cdel};
        e = sstable_writer_begin_partition(w, keys[i], key_len, &live);
        if (!e) e = sstable_writer_add_unfiltered(w, &u);
        if (!e) e = sstable_writer_end_partition(w);
    }
    if (e) sstable_writer_abort(w);
    else e = sstable_writer_finish(w);
    return e;
}

static strata_err write_local(const char *node_dir, int node, const gen_ring *ring, int64_t boot,
                              const uint8_t host_id[16]) {
    static const char *const none[] = {NULL};
    sstable_header h;
    gen_header_init(&h, M "UTF8Type", none, none, local_columns);
    h.min_timestamp = boot - 1;
    char *dir = xasprintf("%s/" LOCAL_DIR, node_dir);
    strata_err e = gen_mkdirs(dir);
    local_row *r = xcalloc(1, sizeof *r);
    const uint8_t *key = (const uint8_t *)"local";
    r->h = &h;
    r->ts = boot;
    put_metadata(r, node);
    put_text(r, "bootstrapped", "COMPLETED");
    put(r, "host_id", NULL, 0, host_id, 16);
    put_tokens(r, node, ring);
    if (!e) e = write_rows(dir, 1, &r, &key, 5, 1, NULL, host_id);
    memset(r, 0, sizeof *r);
    r->h = &h;
    r->ts = boot + 60 * 1000000LL; /* restarted a minute later */
    put_metadata(r, node);
    if (!e) e = write_rows(dir, 2, &r, &key, 5, 1, NULL, host_id);
    free(r);
    free(dir);
    gen_header_free(&h);
    return e;
}

typedef struct {
    int64_t token;
    int node;
    uint8_t key[4];
} peer_key;

static int by_token(const void *a, const void *b) {
    const peer_key *x = a, *y = b;
    return (x->token > y->token) - (x->token < y->token);
}

/* What gossip told node `node` of the others, as system.peers_v2 keeps
 * it: a partition per peer (its address), clustered by its port. */
static strata_err write_peers(const char *node_dir, int node, const gen_ring *ring, int64_t boot,
                              const uint8_t host_id[16]) {
    static const char *const clustering[] = {M "Int32Type", NULL}, *const none[] = {NULL};
    sstable_header h;
    gen_header_init(&h, M "InetAddressType", clustering, none, peer_columns);
    h.min_timestamp = boot - 1;
    char *dir = xasprintf("%s/" PEERS_DIR, node_dir);
    strata_err e = gen_mkdirs(dir);
    int n = ring->nodes - 1;
    peer_key *keys = xcalloc((size_t)ring->nodes, sizeof *keys);
    local_row **rows = xcalloc((size_t)ring->nodes, sizeof *rows);
    const uint8_t **key_ptrs = xcalloc((size_t)ring->nodes, sizeof *key_ptrs);
    for (int k = 0, i = 0; k < ring->nodes; k++) {
        if (k == node) continue;
        keys[i] = (peer_key){.node = k, .key = {127, 0, 0, (uint8_t)(k + 1)}};
        keys[i].token = sstable_murmur3_token(keys[i].key, 4);
        i++;
    }
    qsort(keys, (size_t)n, sizeof *keys, by_token);
    for (int i = 0; i < n; i++) {
        local_row *r = rows[i] = xcalloc(1, sizeof *r);
        r->h = &h;
        r->ts = boot;
        put_text(r, "data_center", "datacenter1");
        put_inet(r, "native_address", keys[i].node);
        put_int(r, "native_port", 9042);
        put_text(r, "rack", "rack1");
        put_text(r, "release_version", "4.0.17");
        put_tokens(r, keys[i].node, ring);
        key_ptrs[i] = keys[i].key;
    }
    uint8_t port[4];
    gen_put_be32(port, 7000);
    const sstable_value peer_port = {port, 4};
    if (!e && n) e = write_rows(dir, 1, rows, key_ptrs, 4, (size_t)n, &peer_port, host_id);
    for (int i = 0; i < n; i++) free(rows[i]);
    free(rows), free(keys), free(key_ptrs);
    free(dir);
    gen_header_free(&h);
    return e;
}

strata_err gen_local_write(const char *node_dir, int node, const gen_ring *ring, int64_t boot,
                           const uint8_t host_id[16]) {
    strata_err e = write_local(node_dir, node, ring, boot, host_id);
    return e ? e : write_peers(node_dir, node, ring, boot, host_id);
}
