/* index_dir.c - which LMDB environment in the index directory is in use.
 *
 * A rebuild must never be seen half done, and LMDB's two files (data.mdb
 * and lock.mdb, whose reader table and last transaction id belong to one
 * data file) must never be paired across two indexes.  So each index is
 * built in an environment directory of its own, lmdb-<unique>, that
 * nobody else opens, and then named by the symbolic link `current`,
 * replaced in one rename(2): a reader opens either the whole old index or
 * the whole new one.  Names are never reused, so a path read from
 * `current` only ever leads to that index's files, or to nothing once it
 * is removed; which happens to it only after `current` names another one,
 * and first by renaming it away, so that nobody opening it through its
 * name can create files in it.  An index directory of an older strata
 * holds data.mdb itself, without `current`: that index is still read, and
 * replaced like any other. */
#include "engine/repo/repo_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CURRENT "current"
#define CURRENT_NEW "current.new"
#define ENV_PREFIX "lmdb-"
#define REMOVED_PREFIX "old-"

static int has_data_file(const char *dir) {
    char *path = xasprintf("%s/data.mdb", dir);
    struct stat st;
    int found = stat(path, &st) == 0;
    free(path);
    return found;
}

/* Whether the link's target is one index_make_current() writes: an
 * environment's name in the index directory, not a path that leads out
 * of it or names one of its environments otherwise (which
 * index_remove_unused() would take for unused). */
static int is_env_name(const char *target, ssize_t n, size_t size) {
    return n > 0 && (size_t)n < size - 1 && !memchr(target, '/', (size_t)n) &&
           !strncmp(target, ENV_PREFIX, strlen(ENV_PREFIX));
}

char *index_current_dir(const char *index_dir) {
    char *link = xasprintf("%s/" CURRENT, index_dir);
    char target[256];
    ssize_t n = readlink(link, target, sizeof target);
    free(link);
    char *dir = NULL;
    if (is_env_name(target, n, sizeof target)) {
        target[n] = '\0';
        dir = xasprintf("%s/%s", index_dir, target);
    } else if (n < 0 && errno == ENOENT) {
        dir = xstrdup(index_dir);
    }
    if (dir && !has_data_file(dir)) {
        free(dir);
        dir = NULL;
    }
    return dir;
}

/* A name in the index directory that was never used before. */
static char *unique_path(const char *index_dir, const char *prefix) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return xasprintf("%s/%s%lld.%09ld-%ld", index_dir, prefix, (long long)now.tv_sec, now.tv_nsec,
                     (long)getpid());
}

strata_err index_new_dir(const char *index_dir, char **out) {
    char *dir = unique_path(index_dir, ENV_PREFIX);
    if (mkdir(dir, 0755) != 0) {
        strata_err e = strata_fail_errno(strata_err_from_errno(errno), errno, "creating %s", dir);
        free(dir);
        return e;
    }
    *out = dir;
    return STRATA_OK;
}

static strata_err sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        return strata_fail_errno(strata_err_from_errno(err), err, "syncing %s", dir);
    }
    close(fd);
    return STRATA_OK;
}

strata_err index_make_current(const char *index_dir, const char *env_dir) {
    /* a crash must not leave `current` naming a directory whose files
     * were never written out */
    strata_err e = sync_dir(env_dir);
    if (e) return e;
    char *tmp = xasprintf("%s/" CURRENT_NEW, index_dir);
    char *link = xasprintf("%s/" CURRENT, index_dir);
    const char *name = strrchr(env_dir, '/') + 1;
    unlink(tmp);
    if (symlink(name, tmp) != 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "creating %s", tmp);
    else if (rename(tmp, link) != 0)
        e = strata_fail_errno(strata_err_from_errno(errno), errno, "renaming %s to %s", tmp, link);
    free(tmp);
    free(link);
    return e ? e : sync_dir(index_dir);
}

static void remove_env_files(const char *dir) {
    const char *names[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        unlink(path);
        free(path);
    }
}

/* What fails to go (a file someone else put there) stays for the next call. */
static void remove_env_dir(const char *dir) {
    remove_env_files(dir);
    rmdir(dir);
}

/* A copy of the repository that followed links (cp -L, scp -r, zip) made
 * `current` a directory, which no link can replace: it is moved away, its
 * index to be rebuilt in a directory of its own. */
static void remove_copied_current(const char *index_dir) {
    char *path = xasprintf("%s/" CURRENT, index_dir);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *removed = unique_path(index_dir, REMOVED_PREFIX ENV_PREFIX);
        if (rename(path, removed) == 0) remove_env_dir(removed);
        free(removed);
    }
    free(path);
}

void index_remove_unused(const char *index_dir) {
    remove_copied_current(index_dir);
    char *current = index_current_dir(index_dir);
    DIR *d = opendir(index_dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char *path = xasprintf("%s/%s", index_dir, de->d_name);
        if (!strncmp(de->d_name, ENV_PREFIX, strlen(ENV_PREFIX)) && !(current && !strcmp(path, current))) {
            char *removed = xasprintf("%s/" REMOVED_PREFIX "%s", index_dir, de->d_name);
            if (rename(path, removed) == 0) remove_env_dir(removed);
            free(removed);
        } else if (!strncmp(de->d_name, REMOVED_PREFIX ENV_PREFIX, strlen(REMOVED_PREFIX ENV_PREFIX))) {
            remove_env_dir(path);
        } else if (!strcmp(de->d_name, CURRENT_NEW)) {
            unlink(path);
        }
        free(path);
    }
    if (d) closedir(d);
    /* the files of an index made before `current` existed, once replaced */
    if (current && strcmp(current, index_dir)) remove_env_files(index_dir);
    free(current);
}
