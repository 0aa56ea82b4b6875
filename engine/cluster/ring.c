/* ring.c - the token ring as a sorted list of tokens and their endpoints.
 *
 * A ring is built from two sources, a saved `nodetool ring` output and the
 * tokens listed in the cluster file; both add endpoints and tokens here in
 * any order, and finishing sorts the tokens once, which is also where a
 * token claimed by two endpoints shows up. */
#include "engine/cluster/cluster_int.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int cluster_token_parse(const char *s, int64_t *out) {
    const char *digits = s[0] == '-' ? s + 1 : s;
    if (!*digits) return -1;
    for (const char *d = digits; *d; d++)
        if (*d < '0' || *d > '9') return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return -1;
    *out = (int64_t)v;
    return 0;
}

size_t cluster_ring_find(const cluster_ring *r, const char *address) {
    for (size_t i = 0; i < r->n_endpoints; i++)
        if (!strcmp(r->endpoints[i].address, address)) return i;
    return SIZE_MAX;
}

size_t cluster_ring_add_endpoint(cluster_ring *r, const char *address, const char *dc, const char *rack) {
    r->endpoints = xrealloc(r->endpoints, (r->n_endpoints + 1) * sizeof *r->endpoints);
    r->endpoints[r->n_endpoints] = (cluster_endpoint){
        .address = xstrdup(address), .dc = xstrdup(dc), .rack = xstrdup(rack), .node = CLUSTER_NO_NODE};
    return r->n_endpoints++;
}

void cluster_ring_add_token(cluster_ring_builder *b, int64_t token, size_t endpoint, int line) {
    b->entries = xrealloc(b->entries, (b->n_entries + 1) * sizeof *b->entries);
    b->entries[b->n_entries++] = (cluster_ring_entry){.token = token, .endpoint = endpoint, .line = line};
}

static int by_token_then_line(const void *a, const void *b) {
    const cluster_ring_entry *x = a, *y = b;
    if (x->token != y->token) return x->token < y->token ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

strata_err cluster_ring_finish(cluster_ring_builder *b, const char *path) {
    cluster_ring *r = b->ring;
    qsort(b->entries, b->n_entries, sizeof *b->entries, by_token_then_line);
    r->tokens = xrealloc(r->tokens, (r->n_tokens + b->n_entries) * sizeof *r->tokens);
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < b->n_entries && !e; i++) {
        const cluster_ring_entry *t = &b->entries[i];
        if (i > 0 && t->token == b->entries[i - 1].token) {
            const cluster_ring_entry *first = &b->entries[i - 1];
            if (t->endpoint != first->endpoint && t->line)
                e = strata_fail(STRATA_EINVAL, "%s:%d: token %" PRId64 " is %s's on line %d", path, t->line,
                                t->token, r->endpoints[first->endpoint].address, first->line);
            else if (t->endpoint != first->endpoint)
                e = strata_fail(STRATA_EINVAL, "%s: token %" PRId64 " is both %s's and %s's", path, t->token,
                                r->endpoints[first->endpoint].address, r->endpoints[t->endpoint].address);
            continue;
        }
        r->tokens[r->n_tokens++] = (cluster_token){.token = t->token, .endpoint = t->endpoint};
    }
    free(b->entries);
    b->entries = NULL;
    b->n_entries = 0;
    return e;
}

void cluster_ring_free(cluster_ring *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_endpoints; i++) {
        free(r->endpoints[i].address);
        free(r->endpoints[i].dc);
        free(r->endpoints[i].rack);
    }
    free(r->endpoints);
    free(r->tokens);
    free(r);
}
