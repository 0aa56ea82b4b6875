/* ops.c - the FUSE low-level operations of the read-only mount.
 *
 * Inode numbers are node addresses (nodes live until unmount), so no
 * inode table is needed and forget has nothing to do.  Everything below a
 * version is immutable: the kernel may keep its attributes, directory
 * listings and file pages for a day.  Only the view roots and per-node
 * directories change (new versions).  Their attributes are never cached,
 * and asking for them refreshes them: the kernel checks a directory's
 * mtime before it lists it from its cache, so a listing shows new versions
 * at once.  Negative lookups are never cached, and a lookup that misses
 * refreshes too.  So does a lookup of /versions/latest, whose entry is
 * never cached either: a path through it must lead to the newest version
 * even when nothing listed /versions since that was backed up.  The
 * kernel keeps a link's target with its inode, so a re-pointed link is a
 * new inode (fs_dir_set_link).
 *
 * Round trips are what a listing costs, so there are as few as the kernel
 * allows: directories and files are opened by the kernel alone (no OPEN,
 * OPENDIR or their RELEASEs), and READDIRPLUS hands over the directories
 * of a listing with their attributes, so descending into them needs no
 * LOOKUP (files are listed without, see list()).  Permissions are left to
 * the modes alone (no default_permissions): every file is world-readable
 * and the mount is read-only, so the kernel's checks decided nothing, but
 * they made it fetch /versions' attributes on every path through it. */
#include "fs/mount_int.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <string.h>
#include <sys/stat.h>

#define IMMUTABLE_TIMEOUT 86400.0

static fs_mount *mount_of(fuse_req_t req) {
    return fuse_req_userdata(req);
}

static fs_node *node_of(fuse_req_t req, fuse_ino_t ino) {
    return ino == FUSE_ROOT_ID ? mount_of(req)->root : (fs_node *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(fs_mount *m, const fs_node *n) {
    return n == m->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static double timeout_of(const fs_node *n) {
    return n->dynamic || n->kind == FS_LINK ? 0.0 : IMMUTABLE_TIMEOUT;
}

/* With the mount lock held (directories change as they are filled). */
static void fill_stat(fs_mount *m, const fs_node *n, struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_ino = ino_of(m, n);
    st->st_mtim.tv_sec = n->mtime_ns / 1000000000;
    st->st_mtim.tv_nsec = n->mtime_ns % 1000000000;
    st->st_atim = st->st_ctim = st->st_mtim;
    /* Readers size their reads by st_blksize: 1 MiB requests for files;
     * for directories glibc's readdir takes it as its buffer, and the
     * kernel allocates (and maps) that much for every READDIR. */
    st->st_blksize = n->kind == FS_DIR ? 4096 : 1 << 20;
    switch (n->kind) {
    case FS_DIR:
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2 + n->n_subdirs;
        break;
    case FS_FILE:
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)n->content->size;
        break;
    case FS_LINK:
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)strlen(n->target);
        break;
    }
    st->st_blocks = (st->st_size + 511) / 512;
}

static int errno_of(strata_err e) {
    switch (e) {
    case STRATA_OK: return 0;
    case STRATA_ENOENT: return ENOENT;
    case STRATA_ENOMEM: return ENOMEM;
    case STRATA_EINTR: return EINTR;
    default: return EIO;
    }
}

/* Makes a directory ready to be looked into; logs failures of the index. */
static int ready(fs_mount *m, fs_node *dir, int refresh) {
    strata_err e = fs_dir_ready(m, dir, refresh);
    if (e) {
        char *path = fs_node_path(dir);
        strata_log(STRATA_LOG_ERROR, "%s: %s", path, strata_errmsg());
        free(path);
    }
    return errno_of(e);
}

static void entry_of(fs_mount *m, const fs_node *n, struct fuse_entry_param *e) {
    memset(e, 0, sizeof *e);
    e->ino = ino_of(m, n);
    fill_stat(m, n, &e->attr);
    e->attr_timeout = timeout_of(n);
    e->entry_timeout = n->kind == FS_LINK ? 0.0 : IMMUTABLE_TIMEOUT;
}

static void op_init(void *userdata, struct fuse_conn_info *conn) {
    fs_mount *m = userdata;
    m->open_in_kernel = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
    /* Cached listings of the view roots stay fresh only through the mtime
     * check that comes with AUTO_INVAL_DATA (see the top of this file). */
    m->opendir_in_kernel = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) &&
                           (conn->capable & FUSE_CAP_AUTO_INVAL_DATA);
    /* Many read-ahead requests in flight keep the worker threads busy. */
    conn->max_background = 64;
    conn->congestion_threshold = 48;
    /* Always READDIRPLUS (list() decides what it carries); the kernel's
     * readdir cache checks a directory's mtime only with AUTO_INVAL_DATA. */
    conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    fs_mount *m = mount_of(req);
    fs_node *dir = node_of(req, parent);
    struct fuse_entry_param e;
    pthread_mutex_lock(&m->lock);
    int err = dir->kind == FS_DIR ? ready(m, dir, 0) : ENOTDIR;
    fs_node *n = err ? NULL : fs_dir_find(dir, name);
    if (!err && dir->dynamic && (!n || n->kind == FS_LINK)) {
        err = ready(m, dir, 1);
        n = err ? NULL : fs_dir_find(dir, name);
    }
    if (n) entry_of(m, n, &e);
    pthread_mutex_unlock(&m->lock);
    if (n)
        fuse_reply_entry(req, &e);
    else
        fuse_reply_err(req, err ? err : ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    fs_mount *m = mount_of(req);
    fs_node *n = node_of(req, ino);
    struct stat st;
    pthread_mutex_lock(&m->lock);
    int err = n->dynamic ? ready(m, n, 1) : 0;
    fill_stat(m, n, &st);
    pthread_mutex_unlock(&m->lock);
    if (err)
        fuse_reply_err(req, err);
    else
        fuse_reply_attr(req, &st, timeout_of(n));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
    const fs_node *n = node_of(req, ino);
    if (n->kind != FS_LINK) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    /* a link's target never changes: re-pointing makes a new link */
    fuse_reply_readlink(req, n->target);
}

/* Where the kernel can open directories alone (caching every listing,
 * see the top of this file), ENOSYS tells it to from now on. */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    fs_mount *m = mount_of(req);
    const fs_node *dir = node_of(req, ino);
    if (dir->kind != FS_DIR) {
        fuse_reply_err(req, ENOTDIR);
    } else if (m->opendir_in_kernel) {
        fuse_reply_err(req, ENOSYS);
    } else {
        fi->cache_readdir = !dir->dynamic;
        fi->keep_cache = !dir->dynamic;
        fuse_reply_open(req, fi);
    }
}

/* One entry of a listing; a directory's carries its inode and attributes
 * (READDIRPLUS), anything else only its inode number and type: a listing
 * of a thousand versions must not make the kernel keep an inode per file,
 * while the directories are looked up by anyone who descends into them
 * anyway.  A cold listing is hundreds of thousands of entries, so the
 * others are not given attributes the kernel would drop. */
static size_t add_entry(fuse_req_t req, fs_mount *m, char *buf, size_t room, const char *name,
                        const fs_node *n, off_t next, int plus) {
    struct fuse_entry_param e;
    int full = plus && n->kind == FS_DIR && strcmp(name, ".") && strcmp(name, "..");
    if (full) {
        entry_of(m, n, &e);
    } else {
        memset(&e, 0, sizeof e);
        e.attr.st_ino = ino_of(m, n);
        e.attr.st_mode = n->kind == FS_DIR ? S_IFDIR : n->kind == FS_FILE ? S_IFREG : S_IFLNK;
    }
    return plus ? fuse_add_direntry_plus(req, buf, room, name, &e, next)
                : fuse_add_direntry(req, buf, room, name, &e.attr, next);
}

/* Entries 0 and 1 are "." and ".."; child i is entry i + 2.  A listing
 * starts (offset 0) by refreshing a dynamic directory.  Versions only ever
 * join a directory, at their place in name order, which is the end for a
 * new backup (ids sort by time), so a listing that spans a refresh at
 * most repeats an entry whose id sorts before those it has seen. */
static void list(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus) {
    fs_mount *m = mount_of(req);
    fs_node *dir = node_of(req, ino);
    char *buf = xmalloc(size);
    size_t used = 0;
    pthread_mutex_lock(&m->lock);
    int err = dir->kind == FS_DIR ? ready(m, dir, off == 0) : ENOTDIR;
    if (!err && dir->list_ahead) fs_ahead_listed(m, dir);
    for (size_t i = (size_t)off; !err && i < dir->n_children + 2; i++) {
        const fs_node *n = i == 0 ? dir : i == 1 ? (dir->parent ? dir->parent : dir) : dir->children[i - 2];
        const char *name = i == 0 ? "." : i == 1 ? ".." : n->name;
        size_t need = add_entry(req, m, buf + used, size - used, name, n, (off_t)i + 1, plus);
        if (need > size - used) break;
        used += need;
    }
    pthread_mutex_unlock(&m->lock);
    if (err)
        fuse_reply_err(req, err);
    else
        fuse_reply_buf(req, buf, used);
    free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    list(req, ino, size, off, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    list(req, ino, size, off, 1);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    fs_mount *m = mount_of(req);
    fs_node *n = node_of(req, ino);
    if (n->kind != FS_FILE) {
        fuse_reply_err(req, n->kind == FS_DIR ? EISDIR : EINVAL);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (!__atomic_exchange_n(&m->readahead_raised, 1, __ATOMIC_RELAXED)) fs_raise_kernel_readahead(m);
    /* Files need no per-open state, so where the kernel can open them alone
     * (keeping their pages, as asked below) ENOSYS tells it to from now on:
     * that saves an OPEN and a RELEASE per file.  The mount is read-only,
     * so the checks above are the kernel's then. */
    if (m->open_in_kernel) {
        fuse_reply_err(req, ENOSYS);
        return;
    }
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    fs_mount *m = mount_of(req);
    fs_read_buf rb;
    strata_err e = fs_read(m, node_of(req, ino), (uint64_t)off, size, &rb);
    if (e) {
        fuse_reply_err(req, EIO);
        return;
    }
    fuse_reply_iov(req, rb.iov, (int)rb.n);
    fs_read_release(m, &rb);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
    (void)ino;
    struct statvfs sv;
    memset(&sv, 0, sizeof sv);
    sv.f_bsize = sv.f_frsize = 4096;
    sv.f_namemax = 255;
    sv.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .open = op_open,
    .read = op_read,
    .statfs = op_statfs,
};
