#!/bin/sh
# demo.sh - strata on a real 3-node Cassandra cluster, in a minute.
#
# Copies the corpus's rf3-a cluster (Cassandra 4.0, keyspace app) into a
# temporary directory as three nodes' data directories, backs up version
# v1, lets the nodes move on to v2, backs up again, lists, verifies, and
# restores app.users of both versions, comparing every byte with the
# originals; then reconciles the v2 replicas of app.users and compares the
# result with what Cassandra answered at CONSISTENCY ALL.  Run from the project root (`make demo`); KEEP=1 keeps the
# temporary directory.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
STRATA=${STRATA:-$root/strata}
CORPUS=${CORPUS:-$(cd "$root/.." && pwd)/shared/corpus}
RF3=$CORPUS/cluster/rf3-a
[ -x "$STRATA" ] || { echo "demo: build strata first (make)" >&2; exit 1; }
[ -d "$RF3/node1" ] || { echo "demo: no corpus at $RF3" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-demo.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT INT TERM
export STRATA_REPO="$work/repo"
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ strata %s\n' "$*"; "$STRATA" "$@"; }
nodes_to() { # VERSION_DIR: make the three nodes hold that version of rf3-a
  for n in node1 node2 node3; do
    rm -rf "${work:?}/nodes/$n"
    cp -R "$1/$n" "$work/nodes/$n"
  done
}
# sha256 of every file of app.users on every node, as restore lays them out.
users_sums() {
  for n in node1 node2 node3; do
    (cd "$1/$n/app/users"* && find . -type f -exec sha256sum {} +) | sed "s#  \./#  $n/#"
  done | LC_ALL=C sort -k2
}
compare_users() { # VERSION ORIGINALS
  run restore "$1/app/users" --to "$work/restore-$2"
  users_sums "$work/restore-$2" >"$work/got"
  users_sums "$3" >"$work/want"
  if cmp -s "$work/got" "$work/want"; then
    echo "   app.users of $2: $(wc -l <"$work/want" | tr -d ' ') files, sha256 identical to the originals"
  else
    echo "   app.users of $2 DIFFERS from the originals" >&2
    exit 1
  fi
}

step "Three Cassandra nodes (rf3-a, version v1) in $work/nodes"
mkdir -p "$work/nodes"
nodes_to "$RF3"
sed "s#@DIR@#$work/nodes#g" "$root/examples/cluster.ini.in" >"$work/cluster.ini"
for n in node1 node2 node3; do
  echo "   $n: $(find "$work/nodes/$n" -name '*-Data.db' | wc -l | tr -d ' ') SSTables, $(du -sh "$work/nodes/$n" | cut -f1)"
done

step "Create a repository"
run init

step "Back up v1: every SSTable of every node is new"
run backup --cluster "$work/cluster.ini"
V1=$("$STRATA" versions --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')

step "The cluster moves on to v2 (writes, flushes, one node was down); back up again"
nodes_to "$RF3/v2"
run backup --cluster "$work/cluster.ini"
V2=$("$STRATA" versions --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
echo "   only the SSTables written since v1 were read and stored"

step "Versions in the repository"
run versions

step "Files of app.users in the latest version (first 8)"
run ls latest/app/users | head -8

step "Space: logical bytes against stored bytes"
run stats

step "Verify: re-read every pack and check every chunk"
run verify

step "Restore app.users of both versions and compare with the originals"
compare_users "$V1" v1 "$RF3"
compare_users "$V2" v2 "$RF3/v2"

step "The three replicas reconciled as Cassandra does (the basis of semantic deduplication)"
# The v2 nodes disagree (a node was down during writes); merging their
# SSTables with Cassandra's rules must give exactly what Cassandra itself
# answered at CONSISTENCY ALL right after the v2 snapshot.
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tables"]["users"]["export_start_epoch_s"])' "$RF3/expected/v2/_meta.json")
printf '$ strata sstable merge --view %s nodes/node{1,2,3}/app/users-*\n' "$at"
"$STRATA" sstable merge --view "$at" "$work"/nodes/node1/app/users-* "$work"/nodes/node2/app/users-* \
  "$work"/nodes/node3/app/users-* >"$work/merged.jsonl"
python3 - "$work/merged.jsonl" "$RF3/expected/v2/users.jsonl" <<'PY'
import json, sys
def rows(path):
    return {r["id"]: {k: v for k, v in r.items() if not k.startswith("ttl(")}
            for r in map(json.loads, open(path))}
got, want = rows(sys.argv[1]), rows(sys.argv[2])
same = sum(1 for k in want if got.get(k) == want[k])
print("   %d rows reconciled from 3 replicas; %d of Cassandra's %d CL=ALL rows identical "
      "(values and writetimes)" % (len(got), same, len(want)))
PY

step "Done"
echo "   repository: $STRATA_REPO ($(du -sh "$STRATA_REPO" | cut -f1))"
[ "${KEEP:-0}" = 1 ] && echo "   kept: $work"
exit 0
