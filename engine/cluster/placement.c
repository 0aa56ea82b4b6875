/* placement.c - the natural replicas of every token range of a keyspace.
 *
 * Cassandra finds the replicas of the range (previous token, token] by
 * walking the ring clockwise from the token.  SimpleStrategy takes the
 * first replication_factor distinct endpoints it meets.  NetworkTopology-
 * Strategy fills every datacenter in the same single walk: an endpoint on
 * a rack of its datacenter not used yet is always taken; one on a used
 * rack only while the datacenter has more replicas to place than racks
 * (RF - racks repeats in all, given to the first such endpoints met), so
 * that replicas spread over as many racks as there are.  A datacenter with
 * fewer endpoints than its factor gets all of them.  Cassandra keeps the
 * order in which endpoints were taken (the first is the primary replica),
 * and so do we, which is what `nodetool describering` prints. */
#include "engine/cluster/cluster_int.h"

#include <limits.h>
#include <string.h>

#define LOCATOR_PACKAGE "org.apache.cassandra.locator."

typedef struct {
    const cluster_placement *p;
    size_t *tokens;        /* indexes in ring->tokens of the replicas' tokens */
    size_t n_tokens;
    size_t *endpoint_dc;   /* per endpoint: index in p->dcs, SIZE_MAX: none */
    size_t *endpoint_rack; /* per endpoint: id of its (datacenter, rack) */
    size_t n_members;      /* endpoints that are not joining */
    size_t *dc_members;    /* per datacenter: endpoints that are not joining */
    size_t *dc_racks;      /* per datacenter: racks of those */
    unsigned char *taken;  /* per endpoint, while placing one range */
    unsigned char *rack_used;
} placer;

/* ---- the replication map ---- */

static strata_err parse_factor(const char *key, const char *value, unsigned *rf) {
    if (strchr(value, '/'))
        return strata_fail(STRATA_EFORMAT, "replication '%s': '%s': transient replication is not supported", key,
                           value);
    int64_t v;
    if (cluster_token_parse(value, &v) || v < 0 || v > INT_MAX)
        return strata_fail(STRATA_EINVAL, "replication '%s': bad replication factor '%s'", key, value);
    *rf = (unsigned)v;
    return STRATA_OK;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const cluster_dc_rf *)a)->name, ((const cluster_dc_rf *)b)->name);
}

/* system_schema stores the full class name, CQL accepts the short one. */
static int strategy_of(const char *cls, cluster_strategy *out) {
    const char *name = strncmp(cls, LOCATOR_PACKAGE, strlen(LOCATOR_PACKAGE)) ? cls : cls + strlen(LOCATOR_PACKAGE);
    if (!strcmp(name, "SimpleStrategy"))
        *out = CLUSTER_SIMPLE_STRATEGY;
    else if (!strcmp(name, "NetworkTopologyStrategy"))
        *out = CLUSTER_NETWORK_TOPOLOGY_STRATEGY;
    else if (!strcmp(name, "LocalStrategy") || !strcmp(name, "EverywhereStrategy"))
        *out = CLUSTER_EVERY_NODE_STRATEGY;
    else
        return -1;
    return 0;
}

static strata_err read_options(cluster_placement *p, const cluster_replication_option *o, size_t n) {
    const char *cls = NULL;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(o[i].key, o[j].key))
                return strata_fail(STRATA_EINVAL, "replication option '%s' given twice", o[i].key);
        if (!strcmp(o[i].key, "class")) cls = o[i].value;
    }
    if (!cls) return strata_fail(STRATA_EINVAL, "replication without a class");
    if (strategy_of(cls, &p->strategy))
        return strata_fail(STRATA_EFORMAT, "replication class %s is not supported", cls);
    if (p->strategy == CLUSTER_EVERY_NODE_STRATEGY) return STRATA_OK;
    int have_rf = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(o[i].key, "class")) continue;
        int is_rf = !strcmp(o[i].key, "replication_factor");
        if (p->strategy == CLUSTER_SIMPLE_STRATEGY && !is_rf)
            return strata_fail(STRATA_EINVAL, "SimpleStrategy has no option '%s'", o[i].key);
        if (p->strategy == CLUSTER_NETWORK_TOPOLOGY_STRATEGY && is_rf)
            return strata_fail(STRATA_EINVAL, "NetworkTopologyStrategy takes a factor per datacenter, not "
                               "replication_factor");
        unsigned rf = 0;
        strata_err e = parse_factor(o[i].key, o[i].value, &rf);
        if (e) return e;
        if (is_rf) {
            p->rf = rf;
            have_rf = 1;
        } else if (rf) {
            p->dcs = xrealloc(p->dcs, (p->n_dcs + 1) * sizeof *p->dcs);
            p->dcs[p->n_dcs++] = (cluster_dc_rf){.name = xstrdup(o[i].key), .rf = rf};
            p->rf += rf;
        }
    }
    if (p->strategy == CLUSTER_SIMPLE_STRATEGY && !have_rf)
        return strata_fail(STRATA_EINVAL, "SimpleStrategy without replication_factor");
    if (p->n_dcs) qsort(p->dcs, p->n_dcs, sizeof *p->dcs, by_name);
    return STRATA_OK;
}

size_t *cluster_placement_endpoint_dcs(const cluster_placement *p) {
    const cluster_ring *r = p->ring;
    size_t *dc = xmalloc((r->n_endpoints + 1) * sizeof *dc);
    for (size_t e = 0; e < r->n_endpoints; e++) {
        dc[e] = SIZE_MAX;
        for (size_t d = 0; d < p->n_dcs; d++)
            if (!strcmp(r->endpoints[e].dc, p->dcs[d].name)) dc[e] = d;
    }
    return dc;
}

/* ---- the ring as the walk sees it ---- */

static void describe_members(placer *x) {
    const cluster_ring *r = x->p->ring;
    size_t n_dcs = x->p->n_dcs;
    x->endpoint_dc = cluster_placement_endpoint_dcs(x->p);
    x->endpoint_rack = xmalloc((r->n_endpoints + 1) * sizeof *x->endpoint_rack);
    x->dc_members = xcalloc(n_dcs + 1, sizeof *x->dc_members);
    x->dc_racks = xcalloc(n_dcs + 1, sizeof *x->dc_racks);
    for (size_t e = 0; e < r->n_endpoints; e++) {
        const cluster_endpoint *ep = &r->endpoints[e];
        x->endpoint_rack[e] = e;
        if (ep->joining) continue;
        x->n_members++;
        int new_rack = 1;
        for (size_t o = 0; o < e && new_rack; o++) {
            const cluster_endpoint *other = &r->endpoints[o];
            if (!other->joining && !strcmp(other->dc, ep->dc) && !strcmp(other->rack, ep->rack)) {
                x->endpoint_rack[e] = x->endpoint_rack[o];
                new_rack = 0;
            }
        }
        size_t d = x->endpoint_dc[e];
        if (d == SIZE_MAX) continue;
        x->dc_members[d]++;
        x->dc_racks[d] += new_rack;
    }
    x->tokens = xmalloc((r->n_tokens + 1) * sizeof *x->tokens);
    for (size_t t = 0; t < r->n_tokens; t++)
        if (!r->endpoints[r->tokens[t].endpoint].joining) x->tokens[x->n_tokens++] = t;
    x->taken = xmalloc(r->n_endpoints + 1);
    x->rack_used = xmalloc(r->n_endpoints + 1);
}

static void free_placer(placer *x) {
    free(x->tokens);
    free(x->endpoint_dc);
    free(x->endpoint_rack);
    free(x->dc_members);
    free(x->dc_racks);
    free(x->taken);
    free(x->rack_used);
}

/* ---- the walk ---- */

typedef struct {
    size_t left;    /* replicas still to place */
    long repeats;   /* endpoints on used racks still acceptable */
} dc_fill;

/* Whether the walk takes endpoint `e` for its datacenter's fill `f`. */
static int take_for_dc(placer *x, dc_fill *f, size_t e) {
    if (!f->left) return 0;
    size_t rack = x->endpoint_rack[e];
    if (!x->rack_used[rack]) {
        x->rack_used[rack] = 1;
    } else {
        if (f->repeats <= 0) return 0;
        f->repeats--;
    }
    f->left--;
    return 1;
}

static void place_range(placer *x, size_t first, dc_fill *fills, cluster_range *out) {
    const cluster_placement *p = x->p;
    const cluster_ring *r = p->ring;
    size_t n_endpoints = r->n_endpoints;
    memset(x->taken, 0, n_endpoints);
    memset(x->rack_used, 0, n_endpoints);
    size_t want = 0;
    if (p->strategy == CLUSTER_NETWORK_TOPOLOGY_STRATEGY) {
        for (size_t d = 0; d < p->n_dcs; d++) {
            fills[d].left = p->dcs[d].rf < x->dc_members[d] ? p->dcs[d].rf : x->dc_members[d];
            fills[d].repeats = (long)p->dcs[d].rf - (long)x->dc_racks[d];
            want += fills[d].left;
        }
    } else {
        want = p->rf < x->n_members ? p->rf : x->n_members;
    }
    out->replicas = xmalloc((want + 1) * sizeof *out->replicas);
    for (size_t k = 0; k < x->n_tokens && out->n_replicas < want; k++) {
        size_t e = r->tokens[x->tokens[(first + k) % x->n_tokens]].endpoint;
        if (x->taken[e]) continue;
        if (p->strategy == CLUSTER_NETWORK_TOPOLOGY_STRATEGY) {
            size_t d = x->endpoint_dc[e];
            if (d == SIZE_MAX || !take_for_dc(x, &fills[d], e)) continue;
        }
        x->taken[e] = 1;
        out->replicas[out->n_replicas++] = e;
    }
}

strata_err cluster_placement_compute(const cluster_ring *ring, const cluster_replication_option *options,
                                     size_t n_options, cluster_placement **out) {
    *out = NULL;
    cluster_placement *p = xcalloc(1, sizeof *p);
    p->ring = ring;
    strata_err e = read_options(p, options, n_options);
    if (e) {
        cluster_placement_free(p);
        return e;
    }
    placer x = {.p = p};
    describe_members(&x);
    if (!x.n_tokens) {
        free_placer(&x);
        cluster_placement_free(p);
        return strata_fail(STRATA_EINVAL, "the ring has no token of a replica (every endpoint is joining)");
    }
    if (p->strategy == CLUSTER_EVERY_NODE_STRATEGY) p->rf = (unsigned)x.n_members;
    p->ranges = xcalloc(x.n_tokens, sizeof *p->ranges);
    dc_fill *fills = xcalloc(p->n_dcs + 1, sizeof *fills);
    for (size_t i = 0; i < x.n_tokens; i++) {
        cluster_range *range = &p->ranges[p->n_ranges++];
        range->start = ring->tokens[x.tokens[(i + x.n_tokens - 1) % x.n_tokens]].token;
        range->end = ring->tokens[x.tokens[i]].token;
        place_range(&x, i, fills, range);
    }
    free(fills);
    free_placer(&x);
    *out = p;
    return STRATA_OK;
}

void cluster_placement_free(cluster_placement *p) {
    if (!p) return;
    for (size_t d = 0; d < p->n_dcs; d++) free(p->dcs[d].name);
    free(p->dcs);
    for (size_t i = 0; i < p->n_ranges; i++) free(p->ranges[i].replicas);
    free(p->ranges);
    free(p);
}
