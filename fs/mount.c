/* mount.c - setting up, serving and tearing down the FUSE mount.
 *
 * The views table below is the one place that names the top-level
 * directories: a new view is a new view_<name>.c module and one line here.
 *
 * Detaching is done by forking before anything is opened (LMDB
 * environments and threads do not survive a fork): the child opens the
 * repository, mounts, and reports "ready" or its error through a pipe;
 * the parent returns that result, so `strata mount` exits only once the
 * mount can be used, and exits 1 with the child's message when it cannot. */
#include "fs/mount_int.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const fs_view *const views[] = {
    &fs_view_versions,
    &fs_view_nodes,
};

/* Idle FUSE threads kept: enough for the kernel's read-ahead requests of a
 * few readers in flight at once. */
#define FUSE_THREADS 10
/* Allocations from this size are mappings of their own (see serve()). */
#define MOUNT_MMAP_THRESHOLD (128 * 1024)
/* Threads loading chunks ahead of sequential readers: loading is CPU work
 * (decompress, check), so about one per core. */
#define PREFETCH_WORKERS 2
/* Threads filling directories ahead of a walk (ahead.c): building a
 * version's tree is CPU work, so about one per core. */
#define AHEAD_WORKERS 2
/* The kernel's read-ahead window for the mount: 4 MiB keeps four 1 MiB
 * requests in flight per sequential reader. */
#define KERNEL_READAHEAD_KB 4096

/* The mount's device number from /proc/self/mountinfo ("36 25 0:52 / /mnt ..."). */
static int mount_device(const char *mountpoint, unsigned *major, unsigned *minor) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) return -1;
    char line[4096], point[PATH_MAX];
    int found = -1;
    while (found && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%*d %*d %u:%u %*s %4095s", major, minor, point) == 3 &&
            !strcmp(point, mountpoint) && strstr(line, "fuse"))
            found = 0;
    }
    fclose(f);
    return found;
}

void fs_raise_kernel_readahead(fs_mount *m) {
    unsigned major, minor;
    if (mount_device(m->mountpoint, &major, &minor)) return;
    char *path = xasprintf("/sys/class/bdi/%u:%u/read_ahead_kb", major, minor);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", KERNEL_READAHEAD_KB);
        if (fclose(f) != 0) f = NULL;
    }
    if (!f) strata_log(STRATA_LOG_DEBUG, "cannot raise %s: %s", path, strerror(errno));
    free(path);
}

static void build_root(fs_mount *m) {
    m->root = fs_root_new();
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        fs_node *top = fs_dir_make(m->root, views[i]->name, m->root->mtime_ns);
        top->fill = views[i]->fill;
        top->dynamic = 1;
        top->filled = 0;
    }
}

static void mount_free(fs_mount *m) {
    /* Nothing is served any more: a look for versions (or a read-ahead)
     * waiting on an endpoint that does not answer would keep the process,
     * and the index lock, for the whole retry budget after the unmount. */
    if (m->repo) repo_abandon_requests(m->repo);
    fs_versions_stop_refresher(m);
    fs_ahead_free(m->ahead);
    fs_cache_free(m->cache);
    fs_tree_free(m->root);
    fs_versions_free(&m->versions);
    fs_content_table_free(&m->contents);
    repo_close(m->repo);
    pthread_cond_destroy(&m->filled);
    pthread_mutex_destroy(&m->contents_lock);
    pthread_mutex_destroy(&m->lock);
    free(m->mountpoint);
}

static struct fuse_session *session_new(fs_mount *m, const mount_options *o) {
    char *opts = xasprintf("ro,fsname=strata,subtype=strata%s",
                           o->allow_other ? ",allow_other" : "");
    char *argv[] = {"strata", "-o", opts, o->debug ? "-d" : NULL, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);
    struct fuse_session *se = fuse_session_new(&args, &fs_ops, sizeof fs_ops, m);
    fuse_opt_free_args(&args);
    free(opts);
    return se;
}

/* Reports to the waiting parent (if any): "" for ready, else the error. */
static void report(int fd, strata_err e) {
    if (fd < 0) return;
    char msg[1024] = "";
    int n = e ? snprintf(msg, sizeof msg, "%c%s", 'A' + (int)e, strata_errmsg()) : 0;
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    ssize_t w = write(fd, msg, (size_t)n + !n);
    (void)w;
    close(fd);
}

/* Detached: stdio away from the terminal, log lines to `log` (the log
 * file; -1: none). */
static void detach_stdio(int log) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(log >= 0 ? log : null, 2);
        if (null > 2) close(null);
    }
    if (log > 2) close(log);
}

static strata_err serve(const char *location, const mount_options *o, const char *mountpoint, int ready_fd) {
    fs_mount m;
    memset(&m, 0, sizeof m);
    pthread_mutex_init(&m.lock, NULL);
    pthread_cond_init(&m.filled, NULL);
    pthread_mutex_init(&m.contents_lock, NULL);
    m.mountpoint = xstrdup(mountpoint);
    /* Decoding a chunk stored as copies or row streams allocates and frees
     * buffers of about a chunk's size.  glibc would raise its mmap
     * threshold to that size at the first free, and from then keep such
     * buffers in the arenas of the FUSE threads (bench_memory: 149 MiB
     * against 118 MiB for a 64 MiB cache); a fixed threshold hands them
     * back to the kernel. */
    mallopt(M_MMAP_THRESHOLD, MOUNT_MMAP_THRESHOLD);
    uint64_t budget = o->cache_bytes ? o->cache_bytes : MOUNT_DEFAULT_CACHE;
    m.readahead_bytes = budget / 8 < (16u << 20) ? budget / 8 : (16u << 20);
    strata_err e = repo_open(location, REPO_READ, &m.repo);
    if (e) {
        report(ready_fd, e);
        mount_free(&m);
        return e;
    }
    if (o->disk_cache_bytes != UINT64_MAX)
        repo_enable_disk_cache(m.repo, o->disk_cache_bytes ? o->disk_cache_bytes : REPO_DEFAULT_DISK_CACHE);
    build_root(&m);
    fs_versions_start_refresher(&m);
    m.ahead = fs_ahead_new(&m, AHEAD_WORKERS);
    m.cache = fs_cache_new(m.repo, budget, PREFETCH_WORKERS);
    struct fuse_session *se = session_new(&m, o);
    if (!se) e = strata_fail(STRATA_EINVAL, "libfuse refused to start a session (run with -f to see why)");
    if (!e && fuse_set_signal_handlers(se) != 0) e = strata_fail(STRATA_EIO, "cannot set signal handlers");
    if (!e && fuse_session_mount(se, mountpoint) != 0)
        e = strata_fail(STRATA_EIO, "cannot mount on %s (is /dev/fuse there, fusermount3 installed?)",
                        mountpoint);
    report(ready_fd, e);
    /* A detached mount must not keep the directory it was started in busy. */
    if (!e && ready_fd >= 0 && chdir("/") != 0)
        strata_log(STRATA_LOG_DEBUG, "chdir /: %s", strerror(errno));
    if (!e) {
        strata_log(STRATA_LOG_INFO, "mounted %s on %s (pid %d)", location, mountpoint, (int)getpid());
        struct fuse_loop_config loop = {.clone_fd = 0, .max_idle_threads = FUSE_THREADS};
        int rc = fuse_session_loop_mt(se, &loop);
        fuse_session_unmount(se);
        char peak[16];
        strata_human_bytes(fs_cache_peak_bytes(m.cache), peak);
        strata_log(STRATA_LOG_INFO, "unmounted %s (chunk cache peak %s)", mountpoint, peak);
        if (rc < 0) e = strata_fail_errno(STRATA_EIO, -rc, "serving the mount");
    }
    if (se) {
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
    }
    mount_free(&m);
    return e;
}

/* Parent side of detaching: waits for the child's report. */
static strata_err await_child(int fd) {
    char msg[1024];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof msg - 1 && ((n = read(fd, msg + got, sizeof msg - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0) got += (size_t)n;
    close(fd);
    msg[got] = '\0';
    if (got == 1 && msg[0] == '\0') return STRATA_OK;
    if (!got) return strata_fail(STRATA_EIO, "the mount process ended before the mount was ready");
    int code = msg[0] - 'A';
    return strata_fail(code > 0 && code < STRATA_ERR_COUNT ? (strata_err)code : STRATA_EIO, "%s", msg + 1);
}

/* A detached mount leaves its working directory, so a relative repository
 * path must be made absolute first (URLs are left alone). */
static strata_err serve_detached(const char *location, const mount_options *o, const char *mountpoint) {
    char abs[PATH_MAX];
    if (!strstr(location, "://") && realpath(location, abs)) location = abs;
    /* opened here, where a wrong path can still be reported: the mount
     * would run with its log lines lost */
    int log = -1;
    if (o->log_path && (log = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
        return strata_fail_errno(strata_err_from_errno(errno), errno, "log file %s", o->log_path);
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        if (log >= 0) close(log);
        return strata_fail_errno(STRATA_EIO, errno, "pipe");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0 && log >= 0) close(log);
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return strata_fail_errno(STRATA_EIO, errno, "fork");
    }
    if (pid > 0) {
        close(pipefd[1]);
        return await_child(pipefd[0]);
    }
    close(pipefd[0]);
    setsid();
    detach_stdio(log);
    return serve(location, o, mountpoint, pipefd[1]);
}

strata_err mount_run(const char *location, const mount_options *o) {
    char mountpoint[PATH_MAX];
    struct stat st;
    if (!realpath(o->mountpoint, mountpoint) || stat(mountpoint, &st) != 0)
        return strata_fail_errno(STRATA_ENOENT, errno, "mount point %s", o->mountpoint);
    if (!S_ISDIR(st.st_mode)) return strata_fail(STRATA_EINVAL, "mount point %s is not a directory", mountpoint);
    /* a second mount would hide the first, and need a second unmount */
    unsigned major, minor;
    if (!mount_device(mountpoint, &major, &minor))
        return strata_fail(STRATA_EEXIST, "%s is mounted already (fusermount3 -u %s first)", mountpoint, mountpoint);
    /* FUSE mounts over files too, hiding them (a node's data directory
     * given by mistake would vanish under the versions) */
    DIR *d = opendir(mountpoint);
    if (!d) return strata_fail_errno(strata_err_from_errno(errno), errno, "mount point %s", mountpoint);
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d))) empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    closedir(d);
    if (!empty) return strata_fail(STRATA_EEXIST, "mount point %s is not empty (its files would be hidden while mounted)",
                               mountpoint);
    return o->foreground ? serve(location, o, mountpoint, -1) : serve_detached(location, o, mountpoint);
}
