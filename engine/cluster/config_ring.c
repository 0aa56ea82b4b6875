/* config_ring.c - the cluster file's nodes placed in the token ring.
 *
 * Either the ring file lists every ring member, and the cluster file only
 * says which of them are its nodes (by address) and corrects a datacenter
 * or rack the ring file got wrong; or there is no ring file and each node
 * lists its own tokens, in which case the nodes are the whole ring.  Mixing
 * the two would leave it unclear which tokens count, so it is refused.
 * With neither, the ring can come from what each node records of itself
 * in system.local and of its peers in system.peers_v2 (read by the backup,
 * which knows SSTables): the nodes and the peers not among them. */
#include "engine/cluster/cluster_int.h"

#include <string.h>

/* Cassandra's SimpleSnitch puts every node here. */
#define DEFAULT_DC "datacenter1"
#define DEFAULT_RACK "rack1"

/* Gives node `i` its endpoint, refusing an endpoint another node has. */
static strata_err claim_endpoint(cluster_config *c, size_t ep, size_t i, const char *path, int line) {
    cluster_endpoint *e = &c->ring->endpoints[ep];
    if (e->node != CLUSTER_NO_NODE)
        return strata_fail(STRATA_EINVAL, "%s:%d: address %s is also node '%s''s", path, line, e->address,
                           c->nodes[e->node].name);
    e->node = i;
    const cluster_node *n = &c->nodes[i];
    if (n->dc) {
        free(e->dc);
        e->dc = xstrdup(n->dc);
    }
    if (n->rack) {
        free(e->rack);
        e->rack = xstrdup(n->rack);
    }
    return STRATA_OK;
}

static strata_err ring_from_file(cluster_config *c, const char *path, int ring_line, const cluster_node_lines *lines) {
    for (size_t i = 0; i < c->n_nodes; i++)
        if (lines[i].tokens)
            return strata_fail(STRATA_EINVAL, "%s:%d: node '%s' lists tokens, but the ring file lists them all",
                               path, lines[i].tokens, c->nodes[i].name);
    strata_err e = cluster_ring_load(c->ring_file, &c->ring);
    if (e) {
        char *why = xstrdup(strata_errmsg());
        strata_fail(e, "%s:%d: %s", path, ring_line, why);
        free(why);
        return e;
    }
    for (size_t i = 0; i < c->n_nodes && !e; i++) {
        const cluster_node *n = &c->nodes[i];
        if (!n->address)
            return strata_fail(STRATA_EINVAL, "%s:%d: node '%s' has no address (needed to find it in the ring file)",
                               path, lines[i].header, n->name);
        size_t ep = cluster_ring_find(c->ring, n->address);
        if (ep == SIZE_MAX)
            return strata_fail(STRATA_EINVAL, "%s:%d: address %s of node '%s' is not in the ring file %s", path,
                               lines[i].address, n->address, n->name, c->ring_file);
        e = claim_endpoint(c, ep, i, path, lines[i].address);
    }
    return e;
}

static strata_err ring_from_tokens(cluster_config *c, const char *path, const cluster_node_lines *lines) {
    cluster_ring_builder b = {.ring = xcalloc(1, sizeof(cluster_ring))};
    c->ring = b.ring;
    for (size_t i = 0; i < c->n_nodes; i++) {
        const cluster_node *n = &c->nodes[i];
        if (!n->n_tokens) {
            free(b.entries);
            return strata_fail(STRATA_EINVAL, "%s:%d: node '%s' has no tokens (others have, and there is no ring "
                               "file)", path, lines[i].header, n->name);
        }
        const char *address = n->address ? n->address : n->name;
        size_t ep = cluster_ring_find(b.ring, address);
        if (ep == SIZE_MAX) ep = cluster_ring_add_endpoint(b.ring, address, DEFAULT_DC, DEFAULT_RACK);
        strata_err e = claim_endpoint(c, ep, i, path, lines[i].address ? lines[i].address : lines[i].header);
        if (e) {
            free(b.entries);
            return e;
        }
        for (size_t t = 0; t < n->n_tokens; t++) cluster_ring_add_token(&b, n->tokens[t], ep, lines[i].tokens);
    }
    return cluster_ring_finish(&b, path);
}

strata_err cluster_config_ring(cluster_config *c, const char *path, int ring_line, const cluster_node_lines *lines) {
    if (c->ring_file) return ring_from_file(c, path, ring_line, lines);
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].n_tokens) return ring_from_tokens(c, path, lines);
    return STRATA_OK;
}

/* The endpoints of the cluster file's nodes, then of the peers not among
 * them; members[k] is what endpoint k holds. */
static strata_err add_members(cluster_config *c, const cluster_node_self *self, const cluster_node_self *peers,
                              size_t npeers, const cluster_node_self **members) {
    cluster_ring *r = c->ring;
    for (size_t i = 0; i < c->n_nodes; i++) {
        const cluster_node *n = &c->nodes[i];
        const char *address = n->address ? n->address : self[i].address ? self[i].address : n->name;
        if (cluster_ring_find(r, address) != SIZE_MAX)
            return strata_fail(STRATA_EINVAL, "node '%s' has address %s, like another node", n->name, address);
        size_t ep = cluster_ring_add_endpoint(r, address, self[i].dc ? self[i].dc : DEFAULT_DC,
                                              self[i].rack ? self[i].rack : DEFAULT_RACK);
        members[ep] = &self[i];
        strata_err e = claim_endpoint(c, ep, i, "system.local", 0);
        if (e) return e;
    }
    for (size_t p = 0; p < npeers; p++) {
        if (!peers[p].address || cluster_ring_find(r, peers[p].address) != SIZE_MAX || !peers[p].n_tokens) continue;
        size_t i = 0; /* a node known in the cluster file by another name */
        while (i < c->n_nodes && !(self[i].address && !strcmp(self[i].address, peers[p].address))) i++;
        if (i < c->n_nodes) continue;
        size_t ep = cluster_ring_add_endpoint(r, peers[p].address, peers[p].dc ? peers[p].dc : DEFAULT_DC,
                                              peers[p].rack ? peers[p].rack : DEFAULT_RACK);
        members[ep] = &peers[p];
    }
    return STRATA_OK;
}

strata_err cluster_config_ring_from_self(cluster_config *c, const cluster_node_self *self,
                                         const cluster_node_self *peers, size_t npeers) {
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!self[i].n_tokens)
            return strata_fail(STRATA_ENOENT, "node '%s' records no tokens in system.local", c->nodes[i].name);
    cluster_ring_builder b = {.ring = xcalloc(1, sizeof(cluster_ring))};
    c->ring = b.ring;
    const cluster_node_self **members = xcalloc(c->n_nodes + npeers + 1, sizeof *members);
    strata_err e = add_members(c, self, peers, npeers, members);
    for (size_t ep = 0; ep < b.ring->n_endpoints && !e; ep++)
        for (size_t t = 0; t < members[ep]->n_tokens; t++) cluster_ring_add_token(&b, members[ep]->tokens[t], ep, 0);
    if (!e) e = cluster_ring_finish(&b, "the nodes' system tables");
    free(b.entries);
    free(members);
    if (e) {
        cluster_ring_free(b.ring);
        c->ring = NULL;
    }
    return e;
}
