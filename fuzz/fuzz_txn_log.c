/* fuzz_txn_log.c - libFuzzer target for Cassandra's transaction logs
 * (<format>_txn_<operation>_<uuid>.log in a table directory), which the
 * backup reads to leave out the SSTables a compaction has not finished
 * adding or has already replaced: any bytes must give a state or an
 * error, never a crash or a leak. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/cluster/cluster_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char dir[] = "/tmp/strata-fuzz-txn-XXXXXX";
    if (!mkdtemp(dir)) return 0;
    char path[128];
    snprintf(path, sizeof path, "%s/nb_txn_compaction_8f4956a0-e601-11f1-b572-0f8cceb1328b.log", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        size_t written = fwrite(data, 1, size, f);
        fclose(f);
        cluster_txn_state t;
        if (written == size && cluster_txn_read(dir, &t) == 0) {
            cluster_txn_skip(&t, "nb-1-big-Data.db");
            cluster_txn_skip(&t, "nb-7-big-Statistics.db");
            cluster_txn_free(&t);
        }
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
