/* test_cluster_ring.c - replica placement and coverage of the cluster module.
 *
 * The real case is rf3-a: its ring.txt holds `nodetool ring app` (read by
 * the code under test), the keyspaces' replication as `nodetool
 * describecluster` printed it and, per token range, the endpoints
 * Cassandra computed (`nodetool describering app`), which the placement
 * must reproduce in Cassandra's order.  The multi-datacenter, multi-rack
 * case is small enough to place by hand with Cassandra's rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "engine/cluster/cluster.h"
#include "tests/unit/cluster_files.h"

#define RF3A "../shared/corpus/cluster/rf3-a"

typedef struct {
    int64_t start, end;
    char endpoints[3][16];
    size_t n;
} described_range;

/* The rf3-a cluster file: nodes as README.md names them (node1 =
 * 127.0.0.1, ...), the ring file as the corpus holds it. */
static cluster_config *load_rf3a(void) {
    char *dir = temp_dir();
    char *ring = realpath(RF3A "/ring.txt", NULL);
    assert_non_null(ring);
    char *text = xasprintf("[cluster]\nname = rf3-a\nring = %s\n"
                           "[node node1]\ndata_dir = node1\naddress = 127.0.0.1\n"
                           "[node node2]\ndata_dir = node2\naddress = 127.0.0.2\n"
                           "[node node3]\ndata_dir = node3\naddress = 127.0.0.3\n", ring);
    char *path = write_file(dir, "rf3-a.ini", text);
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    sh("rm -rf '%s'", dir);
    free(path);
    free(text);
    free(ring);
    free(dir);
    return c;
}

/* The TokenRange lines of `nodetool describering app` in ring.txt. */
static size_t read_describering(described_range *out, size_t max) {
    FILE *f = fopen(RF3A "/ring.txt", "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (getline(&line, &cap, f) >= 0) {
        const char *at = strstr(line, "TokenRange(start_token:");
        if (!at) continue;
        assert_true(n < max);
        described_range *r = &out[n++];
        char list[256];
        assert_int_equal(sscanf(at, "TokenRange(start_token:%" SCNd64 ", end_token:%" SCNd64 ", endpoints:[%255[^]]]",
                                &r->start, &r->end, list), 3);
        r->n = 0;
        for (char *save = NULL, *ep = strtok_r(list, ", ", &save); ep; ep = strtok_r(NULL, ", ", &save)) {
            assert_true(r->n < 3 && strlen(ep) < sizeof r->endpoints[0]);
            strcpy(r->endpoints[r->n++], ep);
        }
    }
    free(line);
    fclose(f);
    return n;
}

/* The replication `nodetool describecluster` printed for `keyspace`:
 * "app -> Replication class: NetworkTopologyStrategy {datacenter1=3}".
 * Fills up to 4 options whose strings live in `store`. */
static size_t read_replication(const char *keyspace, cluster_replication_option *opts, char *store, size_t size) {
    FILE *f = fopen(RF3A "/ring.txt", "r");
    assert_non_null(f);
    char line[512];
    char *want = xasprintf("%s -> Replication class: ", keyspace);
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        const char *at = strstr(line, want);
        if (!at) continue;
        snprintf(store, size, "%s", at + strlen(want));
        char *brace = strchr(store, '{');
        assert_non_null(brace);
        brace[-1] = 0;
        opts[n++] = (cluster_replication_option){"class", store};
        char *end = strchr(brace, '}');
        assert_non_null(end);
        *end = 0;
        for (char *save = NULL, *kv = strtok_r(brace + 1, ", ", &save); kv; kv = strtok_r(NULL, ", ", &save)) {
            char *eq = strchr(kv, '=');
            assert_non_null(eq);
            *eq = 0;
            assert_true(n < 4);
            opts[n++] = (cluster_replication_option){kv, eq + 1};
        }
    }
    fclose(f);
    free(want);
    assert_true(n > 0);
    return n;
}

static cluster_placement *place_keyspace(const cluster_config *c, const char *keyspace) {
    cluster_replication_option opts[4];
    char store[256];
    size_t n = read_replication(keyspace, opts, store, sizeof store);
    cluster_placement *p;
    assert_int_equal(cluster_placement_compute(c->ring, opts, n, &p), STRATA_OK);
    return p;
}

static const cluster_range *find_range(const cluster_placement *p, int64_t start, int64_t end) {
    for (size_t i = 0; i < p->n_ranges; i++)
        if (p->ranges[i].start == start && p->ranges[i].end == end) return &p->ranges[i];
    fail_msg("no range (%" PRId64 ", %" PRId64 "]", start, end);
    return NULL;
}

static const char *replica(const cluster_placement *p, const cluster_range *r, size_t k) {
    return p->ring->endpoints[r->replicas[k]].address;
}

/* ---- placement ------------------------------------------------------------ */

/* Every range of describering gets the endpoints Cassandra printed, in its
 * order, and no range is left over. */
static void test_rf3a_matches_describering(void **state) {
    (void)state;
    cluster_config *c = load_rf3a();
    cluster_placement *p = place_keyspace(c, "app");
    assert_int_equal(p->strategy, CLUSTER_NETWORK_TOPOLOGY_STRATEGY);
    assert_int_equal(p->rf, 3);
    assert_int_equal(p->n_dcs, 1);
    assert_string_equal(p->dcs[0].name, "datacenter1");
    described_range want[64];
    size_t n = read_describering(want, 64);
    assert_int_equal(n, 48);
    assert_int_equal(p->n_ranges, n);
    for (size_t i = 0; i < n; i++) {
        const cluster_range *r = find_range(p, want[i].start, want[i].end);
        assert_int_equal(r->n_replicas, want[i].n);
        for (size_t k = 0; k < want[i].n; k++) assert_string_equal(replica(p, r, k), want[i].endpoints[k]);
    }
    cluster_placement_free(p);

    /* system_schema stores the class by its full name. */
    cluster_replication_option full[] = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"},
                                         {"datacenter1", "3"}};
    assert_int_equal(cluster_placement_compute(c->ring, full, 2, &p), STRATA_OK);
    const cluster_range *r = find_range(p, want[0].start, want[0].end);
    for (size_t k = 0; k < 3; k++) assert_string_equal(replica(p, r, k), want[0].endpoints[k]);
    cluster_placement_free(p);
    cluster_config_free(c);
}

/* rf3-a has one rack, where NetworkTopologyStrategy takes endpoints in
 * ring order just as SimpleStrategy does: so system_traces (Simple, 2) and
 * system_auth (Simple, 1) get the first two and the first endpoint
 * describering printed for app, and LocalStrategy (system) all three. */
static void test_rf3a_other_strategies(void **state) {
    (void)state;
    cluster_config *c = load_rf3a();
    described_range want[64];
    size_t n = read_describering(want, 64);
    const char *keyspaces[] = {"system_auth", "system_traces", "system"};
    size_t rf[] = {1, 2, 3};
    for (size_t ks = 0; ks < 3; ks++) {
        cluster_placement *p = place_keyspace(c, keyspaces[ks]);
        assert_int_equal(p->strategy, ks < 2 ? CLUSTER_SIMPLE_STRATEGY : CLUSTER_EVERY_NODE_STRATEGY);
        assert_int_equal(p->rf, rf[ks]);
        assert_int_equal(p->n_ranges, 48);
        for (size_t i = 0; i < n; i++) {
            const cluster_range *r = find_range(p, want[i].start, want[i].end);
            assert_int_equal(r->n_replicas, rf[ks]);
            for (size_t k = 0; k < rf[ks]; k++) assert_string_equal(replica(p, r, k), want[i].endpoints[k]);
        }
        cluster_placement_free(p);
    }
    cluster_config_free(c);
}

/* Two datacenters, two racks each, one token per endpoint (and a joining
 * one, which replicates nothing yet):
 *
 *   token  100 A1 dc1/r1   200 B1 dc2/r1   300 A2 dc1/r1   350 C1 dc1/r2 (joining)
 *          400 A3 dc1/r1   500 B2 dc2/r2   600 A4 dc1/r2
 *
 * NetworkTopologyStrategy {dc1: 3, dc2: 1}: dc1 has 4 endpoints on 2
 * racks, so one endpoint on an already used rack is accepted (3 - 2), the
 * first one met; dc2 needs one endpoint, the first met.  Walking clockwise
 * from each range's token:
 *   (600,100]: A1 new r1, B1 dc2, A2 r1 again (the one repeat), A3 r1 refused, A4 r2
 *   (100,200]: B1, A2 r1, A3 r1 repeat, A4 r2
 *   (200,300]: A2 r1, A3 r1 repeat, B2 dc2, A4 r2
 *   (300,400]: A3 r1, B2, A4 r2, A1 r1 repeat
 *   (400,500]: B2, A4 r2, A1 r1, A2 r1 repeat
 *   (500,600]: A4 r2, A1 r1, B1 dc2, A2 r1 repeat
 * SimpleStrategy 3 takes the next three endpoints whatever their rack. */
#define SYNTH_RING                                                                   \
    "Datacenter: dc1\n==========\n"                                                  \
    "Address  Rack  Status State   Load       Owns    Token\n"                      \
    "                                                 600\n"                        \
    "A1       r1    Up     Normal  1.00 KiB   ?       100\n"                        \
    "A2       r1    Up     Normal  1.00 KiB   ?       300\n"                        \
    "C1       r2    Up     Joining 1.00 KiB   ?       350\n"                        \
    "A3       r1    Up     Normal  1.00 KiB   ?       400\n"                        \
    "A4       r2    Down   Normal  ?                  ?       600\n"                \
    "\nDatacenter: dc2\n==========\n"                                                \
    "Address  Rack  Status State   Load       Owns    Token\n"                      \
    "                                                 500\n"                        \
    "B1       r1    Up     Normal  1.00 KiB   ?       200\n"                        \
    "B2       r2    Up     Normal  1.00 KiB   ?       500\n"

static cluster_config *load_synthetic(void) {
    char *dir = temp_dir();
    free(write_file(dir, "ring.txt", SYNTH_RING));
    char *path = write_file(dir, "c.ini",
                            "[cluster]\nname = synth\nring = ring.txt\n"
                            "[node a1]\ndata_dir = d\naddress = A1\n[node a2]\ndata_dir = d\naddress = A2\n"
                            "[node a3]\ndata_dir = d\naddress = A3\n[node a4]\ndata_dir = d\naddress = A4\n"
                            "[node b1]\ndata_dir = d\naddress = B1\n[node b2]\ndata_dir = d\naddress = B2\n");
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    sh("rm -rf '%s'", dir);
    free(path);
    free(dir);
    return c;
}

static void expect_placement(const cluster_placement *p, const int64_t *ends, const char *const (*want)[4],
                             size_t per_range) {
    assert_int_equal(p->n_ranges, 6);
    for (size_t i = 0; i < 6; i++) {
        const cluster_range *r = &p->ranges[i];
        assert_true(r->end == ends[i]);
        assert_true(r->start == ends[(i + 5) % 6]);
        assert_int_equal(r->n_replicas, per_range);
        for (size_t k = 0; k < per_range; k++) assert_string_equal(replica(p, r, k), want[i][k]);
    }
}

static const int64_t synth_ends[6] = {100, 200, 300, 400, 500, 600};

static cluster_placement *place_synthetic_nts(const cluster_config *c) {
    cluster_replication_option nts[] = {{"class", "NetworkTopologyStrategy"}, {"dc2", "1"}, {"dc1", "3"}};
    cluster_placement *p;
    assert_int_equal(cluster_placement_compute(c->ring, nts, 3, &p), STRATA_OK);
    return p;
}

static void test_multi_dc_by_hand(void **state) {
    (void)state;
    cluster_config *c = load_synthetic();
    cluster_placement *p = place_synthetic_nts(c);
    assert_int_equal(p->rf, 4);
    assert_int_equal(p->n_dcs, 2);
    assert_string_equal(p->dcs[0].name, "dc1");
    assert_int_equal(p->dcs[0].rf, 3);
    static const char *const nts_want[6][4] = {
        {"A1", "B1", "A2", "A4"}, {"B1", "A2", "A3", "A4"}, {"A2", "A3", "B2", "A4"},
        {"A3", "B2", "A4", "A1"}, {"B2", "A4", "A1", "A2"}, {"A4", "A1", "B1", "A2"},
    };
    expect_placement(p, synth_ends, nts_want, 4);
    cluster_placement_free(p);

    cluster_replication_option simple[] = {{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                                           {"replication_factor", "3"}};
    assert_int_equal(cluster_placement_compute(c->ring, simple, 2, &p), STRATA_OK);
    static const char *const simple_want[6][4] = {
        {"A1", "B1", "A2"}, {"B1", "A2", "A3"}, {"A2", "A3", "B2"},
        {"A3", "B2", "A4"}, {"B2", "A4", "A1"}, {"A4", "A1", "B1"},
    };
    expect_placement(p, synth_ends, simple_want, 3);
    cluster_placement_free(p);

    /* A datacenter with fewer endpoints than its factor has them all. */
    cluster_replication_option more[] = {{"class", "NetworkTopologyStrategy"}, {"dc2", "5"}};
    assert_int_equal(cluster_placement_compute(c->ring, more, 2, &p), STRATA_OK);
    assert_int_equal(p->rf, 5);
    for (size_t i = 0; i < 6; i++) assert_int_equal(p->ranges[i].n_replicas, 2);
    cluster_placement_free(p);
    cluster_config_free(c);
}

static void expect_placement_error(const cluster_ring *ring, const cluster_replication_option *o, size_t n,
                                   strata_err code, const char *message) {
    cluster_placement *p = (cluster_placement *)1;
    assert_int_equal(cluster_placement_compute(ring, o, n, &p), code);
    assert_null(p);
    if (!strstr(strata_errmsg(), message)) fail_msg("expected \"%s\" in \"%s\"", message, strata_errmsg());
}

static void test_placement_errors(void **state) {
    (void)state;
    cluster_config *c = load_rf3a();
    const cluster_ring *r = c->ring;
    expect_placement_error(r, (cluster_replication_option[]){{"datacenter1", "3"}}, 1, STRATA_EINVAL,
                           "without a class");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "OldNetworkTopologyStrategy"}}, 1,
                           STRATA_EFORMAT, "not supported");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "SimpleStrategy"}}, 1, STRATA_EINVAL,
                           "without replication_factor");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "SimpleStrategy"}, {"replication_factor", "x"}},
                           2, STRATA_EINVAL, "bad replication factor 'x'");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "SimpleStrategy"}, {"datacenter1", "3"}}, 2,
                           STRATA_EINVAL, "no option 'datacenter1'");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "NetworkTopologyStrategy"},
                                                             {"replication_factor", "3"}},
                           2, STRATA_EINVAL, "not replication_factor");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "NetworkTopologyStrategy"},
                                                             {"datacenter1", "3/1"}},
                           2, STRATA_EFORMAT, "transient");
    expect_placement_error(r, (cluster_replication_option[]){{"class", "NetworkTopologyStrategy"},
                                                             {"datacenter1", "3"}, {"datacenter1", "2"}},
                           3, STRATA_EINVAL, "given twice");
    cluster_config_free(c);
}

/* ---- coverage --------------------------------------------------------------- */

typedef struct {
    size_t captured, min, n_short;
    int one, quorum, all, local_quorum, each_quorum;
} expected_coverage;

static cluster_coverage *cover(const cluster_config *c, const cluster_placement *p, const char *const *nodes,
                               size_t n, const expected_coverage *want) {
    cluster_coverage *cov;
    assert_int_equal(cluster_coverage_compute(c, p, nodes, n, &cov), STRATA_OK);
    assert_int_equal(cov->n_captured, want->captured);
    assert_int_equal(cov->min_captured, want->min);
    assert_int_equal(cov->n_short, want->n_short);
    assert_int_equal(cov->complete[CLUSTER_CL_ONE], want->one);
    assert_int_equal(cov->complete[CLUSTER_CL_QUORUM], want->quorum);
    assert_int_equal(cov->complete[CLUSTER_CL_ALL], want->all);
    assert_int_equal(cov->complete[CLUSTER_CL_LOCAL_QUORUM], want->local_quorum);
    assert_int_equal(cov->complete[CLUSTER_CL_EACH_QUORUM], want->each_quorum);
    return cov;
}

/* Every rf3-a range has all three nodes as replicas (describering), so a
 * version of k nodes holds k of 3 replicas of every range. */
static void test_rf3a_coverage(void **state) {
    (void)state;
    cluster_config *c = load_rf3a();
    cluster_placement *p = place_keyspace(c, "app");
    const char *all[] = {"node1", "node2", "node3"};

    cluster_coverage *cov = cover(c, p, all, 3, &(expected_coverage){3, 3, 0, 1, 1, 1, 1, 1});
    for (size_t i = 0; i < p->n_ranges; i++) assert_int_equal(cov->ranges[i].captured, 3);
    assert_int_equal(cov->dcs[0].min_captured, 3);
    cluster_coverage_free(cov);

    /* node3 missing: a write acknowledged at QUORUM (2 of 3) or ALL
     * reached node1 or node2; one at ONE may have reached only node3. */
    cov = cover(c, p, all, 2, &(expected_coverage){2, 2, 48, 0, 1, 1, 1, 1});
    for (size_t i = 0; i < p->n_ranges; i++) {
        assert_int_equal(cov->ranges[i].replicas, 3);
        assert_int_equal(cov->ranges[i].captured, 2);
    }
    cluster_coverage_free(cov);

    /* node2 and node3 missing: a QUORUM write may have reached just those. */
    cov = cover(c, p, all, 1, &(expected_coverage){1, 1, 48, 0, 0, 1, 0, 0});
    assert_int_equal(cov->dcs[0].min_captured, 1);
    assert_int_equal(cov->dcs[0].local_quorum, 0);
    cluster_coverage_free(cov);

    cov = cover(c, p, NULL, 0, &(expected_coverage){0, 0, 48, 0, 0, 0, 0, 0});
    cluster_coverage_free(cov);
    cluster_placement_free(p);
    cluster_config_free(c);
}

/* The synthetic placement above: dc2's one replica is B1 for the ranges
 * ending at 100, 200, 600 and B2 for the others; A4 is in every range. */
static void test_multi_dc_coverage(void **state) {
    (void)state;
    cluster_config *c = load_synthetic();
    cluster_placement *p = place_synthetic_nts(c);
    /* Without B2: 3 of 4 in three ranges.  QUORUM (3 of 4), ALL, and
     * EACH_QUORUM (dc1's 2 of 3 is whole) keep every write; LOCAL_QUORUM
     * in dc2 (1 of 1) does not. */
    const char *no_b2[] = {"a1", "a2", "a3", "a4", "b1"};
    cluster_coverage *cov = cover(c, p, no_b2, 5, &(expected_coverage){5, 3, 3, 0, 1, 1, 0, 1});
    size_t want_captured[] = {4, 4, 3, 3, 3, 4};
    for (size_t i = 0; i < 6; i++) assert_int_equal(cov->ranges[i].captured, want_captured[i]);
    assert_int_equal(cov->dcs[0].local_quorum, 1);
    assert_int_equal(cov->dcs[0].min_captured, 3);
    assert_int_equal(cov->dcs[1].local_quorum, 0);
    assert_int_equal(cov->dcs[1].min_captured, 0);
    cluster_coverage_free(cov);

    /* Without A1, A4 and B2: (300,400] keeps only A3, so a QUORUM write
     * (3 of 4) and an EACH_QUORUM write (A4+A1 in dc1, B2 in dc2) may be
     * gone; ALL writes reached A3. */
    const char *few[] = {"a2", "a3", "b1"};
    cov = cover(c, p, few, 3, &(expected_coverage){3, 1, 6, 0, 0, 1, 0, 0});
    assert_int_equal(cov->ranges[3].captured, 1);
    cluster_coverage_free(cov);
    cluster_placement_free(p);
    cluster_config_free(c);
}

/* The JSON report of rf3-a without node3 says what the figures say. */
static void test_coverage_json(void **state) {
    (void)state;
    cluster_config *c = load_rf3a();
    cluster_placement *p = place_keyspace(c, "app");
    const char *two[] = {"node1", "node2"};
    cluster_coverage *cov;
    assert_int_equal(cluster_coverage_compute(c, p, two, 2, &cov), STRATA_OK);
    json_t *j = cluster_coverage_json(cov);
    json_t *complete = json_object_get(j, "complete");
    assert_true(json_is_true(json_object_get(j, "ring")));
    assert_true(json_is_false(json_object_get(complete, "ONE")));
    assert_true(json_is_true(json_object_get(complete, "QUORUM")));
    assert_true(json_is_true(json_object_get(complete, "ALL")));
    assert_true(json_is_true(json_object_get(complete, "LOCAL_QUORUM")));
    assert_true(json_is_false(json_object_get(j, "all_replicas_captured")));
    assert_string_equal(json_string_value(json_object_get(j, "strategy")), "NetworkTopologyStrategy");
    assert_int_equal(json_integer_value(json_object_get(j, "replication_factor")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "nodes")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "captured_nodes")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "ranges")), 48);
    assert_int_equal(json_integer_value(json_object_get(j, "min_captured")), 2);
    json_t *dc = json_array_get(json_object_get(j, "datacenters"), 0);
    assert_string_equal(json_string_value(json_object_get(dc, "name")), "datacenter1");
    assert_int_equal(json_integer_value(json_object_get(dc, "min_captured")), 2);
    json_t *uncaptured = json_object_get(j, "uncaptured_endpoints");
    assert_int_equal(json_array_size(uncaptured), 1);
    assert_string_equal(json_string_value(json_array_get(uncaptured, 0)), "127.0.0.3");
    described_range want[64];
    size_t n = read_describering(want, 64);
    json_t *shorts = json_object_get(j, "short");
    assert_int_equal(json_array_size(shorts), n);
    for (size_t i = 0; i < json_array_size(shorts); i++) {
        json_t *s = json_array_get(shorts, i);
        int64_t start = json_integer_value(json_object_get(s, "start"));
        int64_t end = json_integer_value(json_object_get(s, "end"));
        size_t found = 0;
        for (size_t k = 0; k < n; k++) found += want[k].start == start && want[k].end == end;
        assert_int_equal(found, 1);
        assert_int_equal(json_integer_value(json_object_get(s, "replicas")), 3);
        assert_int_equal(json_integer_value(json_object_get(s, "captured")), 2);
        json_t *missing = json_object_get(s, "missing");
        assert_int_equal(json_array_size(missing), 1);
        assert_string_equal(json_string_value(json_array_get(missing, 0)), "127.0.0.3");
    }
    json_decref(j);
    cluster_coverage_free(cov);
    cluster_placement_free(p);
    cluster_config_free(c);
}

/* Without a ring only the captured nodes are counted, and said so. */
static void test_coverage_without_ring(void **state) {
    (void)state;
    char *dir = temp_dir();
    char *path = write_file(dir, "c.ini", "[cluster]\nname = x\n[node n1]\ndata_dir = d\n[node n2]\ndata_dir = d\n");
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    const char *one[] = {"n2"};
    cluster_coverage *cov;
    assert_int_equal(cluster_coverage_compute(c, NULL, one, 1, &cov), STRATA_OK);
    assert_int_equal(cov->n_captured, 1);
    for (int cl = 0; cl < CLUSTER_CL_COUNT; cl++) assert_int_equal(cov->complete[cl], -1);
    json_t *j = cluster_coverage_json(cov);
    assert_true(json_is_false(json_object_get(j, "ring")));
    assert_int_equal(json_integer_value(json_object_get(j, "nodes")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "captured_nodes")), 1);
    assert_null(json_object_get(j, "complete"));
    assert_non_null(strstr(json_string_value(json_object_get(j, "note")), "no ring"));
    json_decref(j);
    cluster_coverage_free(cov);

    const char *unknown[] = {"n3"};
    cov = (cluster_coverage *)1;
    assert_int_equal(cluster_coverage_compute(c, NULL, unknown, 1, &cov), STRATA_EINVAL);
    assert_null(cov);
    assert_non_null(strstr(strata_errmsg(), "'n3'"));

    cluster_config *rf3a = load_rf3a();
    cluster_placement *p = place_keyspace(rf3a, "app");
    assert_int_equal(cluster_coverage_compute(c, p, one, 1, &cov), STRATA_EINVAL);
    assert_int_equal(cluster_coverage_compute(rf3a, NULL, NULL, 0, &cov), STRATA_EINVAL);
    cluster_placement_free(p);
    cluster_config_free(rf3a);
    cluster_config_free(c);
    sh("rm -rf '%s'", dir);
    free(path);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rf3a_matches_describering),
        cmocka_unit_test(test_rf3a_other_strategies),
        cmocka_unit_test(test_multi_dc_by_hand),
        cmocka_unit_test(test_placement_errors),
        cmocka_unit_test(test_rf3a_coverage),
        cmocka_unit_test(test_multi_dc_coverage),
        cmocka_unit_test(test_coverage_json),
        cmocka_unit_test(test_coverage_without_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
