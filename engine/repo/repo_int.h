/* repo_int.h - what the files of the repository module share.
 *
 * The LMDB environment holds five databases:
 *   chunk   : chunk id (32)            -> chunk_location (encoded, see index.c)
 *   pack    : pack id (32)             -> u64 object size, u32 chunk count
 *   version : version id (string)      -> version payload (as in the object)
 *   file    : node\0ks\0table_id\0path -> newest repo_file record (encoded)
 *   meta    : "format"                 -> u32 index format
 * All of it is derived from the stored objects (docs/FORMAT.md). */
#ifndef STRATA_REPO_INT_H
#define STRATA_REPO_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <zstd.h>

#include "engine/repo/repo.h"

#define REPO_INDEX_FORMAT 2
/* Repositories made now are version 4: their chunks may be deltas
 * (codec 2, from version 2) or row streams (codec 3, from version 3; from
 * version 4 with timeuuid clustering values split), which readers of older
 * versions do not know, so they refuse them.  Older repositories are read
 * and written as they are, with their version's codecs only. */
#define REPO_FORMAT_VERSION 4
#define REPO_FORMAT_OLDEST 1
/* Version objects: 2 adds the reconciling section; 1 is still read. */
#define VERSION_OBJECT_FORMAT 2

#define PACK_MAGIC "STRPACK\0"
#define PACK_FORMAT 1 /* the layout; the codecs its chunks may use follow the repository's version */
#define PACK_END_MAGIC "STRPKEND"
#define PACK_HEADER_LEN 16
#define PACK_FOOTER_LEN 48
#define PACK_ENTRY_LEN 65 /* id 32, offset 8, stored 4, raw 4, codec 1, xxh3 8, reserved 8 */
#define VERSION_MAGIC "STRVERS\0"
/* The longest name a decoded record may hold: a corrupt object cannot ask
 * for absurd allocations. */
#define REPO_MAX_STR 4096

/* How a chunk's bytes are stored in its pack: as they are, one zstd
 * frame, or one zstd frame holding a delta (delta.c) or the streams of a
 * Data.db chunk's fields (rows.c). */
enum { CODEC_RAW = 0, CODEC_ZSTD = 1, CODEC_DELTA = 2, CODEC_ROWS = 3 };

typedef struct {
    uint8_t pack[STRATA_HASH_LEN];
    uint64_t offset;
    uint32_t stored_len;
    uint32_t raw_len;
    uint8_t codec;
    uint64_t xxh3; /* of the raw bytes: the cheap per-read check */
} chunk_location;

/* Chunk ids queued in this process's pack writers but not yet indexed. */
typedef struct pending_set pending_set;
pending_set *pending_set_new(void);
void pending_set_free(pending_set *s);
/* Returns 1 if it was already present, 0 if inserted now. */
int pending_set_add(pending_set *s, const uint8_t id[STRATA_HASH_LEN]);
int pending_set_has(pending_set *s, const uint8_t id[STRATA_HASH_LEN]);
void pending_set_remove(pending_set *s, const uint8_t id[STRATA_HASH_LEN]);

/* A pack sealed by a writer, waiting to be stored and indexed. */
typedef struct sealed_pack {
    strata_buf data;    /* the whole pack object */
    strata_buf entries; /* its trailer entries */
    uint32_t count;
    uint8_t id[STRATA_HASH_LEN];
    struct sealed_pack *next;
} sealed_pack;

#define DCTX_SPARE 8

typedef struct pack_flusher pack_flusher;
typedef struct disk_cache disk_cache;

/* An open LMDB environment and its databases. */
typedef struct {
    MDB_env *env;
    MDB_dbi db_chunk, db_pack, db_version, db_file, db_source, db_table, db_meta;
    atomic_int broken; /* LMDB faulted: the environment is abandoned (set by
                          whichever mount thread met the fault) */
    char *dir; /* the environment directory (index_dir.c) */
    /* data.mdb as opened: `strata index rebuild` in another process
     * replaces the file, which an open environment goes on reading */
    dev_t dev;
    ino_t ino;
} index_env;

/* ---- base_cache.c: the delta bases read last, kept decoded ----
 * Up to 16 chunks (a delta names up to 16 bases, which a lookup in a
 * stored layer then reads as rows) and 16 MiB, beside what a mount's own
 * chunk cache holds. */
#define BASE_CACHE_SLOTS 16
#define BASE_CACHE_BYTES (16u << 20)

typedef struct {
    uint8_t id[STRATA_HASH_LEN];
    uint8_t *map;  /* cap bytes mapped, NULL when cap is 0 */
    size_t cap;
    size_t len;    /* of the chunk held; 0: none */
    uint64_t used; /* the cache's clock when last used; the least is replaced */
} base_cache_slot;

typedef struct {
    pthread_mutex_t lock;
    base_cache_slot slots[BASE_CACHE_SLOTS];
    size_t bytes; /* mapped by all slots */
    uint64_t clock;
} base_cache;

void base_cache_init(base_cache *c);
void base_cache_free(base_cache *c);
/* Copies the kept chunk `id` of `len` bytes into dst; 1 on a hit. */
int base_cache_get(base_cache *c, const uint8_t id[STRATA_HASH_LEN], uint8_t *dst, size_t len);
/* Keeps a copy of chunk `id`, decoded and checked, in place of the ones
 * used least recently. */
void base_cache_put(base_cache *c, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data, size_t len);

struct repo {
    storage *store;
    char id[33];
    int format_version; /* of its config: REPO_FORMAT_OLDEST..REPO_FORMAT_VERSION */
    repo_mode mode;
    char *index_dir;
    int lock_fd;           /* index.lock; -1 when index_read_only */
    int writer_lock_fd;    /* write.lock, REPO_WRITE only; else -1 */
    int index_read_only;   /* the index directory cannot be written: never synced */
    index_env ix;
    /* held to read while using ix, to write while replacing it */
    pthread_rwlock_t ix_lock;
    pending_set *pending;
    pack_flusher *flusher; /* REPO_WRITE only */
    disk_cache *disk_cache; /* remote repositories, when enabled */
    pthread_mutex_t refresh_lock; /* one repo_refresh() at a time */
    double refreshed_at;          /* strata_mono_s() of the last sync */
    /* zstd decompression contexts for reading chunks, kept for the next
     * read: creating one allocates and clears ~100 KiB */
    pthread_mutex_t dctx_lock;
    ZSTD_DCtx *dctx_spare[DCTX_SPARE];
    size_t n_dctx_spare;
    base_cache bases;
};

/* ---- sync.c ---- */
/* Indexes what the storage holds beyond the index (repo_sync_index) when
 * it holds a version the index lacks, found with one listing. */
strata_err sync_new_versions(repo *r);

/* ---- diskcache.c: stored chunks of a remote repository on local disk ---- */
disk_cache *disk_cache_new(const char *dir, uint64_t max_bytes);
void disk_cache_free(disk_cache *c);
/* Reads the stored form of a chunk (len bytes) into out; 1 on a hit. */
int disk_cache_get(disk_cache *c, const uint8_t id[STRATA_HASH_LEN], uint8_t *out, size_t len);
/* Keeps the stored form of a chunk; failures are silent (a later miss). */
void disk_cache_put(disk_cache *c, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data, size_t len);
/* Forgets a cached chunk that failed its check. */
void disk_cache_drop(disk_cache *c, const uint8_t id[STRATA_HASH_LEN]);

/* ---- flusher.c: background storing of sealed packs ---- */
pack_flusher *flusher_new(repo *r);
/* Queues a pack (taking ownership); blocks while too many are pending.
 * Returns the error of an earlier failed store, if any. */
strata_err flusher_submit(pack_flusher *f, sealed_pack *p);
/* A pack buffer of at least `capacity` bytes, recycled when one is spare. */
void flusher_take_buffer(pack_flusher *f, strata_buf *out, size_t capacity);
/* Waits until every queued pack is stored and indexed. */
strata_err flusher_wait(pack_flusher *f);
/* Waits for the queue, stops the threads and frees. */
void flusher_free(pack_flusher *f);
void sealed_pack_free(sealed_pack *p);

/* ---- index_dir.c: the environment directories in the index directory ---- */
/* The directory of the index in use (malloc'd): the one `current` names,
 * else the index directory itself when it holds data.mdb; NULL when
 * there is none. */
char *index_current_dir(const char *index_dir);
/* Creates a new, empty environment directory, seen by nobody else until
 * index_make_current(). */
strata_err index_new_dir(const char *index_dir, char **out);
/* Makes env_dir the index in use, atomically for every reader. */
strata_err index_make_current(const char *index_dir, const char *env_dir);
/* Removes every environment but the one in use: those it replaced and
 * those of killed rebuilds.  Only holding index.lock, so that no rebuild
 * is under way. */
void index_remove_unused(const char *index_dir);

/* ---- index.c: the LMDB environment ----
 * Every call is guarded: a fault inside LMDB (garbage in data.mdb) returns
 * STRATA_ECORRUPT and sets ix.broken instead of crashing. */
/* Opens the index in use; STRATA_ENOENT when there is none. */
strata_err index_open(repo *r);
void index_close(repo *r);
/* Opens a new, empty index in place of the one in use, which the other
 * processes go on reading until index_publish(); holding index.lock. */
strata_err index_reset(repo *r);
/* Makes the index index_reset() opened the one in use, whole, and
 * removes the one it replaces. */
strata_err index_publish(repo *r);
/* When the index in use is no longer the one opened (another process's
 * index rebuild replaced it), opens the new one in its place, once no
 * thread reads the old one, and sets *reopened; the old one stays in use
 * when the new one cannot be opened. */
strata_err index_reopen_if_replaced(repo *r, int *reopened);
strata_err index_lmdb_error(int rc, const char *what);
strata_err index_chunk_get(repo *r, const uint8_t id[STRATA_HASH_LEN], chunk_location *loc);
/* Indexes one sealed pack: its entries and its pack record, in one transaction. */
strata_err index_add_pack(repo *r, const uint8_t pack_id[STRATA_HASH_LEN], uint64_t size,
                          const uint8_t *entries, uint32_t count);
/* Drops `n` chunks (32-byte ids end to end) from the chunk database;
 * *forgotten counts those it held. */
strata_err index_forget_chunks(repo *r, const uint8_t *ids, size_t n, size_t *forgotten);
/* Points the chunk database's record of `id` at another copy of it. */
strata_err index_move_chunk(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc);
int index_has_version(repo *r, const char *id);
int index_has_pack(repo *r, const uint8_t id[STRATA_HASH_LEN]);
/* Whether a sync of the whole listing has ever completed into this index
 * (index_mark_synced): until then it may lack any version, so a reader
 * that cannot reach the storage must not show it as the repository. */
int index_was_synced(repo *r);
strata_err index_mark_synced(repo *r);
/* Stores a version payload and its files' newest records, in one transaction. */
strata_err index_add_version(repo *r, const repo_version *v, const strata_buf *payload);
strata_err index_version_get(repo *r, const char *id, strata_buf *payload);
/* Calls fn with a version's payload where it lies in the index's pages,
 * without copying it out; the bytes are valid only until fn returns. */
typedef strata_err (*index_value_fn)(void *ctx, const uint8_t *p, size_t n);
strata_err index_version_visit(repo *r, const char *id, index_value_fn fn, void *ctx);
strata_err index_version_ids(repo *r, char ***ids, size_t *n);
/* The record under key in one of the databases filled per version:
 * newest file records, source records, newest version of each table. */
typedef enum { INDEX_FILES, INDEX_SOURCES, INDEX_TABLES } index_records;
strata_err index_record_get(repo *r, index_records which, const char *key, size_t key_len, strata_buf *out);

/* ---- sync.c: bringing the index up to date with the stored objects ---- */
/* Indexes every pack and version object the index does not know yet. */
strata_err repo_sync_index(repo *r);

/* ---- pack.c: the pack object format ---- */
void pack_key(const uint8_t pack_id[STRATA_HASH_LEN], char out[96]);
/* Decodes one trailer entry (PACK_ENTRY_LEN bytes). */
void pack_entry_decode(const uint8_t *p, uint8_t id[STRATA_HASH_LEN], chunk_location *loc);
/* Reads and checks a pack's trailer: entries (count * PACK_ENTRY_LEN bytes) into `entries`. */
/* Checks a pack's footer (the last PACK_FOOTER_LEN bytes of an object of
 * `size` bytes) and returns the chunk count and trailer length. */
strata_err pack_check_footer(const char *key, const uint8_t *footer, uint64_t size,
                             uint32_t *count, uint32_t *trailer_len, uint8_t pack_id[STRATA_HASH_LEN]);
/* Checks trailer entries against the pack id recorded in the footer. */
strata_err pack_check_trailer(const char *key, const uint8_t *entries, uint32_t len,
                              const uint8_t pack_id[STRATA_HASH_LEN]);
strata_err pack_read_trailer(repo *r, const char *key, uint64_t size, strata_buf *entries,
                             uint32_t *count, uint8_t pack_id[STRATA_HASH_LEN]);
/* Turns stored bytes back into the chunk and checks XXH3 (and SHA-256 when
 * full); a delta's bases are read from r. */
strata_err pack_decode_chunk(repo *r, const uint8_t id[STRATA_HASH_LEN], const chunk_location *loc,
                             const uint8_t *stored, int full_check, strata_buf *out);
/* Frees the spare decompression contexts (repo_close). */
void pack_free_dctx_spares(repo *r);

/* ---- delta.c: a chunk stored as copies from other chunks ---- */
/* The most base chunks one delta names: a decode reads each of them. */
#define DELTA_MAX_BASES 16
/* The longest delta a chunk of `size` bytes may have: every byte literal,
 * or copies of DELTA_MIN_COPY bytes described in at most 16 bytes each. */
#define DELTA_MAX_PAYLOAD(size) (3 * (uint64_t)(size) + 1024)
/* Writes into `out` the delta of the chunk of `size` bytes at file offset
 * `at`, copying from `base` (whose chunk i starts at starts[i]; starts[n]
 * is its size) what `spans` (n, in increasing `at`) say it repeats.
 * Returns the bytes it copies; 0 when none (then `out` is empty).  Spans
 * are taken as given: the caller checks the delta by applying it. */
size_t delta_encode(const uint8_t *chunk, uint64_t at, uint32_t size, const repo_span *spans, size_t n,
                    const repo_file *base, const uint64_t *starts, strata_buf *out);
/* Fills `buf` with the `size` bytes of base chunk `id`. */
typedef strata_err (*delta_base_fn)(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size);
/* Rebuilds the chunk of out_len bytes from a delta, fetching its bases
 * through `fetch`; STRATA_ECORRUPT when the delta is malformed or does not
 * make exactly out_len bytes, else the error of a fetch. */
strata_err delta_apply(const uint8_t *payload, size_t len, delta_base_fn fetch, void *ctx, uint8_t *out,
                       uint32_t out_len);
/* Whether the index holds chunk `id` stored as a delta. */
int pack_chunk_is_delta(repo *r, const uint8_t id[STRATA_HASH_LEN]);
/* The repository a writer stores into. */
repo *pack_writer_repo(const repo_pack_writer *w);
/* Adds a chunk as repo_pack_writer_add() does, storing it as `delta`
 * (compressed) when that is smaller than its own compressed bytes; delta
 * NULL is repo_pack_writer_add(). */
strata_err pack_writer_add_delta(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data,
                                 uint32_t size, const strata_buf *delta, uint64_t *stored_bytes);

/* ---- rows.c: a chunk of Data.db stored as streams of its fields ---- */
/* The longest frame a chunk of `size` bytes may have. */
#define ROWS_MAX_FRAME(size) (2 * (uint64_t)(size) + 1024)
/* The streams a frame may hold (docs/FORMAT.md, codec 3). */
#define ROWS_STREAMS 66
/* A chunk's frame, and where its header and each of its non-empty streams
 * end in it: the compressor ends a zstd block at each of those. */
typedef struct {
    strata_buf bytes;
    size_t ends[ROWS_STREAMS + 1];
    size_t n_ends;
} rows_frame;
typedef struct rows_splitter rows_splitter;
/* Splits the chunks of one Data.db, given in file order, into frames a
 * repository of `format_version` (3 or later) holds. */
rows_splitter *rows_splitter_new(const repo_store_rows *rows, int format_version);
void rows_splitter_free(rows_splitter *r);
/* Fills `frame` with the frame of the chunk of `size` bytes at file offset
 * `at`.  Returns 0 when the chunk holds no whole item, the file does not
 * parse as its layout says, or the frame would be too long. */
int rows_split(rows_splitter *r, uint64_t at, uint32_t size, rows_frame *frame);
/* Rebuilds the chunk of out_len bytes from its frame; STRATA_ECORRUPT when
 * the frame is malformed or does not make exactly out_len bytes. */
strata_err rows_join(const uint8_t *frame, size_t len, uint8_t *out, uint32_t out_len);
/* Adds a chunk as repo_pack_writer_add() does, storing it as `frame`
 * (compressed, codec 3) when that is smaller than the chunk. */
strata_err pack_writer_add_rows(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN], const uint8_t *data,
                                uint32_t size, const rows_frame *frame, uint64_t *stored_bytes);

/* ---- version.c: encoding of versions and file records ---- */
void version_encode(const repo_version *v, strata_buf *out);
strata_err version_decode(const uint8_t *p, size_t n, repo_version **out);
void file_encode(const repo_file *f, strata_buf *out);
int file_decode(strata_reader *rd, repo_file *f);
/* The "file" database key of a record. */
void file_key(const char *node, const char *ks, const char *table_id, const char *path,
              strata_buf *out);
/* ---- source.c: what reconciling versions record of SSTables and tables ---- */
void source_encode(const repo_source *s, strata_buf *out);
int source_decode(strata_reader *rd, repo_source *s);
/* The "source" database key of a record. */
void source_key(const char *node, const char *ks, const char *table_id, const char *sstable, strata_buf *out);
/* The "table" database key: keyspace and table id. */
void table_key(const char *keyspace, const char *table_id, strata_buf *out);
void table_summary_encode(const repo_table_summary *t, strata_buf *out);
int table_summary_decode(strata_reader *rd, repo_table_summary *t);

/* Wraps a payload into a version object and back (magic, zstd, SHA-256). */
strata_err version_object_wrap(const strata_buf *payload, strata_buf *object);
strata_err version_object_unwrap(const uint8_t *p, size_t n, const char *key, strata_buf *payload);

#endif
