/* fuzz_cluster_config.c - libFuzzer target for the cluster description
 * file: any bytes must give a parsed config or one error, never a crash
 * or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "engine/cluster/cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/strata-fuzz-cluster-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        cluster_config *c;
        if (cluster_config_load(path, &c) == STRATA_OK) cluster_config_free(c);
    }
    close(fd);
    unlink(path);
    return 0;
}
