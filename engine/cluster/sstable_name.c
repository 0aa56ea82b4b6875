/* sstable_name.c - recognising SSTable component file names.
 *
 * Since Cassandra 3.0 (and 2.2's "la") a component is named
 * <version>-<generation>-<format>-<Component>: a two-letter format version,
 * a generation that is either a decimal sequence number or, with
 * uuid_sstable_identifiers (4.1+), a time-UUID written as base-36 groups
 * "3gdc_0e6x_1g2n42e3jg2f6sdtlv", the format "big" or "bti", and the
 * component.  The pre-3.0 naming "ks-cf-ka-1-Data.db" is not accepted:
 * strata does not read those releases' data directories.
 *
 * Temporary files are Cassandra's Descriptor.TMP_EXT ones, which 3.0 and
 * later still write beside an SSTable: "nb-5-big-Statistics.db.tmp" while
 * MetadataSerializer.rewriteSSTableMetadata replaces Statistics.db by a
 * rename (a running node marking SSTables repaired after an incremental
 * repair or moving them to another level; sstablerepairedset and
 * sstablelevelreset offline), and "<component>.<uuid>.tmp" while a whole
 * SSTable is streamed in.  ColumnFamilyStore.scrubDataDirectories deletes
 * every *.tmp of a table directory when the node starts.  The
 * tmp-/tmplink- names of 2.1 and 2.2 (Descriptor.LEGACY_TMP_REGEX) are no
 * longer written since 3.0, whose transaction logs replaced them, and 3.0
 * deletes them when it starts. */
#include "engine/cluster/cluster.h"

#include <string.h>

static int is_lower_alnum(char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z');
}

static int is_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return n > 0;
}

/* The base-36 form of a time-UUID id: 4 + 4 + 18 digits, '_' between. */
static int is_uuid_id(const char *s, size_t n) {
    if (n != 28 || s[4] != '_' || s[9] != '_') return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 4 && i != 9 && !is_lower_alnum(s[i])) return 0;
    return 1;
}

static int valid_component(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s == '/' || (unsigned char)*s < 0x20) return 0;
    return 1;
}

int sstable_name_parse(const char *filename, sstable_name *out) {
    const char *ver_end = strchr(filename, '-');
    if (!ver_end || ver_end - filename != 2 || filename[0] < 'a' || filename[0] > 'z' ||
        filename[1] < 'a' || filename[1] > 'z')
        return -1;
    const char *gen = ver_end + 1;
    const char *gen_end = strchr(gen, '-');
    if (!gen_end) return -1;
    size_t gen_len = (size_t)(gen_end - gen);
    if (gen_len >= sizeof out->generation || (!is_digits(gen, gen_len) && !is_uuid_id(gen, gen_len)))
        return -1;
    const char *fmt = gen_end + 1;
    if (strncmp(fmt, "big-", 4) && strncmp(fmt, "bti-", 4)) return -1;
    const char *component = fmt + 4;
    if (!valid_component(component) || strlen(component) >= sizeof out->component) return -1;

    memset(out, 0, sizeof *out);
    memcpy(out->version, filename, 2);
    memcpy(out->generation, gen, gen_len);
    memcpy(out->format, fmt, 3);
    strcpy(out->component, component);
    return 0;
}

/* LEGACY_TMP_REGEX: ^((.*)-(.*)-)?tmp(link)?-((?:l|k).)-(\d)*-(.*)$, as in
 * "tmp-la-1-big-Data.db" or "ks-cf-tmplink-ka-1-Index.db". */
static int is_legacy_temporary(const char *filename) {
    for (const char *p = filename; (p = strstr(p, "tmp")); p++) {
        if (p != filename && (p[-1] != '-' || !memchr(filename, '-', (size_t)(p - 1 - filename)))) continue;
        const char *q = p + 3;
        if (!strncmp(q, "link", 4)) q += 4;
        if (q[0] != '-' || (q[1] != 'l' && q[1] != 'k') || !q[2] || q[3] != '-') continue;
        for (q += 4; *q >= '0' && *q <= '9'; q++) {}
        if (*q == '-') return 1;
    }
    return 0;
}

int sstable_name_is_temporary(const char *filename) {
    return strata_ends_with(filename, ".tmp") || is_legacy_temporary(filename);
}
