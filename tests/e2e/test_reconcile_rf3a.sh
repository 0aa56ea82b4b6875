#!/bin/sh
# test_reconcile_rf3a.sh - semantic deduplication on the real cluster
# rf3-a, through the strata binary and a real mount.
#
# Versions 1 and 2 of the three diverged replicas are backed up with the
# cuts of their snapshots; every table of each version, read back from
# the mount's reconciled SSTables, must be exactly what Cassandra answered
# at CONSISTENCY ALL (expected/); version 1 must store at most half of
# what node1 holds in its SSTables of the app tables, and version 2 a
# small part of what version 1 did.  Then node2 compacts (same data, new
# SSTables): the next version stores almost nothing and still reads the
# same.  A backup
# of app.users alone between v1 and v2 leaves the other tables' layers
# where v1 put them.  A version of node1 and node2 alone follows the
# compaction; then the index is deleted and rebuilt from the objects:
# versions, stats, listings, coverage, restores and the mount are the
# same, and the next backup reads and stores nothing new.  Last, a
# cluster file without node3: the version still holds all of version 1,
# and its coverage says 2 of 3 replicas for every range, complete for
# QUORUM; so does one naming node3 with an empty data directory, or with
# one holding files but no SSTable.  The repository is STRATA_TEST_REPO
# when set (test_s3_shared runs this test against an s3:// one).
set -eu
REPO=${STRATA_TEST_REPO:-$SCRATCH/repo}
. "$(dirname "$0")/lib.sh"
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }
MNT=$SCRATCH/mnt
trap 'fusermount3 -u "$MNT" 2>/dev/null || true' EXIT
fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }

# The snapshots' times (README: 23:19:56.550 and 23:22:01.343; nothing
# was written in the second before either).
T1=2026-11-21T23:19:56Z
T2=2026-11-21T23:22:01Z
T3=2026-11-21T23:30:00Z
T4=2026-11-21T23:40:00Z
T5=2026-11-21T23:50:00Z
TABLES="users:id readings:device,day,ts,seq events:bucket,seq page_counts:page,day"

nodes_at() { # SRC NODES...: the data directories of those nodes at that version
  src=$1
  shift
  rm -rf "$SCRATCH/nodes"
  mkdir -p "$SCRATCH/nodes"
  for n in "$@"; do cp -R "$src/$n" "$SCRATCH/nodes/$n"; done
  chmod -R u+w "$SCRATCH/nodes"
}

cluster_file() { # FILE NODES...: a cluster file naming the nodes, with rf3-a's ring
  printf '[cluster]\nname = rf3-a\nring = %s\n' "$RF3/ring.txt" >"$1"
  f=$1
  shift
  for n in "$@"; do
    printf '[node %s]\ndata_dir = nodes/%s\naddress = 127.0.0.%s\n' "$n" "$n" "${n#node}" >>"$f"
  done
}

backup() { # CLUSTER CUT: prints the result JSON
  strata backup --cluster "$1" --cut "$2" --json 2>>"$SCRATCH/backup.err"
}

# Every table of version V (mounted) against expected/EXP.
check_version() { # V EXP
  for spec in $TABLES; do
    t=${spec%%:*}
    at=$(json "d['tables']['$t']['export_start_epoch_s']" <"$RF3/expected/$2/_meta.json")
    "$STRATA_BIN" sstable merge --view "$at" "$MNT/versions/$1/app/$t" >"$SCRATCH/got.jsonl" ||
      fail "sstable merge of $1/app/$t"
    printf '   %s app.%-12s ' "$2" "$t"
    python3 "$(dirname "$0")/compare_rows.py" "$SCRATCH/got.jsonl" "$RF3/expected/$2/$t.jsonl" "${spec#*:}" ||
      fail "version $1 app.$t differs from Cassandra's answer for $2"
  done
}

mount_it() { mkdir -p "$MNT" && strata mount --log "$SCRATCH/mount.log" "$MNT"; }

# What the repository shows, into DIR: versions (with their coverage),
# stats, every version's listing and restored files, and the mount's
# files with their sha256.
repo_views() { # DIR
  mkdir -p "$1"
  strata versions --json >"$1/versions.json"
  strata stats --json >"$1/stats.json"
  for v in $(json '" ".join(x["id"] for x in d)' <"$1/versions.json"); do
    strata ls "$v" --json >"$1/ls.$v.json"
    rm -rf "$SCRATCH/out"
    strata restore "$v" --to "$SCRATCH/out" >/dev/null
    restored_sums "$SCRATCH/out" >"$1/restore.$v"
  done
  mount_it
  (cd "$MNT" && find . | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2) >"$1/mount"
  unmount_and_wait
}

say "rf3-a v1 and v2, each backed up at its snapshot's time"
nodes_at "$RF3" node1 node2 node3
cluster_file "$SCRATCH/cluster.ini" node1 node2 node3
strata init >/dev/null
backup "$SCRATCH/cluster.ini" "$T1" >"$SCRATCH/b1.json"
V1=$(json 'd["version"]' <"$SCRATCH/b1.json")
nodes_at "$RF3/v2" node1 node2 node3
backup "$SCRATCH/cluster.ini" "$T2" >"$SCRATCH/b2.json"
V2=$(json 'd["version"]' <"$SCRATCH/b2.json")
[ "$V1" = "$T1" ] && [ "$V2" = "$T2" ] || fail "versions are named $V1 and $V2, not after their cuts"

say "the mount's reconciled SSTables are Cassandra's CONSISTENCY ALL answer"
mount_it
check_version "$V1" v1
check_version "$V2" v2
for t in users readings events page_counts; do
  cmp -s "$MNT/versions/$V1/app/$t/schema.cql" "$RF3"/node1/app/$t-*/schema.cql ||
    fail "schema.cql of app.$t differs from the one Cassandra's snapshot wrote"
done
echo "   schema.cql of every table is the one Cassandra's snapshot wrote"
[ -z "$(find "$MNT/versions/$V1/app/users" -name '.*')" ] || fail "secondary index SSTables in the reconciled view"
nodes=$(ls "$MNT/nodes") || fail "listing the empty /nodes failed"
[ -z "$nodes" ] || fail "/nodes lists nodes of versions without replicas: $nodes"

say "one copy instead of three"
one_node=$(du -sb "$RF3/node1" | cut -f1)
s1=$(json 'd["stored_bytes"]' <"$SCRATCH/b1.json")
s2=$(json 'd["stored_bytes"]' <"$SCRATCH/b2.json")
logical1=$(json 'd["logical_bytes"]' <"$SCRATCH/b1.json")
echo "   v1: $logical1 bytes on three nodes, $one_node on node1, $s1 stored ($(python3 -c "print(round($s1/$one_node, 3))") of one node)"
echo "   v2: $s2 stored ($(python3 -c "print(round($s2/$s1, 3))") of v1)"
[ "$s1" -lt "$one_node" ] || fail "v1 stores $s1 bytes, more than one node's $one_node"
# the tables' stored bytes together at most half of node1's SSTables of
# them (node1 compacted: the smallest copy), each table's ratio reported
strata versions --json | python3 -c '
import glob, json, os, sys
v = json.load(sys.stdin)[0]
stored = node1_all = 0
for t in v["table_summaries"]:
    if t["keyspace"] != "app":
        continue
    node1 = sum(os.path.getsize(f) for f in glob.glob(sys.argv[1] + "/node1/app/%s-*/nb-*" % t["table"]))
    print("   v1 app.%-12s %7d bytes stored, node1 holds %7d in its SSTables: %.3f" % (t["table"], t["stored_bytes"], node1, t["stored_bytes"] / node1))
    stored, node1_all = stored + t["stored_bytes"], node1_all + node1
print("   v1 app, all tables: %d bytes stored, node1 holds %d: %.3f" % (stored, node1_all, stored / node1_all))
sys.exit(0 if node1_all and 2 * stored <= node1_all else 1)
' "$RF3" || fail "v1 stores more than half of what node1 holds in its SSTables of the app tables"
[ $((s2 * 5)) -lt "$s1" ] || fail "v2 stores $s2 bytes, not a small part of v1's $s1"

say "node2 compacts its tables (same data, new SSTables)"
unmount_and_wait
for tdir in "$SCRATCH"/nodes/node2/app/*; do
  mkdir "$SCRATCH/compacted"
  "$STRATA_BIN" sstable merge --to "$SCRATCH/compacted" --generation 100 "$tdir" 2>/dev/null
  rm -f "$tdir"/nb-*
  mv "$SCRATCH/compacted"/* "$tdir/"
  rmdir "$SCRATCH/compacted"
done
backup "$SCRATCH/cluster.ini" "$T3" >"$SCRATCH/b3.json"
V3=$(json 'd["version"]' <"$SCRATCH/b3.json")
s3=$(json 'd["stored_bytes"]' <"$SCRATCH/b3.json")
reconciled3=$(json 'd["reconciled_bytes"]' <"$SCRATCH/b3.json")
new3=$(json 'd["sstables"]["new"]' <"$SCRATCH/b3.json")
echo "   $new3 new SSTables read, $s3 bytes stored for $reconciled3 bytes of reconciled tables"
[ "$new3" -gt 0 ] || fail "the compacted SSTables were not read"
[ $((s3 * 100)) -lt "$reconciled3" ] || fail "a compaction-only version stores $s3 bytes, 1% or more of $reconciled3"
mount_it
check_version "$V3" v2
unmount_and_wait

if [ -z "${STRATA_TEST_REPO:-}" ]; then
  say "node3 left out of the cluster file; then the index deleted and rebuilt"
  rm -rf "$SCRATCH/nodes/node3"
  cluster_file "$SCRATCH/two.ini" node1 node2
  backup "$SCRATCH/two.ini" "$T4" >/dev/null
  repo_views "$SCRATCH/views.before"
  rm -rf "$REPO/index"
  strata index rebuild >/dev/null
  repo_views "$SCRATCH/views.after"
  for f in "$SCRATCH"/views.before/*; do
    expect_same "$f" "$SCRATCH/views.after/${f##*/}" "${f##*/} differs after the index was rebuilt"
  done
  echo "   versions, stats, listings, coverage, restores and the mount are the same after the rebuild"
  backup "$SCRATCH/two.ini" "$T5" >"$SCRATCH/b-rebuilt.json"
  [ "$(json 'd["sstables"]["new"]' <"$SCRATCH/b-rebuilt.json")" = 0 ] &&
    [ "$(json 'd["stored_bytes"]' <"$SCRATCH/b-rebuilt.json")" = 0 ] ||
    fail "after the index was rebuilt the same SSTables were read or stored again: $(cat "$SCRATCH/b-rebuilt.json")"
  echo "   the next version reads no SSTable anew and stores nothing"
fi

say "a backup of one table between two full ones: the others keep their layers"
REPO=${STRATA_TEST_REPO:+$STRATA_TEST_REPO-filtered}
REPO=${REPO:-$SCRATCH/repo-filtered}
strata init >/dev/null
nodes_at "$RF3" node1 node2 node3
backup "$SCRATCH/cluster.ini" "$T1" >/dev/null
nodes_at "$RF3/v2" node1 node2 node3
strata backup --cluster "$SCRATCH/cluster.ini" --table app.users --cut 2026-11-21T23:21:00Z --json \
  2>>"$SCRATCH/backup.err" >/dev/null
backup "$SCRATCH/cluster.ini" "$T2" >"$SCRATCH/b5.json"
V5=$(json 'd["version"]' <"$SCRATCH/b5.json")
mount_it
check_version "$V5" v2
unmount_and_wait
if [ -z "${STRATA_TEST_REPO:-}" ]; then
  rm -rf "$REPO/index"
  strata index rebuild >/dev/null
  backup "$SCRATCH/cluster.ini" "$T3" >"$SCRATCH/b6.json"
  [ "$(json 'd["sstables"]["new"]' <"$SCRATCH/b6.json")" = 0 ] && [ "$(json 'd["stored_bytes"]' <"$SCRATCH/b6.json")" = 0 ] ||
    fail "after an index rebuild the same SSTables were read or stored again: $(cat "$SCRATCH/b6.json")"
  echo "   index deleted and rebuilt: the next version reads and stores nothing new"
fi

say "a cluster file without node3: still all of v1, 2 of 3 replicas everywhere"
nodes_at "$RF3" node1 node2
cluster_file "$SCRATCH/two.ini" node1 node2
REPO=${STRATA_TEST_REPO:+$STRATA_TEST_REPO-two}
REPO=${REPO:-$SCRATCH/repo2}
strata init >/dev/null
: >"$SCRATCH/backup.err"
backup "$SCRATCH/two.ini" "$T1" >"$SCRATCH/b4.json"
V4=$(json 'd["version"]' <"$SCRATCH/b4.json")
grep -q "keyspace app: some replicas were not captured (every range has 2 of 3); complete for writes at QUORUM: yes" \
  "$SCRATCH/backup.err" || fail "no coverage note for node3: $(cat "$SCRATCH/backup.err")"
echo "   $(grep 'keyspace app' "$SCRATCH/backup.err")"
mount_it
check_version "$V4" v1
unmount_and_wait

# A backup at CUT of three.ini, whose node3 has WHAT: warned about, and
# its replicas not counted as captured.
node3_not_captured() { # CUT WHAT
  : >"$SCRATCH/backup.err"
  backup "$SCRATCH/three.ini" "$1" >/dev/null
  grep -q "node node3: no SSTable in its data directories" "$SCRATCH/backup.err" ||
    fail "no warning about node3's $2: $(cat "$SCRATCH/backup.err")"
  grep -q "keyspace app: some replicas were not captured (every range has 2 of 3); complete for writes at QUORUM: yes" \
    "$SCRATCH/backup.err" || fail "node3's $2 counted as captured: $(cat "$SCRATCH/backup.err")"
  echo "   $(grep 'keyspace app' "$SCRATCH/backup.err")"
  # versions counts node3 as a node of the cluster file, not a captured one
  strata versions | tail -1 | awk '{print $2}' | grep -qx '2/3' || fail "versions NODES: $(strata versions | tail -1)"
  [ "$(strata versions --json | json 'd[-1]["captured_nodes"]')" = 2 ] || fail "versions --json captured_nodes"
}

say "node3 in the cluster file, its data directory empty (a disk not mounted): not counted as captured"
mkdir "$SCRATCH/nodes/node3"
cluster_file "$SCRATCH/three.ini" node1 node2 node3
REPO=${STRATA_TEST_REPO:+$STRATA_TEST_REPO-empty}
REPO=${REPO:-$SCRATCH/repo3}
strata init >/dev/null
node3_not_captured "$T1" "empty data directory"

say "node3's data_dir naming a directory that is not Cassandra's (files, no SSTable): not captured either"
mkdir -p "$SCRATCH/nodes/node3/docs/notes"
echo "not an SSTable" >"$SCRATCH/nodes/node3/docs/notes/README"
node3_not_captured "$T2" "data directory without SSTables"
echo "PASS"
