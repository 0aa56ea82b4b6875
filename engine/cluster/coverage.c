/* coverage.c - how many replicas of each token range a cluster version
 * captured, and for which consistency levels it is therefore complete.
 *
 * A write acknowledged by W replicas of a range is certainly in the
 * version when the replicas the version lacks are fewer than W: at least
 * one acknowledging replica was captured.  W is what the coordinator
 * waited for, counted from the keyspace's configured factor: a range with
 * fewer replicas than that could not have acknowledged such a write at
 * all, which the same comparison accepts. */
#include "engine/cluster/cluster_int.h"

#include <string.h>

const char *cluster_consistency_name(cluster_consistency cl) {
    static const char *const names[CLUSTER_CL_COUNT] = {"ONE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM"};
    return cl < CLUSTER_CL_COUNT ? names[cl] : "?";
}

static size_t quorum(unsigned rf) {
    return rf / 2 + 1;
}

/* Whether a write acknowledged by `acks` replicas can be missing from a
 * version that lacks `missing` of the range's replicas. */
static int may_lose(size_t missing, size_t acks) {
    return missing > 0 && missing >= acks;
}

static strata_err mark_captured(cluster_coverage *cov, const char *const *captured, size_t n_captured) {
    const cluster_config *c = cov->config;
    unsigned char *node_captured = xcalloc(c->n_nodes + 1, 1);
    for (size_t i = 0; i < n_captured; i++) {
        size_t n = 0;
        while (n < c->n_nodes && strcmp(c->nodes[n].name, captured[i])) n++;
        if (n == c->n_nodes) {
            free(node_captured);
            return strata_fail(STRATA_EINVAL, "captured node '%s' is not in cluster %s", captured[i], c->name);
        }
        node_captured[n] = 1;
    }
    for (size_t n = 0; n < c->n_nodes; n++) cov->n_captured += node_captured[n];
    if (c->ring) {
        cov->endpoint_captured = xcalloc(c->ring->n_endpoints + 1, 1);
        for (size_t e = 0; e < c->ring->n_endpoints; e++) {
            size_t node = c->ring->endpoints[e].node;
            cov->endpoint_captured[e] = node != CLUSTER_NO_NODE && node_captured[node];
        }
    }
    free(node_captured);
    return STRATA_OK;
}

/* Per-datacenter counts of one range and the quorum levels it fails. */
static void count_datacenters(cluster_coverage *cov, const cluster_range *r, const size_t *endpoint_dc,
                              size_t *replicas, size_t *captured) {
    const cluster_placement *p = cov->placement;
    memset(replicas, 0, p->n_dcs * sizeof *replicas);
    memset(captured, 0, p->n_dcs * sizeof *captured);
    for (size_t k = 0; k < r->n_replicas; k++) {
        size_t e = r->replicas[k], d = endpoint_dc[e];
        replicas[d]++;
        captured[d] += cov->endpoint_captured[e];
    }
    int any_dc = 0, each_quorum = 0;
    for (size_t d = 0; d < p->n_dcs; d++) {
        cluster_dc_coverage *dc = &cov->dcs[d];
        if (dc->local_quorum < 0) continue;
        if (captured[d] < dc->min_captured) dc->min_captured = captured[d];
        int kept = !may_lose(replicas[d] - captured[d], quorum(dc->rf));
        if (!kept) dc->local_quorum = 0;
        any_dc = 1;
        each_quorum |= kept;
    }
    if (any_dc && !each_quorum) cov->complete[CLUSTER_CL_EACH_QUORUM] = 0;
}

static void count_ranges(cluster_coverage *cov) {
    const cluster_placement *p = cov->placement;
    int nts = p->strategy == CLUSTER_NETWORK_TOPOLOGY_STRATEGY;
    size_t *endpoint_dc = cluster_placement_endpoint_dcs(p);
    size_t *dc_replicas = xcalloc(p->n_dcs + 1, sizeof *dc_replicas);
    size_t *dc_captured = xcalloc(p->n_dcs + 1, sizeof *dc_captured);
    cov->n_dcs = p->n_dcs;
    cov->dcs = xcalloc(p->n_dcs + 1, sizeof *cov->dcs);
    for (size_t d = 0; d < p->n_dcs; d++)
        cov->dcs[d] = (cluster_dc_coverage){.name = p->dcs[d].name, .rf = p->dcs[d].rf, .min_captured = SIZE_MAX,
                                            .local_quorum = -1};
    for (size_t e = 0; e < p->ring->n_endpoints; e++)
        if (!p->ring->endpoints[e].joining && endpoint_dc[e] != SIZE_MAX) cov->dcs[endpoint_dc[e]].local_quorum = 1;
    for (int cl = 0; cl < CLUSTER_CL_COUNT; cl++) cov->complete[cl] = 1;
    if (!nts) cov->complete[CLUSTER_CL_LOCAL_QUORUM] = cov->complete[CLUSTER_CL_EACH_QUORUM] = -1;

    cov->ranges = xcalloc(p->n_ranges + 1, sizeof *cov->ranges);
    cov->min_captured = SIZE_MAX;
    for (size_t i = 0; i < p->n_ranges; i++) {
        const cluster_range *r = &p->ranges[i];
        cluster_range_coverage *rc = &cov->ranges[i];
        rc->replicas = r->n_replicas;
        for (size_t k = 0; k < r->n_replicas; k++) rc->captured += cov->endpoint_captured[r->replicas[k]];
        size_t missing = rc->replicas - rc->captured;
        if (rc->captured < cov->min_captured) cov->min_captured = rc->captured;
        if (missing) cov->n_short++;
        if (may_lose(missing, 1)) cov->complete[CLUSTER_CL_ONE] = 0;
        if (may_lose(missing, quorum(p->rf))) cov->complete[CLUSTER_CL_QUORUM] = 0;
        if (may_lose(missing, p->rf)) cov->complete[CLUSTER_CL_ALL] = 0;
        if (nts) count_datacenters(cov, r, endpoint_dc, dc_replicas, dc_captured);
    }
    for (size_t d = 0; d < p->n_dcs; d++) {
        if (cov->dcs[d].local_quorum < 0) cov->dcs[d].min_captured = 0;
        if (!cov->dcs[d].local_quorum) cov->complete[CLUSTER_CL_LOCAL_QUORUM] = 0;
    }
    free(dc_captured);
    free(dc_replicas);
    free(endpoint_dc);
}

strata_err cluster_coverage_compute(const cluster_config *c, const cluster_placement *p,
                                    const char *const *captured, size_t n_captured, cluster_coverage **out) {
    *out = NULL;
    if (p ? p->ring != c->ring : c->ring != NULL)
        return strata_fail(STRATA_EINVAL, "coverage of cluster %s needs the placement of its own ring", c->name);
    cluster_coverage *cov = xcalloc(1, sizeof *cov);
    cov->config = c;
    cov->placement = p;
    strata_err e = mark_captured(cov, captured, n_captured);
    if (e) {
        cluster_coverage_free(cov);
        return e;
    }
    if (p) {
        count_ranges(cov);
    } else {
        for (int cl = 0; cl < CLUSTER_CL_COUNT; cl++) cov->complete[cl] = -1;
    }
    *out = cov;
    return STRATA_OK;
}

void cluster_coverage_free(cluster_coverage *cov) {
    if (!cov) return;
    free(cov->endpoint_captured);
    free(cov->ranges);
    free(cov->dcs);
    free(cov);
}
