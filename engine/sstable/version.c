/* version.c - feature flags of each SSTable format version.
 *
 * Cassandra names a format by two letters; the first is the major line
 * (m = 3.0/3.11, n = 4.x, o/d = 5.0) and each later letter adds features.
 * The flags follow the version notes in BigFormat and BtiFormat. */
#include "engine/sstable/sstable_int.h"

#include <string.h>

int sst_version_parse(const char *ver, int bti, sst_version *v) {
    memset(v, 0, sizeof *v);
    if (strlen(ver) != 2 || ver[1] < 'a' || ver[1] > 'z') return -1;
    if (bti) {
        if (ver[0] != 'd') return -1;
        ver = "oa"; /* da carries every oa feature in its Data.db */
    } else if (strcmp(ver, "ma") < 0 || (ver[0] != 'm' && ver[0] != 'n' && strcmp(ver, "oa") != 0)) {
        return -1;
    }
    v->commitlog_lower_bound = strcmp(ver, "mb") >= 0;
    v->commitlog_intervals = strcmp(ver, "mc") >= 0;
    v->accurate_min_max = strcmp(ver, "md") >= 0;
    v->host_id = (ver[0] == 'm' && ver[1] >= 'e') || strcmp(ver, "nb") >= 0;
    v->max_compressed_length = strcmp(ver, "na") >= 0;
    v->pending_repair = v->is_transient = v->metadata_checksum = v->max_compressed_length;
    v->old_bf_format = !v->max_compressed_length;
    /* nc (a 5.0 development version) added the stats fields of oa but kept
     * the legacy min/max and the signed deletion times of nb */
    int five = strcmp(ver, "oa") >= 0, nc = strcmp(ver, "nc") >= 0;
    v->uint_deletion_time = five;
    v->legacy_min_max = !five;
    v->improved_min_max = nc;
    v->partition_deletion_marker = nc;
    v->key_range = nc;
    v->token_space_coverage = five;
    return 0;
}
