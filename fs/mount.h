/* mount.h - the repository as a read-only FUSE file system.
 *
 * Operators browse versions, `cp` a table into a test cluster or point
 * sstableloader at a table directory.  The layout:
 *
 *   /versions/<version>/<keyspace>/<table>/       the table's reconciled
 *                                                 SSTables (its layers) and
 *                                                 schema.cql; for a table kept
 *                                                 as the nodes' files, every
 *                                                 node's SSTables, generations
 *                                                 renumbered so that none clash
 *   /versions/latest -> <newest version>
 *   /nodes/<node>/<version>/<keyspace>/<table>/   one node's files, original
 *                                                 names (also manifest.json,
 *                                                 schema.cql), in versions
 *                                                 that kept them
 *
 * Secondary index SSTables sit in .<index>/ inside their table directory.
 * Directories are listed from the local index alone; file bytes are
 * fetched chunk by chunk through the storage interface on demand, checked
 * (XXH3 per chunk: a damaged chunk gives EIO, never wrong bytes), kept in a
 * bounded chunk cache and read ahead for sequential readers.  Versions are
 * immutable, so the kernel may keep their pages and attributes cached for
 * as long as it likes; versions written while mounted appear without a
 * remount. */
#ifndef STRATA_MOUNT_H
#define STRATA_MOUNT_H

#include <stdint.h>

#include "engine/base/base.h"

#define MOUNT_DEFAULT_CACHE (128ull << 20)

typedef struct {
    const char *mountpoint;
    int foreground;       /* serve in this process; otherwise detach once mounted */
    uint64_t cache_bytes; /* chunk cache budget; 0: MOUNT_DEFAULT_CACHE */
    uint64_t disk_cache_bytes; /* remote repositories: chunks kept on local disk;
                                  0: REPO_DEFAULT_DISK_CACHE, UINT64_MAX: none */
    int allow_other;      /* let users other than the mounting one read */
    const char *log_path; /* where a detached mount appends its log lines; NULL: discard */
    int debug;            /* libfuse's request trace on stderr */
} mount_options;

/* Mounts the repository at `location` read-only on o->mountpoint and
 * serves it until it is unmounted (fusermount3 -u, SIGINT, SIGTERM,
 * SIGHUP).  Without o->foreground the calling process returns STRATA_OK as
 * soon as a detached child has the mount ready (or the child's error), and
 * the child returns from this call when the mount ends.  The repository is
 * opened by the process that serves it. */
strata_err mount_run(const char *location, const mount_options *o);

#endif
