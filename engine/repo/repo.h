/* repo.h - the strata repository: content-addressed chunks in pack objects,
 * cluster versions, and the LMDB index over both.
 *
 * Everything durable lives in objects of a storage backend (fetch/storage.h):
 * `config`, `packs/<xx>/<pack id>`, `versions/<version id>`.  The LMDB index
 * (chunk -> pack location, versions and their manifests, the files already
 * stored per node) is a cache derived from those objects and can always be
 * rebuilt from them with repo_index_rebuild().  docs/FORMAT.md describes the
 * bytes.
 *
 * Threads: one `repo` handle may be used from several threads at once for
 * reads (repo_read_chunk, repo_version_load ...).  Writers use one
 * repo_pack_writer per thread; index updates are serialised inside. */
#ifndef STRATA_REPO_H
#define STRATA_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/base.h"
#include "fetch/storage.h"

typedef struct repo repo;

/* ---- Opening --------------------------------------------------------------- */
typedef enum {
    REPO_READ = 0,  /* shared: readers never block each other or a writer */
    REPO_WRITE = 1, /* exclusive writer lock (one backup or rebuild at a time) */
    /* REPO_WRITE's locks for repo_index_rebuild(), which replaces the
     * index whole: opening neither brings the index up to date nor builds
     * a missing one, work the rebuild would throw away */
    REPO_REBUILD = 2,
} repo_mode;

/* Creates a new repository at `location` (a directory path or URL that
 * storage_open() accepts).  Fails with STRATA_EEXIST if one is there. */
strata_err repo_init(const char *location);

/* Opens an existing repository; STRATA_ENOTREPO when there is none,
 * STRATA_ELOCKED when REPO_WRITE (or REPO_REBUILD) and another writer holds it (a reader
 * indexing objects stored since is waited for, up to 10 minutes).  The local
 * index is created or brought up to date from the stored objects when it
 * is missing or older than them.  A repository whose index directory
 * cannot be written (read-only media) opens only for REPO_READ: its index
 * is used when complete, else one in the cache directory. */
strata_err repo_open(const char *location, repo_mode mode, repo **out);
void repo_close(repo *r);

/* For a reader that stays open (a mount), at most every
 * REPO_REFRESH_SECONDS and when no writer on this machine holds the
 * index: moves to the index `strata index rebuild` made since, which
 * replaced the file the reader opened (its writers then keep the new one
 * only); and, as a remote repository's index lives on this machine, so
 * the versions other machines back up reach it only through a sync,
 * looks for version objects the index lacks and indexes them with their
 * packs.  Does nothing for a repository opened to write or whose index
 * cannot be written.  Safe from several threads at once. */
#define REPO_REFRESH_SECONDS 10
strata_err repo_refresh(repo *r);
/* Whether repo_refresh can find anything: a repository opened to read
 * whose index can be written. */
int repo_refreshes(const repo *r);
/* For a reader that stops (an unmount): its requests still waiting on the
 * storage, a repo_refresh's among them, end at once with STRATA_EINTR
 * (storage_abandon); the repository is then of no use but to close. */
void repo_abandon_requests(repo *r);

/* A local directory of the repository's own (where its index lives: inside
 * a local repository, in the cache directory for a remote one), for a
 * writer's temporary files. */
const char *repo_work_dir(const repo *r);

/* What the repository's storage has fetched since it was opened (see
 * storage_get_traffic): a caller takes the difference around its work. */
void repo_get_traffic(const repo *r, storage_traffic *out);

/* ---- Chunks ----------------------------------------------------------------- */
typedef struct {
    uint8_t id[STRATA_HASH_LEN]; /* SHA-256 of the chunk's bytes */
    uint32_t size;               /* bytes of the chunk */
} repo_chunk_ref;

/* Content-defined chunk boundaries (FastCDC with normalized chunking).
 * Feed bytes in any pieces; each call returns the length of the next
 * chunk that ends inside `len` bytes starting at `data`, or 0 when more
 * input is needed (then the caller keeps the bytes and appends).  At end
 * of input the remainder is one last chunk. */
#define REPO_CHUNK_MIN (256u * 1024)
#define REPO_CHUNK_AVG (1024u * 1024)
#define REPO_CHUNK_MAX (4u * 1024 * 1024)
size_t repo_chunk_boundary(const uint8_t *data, size_t len);

/* True when the chunk is stored (or queued in this process's writers). */
int repo_chunk_known(repo *r, const uint8_t id[STRATA_HASH_LEN]);

/* Reads one chunk into `out` (replacing its content).  Integrity is
 * checked cheaply on every read (XXH3 of the chunk recorded in its pack);
 * `full_check` also recomputes SHA-256 and compares it to the id.
 * STRATA_ENOENT when unknown, STRATA_ECORRUPT on any mismatch (the
 * message names the chunk and pack), STRATA_EIO when the pack is missing. */
strata_err repo_read_chunk(repo *r, const uint8_t id[STRATA_HASH_LEN], int full_check,
                           strata_buf *out);
/* Bytes of base chunks a reader has at hand, such as the Data.db a restore
 * has just written: `get` fills buf with chunk `id` (size bytes) and
 * returns 1, or returns 0 when it does not have it. */
typedef struct {
    int (*get)(void *ctx, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, uint32_t size);
    void *ctx;
} repo_base_source;
/* repo_read_chunk, for a chunk stored as copies from other chunks taking
 * those from `src` first and from the repository when it lacks them, so
 * they are not fetched twice.  The chunk is checked as ever; when the
 * bytes at hand do not make it, it is read again from the repository
 * alone. */
strata_err repo_read_chunk_using(repo *r, const uint8_t id[STRATA_HASH_LEN], int full_check,
                                 const repo_base_source *src, strata_buf *out);
/* repo_read_chunk without full_check, into the caller's buffer of `cap`
 * bytes, for readers that recycle buffers: a chunk longer than `cap` is
 * STRATA_ECORRUPT.  *len receives the chunk's length. */
strata_err repo_read_chunk_into(repo *r, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf, size_t cap,
                                size_t *len);

/* Keeps up to max_bytes of chunks read from a remote repository on local
 * disk (under its cache directory), so reading them again transfers
 * nothing; every hit is checked like a fetched chunk.  A local repository
 * ignores it.  For long-running readers such as the mount; call once,
 * before reading. */
#define REPO_DEFAULT_DISK_CACHE (1ull << 30)
void repo_enable_disk_cache(repo *r, uint64_t max_bytes);

/* Writes chunks into pack objects of about REPO_PACK_TARGET bytes; each
 * full pack is sealed and handed to background threads that store and
 * index it, so an interrupted backup keeps every stored pack and the next
 * run reuses its chunks.  Only for repositories opened with REPO_WRITE. */
#define REPO_PACK_TARGET (32u * 1024 * 1024)
typedef struct repo_pack_writer repo_pack_writer;
repo_pack_writer *repo_pack_writer_new(repo *r);
/* Adds a chunk unless it is already known.  *stored_bytes (may be NULL)
 * receives the bytes it will occupy in the pack, 0 when deduplicated. */
strata_err repo_pack_writer_add(repo_pack_writer *w, const uint8_t id[STRATA_HASH_LEN],
                                const uint8_t *data, uint32_t size, uint64_t *stored_bytes);
/* The zstd level of the chunks this writer compresses from now on (the
 * default, 1, suits bulk data that is mostly compressed already). */
void repo_pack_writer_set_level(repo_pack_writer *w, int level);
/* Seals the current pack, if it holds anything, and waits until every
 * pack sealed so far (by any writer of this repository) is stored and
 * indexed; returns the first storing error. */
strata_err repo_pack_writer_flush(repo_pack_writer *w);
/* Frees without flushing (after an error). */
void repo_pack_writer_free(repo_pack_writer *w);

/* ---- Files and versions -------------------------------------------------------- */
typedef struct {
    char *node;
    char *keyspace;
    char *table;
    char *table_id;
    char *rel_path; /* inside the table directory, see cluster.h */
    char *sstable;  /* "" when not an SSTable component */
    uint64_t size;
    int64_t mtime_ns;
    uint32_t mode;
    uint8_t sample[STRATA_HASH_LEN]; /* identity sample, see repo_file_sample() */
    uint32_t n_chunks;
    repo_chunk_ref *chunks;
} repo_file;

/* The order of a version's files (node, keyspace, table, table id,
 * rel_path), for qsort and bsearch. */
int repo_file_order(const void *a, const void *b);

/* Random reads of a stored file, chunk by chunk (the last chunk read is
 * kept).  The reader borrows `f`, which must outlive it.  One reader per
 * thread. */
typedef struct repo_file_reader repo_file_reader;
repo_file_reader *repo_file_reader_open(repo *r, const repo_file *f);
/* Reads up to n bytes at off into buf; *got is less than n only at the end
 * of the file.  Chunks are checked as repo_read_chunk() checks them. */
strata_err repo_file_reader_pread(repo_file_reader *rd, void *buf, size_t n, uint64_t off, size_t *got);
void repo_file_reader_close(repo_file_reader *rd);

/* A run of bytes of a file equal to bytes of another file, its base:
 * `len` bytes at `at` in the file are those at `base_at` in the base. */
typedef struct {
    uint64_t at, base_at;
    uint32_t len;
} repo_span;
/* Yields the next span, in increasing `at` and not overlapping the one
 * before, or sets *end. */
typedef strata_err (*repo_span_fn)(void *ctx, repo_span *out, int *end);

/* A stored file that the file being stored repeats bytes of. */
typedef struct {
    const repo_file *file; /* its record: every chunk stored */
    int fd;                /* its bytes, open */
    repo_span_fn next;     /* where the repeats are */
    void *ctx;
} repo_store_base;

/* What storing a Data.db by its fields (docs/FORMAT.md, codec 3) needs to
 * know of its table: which clustering values have a fixed length (else
 * -1; REPO_LAYOUT_TIMEUUID for timeuuids, whose 16 bytes are stored as a
 * time and the rest), and for each regular and static column its values'
 * fixed length, -1 when variable, or REPO_LAYOUT_MULTICELL when it holds
 * cells with paths (a non-frozen collection or UDT); and whether deletion
 * times take the layout of "oa" and later. */
#define REPO_LAYOUT_MULTICELL (-2)
#define REPO_LAYOUT_TIMEUUID (-3)
typedef struct {
    int uint_deletion_time;
    size_t nclustering;
    const int32_t *clustering_len;
    size_t nregular;
    const int32_t *regular_layout;
    size_t nstatic;
    const int32_t *static_layout;
} repo_rows_layout;

/* A Data.db being stored by its fields: all its bytes and its layout. */
typedef struct {
    const uint8_t *data;
    uint64_t size;
    const repo_rows_layout *layout;
} repo_store_rows;

/* What the caller knows of a file being stored beyond its bytes; either
 * part may be NULL. */
typedef struct {
    const repo_store_base *base; /* a file it repeats bytes of */
    const repo_store_rows *rows; /* it is this Data.db */
} repo_store_hints;

/* Reads chunk `id` (size bytes) of the file recorded in f from fd, which
 * holds that file's bytes: STRATA_ENOENT when f has no such chunk,
 * STRATA_EIO when fd ends before it. */
strata_err repo_file_read_chunk_from(const repo_file *f, int fd, const uint8_t id[STRATA_HASH_LEN], uint8_t *buf,
                                     uint32_t size);

/* Computes a file's identity sample without reading it whole: SHA-256 of
 * its size and its first and last 64 KiB.  SSTable components are
 * immutable, so name + size + sample identifies a file already stored. */
strata_err repo_file_sample(int fd, uint64_t size, uint8_t out[STRATA_HASH_LEN]);

/* Chunks the open file `fd` (rec->size bytes), stores new chunks through
 * `w` and fills rec->chunks.  Adds the bytes read to `progress` (may be
 * NULL) and the bytes newly stored to *stored_bytes; *crc32 (when not
 * NULL) receives the CRC32 of the bytes read. */
strata_err repo_store_file(repo_pack_writer *w, int fd, repo_file *rec,
                           strata_progress *progress, uint64_t *stored_bytes, uint32_t *crc32);
/* repo_store_file with what the caller knows of the file.  With a base,
 * a new chunk that holds repeats of it is stored as copies from the
 * base's chunks where that is smaller (docs/FORMAT.md, codec 2); reading
 * such a chunk reads the base chunks it copies from.  With rows (the file
 * is that Data.db), a new chunk holding a whole row is stored as streams
 * of its fields where their zstd frame is smaller than the chunk (codec
 * 3).  Either form is kept only once decoding it gave the chunk back.
 * `hints` NULL is repo_store_file. */
strata_err repo_store_file_with(repo_pack_writer *w, int fd, repo_file *rec, const repo_store_hints *hints,
                                strata_progress *progress, uint64_t *stored_bytes, uint32_t *crc32);

/* An SSTable of a node as a reconciling backup read it: enough for later
 * backups to recognise it without reading it again, and to know which of
 * its facts the layers hold already. */
typedef struct {
    char *node, *keyspace, *table, *table_id;
    char *sstable;          /* "nb-5-big" */
    uint64_t bytes;         /* all its components */
    uint64_t data_size;     /* Data.db */
    uint8_t sample[STRATA_HASH_LEN]; /* Data.db's identity sample */
    int64_t min_timestamp, max_timestamp; /* Statistics.db, µs */
    int64_t first_cut;      /* cut of the first version that read it */
    int64_t covered_to;     /* its facts up to this time are in the layers */
} repo_source;

/* One table of a reconciling version. */
typedef struct {
    char *keyspace, *table, *table_id;
    uint64_t replica_bytes;  /* its SSTables on all nodes the version captured */
    uint64_t layer_bytes;    /* its reconciled layers in this version */
    uint64_t stored_bytes;   /* added to packs for it by this version */
    uint32_t layers;
    uint32_t sstables_read;  /* SSTables this version read, whole or windowed */
} repo_table_summary;

typedef struct {
    char id[48];        /* "2026-11-21T22:30:55Z", "...Z.2" on a same-second clash */
    int64_t time_us;    /* the cut: when the snapshots were triggered */
    char *cluster;
    char **nodes;
    size_t n_nodes;
    repo_file *files;   /* sorted by node, keyspace, table, table_id, rel_path */
    size_t n_files;
    /* statistics of the backup that made it */
    uint64_t logical_bytes;   /* sum of file sizes */
    uint64_t new_file_bytes;  /* bytes of files read (not known before) */
    uint64_t stored_bytes;    /* bytes added to packs */
    uint32_t n_sstables, new_sstables;
    uint32_t new_files;
    /* Reconciling versions: each table is a stack of reconciled SSTables
     * (files of node "", with the table's schema.cql); node files are
     * there only where replicas were kept or a table could not be read. */
    int reconciled;
    repo_source *sources;     /* sorted by node, keyspace, table_id, sstable */
    size_t n_sources;
    repo_table_summary *tables; /* sorted by keyspace, table, table_id */
    size_t n_tables;
    char *report;             /* JSON object: cut, coverage, notes; NULL if none */
} repo_version;

/* Version ids, oldest first. */
strata_err repo_version_list(repo *r, char ***ids, size_t *n);
/* Orders version ids by age: by time, then by the suffix of a same-second
 * clash as a number ("Z" < "Z.2" < "Z.10"), which their bytes do not. */
int repo_version_id_cmp(const char *a, const char *b);
void repo_version_list_free(char **ids, size_t n);

/* Loads a version from the index into *out (free with repo_version_free).
 * `id` may be "latest".  STRATA_ENOENT when the index holds no such
 * version (or none at all), STRATA_ECORRUPT when its record is malformed. */
strata_err repo_version_load(repo *r, const char *id, repo_version **out);
void repo_version_free(repo_version *v);

/* The files of a version, loaded for listing them: their strings and chunk
 * lists all lie in one block, so a load costs two allocations however many
 * files the version has (the mount loads a version per directory it shows
 * first).  Read-only: free with repo_version_files_free(), never with
 * repo_file_clear(). */
typedef struct {
    int64_t time_us;
    repo_file *files; /* sorted as repo_version.files */
    size_t n_files;
    void *block;
} repo_version_files;

/* Loads the files of version `id` (an id, not "latest") from the index;
 * errors as repo_version_load(). */
strata_err repo_version_load_files(repo *r, const char *id, repo_version_files *out);
void repo_version_files_free(repo_version_files *vf);

/* Picks the id for a version taken at `time_us` (adds a suffix when the
 * second is taken) and writes it to v->id. */
strata_err repo_version_assign_id(repo *r, repo_version *v);

/* Publishes a version: stores the version object (the commit point), then
 * indexes it.  Every chunk it names must have been flushed before. */
strata_err repo_version_commit(repo *r, const repo_version *v);

/* The newest stored record of (node, keyspace, table_id, rel_path), from
 * any earlier version: fills *out (caller frees with repo_file_clear) and
 * returns STRATA_OK, or STRATA_ENOENT. */
strata_err repo_file_lookup(repo *r, const char *node, const char *keyspace,
                            const char *table_id, const char *rel_path, repo_file *out);
void repo_file_clear(repo_file *f);
/* Deep copy. */
void repo_file_copy(repo_file *dst, const repo_file *src);

/* The newest record of SSTable (node, keyspace, table_id, sstable) from
 * any earlier reconciling version: fills *out (caller frees with
 * repo_source_clear) and returns STRATA_OK, or STRATA_ENOENT. */
strata_err repo_source_lookup(repo *r, const char *node, const char *keyspace, const char *table_id,
                              const char *sstable, repo_source *out);
void repo_source_clear(repo_source *s);

/* The id of the newest reconciling version that holds table (keyspace,
 * table_id) as layers: a table left out of later versions (backups of
 * other tables) keeps its stack there.  STRATA_ENOENT when none does. */
strata_err repo_table_newest_version(repo *r, const char *keyspace, const char *table_id, char id[48]);
/* Frees the summary's strings and zeroes it. */
void repo_table_summary_clear(repo_table_summary *t);

/* ---- Maintenance ------------------------------------------------------------ */
/* Drops the local index and recreates it from packs and version objects. */
strata_err repo_index_rebuild(repo *r, strata_progress *progress);

typedef struct {
    uint64_t packs, chunks, bytes;
    uint64_t bad_chunks, missing_chunks, bad_objects, affected_files;
} repo_verify_result;

/* Called once per damaged or missing chunk with the pack it was read from
 * ("" when it is in no readable pack) and what is wrong; `chunk` is NULL
 * when a whole object (a pack or version object) is unreadable, and `pack`
 * then names that object. */
typedef void (*repo_damage_fn)(void *ctx, const uint8_t *chunk, const char *pack,
                               const char *problem);
/* Called for every file of every version that contains a damaged chunk. */
typedef void (*repo_affected_fn)(void *ctx, const char *version, const repo_file *file,
                                 const uint8_t chunk[STRATA_HASH_LEN]);

/* Re-reads every pack, checks every chunk (SHA-256), checks every version
 * object, and checks that every chunk any version names is stored.
 * Returns STRATA_OK even when damage is found (see the result); errors
 * mean verification itself could not run. */
strata_err repo_verify(repo *r, strata_progress *progress, repo_damage_fn on_damage,
                       repo_affected_fn on_affected, void *ctx, repo_verify_result *result);

/* Writes the object of version `id` again from this machine's index, which
 * keeps every version's payload as it was written or read: the repair of a
 * version object verify found missing or damaged.  STRATA_ENOENT when the
 * index does not hold the version; the repository must be open for writing. */
strata_err repo_version_rewrite_object(repo *r, const char *id);

/* Of `n` chunks verify found damaged or missing (32-byte ids end to end,
 * repeats allowed), repairs the index's record of those whose indexed copy
 * is lost (its pack missing, the copy damaged; another pack's copy of the
 * same chunk may be the one verify found damaged).  When another pack holds
 * the chunk whole, the index points at that copy (*moved counts them);
 * else the chunk is dropped from the index (*forgotten counts them): a
 * backup then stores it again when a node still holds its bytes, and every
 * version naming it reads the new copy (a chunk's id is its content).  The
 * packs are left as they are. */
strata_err repo_forget_chunks(repo *r, const uint8_t *ids, size_t n, size_t *forgotten, size_t *moved);

/* Whether every chunk of the file is stored: a file or layer recorded
 * earlier whose chunks were lost (and forgotten) is not reused as it is. */
int repo_file_chunks_known(repo *r, const repo_file *f);

/* Total bytes of all pack objects (for progress and statistics). */
strata_err repo_stored_bytes(repo *r, uint64_t *bytes, uint64_t *packs);

/* ---- Statistics --------------------------------------------------------------- */
/* The order of repo_version.tables (keyspace, table, table id), for qsort. */
int repo_table_summary_order(const void *a, const void *b);
/* The summary of a table that a reconciling version reconciled, or NULL
 * (the table is stored as the nodes' files, or the version is older);
 * borrowed from v. */
const repo_table_summary *repo_version_table_summary(const repo_version *v, const char *keyspace,
                                                     const char *table, const char *table_id);

/* Logical bytes are the replicas' bytes a version stands for: for a
 * reconciled table its SSTables on every captured node (replica_bytes),
 * for a table stored as the nodes' files those files. */
typedef struct {
    char *keyspace, *table;
    uint64_t files_latest;      /* files of the table in the newest version */
    uint64_t logical_latest;    /* its logical bytes there */
    uint64_t reconciled_latest; /* its layers there; 0 when not reconciled */
    uint64_t logical_all;       /* its logical bytes summed over all versions */
    uint64_t stored;            /* bytes in packs of the distinct chunks of its files */
    /* the newest version's largest node copy: the SSTables (files, for a
     * table not reconciled) of the node holding most of it; what storing a
     * table once, whatever the replication factor, is set against */
    uint64_t one_node_latest;
} repo_table_stats;

typedef struct {
    char id[48];
    int reconciled;
    uint64_t files;
    uint64_t logical;          /* summed over its tables */
    uint64_t reconciled_bytes; /* its tables' layers */
    uint64_t stored;           /* added to packs by the backup that made it */
} repo_version_stats;

typedef struct {
    uint64_t logical_all; /* sum over versions of their logical bytes */
    uint64_t stored;      /* bytes of all packs */
    uint64_t packs;
    repo_version_stats *versions; /* oldest first */
    size_t n_versions;
    repo_table_stats *tables; /* sorted by keyspace, table */
    size_t n_tables;
} repo_stats;

/* Computes the statistics from the index and the pack listing. */
strata_err repo_stats_compute(repo *r, repo_stats **out);
void repo_stats_free(repo_stats *s);

#endif
