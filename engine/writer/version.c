/* version.c - what each SSTable format version changes in the bytes the
 * writer produces, after BigFormat's version notes: ma (3.0.0), mb
 * (commit log lower bound), mc (commit log intervals), md (min/max
 * clustering as whole prefixes), me (originating host id), na (4.0: max
 * compressed length, new bloom filter layout, checksummed metadata,
 * pending repair, transient flag), nb (host id again), oa (5.0: deletion
 * times, statistics additions). */
#include "engine/writer/writer_int.h"

int wr_version_parse(const char *name, wr_version *v) {
    memset(v, 0, sizeof *v);
    if (!name || strlen(name) != 2) return -1;
    memcpy(v->name, name, 2);
    if (name[0] == 'm' && name[1] >= 'a' && name[1] <= 'e') {
        int n = name[1] - 'a';
        v->commitlog_lower = n >= 1;
        v->commitlog_intervals = n >= 2;
        v->per_column_min_max = n <= 2;
        v->host_id = n == 4;
        return 0;
    }
    v->commitlog_lower = v->commitlog_intervals = 1;
    if (!strcmp(name, "oa")) v->oa = v->na = v->host_id = 1;
    else if (!strcmp(name, "nb")) v->na = v->host_id = 1;
    else if (!strcmp(name, "na")) v->na = 1;
    else return -1;
    return 0;
}
