/* mount_int.h - what the files of the FUSE mount share.
 *
 * The mount is a tree of fs_node kept in memory: directories, files and
 * symbolic links.  Top-level directories are views (fs_view): /versions,
 * /nodes.  A view's directories are filled lazily by fill functions the
 * first time they are listed or looked up, from the LMDB index alone, so
 * listing never reads a pack.  Nodes are never freed while mounted (their
 * addresses are the inode numbers the kernel holds); everything in a
 * version is immutable, so only the view roots and per-node directories
 * are "dynamic" and refilled to show versions written after mounting.
 *
 * File bytes are read chunk by chunk through the chunk cache (cache.c),
 * which loads each chunk once with repo_read_chunk_into() (XXH3-checked) and
 * keeps it under a byte budget; read.c turns a FUSE read into pinned
 * cache slices handed to the kernel without another copy. */
#ifndef STRATA_MOUNT_INT_H
#define STRATA_MOUNT_INT_H

#include <pthread.h>
#include <sys/uio.h>

#include "engine/repo/repo.h"
#include "fs/mount.h"

typedef struct fs_mount fs_mount;
typedef struct fs_node fs_node;

/* ---- content.c: the bytes of one stored file -------------------------------
 * Every path that shows the same chunk list shares one fs_content, so a
 * thousand versions of an unchanged SSTable cost one chunk list. */
typedef struct fs_content {
    uint64_t size;
    uint32_t n_chunks;
    repo_chunk_ref *chunks;
    uint64_t *ends; /* ends[i]: file offset just past chunk i */
    uint64_t hash;
    struct fs_content *next; /* intern table chain */
} fs_content;

typedef struct {
    fs_content **buckets;
    size_t n_buckets, count;
} fs_content_table;

/* The shared content for a file record (caller holds the table's lock,
 * fs_mount.contents_lock). */
fs_content *fs_content_intern(fs_content_table *t, const repo_file *f);
/* The same, taking the mount's contents lock (directories are built
 * without the mount lock, see fs_dir_build_unlocked). */
fs_content *fs_mount_content(fs_mount *m, const repo_file *f);
void fs_content_table_free(fs_content_table *t);

/* ---- tree.c: nodes and directories ------------------------------------------ */
typedef enum { FS_DIR, FS_FILE, FS_LINK } fs_kind;

/* Fills (or, for dynamic directories, refreshes) a directory's children.
 * Called with the mount lock held; the directory's name and its parents'
 * names say what to show (a version id, a node name). */
typedef strata_err (*fs_fill_fn)(fs_mount *m, fs_node *dir);
/* Builds what a directory shows into `into`, a detached directory, without
 * the mount lock: reads only dir's name and its parents' names. */
typedef strata_err (*fs_build_fn)(fs_mount *m, const fs_node *dir, fs_node *into);

struct fs_node {
    fs_node *parent;
    int64_t mtime_ns;
    uint8_t kind;       /* fs_kind */
    uint8_t filled;
    uint8_t filling;    /* a thread is filling it; others wait (fs_mount.filled) */
    uint8_t dynamic;    /* refilled on every listing and on a lookup miss */
    uint8_t list_ahead; /* filled and not listed since: its first listing reads ahead (ahead.c) */
    uint8_t queued;     /* waiting for a read-ahead worker */
    /* A listing of 1,000 versions makes 800,000 nodes: each holds only what
     * its kind needs. */
    union {
        struct { /* directories */
            fs_node **children; /* sorted by name */
            uint32_t n_children, cap_children, n_subdirs;
            fs_fill_fn fill; /* NULL: filled when made */
        };
        struct { /* files */
            fs_content *content;
            uint64_t next_off; /* where a sequential reader goes on (read-ahead) */
        };
        const char *target; /* symbolic links: in the node's allocation, after name */
    };
    char name[]; /* allocated with the node */
};

fs_node *fs_root_new(void);
/* Frees the tree and every node made by any thread (nodes are carved from
 * shared blocks, see tree.c): at unmount. */
void fs_tree_free(fs_node *root);
fs_node *fs_dir_find(const fs_node *dir, const char *name);
/* The position of n among its parent's children. */
size_t fs_node_rank(const fs_node *n);
/* The subdirectory `name` of dir, made if absent; NULL when a non-directory
 * holds the name. */
fs_node *fs_dir_make(fs_node *dir, const char *name, int64_t mtime_ns);
/* Adds a file at `path` below dir ("app/users/.idx/nb-1-big-Data.db"),
 * making the directories on the way; NULL when the name is taken. */
fs_node *fs_dir_put_file(fs_node *dir, const char *path, fs_content *c, int64_t mtime_ns);
/* Makes or re-points the symbolic link `name` in dir.  Re-pointing puts a
 * new node (a new inode) in its place: the kernel keeps a link's target
 * for as long as it keeps the inode, and a lookup that answers another
 * inode makes it drop the old one at once. */
void fs_dir_set_link(fs_node *dir, const char *name, const char *target, int64_t mtime_ns);
/* Runs the directory's fill function when it was never filled, or when
 * `refresh` is set and the directory is dynamic; waits first while another
 * thread fills it. */
strata_err fs_dir_ready(fs_mount *m, fs_node *dir, int refresh);
/* A fill function's body for directories whose contents take long to
 * build (a version's tree): runs build without the mount lock, so other
 * requests go on meanwhile, then hands what it built to dir, which must
 * be empty.  Called with the mount lock held, as fill functions are. */
strata_err fs_dir_build_unlocked(fs_mount *m, fs_node *dir, fs_build_fn build);
/* "/versions/<id>/app/users/nb-1-big-Data.db" (malloc'd). */
char *fs_node_path(const fs_node *n);

/* ---- versions.c: the repository's versions as the mount knows them ---------- */
typedef struct {
    char *id;
    int64_t mtime_ns; /* the version's time (from its id until summarized) */
    int summarized;
    char **nodes; /* sorted; valid once summarized */
    size_t n_nodes;
} fs_version_info;

typedef struct {
    fs_version_info *v; /* oldest first (ids sort by time) */
    size_t n;
    pthread_t refresher; /* syncs the index with the repository (repo_refresh) */
    int has_refresher;
    pthread_cond_t refresh_wanted; /* with the mount lock */
    int refresh_asked, refresher_stop;
} fs_versions;

/* Starts and stops the thread that looks for versions stored from other
 * machines when asked by fs_versions_refresh (a remote repository's
 * mount only). */
void fs_versions_start_refresher(fs_mount *m);
void fs_versions_stop_refresher(fs_mount *m);
/* Adds the versions the index holds that the list lacks, and asks the
 * refresher to look for more: they show at a later call. */
strata_err fs_versions_refresh(fs_mount *m);
/* Loads the nodes and exact time of a version (once). */
strata_err fs_versions_summarize(fs_mount *m, fs_version_info *vi);
/* The version's info, NULL when unknown. */
fs_version_info *fs_versions_find(fs_mount *m, const char *id);
void fs_versions_free(fs_versions *vl);

/* ---- views: one module per top-level directory ------------------------------- */
typedef struct {
    const char *name; /* the top directory: "versions" */
    fs_fill_fn fill;  /* fills it; it is dynamic, so called on every listing */
} fs_view;

extern const fs_view fs_view_versions; /* view_versions.c */
extern const fs_view fs_view_nodes;    /* view_nodes.c */

/* ---- ahead.c: filling directories ahead of a walk ---------------------------- */
typedef struct fs_ahead fs_ahead;
fs_ahead *fs_ahead_new(fs_mount *m, int workers);
/* Stops the workers (after the fill they are running, if any) and frees. */
void fs_ahead_free(fs_ahead *a);
/* With the mount lock held, on the first listing of a directory since a
 * fill function filled it: queues its next siblings that need filling. */
void fs_ahead_listed(fs_mount *m, fs_node *dir);

/* ---- cache.c: decompressed, checked chunks under a byte budget ---------------- */
typedef struct fs_cache fs_cache;
typedef struct fs_chunk {
    uint8_t id[STRATA_HASH_LEN];
    uint32_t size;
    int state;
    int refs;
    int in_table;
    uint8_t *data;
    size_t cap; /* of data; the record's charge against the budget is cap + its own size */
    strata_err err;
    char *msg;
    struct fs_chunk *hnext;
    struct fs_chunk *prev, *next; /* LRU list of loaded chunks; spare lists */
} fs_chunk;

fs_cache *fs_cache_new(repo *r, uint64_t budget, int workers);
void fs_cache_free(fs_cache *c);
/* Returns the chunk loaded and pinned (release with fs_cache_put), loading
 * it on this thread when no one else is.  Errors are repo_read_chunk_into's. */
strata_err fs_cache_get(fs_cache *c, const repo_chunk_ref *ref, fs_chunk **out);
void fs_cache_put(fs_cache *c, fs_chunk *ch);
/* Queues a chunk for the prefetch workers unless it is cached or queued. */
void fs_cache_prefetch(fs_cache *c, const repo_chunk_ref *ref);
/* 1 the first time a chunk id is reported here, so a damaged chunk is
 * logged once however often it is read. */
int fs_cache_first_report(fs_cache *c, const uint8_t id[STRATA_HASH_LEN]);
/* Peak bytes held (loaded and loading), for the unmount summary. */
uint64_t fs_cache_peak_bytes(fs_cache *c);

/* ---- read.c: serving reads ----------------------------------------------------- */
/* The bytes of one read as slices of pinned chunks. */
typedef struct {
    struct iovec *iov;
    fs_chunk **pinned;
    size_t n;
} fs_read_buf;

/* Pins the chunks covering [off, off + size) clipped to the file, queues
 * read-ahead when the file is read sequentially.  A chunk that cannot be
 * read fails the whole read and is logged once. */
strata_err fs_read(fs_mount *m, fs_node *file, uint64_t off, size_t size, fs_read_buf *out);
void fs_read_release(fs_mount *m, fs_read_buf *rb);

/* ---- ops.c: the FUSE low-level operations ------------------------------------------ */
struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops fs_ops;

/* ---- mount.c ------------------------------------------------------------------------ */
struct fs_mount {
    repo *repo;
    char *mountpoint; /* absolute */
    pthread_mutex_t lock; /* the tree, the version list */
    pthread_cond_t filled; /* a directory's fill ended (fs_node.filling) */
    fs_node *root;
    fs_versions versions;
    pthread_mutex_t contents_lock; /* the content table (taken without or inside the mount lock) */
    fs_content_table contents;
    fs_ahead *ahead;
    fs_cache *cache;
    uint64_t readahead_bytes;
    int readahead_raised;
    int open_in_kernel;    /* the kernel opens files without asking (FUSE_CAP_NO_OPEN_SUPPORT) */
    int opendir_in_kernel; /* and directories (FUSE_CAP_NO_OPENDIR_SUPPORT) */
};

/* Raises the kernel's read-ahead window for the mount so that sequential
 * reads arrive as large requests.  Called on the first open: the kernel
 * sets the window when the connection starts, so it must be raised after. */
void fs_raise_kernel_readahead(fs_mount *m);

#endif
