/* ring_file.c - the token ring read back from `nodetool ring` output.
 *
 * nodetool prints one table per datacenter under a "Datacenter: X"
 * heading, one line per token: address, rack, status (Up, Down, ?), state
 * (Normal, Joining, Leaving, Moving), load ("856.53 KiB", or "?" when
 * unknown), owns ("33.33%" or "?") and the token.  Operators save that
 * output as it is, often in one file with other nodetool commands, so a
 * line counts as a ring entry by its status and state columns and every
 * other line is passed over; a line that has them but not the rest is an
 * error rather than a token silently lost. */
#include "engine/cluster/cluster_int.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* More fields than a ring entry has, so that longer lines are told apart. */
#define MAX_FIELDS 9

static int one_of(const char *s, const char *const *words) {
    for (; *words; words++)
        if (!strcmp(s, *words)) return 1;
    return 0;
}

static size_t split_fields(char *line, char **fields) {
    size_t n = 0;
    char *save = NULL;
    for (char *f = strtok_r(line, " \t\r\n", &save); f && n < MAX_FIELDS; f = strtok_r(NULL, " \t\r\n", &save))
        fields[n++] = f;
    return n;
}

/* The datacenter a "Datacenter: X" heading names, NULL for other lines. */
static char *datacenter_heading(const char *line) {
    while (isspace((unsigned char)*line)) line++;
    if (strncmp(line, "Datacenter:", 11)) return NULL;
    line += 11;
    while (isspace((unsigned char)*line)) line++;
    size_t len = strlen(line);
    while (len && isspace((unsigned char)line[len - 1])) len--;
    return len ? xstrndup(line, len) : NULL;
}

typedef struct {
    const char *path;
    int lineno;
    char *dc;
    cluster_ring_builder b;
} ring_reader;

static strata_err add_entry(ring_reader *rr, char **f, size_t n) {
    static const char *const states[] = {"Normal", "Joining", "Leaving", "Moving", NULL};
    static const char *const statuses[] = {"Up", "Down", "?", NULL};
    if (n < 4 || !one_of(f[2], statuses) || !one_of(f[3], states)) return STRATA_OK;
    const char *owns = n >= 7 ? f[n - 2] : "";
    size_t owns_len = strlen(owns);
    int load_ok = n == 8 || (n == 7 && !strcmp(f[4], "?"));
    if (!load_ok || !owns_len || (strcmp(owns, "?") && owns[owns_len - 1] != '%'))
        return strata_fail(STRATA_EINVAL, "%s:%d: unreadable ring entry (expected address, rack, status, state, "
                           "load, owns, token)", rr->path, rr->lineno);
    int64_t token;
    if (cluster_token_parse(f[n - 1], &token))
        return strata_fail(STRATA_EINVAL, "%s:%d: bad token '%s' (expected a Murmur3 token, a signed 64-bit integer)",
                           rr->path, rr->lineno, f[n - 1]);
    if (!rr->dc)
        return strata_fail(STRATA_EINVAL, "%s:%d: ring entry before any 'Datacenter:' heading", rr->path, rr->lineno);
    cluster_ring *r = rr->b.ring;
    size_t ep = cluster_ring_find(r, f[0]);
    if (ep == SIZE_MAX) {
        ep = cluster_ring_add_endpoint(r, f[0], rr->dc, f[1]);
    } else if (strcmp(r->endpoints[ep].dc, rr->dc) || strcmp(r->endpoints[ep].rack, f[1])) {
        return strata_fail(STRATA_EINVAL, "%s:%d: %s is in datacenter %s, rack %s here but in %s, %s above", rr->path,
                           rr->lineno, f[0], rr->dc, f[1], r->endpoints[ep].dc, r->endpoints[ep].rack);
    }
    if (!strcmp(f[3], "Joining")) r->endpoints[ep].joining = 1;
    cluster_ring_add_token(&rr->b, token, ep, rr->lineno);
    return STRATA_OK;
}

static strata_err read_lines(ring_reader *rr, FILE *fp) {
    char *line = NULL;
    size_t cap = 0;
    strata_err e = STRATA_OK;
    while (!e && getline(&line, &cap, fp) >= 0) {
        rr->lineno++;
        char *dc = datacenter_heading(line);
        if (dc) {
            free(rr->dc);
            rr->dc = dc;
            continue;
        }
        char *fields[MAX_FIELDS];
        size_t n = split_fields(line, fields);
        e = add_entry(rr, fields, n);
    }
    if (!e && ferror(fp)) e = strata_fail_errno(STRATA_EIO, errno, "%s", rr->path);
    free(line);
    return e;
}

strata_err cluster_ring_load(const char *path, cluster_ring **out) {
    *out = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp) return strata_fail_errno(strata_err_from_errno(errno), errno, "ring file %s", path);
    /* A device or pipe could feed lines without end. */
    struct stat st;
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return strata_fail(STRATA_EINVAL, "ring file %s is not a regular file", path);
    }
    ring_reader rr = {.path = path, .b.ring = xcalloc(1, sizeof(cluster_ring))};
    strata_err e = read_lines(&rr, fp);
    fclose(fp);
    if (!e && !rr.b.n_entries)
        e = strata_fail(STRATA_EINVAL, "%s: no ring entries (expected the output of nodetool ring)", path);
    if (!e) e = cluster_ring_finish(&rr.b, path);
    free(rr.b.entries);
    free(rr.dc);
    if (e) {
        cluster_ring_free(rr.b.ring);
        return e;
    }
    *out = rr.b.ring;
    return STRATA_OK;
}
