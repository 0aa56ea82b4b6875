#!/bin/sh
# demo.sh - strata on a real 3-node Cassandra cluster, in a minute.
#
# Copies the corpus's rf3-a cluster (Cassandra 4.0, keyspace app, replicas
# that disagree) into a temporary directory as three nodes' data
# directories, backs up version v1 and then v2 at the times their snapshots
# were taken, each reconciled into one copy; lists, verifies, mounts the
# repository and compares every table of both versions, read from the
# mount, with what Cassandra answered at CONSISTENCY ALL; restores a table;
# then lets node2 compact and backs up again.  Run from the project root
# (`make demo`); KEEP=1 keeps the temporary directory.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
STRATA=${STRATA:-$root/strata}
CORPUS=${CORPUS:-$(cd "$root/.." && pwd)/shared/corpus}
RF3=$CORPUS/cluster/rf3-a
[ -x "$STRATA" ] || { echo "demo: build strata first (make)" >&2; exit 1; }
[ -d "$RF3/node1" ] || { echo "demo: no corpus at $RF3" >&2; exit 1; }
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "demo: needs FUSE (fusermount3, /dev/fuse)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-demo.XXXXXX")
mnt=$work/mnt
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
export STRATA_REPO="$work/repo"
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ strata %s\n' "$*"; "$STRATA" "$@"; }
nodes_to() { # VERSION_DIR: make the three nodes hold that version of rf3-a
  for n in node1 node2 node3; do
    rm -rf "${work:?}/nodes/$n"
    cp -R "$1/$n" "$work/nodes/$n"
    chmod -R u+w "$work/nodes/$n"
  done
}
# Every table of version $1 in the mount against Cassandra's answer $2.
compare_version() {
  for spec in users:id readings:device,day,ts,seq events:bucket,seq page_counts:page,day; do
    t=${spec%%:*}
    at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tables"][sys.argv[2]]["export_start_epoch_s"])' \
      "$RF3/expected/$2/_meta.json" "$t")
    "$STRATA" sstable merge --view "$at" "$mnt/versions/$1/app/$t" >"$work/got.jsonl"
    printf '   %s app.%-12s ' "$2" "$t"
    python3 "$root/tests/e2e/compare_rows.py" "$work/got.jsonl" "$RF3/expected/$2/$t.jsonl" "${spec#*:}"
  done
}

step "Three Cassandra nodes (rf3-a, version v1) in $work/nodes"
mkdir -p "$work/nodes"
nodes_to "$RF3"
sed "s#@DIR@#$work/nodes#g; s#@RING@#$RF3/ring.txt#g" "$root/examples/cluster.ini.in" >"$work/cluster.ini"
for n in node1 node2 node3; do
  echo "   $n: $(find "$work/nodes/$n" -name '*-Data.db' | wc -l | tr -d ' ') SSTables, $(du -sh "$work/nodes/$n" | cut -f1)"
done

step "Create a repository"
run init

step "Back up v1, cut at the time its snapshots were taken: three replicas, one copy"
run backup --cluster "$work/cluster.ini" --cut 2026-11-21T23:19:56Z

step "The cluster moves on to v2 (writes, flushes, a node was down); back up again"
nodes_to "$RF3/v2"
run backup --cluster "$work/cluster.ini" --cut 2026-11-21T23:22:01Z
echo "   only what v1 did not hold is stored"

step "Versions, with how many replicas of each token range they captured"
run versions

step "Space: the replicas' bytes against what the repository stores"
run stats

step "Verify: re-read every pack and check every chunk"
run verify

step "Mount the repository: every version is a directory of SSTables"
mkdir -p "$mnt"
run mount "$mnt"
echo '$ ls' "$mnt/versions/latest/app/users"
ls "$mnt/versions/latest/app/users"

step "Read back from the mount: each table is what Cassandra answered at CONSISTENCY ALL"
compare_version 2026-11-21T23:19:56Z v1
compare_version 2026-11-21T23:22:01Z v2
fusermount3 -u "$mnt"

step "Restore app.users of v2: one directory for any node, nodetool import or sstableloader"
run restore 2026-11-21T23:22:01Z/app/users --to "$work/restore"
ls -l "$work/restore/app/users"

step "node2 compacts its tables (same data, new SSTables); back up again"
for tdir in "$work"/nodes/node2/app/*; do
  mkdir "$work/compacted"
  "$STRATA" sstable merge --to "$work/compacted" --generation 100 "$tdir" 2>/dev/null
  rm -f "$tdir"/nb-*
  mv "$work/compacted"/* "$tdir/"
  rmdir "$work/compacted"
done
run backup --cluster "$work/cluster.ini" --cut 2026-11-21T23:30:00Z
echo "   the compacted SSTables were read, and nothing new was stored"

step "Done"
echo "   repository: $STRATA_REPO ($(du -sh "$STRATA_REPO" | cut -f1)); three nodes: $(du -shc "$RF3"/v2/node* | tail -1 | cut -f1)"
[ "${KEEP:-0}" = 1 ] && echo "   kept: $work"
exit 0
