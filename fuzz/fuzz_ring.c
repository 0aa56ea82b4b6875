/* fuzz_ring.c - libFuzzer target for saved `nodetool ring` output (the
 * cluster file's ring = FILE): any bytes must give a ring or one error,
 * never a crash or a leak; a ring that loads must also place replicas. */
#include "engine/cluster/cluster.h"
#include "fuzz/fuzz_file.h"

static void parse(const char *path) {
    cluster_ring *ring;
    if (cluster_ring_load(path, &ring) != STRATA_OK) return;
    static const cluster_replication_option nts[] = {
        {"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}, {"datacenter1", "3"}};
    cluster_placement *p;
    if (cluster_placement_compute(ring, nts, 2, &p) == STRATA_OK) cluster_placement_free(p);
    cluster_ring_free(ring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_with_file(data, size, parse);
    return 0;
}
