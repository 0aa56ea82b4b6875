/* fuzz_file.h - for the fuzz targets whose parser takes a path: the input
 * is written to a temporary file, handed over, and removed afterwards. */
#ifndef STRATA_FUZZ_FILE_H
#define STRATA_FUZZ_FILE_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static inline void fuzz_with_file(const uint8_t *data, size_t size, void (*parse)(const char *path)) {
    char path[] = "/tmp/strata-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return;
    if (write(fd, data, size) == (ssize_t)size) parse(path);
    close(fd);
    unlink(path);
}

#endif
