/* ring_self.c - the token ring from what the nodes record of themselves.
 *
 * A version's coverage (how many replicas of each token range it holds)
 * needs the ring.  Listing every node's tokens in the cluster file is
 * tedious with vnodes, and each Cassandra node keeps its own anyway: its
 * system.local row (key 'local') holds its tokens, datacenter, rack and
 * broadcast address, which the node itself reads back at start.  So when
 * the cluster file gives no ring, the backup reads each node's system.local
 * from its data directories (the live files: node-local system keyspaces
 * are not part of a version) and reconciles its SSTables like any table's,
 * since a restart rewrites the metadata into a newer SSTable than the one
 * that holds the tokens.  The nodes' system.peers_v2 add the ring members
 * the cluster file leaves out, whose replicas a version then lacks. */
#include "engine/backup/backup_int.h"

#include <arpa/inet.h>
#include <string.h>

static char *text_of(const sstable_value *v) { return xstrndup((const char *)v->p, v->len); }

static char *inet_of(const sstable_value *v) {
    char s[INET6_ADDRSTRLEN];
    int family = v->len == 4 ? AF_INET : v->len == 16 ? AF_INET6 : 0;
    if (!family || !inet_ntop(family, v->p, s, sizeof s)) return NULL;
    return xstrdup(s);
}

/* Takes what a row says: its live cells, the newest of each, since the
 * merge has reconciled the SSTables (a replaced token set's old elements
 * are gone under its collection deletion). */
static strata_err take_row(const sstable_unfiltered *u, cluster_node_self *self) {
    for (size_t i = 0; i < u->ncells; i++) {
        const sstable_cell *c = &u->cells[i];
        if (c->deleted || !c->value.p) continue;
        const char *name = c->column->name;
        if (!strcmp(name, "tokens") && c->path.p) {
            char *s = text_of(&c->path);
            int64_t t;
            int bad = cluster_token_parse(s, &t);
            free(s);
            if (bad) return strata_fail(STRATA_ECORRUPT, "a token that is no Murmur3 token");
            self->tokens = xrealloc(self->tokens, (self->n_tokens + 1) * sizeof *self->tokens);
            self->tokens[self->n_tokens++] = t;
        } else if (!strcmp(name, "data_center")) {
            free(self->dc);
            self->dc = text_of(&c->value);
        } else if (!strcmp(name, "rack")) {
            free(self->rack);
            self->rack = text_of(&c->value);
        } else if (!strcmp(name, "broadcast_address")) {
            free(self->address);
            self->address = inet_of(&c->value);
        }
    }
    return STRATA_OK;
}

/* The record of each partition of a merged system table: key 'local' of
 * system.local, or each peer (the key: its address) of system.peers_v2. */
typedef struct {
    int peers;
    cluster_node_self *records;
    size_t n;
} self_reader;

static strata_err read_merged(merge *m, self_reader *rd) {
    const sstable_partition *p;
    strata_err e;
    while (!(e = merge_next_partition(m, &p)) && p) {
        if (!rd->peers && (p->key_len != 5 || memcmp(p->key, "local", 5))) continue;
        rd->records = xrealloc(rd->records, (rd->n + 1) * sizeof *rd->records);
        cluster_node_self *r = &rd->records[rd->n++];
        *r = (cluster_node_self){0};
        if (rd->peers) r->address = inet_of(&(sstable_value){p->key, p->key_len});
        const sstable_unfiltered *u;
        while (!(e = merge_next_unfiltered(m, &u)) && u)
            if (u->kind == SSTABLE_ROW && (e = take_row(u, r))) return e;
        if (e) return e;
    }
    return e;
}

/* The records in the `table` SSTables of all data directories of the
 * nodes nodes[0..n), merged into one; `who` names them in errors.
 * STRATA_ENOENT when they have none. */
static strata_err read_table(const cluster_node *nodes, size_t n, const char *who, const char *table,
                             self_reader *rd) {
    size_t ndirs = 0, npaths = 0;
    for (size_t i = 0; i < n; i++) ndirs += nodes[i].n_data_dirs;
    char **dirs = xcalloc(ndirs + 1, sizeof *dirs), **paths = NULL;
    ndirs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < nodes[i].n_data_dirs; d++) dirs[ndirs++] = xasprintf("%s/system", nodes[i].data_dirs[d]);
    merge_find_table_data((const char *const *)dirs, ndirs, table, &paths, &npaths);
    strata_err e = STRATA_OK;
    merge *m = NULL;
    if (!npaths) {
        e = strata_fail(STRATA_ENOENT, "%s: no system.%s in the data directories", who, table);
    } else {
        e = merge_open((const char *const *)paths, npaths, NULL, &m);
        if (!e) e = read_merged(m, rd);
        if (e) {
            char *why = xstrdup(strata_errmsg());
            strata_fail(e, "%s: system.%s: %s", who, table, why);
            free(why);
        }
    }
    merge_close(m);
    for (size_t i = 0; i < npaths; i++) free(paths[i]);
    for (size_t i = 0; i < ndirs; i++) free(dirs[i]);
    free(paths), free(dirs);
    return e;
}

static void free_records(cluster_node_self *r, size_t n) {
    for (size_t i = 0; i < n; i++) free(r[i].address), free(r[i].dc), free(r[i].rack), free(r[i].tokens);
    free(r);
}

/* One node's own record. */
static strata_err read_node(const cluster_node *n, cluster_node_self *self) {
    self_reader local = {0};
    char *who = xasprintf("node '%s'", n->name);
    strata_err e = read_table(n, 1, who, "local", &local);
    free(who);
    if (!e && local.n) *self = local.records[0], local.records[0] = (cluster_node_self){0};
    free_records(local.records, local.n);
    return e;
}

/* Whose gossip views of the ring are read: a few, since each holds every
 * other member's tokens (256 each with vnodes), and reading all N nodes'
 * would merge N times N of them. */
#define PEER_VIEWS 3

/* The ring members the nodes know of: the first PEER_VIEWS nodes'
 * system.peers_v2 (else the system.peers of nodes before 4.0) merged into
 * one table, so a peer that one node's gossip view lacks still comes from
 * the others', and of two nodes' records of a peer the newer write wins
 * (a peer's new tokens replace the set of a node that has not heard of the
 * move; a removed peer's deletion shadows the row a stale node keeps). */
static strata_err read_peers(const cluster_config *c, self_reader *peers) {
    size_t n = c->n_nodes < PEER_VIEWS ? c->n_nodes : PEER_VIEWS;
    strata_err e = read_table(c->nodes, n, "the nodes", "peers_v2", peers);
    if (e == STRATA_ENOENT) e = read_table(c->nodes, n, "the nodes", "peers", peers);
    return e == STRATA_ENOENT ? STRATA_OK : e;
}

strata_err backup_ring_from_nodes(cluster_config *c) {
    if (c->ring) return STRATA_OK;
    cluster_node_self *self = xcalloc(c->n_nodes + 1, sizeof *self);
    self_reader peers = {.peers = 1};
    strata_err e = STRATA_OK;
    for (size_t i = 0; i < c->n_nodes && !e; i++) e = read_node(&c->nodes[i], &self[i]);
    if (!e) e = read_peers(c, &peers);
    if (!e) e = cluster_config_ring_from_self(c, self, peers.records, peers.n);
    free_records(self, c->n_nodes);
    free_records(peers.records, peers.n);
    return e;
}
