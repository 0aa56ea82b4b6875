/* snapshot_owner.c - who made a snapshot directory, and are they gone.
 *
 * A backup killed with SIGKILL cannot remove its hard-link snapshot, and
 * the links would keep compacted SSTables on the node's disk for ever.  So
 * each snapshot directory strata makes holds a small owner file naming
 * the host, the process id and the process's start time (the pair stays
 * unique when pids are reused).  A later run removes snapshots whose owner
 * process on this host no longer exists; snapshots strata did not make
 * (nodetool's, an operator's) carry no owner file and are never touched.
 * The directory is made under a temporary name that itself names the
 * owner, gets its owner file, and only then takes the tag's name, so no
 * moment exists at which a kill leaves an ownerless directory behind. */
#include "engine/cluster/cluster_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Start time of a process in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or -1 when there is no such process. */
static long long process_start(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: count from the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    long long start = -1;
    int field = 2;
    char *save;
    for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (++field == 22) {
            start = strtoll(tok, NULL, 10);
            break;
        }
    return start;
}

static void this_host(char *out, size_t n) {
    if (gethostname(out, n)) snprintf(out, n, "unknown");
    out[n - 1] = 0;
}

/* 1 when the process `pid` started at `start` on `host` has ended.
 * Another host's process cannot be checked from here: it counts as alive. */
static int owner_gone(const char *owner_host, long pid, long long start) {
    char host[256];
    this_host(host, sizeof host);
    if (strcmp(owner_host, host) || pid == (long)getpid()) return 0;
    return process_start(pid) != start;
}

char *cluster_owner_temp_name(const char *tag) {
    char host[256];
    this_host(host, sizeof host);
    for (char *p = host; *p; p++)
        if (*p == '+' || *p == '/') *p = '_';
    return xasprintf("%s%ld+%lld+%s+%s", CLUSTER_SNAPSHOT_TEMP, (long)getpid(), process_start((long)getpid()), host,
                     tag);
}

int cluster_owner_write(const char *dir) {
    char host[256], *path = xasprintf("%s/%s", dir, CLUSTER_SNAPSHOT_OWNER);
    this_host(host, sizeof host);
    char *text = xasprintf("%s %ld %lld\n", host, (long)getpid(), process_start((long)getpid()));
    int err = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) err = errno ? errno : EIO;
    if (fd >= 0 && close(fd) && !err) err = errno;
    free(text);
    free(path);
    return err;
}

int cluster_owner_is_stale(const char *parent, const char *name) {
    char host[256];
    long pid;
    long long start;
    size_t temp_len = strlen(CLUSTER_SNAPSHOT_TEMP);
    if (!strncmp(name, CLUSTER_SNAPSHOT_TEMP, temp_len))
        return sscanf(name + temp_len, "%ld+%lld+%255[^+]", &pid, &start, host) == 3 && owner_gone(host, pid, start);
    char *path = xasprintf("%s/%s/%s", parent, name, CLUSTER_SNAPSHOT_OWNER);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f) return 0;
    int fields = fscanf(f, "%255s %ld %lld", host, &pid, &start);
    fclose(f);
    return fields == 3 && owner_gone(host, pid, start);
}
