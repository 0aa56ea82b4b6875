/* tree.c - the mount's directory tree.
 *
 * Children are kept sorted by name so that lookups are a binary search and
 * listings come out in a stable order.  Nodes live until unmount: the
 * kernel knows them by address (their inode number), and everything below
 * a version is immutable anyway. */
#include "fs/mount_int.h"

#include <string.h>

/* Nodes are carved from blocks: a cold listing of a thousand versions makes
 * 800,000 of them, and a malloc each cost a header each and, on the threads
 * that build version trees, a heap grown a page at a time.  Each thread
 * carves from its own block; the blocks are listed for fs_tree_free, and a
 * thread's block from before that is not used again (the generation).  A
 * process serves one mount (mount.c), so the blocks are the process's. */
#define NODE_BLOCK (1u << 20)

typedef struct node_block {
    struct node_block *next;
    size_t used;
    _Alignas(8) uint8_t data[];
} node_block;

static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static node_block *blocks;
static unsigned blocks_generation;
static _Thread_local node_block *own_block;
static _Thread_local unsigned own_generation;

static void *node_alloc(size_t size) {
    size = (size + 7) & ~(size_t)7;
    unsigned generation = __atomic_load_n(&blocks_generation, __ATOMIC_ACQUIRE);
    if (!own_block || own_generation != generation || own_block->used + size > NODE_BLOCK) {
        node_block *b = xmalloc(sizeof *b + NODE_BLOCK);
        b->used = 0;
        pthread_mutex_lock(&blocks_lock);
        b->next = blocks;
        blocks = b;
        pthread_mutex_unlock(&blocks_lock);
        own_block = b;
        own_generation = generation;
    }
    void *p = own_block->data + own_block->used;
    own_block->used += size;
    memset(p, 0, size);
    return p;
}

/* A link's target follows its name in the same allocation. */
static fs_node *node_new(fs_node *parent, const char *name, fs_kind kind, const char *target,
                         int64_t mtime_ns) {
    size_t len = strlen(name), target_len = target ? strlen(target) + 1 : 0;
    fs_node *n = node_alloc(sizeof *n + len + 1 + target_len);
    memcpy(n->name, name, len + 1);
    if (target) n->target = memcpy(n->name + len + 1, target, target_len);
    n->parent = parent;
    n->kind = (uint8_t)kind;
    n->mtime_ns = mtime_ns;
    n->filled = 1;
    return n;
}

fs_node *fs_root_new(void) {
    return node_new(NULL, "", FS_DIR, NULL, strata_now_us() * 1000);
}

/* What nodes own besides themselves: children arrays. */
static void free_owned(fs_node *n) {
    if (n->kind != FS_DIR) return;
    for (size_t i = 0; i < n->n_children; i++) free_owned(n->children[i]);
    free(n->children);
}

void fs_tree_free(fs_node *root) {
    if (root) free_owned(root);
    pthread_mutex_lock(&blocks_lock);
    while (blocks) {
        node_block *next = blocks->next;
        free(blocks);
        blocks = next;
    }
    __atomic_add_fetch(&blocks_generation, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&blocks_lock);
}

/* Index of the first child whose name is >= name. */
static size_t lower_bound(const fs_node *dir, const char *name) {
    size_t lo = 0, hi = dir->n_children;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(dir->children[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

fs_node *fs_dir_find(const fs_node *dir, const char *name) {
    size_t i = lower_bound(dir, name);
    return i < dir->n_children && !strcmp(dir->children[i]->name, name) ? dir->children[i] : NULL;
}

size_t fs_node_rank(const fs_node *n) {
    return lower_bound(n->parent, n->name);
}

static fs_node *insert(fs_node *dir, const char *name, fs_kind kind, const char *target, int64_t mtime_ns) {
    size_t i = lower_bound(dir, name);
    if (i < dir->n_children && !strcmp(dir->children[i]->name, name)) return NULL;
    if (dir->n_children == dir->cap_children) {
        dir->cap_children = dir->cap_children ? dir->cap_children * 2 : 8;
        dir->children = xrealloc(dir->children, dir->cap_children * sizeof *dir->children);
    }
    memmove(dir->children + i + 1, dir->children + i, (dir->n_children - i) * sizeof *dir->children);
    fs_node *n = node_new(dir, name, kind, target, mtime_ns);
    dir->children[i] = n;
    dir->n_children++;
    if (kind == FS_DIR) dir->n_subdirs++;
    return n;
}

fs_node *fs_dir_make(fs_node *dir, const char *name, int64_t mtime_ns) {
    fs_node *n = fs_dir_find(dir, name);
    if (n) return n->kind == FS_DIR ? n : NULL;
    return insert(dir, name, FS_DIR, NULL, mtime_ns);
}

fs_node *fs_dir_put_file(fs_node *dir, const char *path, fs_content *c, int64_t mtime_ns) {
    char part[256]; /* a file name's limit on Linux */
    const char *slash;
    while (dir && (slash = strchr(path, '/'))) {
        size_t len = (size_t)(slash - path);
        if (len >= sizeof part) return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        if (len) dir = fs_dir_make(dir, part, mtime_ns);
        path = slash + 1;
    }
    if (!dir || !*path) return NULL;
    fs_node *n = insert(dir, path, FS_FILE, NULL, mtime_ns);
    if (n) n->content = c;
    return n;
}

void fs_dir_set_link(fs_node *dir, const char *name, const char *target, int64_t mtime_ns) {
    size_t i = lower_bound(dir, name);
    if (i == dir->n_children || strcmp(dir->children[i]->name, name)) {
        insert(dir, name, FS_LINK, target, mtime_ns);
        return;
    }
    fs_node *old = dir->children[i];
    /* The old node stays: the kernel may still hold its inode number. */
    if (old->kind == FS_LINK && strcmp(old->target, target))
        dir->children[i] = node_new(dir, name, FS_LINK, target, mtime_ns);
}

strata_err fs_dir_ready(fs_mount *m, fs_node *dir, int refresh) {
    while (dir->filling) pthread_cond_wait(&m->filled, &m->lock);
    if (!dir->fill || (dir->filled && !(refresh && dir->dynamic))) return STRATA_OK;
    size_t before = dir->n_children;
    int64_t mtime_ns = dir->mtime_ns;
    dir->filling = 1;
    strata_err e = dir->fill(m, dir);
    dir->filling = 0;
    pthread_cond_broadcast(&m->filled);
    if (!e) {
        dir->filled = 1;
        dir->list_ahead = !dir->dynamic;
    }
    /* The kernel lists a directory from its cache while its mtime stays
     * the same: an entry added must move it, even when the version that
     * came sorts before the newest. */
    if (dir->n_children != before && dir->mtime_ns <= mtime_ns) dir->mtime_ns = mtime_ns + 1;
    return e;
}

strata_err fs_dir_build_unlocked(fs_mount *m, fs_node *dir, fs_build_fn build) {
    /* Never part of the tree: it only carries the children over. */
    fs_node *into = xcalloc(1, sizeof *into + 1);
    into->kind = FS_DIR;
    into->mtime_ns = dir->mtime_ns;
    pthread_mutex_unlock(&m->lock);
    strata_err e = build(m, dir, into);
    pthread_mutex_lock(&m->lock);
    if (!e) {
        free(dir->children);
        dir->children = into->children;
        dir->n_children = into->n_children;
        dir->cap_children = into->cap_children;
        dir->n_subdirs = into->n_subdirs;
        dir->mtime_ns = into->mtime_ns;
        for (size_t i = 0; i < dir->n_children; i++) dir->children[i]->parent = dir;
    } else {
        free_owned(into);
    }
    free(into);
    return e;
}

char *fs_node_path(const fs_node *n) {
    size_t len = 0;
    for (const fs_node *p = n; p->parent; p = p->parent) len += strlen(p->name) + 1;
    char *out = xmalloc(len + 2);
    out[len] = '\0';
    if (!len) return strcpy(out, "/");
    for (const fs_node *p = n; p->parent; p = p->parent) {
        size_t l = strlen(p->name);
        len -= l;
        memcpy(out + len, p->name, l);
        out[--len] = '/';
    }
    return out;
}
