/* read.c - reading a range of a file descriptor whole.
 *
 * pread(2) may return less than asked before the end of the file (a
 * signal, a network file system); the store and the layer's index walk
 * both read ranges they need whole, through this loop. */
#include "engine/base/base.h"

#include <errno.h>
#include <unistd.h>

strata_err strata_pread_all(int fd, void *buf, size_t len, uint64_t offset, size_t *got) {
    uint8_t *p = buf;
    *got = 0;
    while (*got < len) {
        ssize_t n = pread(fd, p + *got, len - *got, (off_t)(offset + *got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return strata_fail_errno(STRATA_EIO, errno, "reading");
        if (n == 0) break;
        *got += (size_t)n;
    }
    return STRATA_OK;
}
