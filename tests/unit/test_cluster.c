/* test_cluster.c - the cluster module: description file, SSTable names,
 * data directory scan and snapshots.
 *
 * Scans and snapshots run on a copy of the real rf3-a node1 data
 * directory from the corpus; expected counts come from find(1) on the
 * corpus and expected bytes from the corpus files themselves.  The ring
 * file read is the `nodetool ring app` output of rf3-a. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/cluster/cluster.h"
#include "tests/unit/cluster_files.h"

#define CORPUS "../shared/corpus"
#define NODE1 CORPUS "/cluster/rf3-a/node1"
#define USERS_DIR "app/users-8f4956a0e60111f1b5720f8cceb1328b"

/* The first line a shell command prints, newline removed. */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd;
    assert_true(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096] = "";
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    pclose(p);
    free(cmd);
    line[strcspn(line, "\n")] = 0;
    return xstrdup(line);
}

static size_t sh_count(const char *fmt, const char *arg) {
    char *out = sh_out(fmt, arg);
    size_t n = strtoul(out, NULL, 10);
    free(out);
    return n;
}

/* ---- cluster file --------------------------------------------------------- */

static void test_config_good(void **state) {
    (void)state;
    char *dir = temp_dir();
    char *path = write_file(dir, "c.ini",
                            "; production cluster\n"
                            "[cluster]\n"
                            "name = prod-eu\n"
                            "\n"
                            "[node node1]\n"
                            "data_dir = /var/lib/cassandra/data   ; first disk\n"
                            "data_dir = disk2/data\n"
                            "snapshot_cmd = ssh node1 nodetool snapshot -t {tag}\n"
                            "clear_snapshot_cmd = ssh node1 nodetool clearsnapshot -t {tag}\n"
                            "[node node-2]\n"
                            "data_dir = ../elsewhere\n"
                            "  [not a section: inih continues data_dir with this line]\n");
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    assert_string_equal(c->name, "prod-eu");
    assert_int_equal(c->n_nodes, 2);
    assert_string_equal(c->nodes[0].name, "node1");
    assert_int_equal(c->nodes[0].n_data_dirs, 2);
    assert_string_equal(c->nodes[0].data_dirs[0], "/var/lib/cassandra/data");
    char *rel = xasprintf("%s/disk2/data", dir);
    assert_string_equal(c->nodes[0].data_dirs[1], rel);
    assert_string_equal(c->nodes[0].snapshot_cmd, "ssh node1 nodetool snapshot -t {tag}");
    assert_string_equal(c->nodes[0].clear_snapshot_cmd, "ssh node1 nodetool clearsnapshot -t {tag}");
    assert_string_equal(c->nodes[1].name, "node-2");
    char *up = xasprintf("%s/../elsewhere", dir);
    assert_string_equal(c->nodes[1].data_dirs[0], up);
    assert_int_equal(c->nodes[1].n_data_dirs, 2);
    assert_null(c->nodes[1].snapshot_cmd);
    assert_null(c->nodes[1].clear_snapshot_cmd);
    cluster_config_free(c);
    sh("rm -rf '%s'", dir);
    free(up);
    free(rel);
    free(path);
    free(dir);
}

static void expect_config_error(const char *text, const char *message) {
    char *dir = temp_dir();
    char *path = write_file(dir, "bad.ini", text);
    cluster_config *c = (cluster_config *)1;
    assert_int_equal(cluster_config_load(path, &c), STRATA_EINVAL);
    assert_null(c);
    char *expected = xasprintf("%s/bad.ini:%s", dir, message);
    if (strncmp(strata_errmsg(), expected, strlen(expected)))
        fail_msg("expected \"%s...\", got \"%s\"", expected, strata_errmsg());
    sh("rm -rf '%s'", dir);
    free(expected);
    free(path);
    free(dir);
}

static void test_config_errors(void **state) {
    (void)state;
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\nthis line has no equals sign\n",
                        "5: syntax error");
    expect_config_error("[cluster]\nname = a\n[nodes n1]\ndata_dir = /d\n", "3: unknown section [nodes n1]");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ndatadir = /e\n", "5: unknown key 'datadir'");
    expect_config_error("[cluster]\nname = a\ncolour = red\n[node n1]\ndata_dir = /d\n", "3: unknown key 'colour'");
    expect_config_error("[cluster]\n[node n1]\ndata_dir = /d\n", "1: [cluster] has no name");
    expect_config_error("[node n1]\ndata_dir = /d\n", "1: no [cluster] section");
    expect_config_error("[cluster]\nname = a\n", "2: no [node NAME] sections");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\n[node n2]\n[node n3]\ndata_dir = /f\n",
                        "5: node 'n2' has no data_dir");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\n[node n1]\ndata_dir = /e\n",
                        "5: duplicate node 'n1'");
    expect_config_error("name = a\n[cluster]\n[node n1]\ndata_dir = /d\n", "1: 'name' outside of a section");
    expect_config_error("[cluster]\nname = a\n[node a/b]\ndata_dir = /d\n", "3: invalid node name 'a/b'");
    expect_config_error("[cluster]\nname = a\n[node]\ndata_dir = /d\n", "3: [node] needs a name");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir =\n", "4: empty value for 'data_dir'");
    char long_line[400];
    snprintf(long_line, sizeof long_line, "[cluster]\nname = a\n[node n1]\ndata_dir = /%0300d\n", 0);
    expect_config_error(long_line, "4: line longer than");
}

static void test_config_unreadable(void **state) {
    (void)state;
    cluster_config *c;
    assert_int_equal(cluster_config_load("/nonexistent/cluster.ini", &c), STRATA_ENOENT);
    assert_non_null(strstr(strata_errmsg(), "/nonexistent/cluster.ini"));
}

/* ---- cluster file: the token ring ------------------------------------------ */

#define RF3A_RING CORPUS "/cluster/rf3-a/ring.txt"

static void expect_endpoint(const cluster_ring *r, size_t e, const char *address, const char *dc, const char *rack) {
    assert_true(e < r->n_endpoints);
    assert_string_equal(r->endpoints[e].address, address);
    assert_string_equal(r->endpoints[e].dc, dc);
    assert_string_equal(r->endpoints[e].rack, rack);
}

/* The ring holds exactly the n tokens want[], in order, of endpoints owner[]. */
static void expect_tokens(const cluster_ring *r, const int64_t *want, const size_t *owner, size_t n) {
    assert_int_equal(r->n_tokens, n);
    for (size_t t = 0; t < n; t++) {
        assert_true(r->tokens[t].token == want[t]);
        assert_int_equal(r->tokens[t].endpoint, owner[t]);
    }
}

/* The rf3-a ring file as nodetool wrote it, named by absolute path; and a
 * hand-written one next to the cluster file, named relatively, whose racks
 * two nodes override. */
static void test_config_ring_file(void **state) {
    (void)state;
    char *dir = temp_dir();
    char *ring = realpath(RF3A_RING, NULL);
    assert_non_null(ring);
    char *text = xasprintf("[cluster]\nname = rf3-a\nring = %s\n"
                           "[node node1]\ndata_dir = /d1\naddress = 127.0.0.1\n"
                           "[node node3]\ndata_dir = /d3\naddress = 127.0.0.3\n", ring);
    char *path = write_file(dir, "c.ini", text);
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    assert_string_equal(c->ring_file, ring);
    assert_string_equal(c->nodes[0].address, "127.0.0.1");
    assert_null(c->nodes[0].dc);
    const cluster_ring *r = c->ring;
    assert_non_null(r);
    /* nodetool ring app: three addresses in the order listed, 48 tokens. */
    assert_int_equal(r->n_endpoints, 3);
    const char *addresses[] = {"127.0.0.2", "127.0.0.1", "127.0.0.3"};
    size_t nodes[] = {CLUSTER_NO_NODE, 0, 1};
    for (size_t e = 0; e < 3; e++) {
        expect_endpoint(r, e, addresses[e], "datacenter1", "rack1");
        assert_int_equal(r->endpoints[e].node, nodes[e]);
        assert_false(r->endpoints[e].joining);
    }
    assert_int_equal(r->n_tokens, 48);
    assert_true(r->tokens[0].token == INT64_C(-9034171729784284480));
    assert_int_equal(r->tokens[0].endpoint, 0);
    assert_true(r->tokens[47].token == INT64_C(9160312747202198171));
    assert_int_equal(r->tokens[47].endpoint, 2);
    for (size_t t = 1; t < r->n_tokens; t++) assert_true(r->tokens[t - 1].token < r->tokens[t].token);
    cluster_config_free(c);

    free(write_file(dir, "ring.txt",
                    "Datacenter: eu\n==========\n"
                    "Address    Rack   Status State   Load       Owns     Token\n"
                    "                                                     200\n"
                    "10.0.0.1   r1     Up     Normal  1.5 MiB    50.00%   100\n"
                    "10.0.0.2   r2     Down   Normal  ?                  ?        200\n"
                    "\nDatacenter: us\n==========\n"
                    "10.1.0.1   r1     Up     Joining 0 bytes    ?        150\n"));
    free(path);
    path = write_file(dir, "c.ini",
                      "[cluster]\nname = x\nring = ring.txt\n"
                      "[node a]\ndata_dir = /d\naddress = 10.0.0.2\nrack = r9\n"
                      "[node b]\ndata_dir = /d\naddress = 10.1.0.1\ndc = us-east\n");
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    char *rel = xasprintf("%s/ring.txt", dir);
    assert_string_equal(c->ring_file, rel);
    r = c->ring;
    assert_int_equal(r->n_endpoints, 3);
    assert_int_equal(r->n_tokens, 3);
    expect_endpoint(r, 0, "10.0.0.1", "eu", "r1");
    expect_endpoint(r, 1, "10.0.0.2", "eu", "r9");
    expect_endpoint(r, 2, "10.1.0.1", "us-east", "r1");
    assert_true(r->endpoints[2].joining);
    assert_true(r->tokens[1].token == 150 && r->tokens[1].endpoint == 2);
    cluster_config_free(c);
    sh("rm -rf '%s'", dir);
    free(rel);
    free(path);
    free(text);
    free(ring);
    free(dir);
}

/* Without a ring file the nodes' own tokens make the ring (a list goes on
 * in indented lines); a node is known by its address, or its name without
 * one, in SimpleSnitch's datacenter1/rack1 unless it says otherwise. */
static void test_config_tokens(void **state) {
    (void)state;
    char *dir = temp_dir();
    char *path = write_file(dir, "c.ini",
                            "[cluster]\nname = x\n"
                            "[node n1]\ndata_dir = /d\ntokens = 5\n  -9223372036854775808 ,9223372036854775807\n"
                            "[node n2]\ndata_dir = /d\naddress = 10.0.0.2\ntokens = -3\ndc = dc2\nrack = r2\n");
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    assert_int_equal(c->nodes[0].n_tokens, 3);
    assert_true(c->nodes[0].tokens[1] == INT64_MIN);
    assert_null(c->ring_file);
    const cluster_ring *r = c->ring;
    assert_int_equal(r->n_endpoints, 2);
    expect_endpoint(r, 0, "n1", "datacenter1", "rack1");
    expect_endpoint(r, 1, "10.0.0.2", "dc2", "r2");
    assert_int_equal(r->endpoints[1].node, 1);
    const int64_t want[] = {INT64_MIN, -3, 5, INT64_MAX};
    const size_t owner[] = {0, 1, 0, 0};
    expect_tokens(r, want, owner, 4);
    cluster_config_free(c);

    free(path);
    path = write_file(dir, "c.ini", "[cluster]\nname = x\n[node n1]\ndata_dir = /d\naddress = 10.0.0.1\n");
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    assert_null(c->ring);
    cluster_config_free(c);
    sh("rm -rf '%s'", dir);
    free(path);
    free(dir);
}

/* The ring from what the nodes record of themselves: the cluster file's
 * dc wins over a node's record; a peer at a node's recorded address adds
 * nothing, another peer is a ring member of no node; a token recorded by
 * two members, or a node without tokens, leaves no ring. */
static void test_config_ring_from_self(void **state) {
    (void)state;
    char *dir = temp_dir();
    char *path = write_file(dir, "c.ini",
                            "[cluster]\nname = x\n[node n1]\ndata_dir = /d\ndc = east\n"
                            "[node n2]\ndata_dir = /d\n");
    int64_t t1[] = {10, -20}, t2[] = {30}, t3[] = {-40}, clash[] = {30};
    cluster_node_self self[2] = {{"10.0.0.1", "dc1", "r1", t1, 2}, {"10.0.0.2", NULL, NULL, t2, 1}};
    cluster_node_self peers[3] = {{"10.0.0.2", "dc1", "r9", t2, 1}, {"10.0.0.3", "dc3", "r3", t3, 1},
                                  {"10.0.0.3", "dc3", "r3", t3, 1}};
    cluster_config *c;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    assert_null(c->ring);
    assert_int_equal(cluster_config_ring_from_self(c, self, peers, 3), STRATA_OK);
    const cluster_ring *r = c->ring;
    assert_int_equal(r->n_endpoints, 3);
    expect_endpoint(r, 0, "10.0.0.1", "east", "r1");
    expect_endpoint(r, 1, "10.0.0.2", "datacenter1", "rack1");
    expect_endpoint(r, 2, "10.0.0.3", "dc3", "r3");
    assert_int_equal(r->endpoints[1].node, 1);
    assert_true(r->endpoints[2].node == CLUSTER_NO_NODE);
    const int64_t want[] = {-40, -20, 10, 30};
    const size_t owner[] = {2, 0, 0, 1};
    expect_tokens(r, want, owner, 4);
    cluster_config_free(c);

    peers[1].tokens = clash;
    assert_int_equal(cluster_config_load(path, &c), STRATA_OK);
    assert_int_equal(cluster_config_ring_from_self(c, self, peers, 2), STRATA_EINVAL);
    assert_non_null(strstr(strata_errmsg(), "token 30 is both"));
    assert_non_null(strstr(strata_errmsg(), "10.0.0.3"));
    assert_null(c->ring);
    self[1].n_tokens = 0;
    assert_int_equal(cluster_config_ring_from_self(c, self, peers, 0), STRATA_ENOENT);
    assert_non_null(strstr(strata_errmsg(), "node 'n2' records no tokens"));
    assert_null(c->ring);
    cluster_config_free(c);
    sh("rm -rf '%s'", dir);
    free(path);
    free(dir);
}

/* A cluster file naming ring.txt, which holds `ring`; the error must start
 * "<dir>/bad.ini:<line>" and contain `message`. */
static void expect_ring_error(const char *ini, const char *ring, const char *line, const char *message) {
    char *dir = temp_dir();
    char *path = write_file(dir, "bad.ini", ini);
    if (ring) free(write_file(dir, "ring.txt", ring));
    cluster_config *c = (cluster_config *)1;
    assert_int_equal(cluster_config_load(path, &c), ring ? STRATA_EINVAL : STRATA_ENOENT);
    assert_null(c);
    char *expected = xasprintf("%s:%s: ", path, line);
    if (strncmp(strata_errmsg(), expected, strlen(expected)) || !strstr(strata_errmsg(), message))
        fail_msg("expected \"%s...%s...\", got \"%s\"", expected, message, strata_errmsg());
    sh("rm -rf '%s'", dir);
    free(expected);
    free(path);
    free(dir);
}

#define RING_INI "[cluster]\nname = a\nring = ring.txt\n[node n1]\ndata_dir = /d\naddress = 10.0.0.1\n"
#define RING_HEAD "Datacenter: dc1\n==========\nAddress  Rack  Status State   Load      Owns    Token\n"
#define RING_ONE RING_HEAD "10.0.0.1 r1    Up     Normal  1.00 KiB  100.00% 42\n"

static void test_config_ring_errors(void **state) {
    (void)state;
    expect_ring_error(RING_INI, NULL, "3", "ring file");
    expect_ring_error(RING_INI, "Datacenter: dc1\nUN  10.0.0.1  1.00 KiB  16  100.0%  id  r1\n", "3",
                      "ring.txt: no ring entries");
    expect_ring_error(RING_INI, RING_HEAD "10.0.0.1 r1 Up Normal 1.00 KiB 100.00% 12x\n", "3",
                      "ring.txt:4: bad token '12x'");
    expect_ring_error(RING_INI, RING_HEAD "10.0.0.1 r1 Up Normal 1.00 KiB 100.00% 9223372036854775808\n", "3",
                      "ring.txt:4: bad token");
    expect_ring_error(RING_INI, RING_HEAD "10.0.0.1 r1 Up Normal 1.00 KiB 42\n", "3",
                      "ring.txt:4: unreadable ring entry");
    expect_ring_error(RING_INI, "10.0.0.1 r1 Up Normal 1.00 KiB 100.00% 42\n", "3",
                      "ring.txt:1: ring entry before any 'Datacenter:' heading");
    expect_ring_error(RING_INI, RING_ONE "10.0.0.1 r2 Up Normal 1.00 KiB 100.00% 43\n", "3",
                      "ring.txt:5: 10.0.0.1 is in datacenter dc1, rack r2 here but in dc1, r1 above");
    expect_ring_error(RING_INI, RING_ONE "10.0.0.2 r1 Up Normal 1.00 KiB 100.00% 42\n", "3",
                      "ring.txt:5: token 42 is 10.0.0.1's on line 4");
    expect_ring_error("[cluster]\nname = a\nring = ring.txt\n[node n1]\ndata_dir = /d\n", RING_ONE, "4",
                      "node 'n1' has no address");
    expect_ring_error("[cluster]\nname = a\nring = ring.txt\n[node n1]\ndata_dir = /d\naddress = 10.0.0.9\n",
                      RING_ONE, "6", "address 10.0.0.9 of node 'n1' is not in the ring file");
    expect_ring_error(RING_INI "[node n2]\ndata_dir = /d\naddress = 10.0.0.1\n", RING_ONE, "9",
                      "address 10.0.0.1 is also node 'n1''s");
    expect_ring_error(RING_INI "tokens = 42\n", RING_ONE, "7", "node 'n1' lists tokens");
    expect_ring_error(RING_INI "address = 10.0.0.2\n", RING_ONE, "7", "duplicate key 'address'");
    expect_config_error("[cluster]\nname = a\nring = /dev/null\n[node n1]\ndata_dir = /d\naddress = 1\n",
                        "3: ring file /dev/null is not a regular file");
    expect_config_error("[cluster]\nname = a\nring = r1\nring = r2\n[node n1]\ndata_dir = /d\n",
                        "4: duplicate key 'ring' in [cluster]");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1, x2\n", "5: bad token 'x2'");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1,,2\n", "5: bad token ''");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1\ntokens = 2\n",
                        "6: duplicate key 'tokens'");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1\n  2,\n", "6: bad token ''");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1\naddress = x\n  2\n",
                        "7: duplicate key 'address'");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1\n[node n2]\ndata_dir = /d\n",
                        "6: node 'n2' has no tokens");
    expect_config_error("[cluster]\nname = a\n[node n1]\ndata_dir = /d\ntokens = 1, 7\n"
                        "[node n2]\ndata_dir = /d\ntokens = 7\n",
                        "8: token 7 is n1's on line 5");
}

/* ---- SSTable names ---------------------------------------------------------- */

static void test_names_of_corpus(void **state) {
    (void)state;
    FILE *p = popen("find " CORPUS " -name '*-Data.db' -printf '%f\\n'", "r");
    assert_non_null(p);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        sstable_name sn;
        if (sstable_name_parse(line, &sn)) fail_msg("not parsed: %s", line);
        /* The parts, rejoined, must give the name back. */
        char *joined = xasprintf("%s-%s-%s-%s", sn.version, sn.generation, sn.format, sn.component);
        assert_string_equal(joined, line);
        assert_string_equal(sn.component, "Data.db");
        assert_int_equal(sstable_name_is_temporary(line), 0);
        assert_int_equal(strncmp(line, sn.version, 2), 0);
        assert_true(!strcmp(sn.format, "big") || !strcmp(sn.format, "bti"));
        free(joined);
        n++;
    }
    pclose(p);
    assert_int_equal(n, sh_count("find %s -name '*-Data.db' | wc -l", CORPUS));
    assert_true(n > 300);
}

static void test_names_by_hand(void **state) {
    (void)state;
    sstable_name sn;
    assert_int_equal(sstable_name_parse("nb-12-big-Digest.crc32", &sn), 0);
    assert_string_equal(sn.version, "nb");
    assert_string_equal(sn.generation, "12");
    assert_string_equal(sn.format, "big");
    assert_string_equal(sn.component, "Digest.crc32");

    assert_int_equal(sstable_name_parse("da-3gdc_0e6x_1g2n42e3jg2f6sdtlv-bti-Partitions.db", &sn), 0);
    assert_string_equal(sn.version, "da");
    assert_string_equal(sn.generation, "3gdc_0e6x_1g2n42e3jg2f6sdtlv");
    assert_string_equal(sn.format, "bti");
    assert_string_equal(sn.component, "Partitions.db");

    assert_int_equal(sstable_name_parse("oa-7-big-SAI+aa+users_name_idx+TermsData.db", &sn), 0);
    assert_string_equal(sn.component, "SAI+aa+users_name_idx+TermsData.db");

    assert_int_equal(sstable_name_parse("ks-cf-ka-1-Data.db", &sn), -1);
    assert_int_equal(sstable_name_parse("legacy_tables-legacy_ka_simple-ka-1-Data.db", &sn), -1);
    assert_int_equal(sstable_name_parse("manifest.json", &sn), -1);
    assert_int_equal(sstable_name_parse("schema.cql", &sn), -1);
    assert_int_equal(sstable_name_parse("nb-1-big-", &sn), -1);
    assert_int_equal(sstable_name_parse("nb-x1-big-Data.db", &sn), -1);
    assert_int_equal(sstable_name_parse("nb-1-foo-Data.db", &sn), -1);
    assert_int_equal(sstable_name_parse("NB-1-big-Data.db", &sn), -1);
    assert_int_equal(sstable_name_parse("nb--big-Data.db", &sn), -1);
    assert_int_equal(sstable_name_parse("nb-3gdc_0e6x_1g2n42e3jg2f6sdtl-big-Data.db", &sn), -1);
}

/* What Cassandra writes for a moment only: a component rewritten or
 * streamed under <name>.tmp, and 2.1's and 2.2's tmp-/tmplink- SSTables
 * (Descriptor.LEGACY_TMP_REGEX); nothing else. */
static void test_temporary_names(void **state) {
    (void)state;
    static const char *const temporary[] = {
        "nb-5-big-Statistics.db.tmp",
        "nb-5-big-Data.db.0e6f1a40-e601-11f1-b572-0f8cceb1328b.tmp",
        "da-3gdc_0e6x_1g2n42e3jg2f6sdtlv-bti-Partitions.db.tmp",
        "manifest.json.tmp",
        "tmp-la-1-big-Data.db",
        "tmplink-la-12-big-Index.db",
        "app-users-tmp-ka-3-Data.db",
        "app-users-tmplink-ka-3-Summary.db",
    };
    static const char *const kept[] = {
        "nb-5-big-Statistics.db", "nb-5-big-Data.db", "oa-7-big-SAI+aa+tmp_idx+TermsData.db",
        "manifest.json",          "schema.cql",       "tmp-nb-1-big-Data.db",
        "users-tmp-ka-3-Data.db", "nb-5-big-TOC.txt", "ks-cf-ka-1-Data.db.tmpx",
    };
    for (size_t i = 0; i < sizeof temporary / sizeof *temporary; i++)
        if (!sstable_name_is_temporary(temporary[i])) fail_msg("not temporary: %s", temporary[i]);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        if (sstable_name_is_temporary(kept[i])) fail_msg("temporary: %s", kept[i]);
}

/* ---- scanning and snapshots ------------------------------------------------- */

typedef struct {
    char *root;
    char *data;
} node_copy;

/* node1 of rf3-a with extras a scan must leave out: a Cassandra snapshot,
 * an incremental backup, node-local system keyspaces, stray entries, and
 * Cassandra's temporary files beside the SSTables of users and of its
 * index (a Statistics.db being rewritten, one streamed in, 2.2's). */
static node_copy make_node_copy(void) {
    node_copy n;
    n.root = temp_dir();
    n.data = xasprintf("%s/data", n.root);
    sh("cp -r " NODE1 " '%s' && chmod -R u+w '%s'", n.data, n.data);
    sh("mkdir -p '%s/" USERS_DIR "/snapshots/old' '%s/" USERS_DIR "/backups' && "
       "cp '%s/" USERS_DIR "/nb-8-big-Data.db' '%s/" USERS_DIR "/snapshots/old/' && "
       "cp '%s/" USERS_DIR "/nb-8-big-Data.db' '%s/" USERS_DIR "/backups/'",
       n.data, n.data, n.data, n.data, n.data, n.data);
    sh("mkdir -p '%s/system/local-7ad54392bcdd35a684174e047860b377' '%s/system_auth/roles-5bc52802de2535edaeab188eecebb090' "
       "'%s/lost+found' && cp " NODE1 "/" USERS_DIR "/nb-8-big-TOC.txt '%s/system/local-7ad54392bcdd35a684174e047860b377/' && "
       "cp " NODE1 "/" USERS_DIR "/nb-8-big-TOC.txt '%s/system_auth/roles-5bc52802de2535edaeab188eecebb090/'",
       n.data, n.data, n.data, n.data, n.data);
    sh("cd '%s/" USERS_DIR "' && cp nb-8-big-Statistics.db nb-8-big-Statistics.db.tmp && "
       "cp nb-8-big-Data.db nb-8-big-Data.db.0e6f1a40-e601-11f1-b572-0f8cceb1328b.tmp && "
       "cp nb-8-big-Data.db tmp-la-9-big-Data.db && cp nb-8-big-Index.db tmplink-la-9-big-Index.db && "
       "cp .users_name_idx/nb-1-big-Statistics.db .users_name_idx/nb-1-big-Statistics.db.tmp",
       n.data);
    return n;
}

static void free_node_copy(node_copy *n) {
    sh("rm -rf '%s'", n->root);
    free(n->root);
    free(n->data);
}

static char *tree_listing(const char *dir) {
    return sh_out("cd '%s' && find . | sort | sha256sum", dir);
}

static cluster_node one_node(char **dirs) {
    return (cluster_node){.name = "node1", .data_dirs = dirs, .n_data_dirs = 1};
}

static size_t count_table(const cluster_file *files, size_t n, const char *ks, const char *table, const char *prefix) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(files[i].keyspace, ks) && !strcmp(files[i].table, table) &&
            !strncmp(files[i].rel_path, prefix, strlen(prefix)))
            c++;
    return c;
}

static const cluster_file *find_file(const cluster_file *files, size_t n, const char *table, const char *rel) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(files[i].table, table) && !strcmp(files[i].rel_path, rel)) return &files[i];
    return NULL;
}

static void test_snapshot_lists_node(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    char *before = tree_listing(n.data);
    cluster_node node = one_node(&n.data);
    cluster_filter all = {0};
    cluster_snapshot *s;
    assert_int_equal(cluster_snapshot_take(&node, "t1", &all, &s), STRATA_OK);
    size_t count;
    const cluster_file *files = cluster_snapshot_files(s, &count);

    /* Every file of node1 (snapshot's manifest.json and schema.cql too), nothing else. */
    assert_int_equal(count, sh_count("find %s -type f | wc -l", NODE1));
    FILE *p = popen("cd " NODE1 " && for d in */*/; do echo \"$d $(find \"$d\" -type f | wc -l)\"; done", "r");
    assert_non_null(p);
    char line[512];
    size_t tables = 0;
    while (fgets(line, sizeof line, p)) {
        char ks[128], dirname[256];
        size_t expected;
        assert_int_equal(sscanf(line, "%127[^/]/%255[^/]/ %zu", ks, dirname, &expected), 3);
        *strrchr(dirname, '-') = 0;
        assert_int_equal(count_table(files, count, ks, dirname, ""), expected);
        tables++;
    }
    pclose(p);
    assert_int_equal(tables, sh_count("find %s -mindepth 2 -maxdepth 2 -type d | wc -l", NODE1));
    assert_true(tables > 4);

    /* The secondary index directory belongs to users. */
    size_t idx = count_table(files, count, "app", "users", ".users_name_idx/");
    assert_int_equal(idx, sh_count("find %s/.users_name_idx -type f | wc -l", NODE1 "/" USERS_DIR));
    const cluster_file *f = find_file(files, count, "users", ".users_name_idx/nb-1-big-Data.db");
    assert_non_null(f);
    assert_string_equal(f->sstable, ".users_name_idx/nb-1-big");
    assert_string_equal(f->table_id, "8f4956a0e60111f1b5720f8cceb1328b");

    f = find_file(files, count, "users", "manifest.json");
    assert_non_null(f);
    assert_string_equal(f->sstable, "");

    /* Read from the snapshot, and the bytes are the corpus's. */
    f = find_file(files, count, "users", "nb-8-big-Data.db");
    assert_non_null(f);
    assert_string_equal(f->sstable, "nb-8-big");
    char *snap_path = xasprintf("%s/" USERS_DIR "/snapshots/t1/nb-8-big-Data.db", n.data);
    assert_string_equal(f->abs_path, snap_path);
    struct stat st;
    assert_int_equal(stat(f->abs_path, &st), 0);
    assert_int_equal(st.st_size, f->size);
    assert_int_equal(st.st_nlink, 2);
    char *want = sh_out("sha256sum < " NODE1 "/" USERS_DIR "/nb-8-big-Data.db");
    char *got = sh_out("sha256sum < '%s'", f->abs_path);
    assert_string_equal(got, want);

    /* The snapshot mirrors the index directory. */
    char *idx_snap = xasprintf("%s/" USERS_DIR "/snapshots/t1/.users_name_idx/nb-1-big-Data.db", n.data);
    assert_int_equal(stat(idx_snap, &st), 0);
    /* Temporary files are not linked (nodetool snapshot takes none either). */
    assert_int_equal(sh_count("find '%s' -path '*/snapshots/t1/*' -name '*tmp*' | wc -l", n.data), 0);

    /* Sorted by keyspace, table, rel_path. */
    for (size_t i = 1; i < count; i++) {
        int c = strcmp(files[i - 1].keyspace, files[i].keyspace);
        if (!c) c = strcmp(files[i - 1].table, files[i].table);
        if (!c) c = strcmp(files[i - 1].rel_path, files[i].rel_path);
        assert_true(c < 0);
    }

    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    assert_int_equal(stat(snap_path, &st), -1);
    char *after = tree_listing(n.data);
    assert_string_equal(after, before);
    free(after);
    free(idx_snap);
    free(want);
    free(got);
    free(snap_path);
    free(before);
    free_node_copy(&n);
}

static void test_filters(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    cluster_node node = one_node(&n.data);
    size_t count;
    cluster_snapshot *s;

    const char *tables[] = {"app.users"};
    cluster_filter only_users = {.tables = tables, .n_tables = 1};
    assert_int_equal(cluster_snapshot_take(&node, "t2", &only_users, &s), STRATA_OK);
    const cluster_file *files = cluster_snapshot_files(s, &count);
    size_t users = sh_count("find %s -type f | wc -l", NODE1 "/" USERS_DIR);
    size_t schema = sh_count("find %s -type f | wc -l", NODE1 "/system_schema");
    assert_int_equal(count, users + schema);
    for (size_t i = 0; i < count; i++)
        assert_true(!strcmp(files[i].keyspace, "system_schema") || !strcmp(files[i].table, "users"));
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);

    const char *keyspaces[] = {"system_schema"};
    cluster_filter only_schema = {.keyspaces = keyspaces, .n_keyspaces = 1};
    assert_int_equal(cluster_snapshot_take(&node, "t3", &only_schema, &s), STRATA_OK);
    cluster_snapshot_files(s, &count);
    assert_int_equal(count, schema);
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);

    cluster_filter with_system = {.include_system = 1};
    assert_int_equal(cluster_snapshot_take(&node, "t4", &with_system, &s), STRATA_OK);
    files = cluster_snapshot_files(s, &count);
    assert_int_equal(count, sh_count("find %s -type f | wc -l", NODE1) + 2);
    assert_non_null(find_file(files, count, "local", "nb-8-big-TOC.txt"));
    assert_non_null(find_file(files, count, "roles", "nb-8-big-TOC.txt"));
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    free_node_copy(&n);
}

static void test_filter_names_checked(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    cluster_node node = one_node(&n.data);
    cluster_snapshot *s;
    const char *no_ks[] = {"appp"};
    cluster_filter bad_ks = {.keyspaces = no_ks, .n_keyspaces = 1};
    assert_int_equal(cluster_snapshot_take(&node, "t7", &bad_ks, &s), STRATA_ENOENT);
    assert_non_null(strstr(strata_errmsg(), "no keyspace 'appp'"));
    const char *no_table[] = {"app.userz"};
    cluster_filter bad_table = {.tables = no_table, .n_tables = 1};
    assert_int_equal(cluster_snapshot_take(&node, "t7", &bad_table, &s), STRATA_ENOENT);
    assert_non_null(strstr(strata_errmsg(), "no table app.userz"));
    const char *no_dot[] = {"users"};
    cluster_filter bad_name = {.tables = no_dot, .n_tables = 1};
    assert_int_equal(cluster_snapshot_take(&node, "t7", &bad_name, &s), STRATA_EINVAL);
    assert_null(s);
    free_node_copy(&n);
}

/* An SSTable that a flush or compaction has added but not committed is
 * still being written: the snapshot leaves it out until the COMMIT record,
 * and never takes the transaction log itself.  After COMMIT the SSTable
 * the transaction removed is obsolete (Cassandra deletes it, at the latest
 * when it starts again) and is left out in turn. */
static void test_sstables_not_live_left_out(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    char *users = xasprintf("%s/" USERS_DIR, n.data);
    sh("printf 'ADD:[%s/nb-8-big,0,8][2586637013]\\nREMOVE:[%s/nb-7-big,1456189154000,8][1413394585]\\n' "
       "> '%s/nb_txn_compaction_0e6f1a40-e601-11f1-b572-0f8cceb1328b.log'", users, users, users);
    cluster_node node = one_node(&n.data);
    cluster_filter only_users = {.tables = (const char *[]){"app.users"}, .n_tables = 1};
    size_t all = sh_count("find %s -type f | wc -l", NODE1 "/" USERS_DIR);
    size_t nb8 = sh_count("find %s -maxdepth 1 -name 'nb-8-big-*' | wc -l", NODE1 "/" USERS_DIR);
    assert_true(nb8 >= 8);
    cluster_snapshot *s;
    size_t count;
    assert_int_equal(cluster_snapshot_take(&node, "t8", &only_users, &s), STRATA_OK);
    const cluster_file *files = cluster_snapshot_files(s, &count);
    size_t users_files = count_table(files, count, "app", "users", "");
    assert_int_equal(users_files, all - nb8);
    assert_null(find_file(files, count, "users", "nb-8-big-Data.db"));
    assert_non_null(find_file(files, count, "users", "nb-7-big-Data.db"));
    assert_int_equal(sh_count("find '%s/snapshots' -name '*txn*' | wc -l", users), 0);
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);

    sh("echo 'COMMIT:[,0,0][2613697770]' >> '%s/nb_txn_compaction_0e6f1a40-e601-11f1-b572-0f8cceb1328b.log'", users);
    assert_int_equal(cluster_snapshot_take(&node, "t9", &only_users, &s), STRATA_OK);
    files = cluster_snapshot_files(s, &count);
    size_t nb7 = sh_count("find %s -maxdepth 1 -name 'nb-7-big-*' | wc -l", NODE1 "/" USERS_DIR);
    assert_true(nb7 >= 8);
    assert_int_equal(count_table(files, count, "app", "users", ""), all - nb7);
    assert_non_null(find_file(files, count, "users", "nb-8-big-Data.db"));
    assert_null(find_file(files, count, "users", "nb-7-big-Data.db"));
    assert_null(find_file(files, count, "users", "nb_txn_compaction_0e6f1a40-e601-11f1-b572-0f8cceb1328b.log"));
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    free(users);
    free_node_copy(&n);
}

/* Replaces Statistics.db through a .tmp and a rename, as a repair marking
 * the SSTable repaired does, until told to stop. */
typedef struct {
    const char *dir;
    volatile int stop;
    int replaced;
} stats_rewriter;

static void *rewrite_statistics(void *arg) {
    stats_rewriter *r = arg;
    char *path = xasprintf("%s/nb-8-big-Statistics.db", r->dir);
    char *tmp = xasprintf("%s.tmp", path);
    uint8_t *bytes = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        bytes = xmalloc(1 << 16);
        len = fread(bytes, 1, 1 << 16, f);
        fclose(f);
    }
    while (bytes && !r->stop) {
        FILE *t = fopen(tmp, "wb");
        if (!t || fwrite(bytes, 1, len, t) != len || fclose(t) || rename(tmp, path)) break;
        r->replaced++;
    }
    free(bytes);
    free(tmp);
    free(path);
    return NULL;
}

/* link(2) of a name fails with ENOENT when a rename replaces its file
 * between the lookup and the link; every snapshot taken while
 * Statistics.db is replaced again and again still holds it, whole. */
static void test_snapshot_while_statistics_replaced(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    char *users = xasprintf("%s/" USERS_DIR, n.data);
    cluster_node node = one_node(&n.data);
    cluster_filter only_users = {.tables = (const char *[]){"app.users"}, .n_tables = 1};
    struct stat want;
    assert_int_equal(stat(NODE1 "/" USERS_DIR "/nb-8-big-Statistics.db", &want), 0);
    stats_rewriter r = {.dir = users};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, rewrite_statistics, &r), 0);
    for (int i = 0; i < 300; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "race-%d", i);
        cluster_snapshot *s;
        size_t count;
        assert_int_equal(cluster_snapshot_take(&node, tag, &only_users, &s), STRATA_OK);
        const cluster_file *files = cluster_snapshot_files(s, &count);
        const cluster_file *f = find_file(files, count, "users", "nb-8-big-Statistics.db");
        if (!f) fail_msg("snapshot %d lacks nb-8-big-Statistics.db", i);
        assert_int_equal(f->size, want.st_size);
        assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    }
    r.stop = 1;
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(r.replaced > 300);
    free(users);
    free_node_copy(&n);
}

/* A node with two data directories (JBOD): the tables of both are taken;
 * the same file of a table in both is refused rather than taken twice. */
static void test_two_data_dirs(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    char *second = xasprintf("%s/data2", n.root);
    sh("mkdir -p '%s/app' && mv '%s/app/events-'* '%s/app/'", second, n.data, second);
    char *dirs[] = {n.data, second};
    cluster_node node = {.name = "node1", .data_dirs = dirs, .n_data_dirs = 2};
    cluster_filter all = {0};
    cluster_snapshot *s;
    assert_int_equal(cluster_snapshot_take(&node, "t10", &all, &s), STRATA_OK);
    size_t count;
    const cluster_file *files = cluster_snapshot_files(s, &count);
    assert_int_equal(count, sh_count("find %s -type f | wc -l", NODE1));
    assert_int_equal(count_table(files, count, "app", "events", ""),
                     sh_count("find %s/app/events-* -type f | wc -l", NODE1));
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);

    sh("mkdir '%s/" USERS_DIR "' && cp '%s/" USERS_DIR "/manifest.json' '%s/" USERS_DIR "/'", second, n.data, second);
    assert_int_equal(cluster_snapshot_take(&node, "t11", &all, &s), STRATA_EINVAL);
    assert_non_null(strstr(strata_errmsg(), "manifest.json"));
    char *left = sh_out("find '%s' '%s' -name t11 | wc -l", n.data, second);
    assert_string_equal(left, "0");
    free(left);
    free(second);
    free_node_copy(&n);
}

static void test_missing_data_dir(void **state) {
    (void)state;
    char *dir = "/nonexistent/strata/data";
    cluster_node node = one_node(&dir);
    cluster_filter all = {0};
    cluster_snapshot *s;
    assert_int_equal(cluster_snapshot_take(&node, "t", &all, &s), STRATA_ENOENT);
    assert_null(s);
    assert_non_null(strstr(strata_errmsg(), "/nonexistent/strata/data"));
}

static void test_snapshot_cmd(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    cluster_node node = one_node(&n.data);
    /* Stands in for nodetool: copies (not links) each table's SSTables. */
    node.snapshot_cmd = xasprintf("for t in '%s'/app/*/; do mkdir -p \"$t/snapshots/{tag}\" && "
                                  "cp \"$t\"/nb-* \"$t/snapshots/{tag}/\"; done", n.data);
    node.clear_snapshot_cmd = xasprintf("rm -r '%s'/app/*/snapshots/{tag}", n.data);
    cluster_filter all = {0};
    cluster_snapshot *s;
    assert_int_equal(cluster_snapshot_take(&node, "ops-1", &all, &s), STRATA_OK);
    size_t count;
    const cluster_file *files = cluster_snapshot_files(s, &count);
    size_t expected = sh_count("find %s/app -maxdepth 2 -type f -name 'nb-*' | wc -l", NODE1);
    assert_int_equal(count, expected);
    char *prefix = xasprintf("%s/app/", n.data);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(strncmp(files[i].abs_path, prefix, strlen(prefix)), 0);
        assert_non_null(strstr(files[i].abs_path, "/snapshots/ops-1/"));
    }
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    assert_int_equal(sh_count("find '%s' -path '*snapshots/ops-1*' | wc -l", n.data), 0);

    free(node.snapshot_cmd);
    free(node.clear_snapshot_cmd);
    node.clear_snapshot_cmd = NULL;
    node.snapshot_cmd = xstrdup("exit 3");
    assert_int_equal(cluster_snapshot_take(&node, "ops-2", &all, &s), STRATA_EIO);
    assert_null(s);
    assert_non_null(strstr(strata_errmsg(), "exited with status 3"));
    free(node.snapshot_cmd);
    free(prefix);
    free_node_copy(&n);
}

static void test_existing_tag_refused(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    cluster_node node = one_node(&n.data);
    char *before = tree_listing(n.data);
    cluster_filter all = {0};
    cluster_snapshot *s;
    assert_int_equal(cluster_snapshot_take(&node, "old", &all, &s), STRATA_EEXIST);
    assert_null(s);
    assert_non_null(strstr(strata_errmsg(), "snapshots/old"));
    /* The refused snapshot left nothing behind, and the operator's is intact. */
    char *after = tree_listing(n.data);
    assert_string_equal(after, before);
    free(after);
    free(before);
    free_node_copy(&n);
}

/* An immutable file refuses a hard link (EPERM), as a read-only or
 * foreign file system would: then all files are read in place. */
static void test_fallback_in_place(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    char *users = xasprintf("%s/" USERS_DIR, n.data);
    char *cmd = xasprintf("chattr +i '%s/nb-8-big-Data.db' 2>/dev/null", users);
    if (system(cmd)) {
        free(cmd);
        free(users);
        free_node_copy(&n);
        skip();
    }
    char *before = tree_listing(n.data);
    cluster_node node = one_node(&n.data);
    cluster_filter all = {0};
    cluster_snapshot *s;
    strata_err e = cluster_snapshot_take(&node, "t5", &all, &s);
    sh("chattr -i '%s/nb-8-big-Data.db'", users);
    assert_int_equal(e, STRATA_OK);
    size_t count;
    const cluster_file *files = cluster_snapshot_files(s, &count);
    assert_int_equal(count, sh_count("find %s -type f | wc -l", NODE1));
    for (size_t i = 0; i < count; i++) assert_null(strstr(files[i].abs_path, "/snapshots/"));
    const cluster_file *f = find_file(files, count, "users", ".users_name_idx/nb-1-big-Data.db");
    assert_non_null(f);
    char *in_place = xasprintf("%s/.users_name_idx/nb-1-big-Data.db", users);
    assert_string_equal(f->abs_path, in_place);
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    char *after = tree_listing(n.data);
    assert_string_equal(after, before);
    free(after);
    free(in_place);
    free(before);
    free(cmd);
    free(users);
    free_node_copy(&n);
}

/* A snapshot whose owner process has ended (a backup killed with SIGKILL),
 * finished or still under its temporary name, is removed by the next
 * snapshot of the node; a live owner's, another host's and the operator's
 * own snapshots are left alone. */
static void test_stale_snapshot_removed(void **state) {
    (void)state;
    node_copy n = make_node_copy();
    char *snaps = xasprintf("%s/" USERS_DIR "/snapshots", n.data);
    char *host = sh_out("hostname");
    pid_t child = fork();
    if (!child) _exit(0);
    assert_true(child > 0);
    waitpid(child, NULL, 0);
    char *pid1_start = sh_out("sed 's/.*) //' /proc/1/stat | cut -d' ' -f20");
    sh("mkdir '%s/dead' && ln '%s/../nb-8-big-Data.db' '%s/dead/' && echo '%s %d 12345' > '%s/dead/.strata-snapshot'",
       snaps, snaps, snaps, host, (int)child, snaps);
    sh("mkdir '%s/alive' && echo '%s 1 %s' > '%s/alive/.strata-snapshot'", snaps, host, pid1_start, snaps);
    sh("mkdir '%s/.strata-new+%d+12345+%s+t0'", snaps, (int)child, host);
    sh("mkdir '%s/elsewhere' && echo 'another-host-%s %d 12345' > '%s/elsewhere/.strata-snapshot'", snaps, host,
       (int)child, snaps);

    cluster_node node = one_node(&n.data);
    cluster_filter all = {0};
    cluster_snapshot *s;
    assert_int_equal(cluster_snapshot_take(&node, "t6", &all, &s), STRATA_OK);
    char *dead = xasprintf("%s/dead", snaps);
    struct stat st;
    assert_int_equal(stat(dead, &st), -1);
    assert_int_equal(cluster_snapshot_release(s), STRATA_OK);
    char *left = sh_out("ls -A '%s' | tr '\\n' ' '", snaps);
    assert_string_equal(left, "alive elsewhere old ");
    char *links = sh_out("stat -c %%h '%s/../nb-8-big-Data.db'", snaps);
    assert_string_equal(links, "1");
    free(links);
    free(left);
    free(dead);
    free(pid1_start);
    free(host);
    free(snaps);
    free_node_copy(&n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_good),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_unreadable),
        cmocka_unit_test(test_config_ring_file),
        cmocka_unit_test(test_config_tokens),
        cmocka_unit_test(test_config_ring_from_self),
        cmocka_unit_test(test_config_ring_errors),
        cmocka_unit_test(test_names_of_corpus),
        cmocka_unit_test(test_names_by_hand),
        cmocka_unit_test(test_temporary_names),
        cmocka_unit_test(test_snapshot_lists_node),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_filter_names_checked),
        cmocka_unit_test(test_sstables_not_live_left_out),
        cmocka_unit_test(test_snapshot_while_statistics_replaced),
        cmocka_unit_test(test_two_data_dirs),
        cmocka_unit_test(test_missing_data_dir),
        cmocka_unit_test(test_snapshot_cmd),
        cmocka_unit_test(test_existing_tag_refused),
        cmocka_unit_test(test_fallback_in_place),
        cmocka_unit_test(test_stale_snapshot_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
