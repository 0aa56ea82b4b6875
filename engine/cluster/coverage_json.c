/* coverage_json.c - the coverage report as JSON, for the version record
 * and for operators: first the verdict (for which consistency levels the
 * version is complete), then the figures behind it, then each range that
 * lacks a replica with the addresses it lacks, so that a short range can
 * be traced to the nodes that were not captured. */
#include "engine/cluster/cluster.h"

static const char *strategy_name(cluster_strategy s) {
    switch (s) {
    case CLUSTER_SIMPLE_STRATEGY: return "SimpleStrategy";
    case CLUSTER_NETWORK_TOPOLOGY_STRATEGY: return "NetworkTopologyStrategy";
    case CLUSTER_EVERY_NODE_STRATEGY: return "every node";
    }
    return "?";
}

static json_t *complete_levels(const cluster_coverage *cov) {
    json_t *levels = json_object();
    for (int cl = 0; cl < CLUSTER_CL_COUNT; cl++)
        if (cov->complete[cl] >= 0)
            json_object_set_new(levels, cluster_consistency_name((cluster_consistency)cl),
                                json_boolean(cov->complete[cl]));
    return levels;
}

static json_t *datacenters(const cluster_coverage *cov) {
    json_t *list = json_array();
    for (size_t d = 0; d < cov->n_dcs; d++) {
        const cluster_dc_coverage *dc = &cov->dcs[d];
        json_t *j = json_pack("{s:s, s:I}", "name", dc->name, "replication_factor", (json_int_t)dc->rf);
        if (dc->local_quorum >= 0) {
            json_object_set_new(j, "min_captured", json_integer((json_int_t)dc->min_captured));
            json_object_set_new(j, "LOCAL_QUORUM", json_boolean(dc->local_quorum));
        } else {
            json_object_set_new(j, "endpoints", json_integer(0));
        }
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *uncaptured_endpoints(const cluster_coverage *cov) {
    const cluster_ring *r = cov->placement->ring;
    json_t *list = json_array();
    for (size_t e = 0; e < r->n_endpoints; e++)
        if (!r->endpoints[e].joining && !cov->endpoint_captured[e])
            json_array_append_new(list, json_string(r->endpoints[e].address));
    return list;
}

static json_t *short_ranges(const cluster_coverage *cov) {
    const cluster_placement *p = cov->placement;
    json_t *list = json_array();
    for (size_t i = 0; i < p->n_ranges; i++) {
        const cluster_range *r = &p->ranges[i];
        const cluster_range_coverage *rc = &cov->ranges[i];
        if (rc->captured == rc->replicas) continue;
        json_t *missing = json_array();
        for (size_t k = 0; k < r->n_replicas; k++)
            if (!cov->endpoint_captured[r->replicas[k]])
                json_array_append_new(missing, json_string(p->ring->endpoints[r->replicas[k]].address));
        json_array_append_new(list, json_pack("{s:I, s:I, s:I, s:I, s:o}", "start", (json_int_t)r->start, "end",
                                              (json_int_t)r->end, "replicas", (json_int_t)rc->replicas, "captured",
                                              (json_int_t)rc->captured, "missing", missing));
    }
    return list;
}

json_t *cluster_coverage_json(const cluster_coverage *cov) {
    json_t *j = json_pack("{s:b, s:I, s:I}", "ring", cov->placement != NULL, "nodes",
                          (json_int_t)cov->config->n_nodes, "captured_nodes", (json_int_t)cov->n_captured);
    if (!cov->placement) {
        json_object_set_new(j, "note", json_string("no ring file and no tokens in the cluster file: "
                                                   "replicas of token ranges are not counted"));
        return j;
    }
    const cluster_placement *p = cov->placement;
    json_object_set_new(j, "complete", complete_levels(cov));
    json_object_set_new(j, "all_replicas_captured", json_boolean(cov->n_short == 0));
    json_object_set_new(j, "strategy", json_string(strategy_name(p->strategy)));
    json_object_set_new(j, "replication_factor", json_integer((json_int_t)p->rf));
    json_object_set_new(j, "ranges", json_integer((json_int_t)p->n_ranges));
    json_object_set_new(j, "short_ranges", json_integer((json_int_t)cov->n_short));
    json_object_set_new(j, "min_captured", json_integer((json_int_t)cov->min_captured));
    if (p->strategy == CLUSTER_NETWORK_TOPOLOGY_STRATEGY) json_object_set_new(j, "datacenters", datacenters(cov));
    json_object_set_new(j, "uncaptured_endpoints", uncaptured_endpoints(cov));
    json_object_set_new(j, "short", short_ranges(cov));
    return j;
}
