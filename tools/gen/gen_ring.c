/* gen_ring.c - which nodes replicate a partition.
 *
 * Each node owns `vnodes` random Murmur3 tokens, as num_tokens gives it;
 * a partition belongs to the first token at or after its own (wrapping
 * around) and is replicated on that token's node and the next distinct
 * nodes clockwise, as SimpleStrategy, or NetworkTopologyStrategy in one
 * datacenter and rack, places it.  With as many nodes as replicas every
 * node holds everything. */
#include "tools/gen/gen.h"

typedef struct {
    int64_t token;
    int owner;
} vnode;

static int vnode_cmp(const void *a, const void *b) {
    int64_t x = ((const vnode *)a)->token, y = ((const vnode *)b)->token;
    return (x > y) - (x < y);
}

void gen_ring_init(gen_ring *r, int nodes, int rf, int vnodes, uint64_t seed) {
    gen_rng rng = {gen_hash(seed, 0x72696e67, 0)};
    r->nodes = nodes, r->rf = rf;
    r->ntokens = (size_t)nodes * (size_t)vnodes;
    vnode *v = xmalloc(r->ntokens * sizeof *v);
    for (size_t i = 0; i < r->ntokens; i++) v[i] = (vnode){(int64_t)gen_rng_next(&rng), (int)(i % (size_t)nodes)};
    qsort(v, r->ntokens, sizeof *v, vnode_cmp);
    r->tokens = xmalloc(r->ntokens * sizeof *r->tokens);
    r->owners = xmalloc(r->ntokens * sizeof *r->owners);
    for (size_t i = 0; i < r->ntokens; i++) r->tokens[i] = v[i].token, r->owners[i] = v[i].owner;
    free(v);
}

void gen_ring_replicas(const gen_ring *r, int64_t token, int *replicas) {
    size_t lo = 0, hi = r->ntokens;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->tokens[mid] < token) lo = mid + 1;
        else hi = mid;
    }
    int n = 0;
    for (size_t k = 0; k < r->ntokens && n < r->rf; k++) {
        int owner = r->owners[(lo + k) % r->ntokens], seen = 0;
        for (int i = 0; i < n; i++) seen |= replicas[i] == owner;
        if (!seen) replicas[n++] = owner;
    }
}

void gen_ring_free(gen_ring *r) {
    free(r->tokens);
    free(r->owners);
}
