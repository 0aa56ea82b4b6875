/* fuzz_cluster_config.c - libFuzzer target for the cluster description
 * file: any bytes must give a parsed config or one error, never a crash
 * or a leak. */
#include "engine/cluster/cluster.h"
#include "fuzz/fuzz_file.h"

static void parse(const char *path) {
    cluster_config *c;
    if (cluster_config_load(path, &c) == STRATA_OK) cluster_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_with_file(data, size, parse);
    return 0;
}
