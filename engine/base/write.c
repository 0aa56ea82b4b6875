/* write.c - writing a whole buffer to a file descriptor.
 *
 * write(2) may write less than asked (a signal, a pipe, a disk filling up
 * midway) and must then be called again for the rest.  Restore, the local
 * storage backend and the SSTable writer all write files whole; this is
 * the loop they share, so each failure reads the same way. */
#include "engine/base/base.h"

#include <errno.h>
#include <unistd.h>

strata_err strata_write_all(int fd, const void *data, size_t len, const char *path) {
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return strata_fail_errno(strata_err_from_errno(errno), errno, "writing %s", path);
        p += n;
        len -= (size_t)n;
    }
    return STRATA_OK;
}
