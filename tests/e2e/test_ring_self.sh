#!/bin/sh
# test_ring_self.sh - the token ring from the nodes' own system tables.
#
# A generated 5-node RF=3 cluster (strata-gen-cluster: each node's
# system.local holds its tokens in one SSTable and its metadata rewritten
# in a newer one, system.peers_v2 the other nodes' tokens) is backed up
# with a cluster file that lists no tokens: the version's coverage must be
# the one the generator's own cluster file (every node's tokens) gives.
# Left out of the cluster file, node5 is still in the ring, from the
# others' peers: its replicas are reported missing.  A node whose
# system.local cannot be read leaves the version without a ring, with a
# warning, and the backup still succeeds.
set -eu
. "$(dirname "$0")/lib.sh"
GEN=${GEN_BIN:-$PWD/strata-gen-cluster}
[ -x "$GEN" ] || fail "no generator at $GEN (make strata-gen-cluster)"

"$GEN" --out "$SCRATCH/c" --mb 2 --nodes 5 --seed 11 >/dev/null
CUT=$(python3 -c "import json; print(json.load(open('$SCRATCH/c/gen.json'))['clock'] // 1000000 + 1)")

# The cluster file without its tokens, and without the nodes from FROM on.
strip() { # FROM OUT
  awk -v from="$1" '
    /^\[node node/ { n = substr($2, 5) + 0; drop = from && n >= from }
    /^tokens =/ { skip = 1; next }
    /^ / && skip { next }
    { skip = 0; if (!drop) print }' "$SCRATCH/c/cluster.ini" >"$2"
}
strip 0 "$SCRATCH/c/self.ini"
strip 5 "$SCRATCH/c/four.ini"
! grep -q tokens "$SCRATCH/c/self.ini" || fail "tokens left in the cluster file"

backup() { # NAME CLUSTER: the version's coverage JSON in $SCRATCH/NAME.cov
  REPO=$SCRATCH/repo-$1
  strata init >/dev/null
  strata backup --cluster "$2" --cut "$CUT" --json >/dev/null 2>"$SCRATCH/$1.err" ||
    { cat "$SCRATCH/$1.err"; fail "backup $1"; }
  strata versions --json | json "json.dumps(d[0]['report']['coverage'], sort_keys=True)" >"$SCRATCH/$1.cov"
}

say "without tokens in the cluster file: the ring the generator placed the writes by"
backup listed "$SCRATCH/c/cluster.ini"
backup self "$SCRATCH/c/self.ini"
expect_same "$SCRATCH/listed.cov" "$SCRATCH/self.cov" "coverage from system.local differs from the listed tokens'"
[ "$(json "d['gen']['ranges'], d['gen']['min_captured'], d['gen']['all_replicas_captured']" \
  <"$SCRATCH/self.cov")" = "80 3 True" ] || fail "coverage: $(cat "$SCRATCH/self.cov")"
! grep -q "no token ring" "$SCRATCH/self.err" || fail "ring not read: $(cat "$SCRATCH/self.err")"

say "node5 left out of the cluster file: still in the ring, its replicas missing"
backup four "$SCRATCH/c/four.ini"
[ "$(json "d['gen']['uncaptured_endpoints'], d['gen']['min_captured'], d['gen']['complete']['QUORUM']" \
  <"$SCRATCH/four.cov")" = "['127.0.0.5'] 2 True" ] || fail "coverage: $(cat "$SCRATCH/four.cov")"
grep -q "keyspace gen: some replicas were not captured (every range has 2 of 3)" "$SCRATCH/four.err" ||
  fail "no note of the missing replicas: $(cat "$SCRATCH/four.err")"

say "an unreadable system.local: no ring, a warning, the version all the same"
data=$(ls "$SCRATCH"/c/node2/system/local-*/nb-1-big-Data.db)
head -c 20 "$data" >"$data.cut" && mv "$data.cut" "$data"
backup damaged "$SCRATCH/c/self.ini"
grep -q "no token ring (node 'node2': system.local: " "$SCRATCH/damaged.err" ||
  fail "no warning: $(cat "$SCRATCH/damaged.err")"
[ "$(json "d['gen']['ring']" <"$SCRATCH/damaged.cov")" = "False" ] || fail "coverage: $(cat "$SCRATCH/damaged.cov")"
echo "ok"
