#!/bin/sh
# test_reconciled_cli.sh - the commands that read versions, on reconciled
# versions of the real cluster rf3-a (v1 and v2 backed up at their snapshot
# times, v2 again with --keep-replicas): restore of a table writes exactly
# the files ls lists, with the bytes the mount shows, as SSTables that read
# and hold every user Cassandra returned; versions --json carries the
# coverage report and the table summaries; stats counts a table's logical
# bytes as its SSTables on the three nodes; restore --node needs kept
# replicas and then gives the node's files byte for byte; a version of
# node files (--files) still lists and restores per node.
set -eu
. "$(dirname "$0")/lib.sh"
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }
MNT=$SCRATCH/mnt
trap 'fusermount3 -u "$MNT" 2>/dev/null || true' EXIT

# Node data directories from rf3-a (SRC as for copy_rf3a_nodes), writable
# for the snapshots, and a cluster file naming them with their addresses
# in rf3-a's ring, so that versions record the replica coverage.
use_nodes() {
  rm -rf "$SCRATCH/nodes"
  copy_rf3a_nodes "$1"
  chmod -R u+w "$SCRATCH/nodes"
  printf '[cluster]\nname = rf3-a\nring = %s/ring.txt\n' "$RF3" >"$SCRATCH/cluster.ini"
  for i in 1 2 3; do
    printf '[node node%s]\ndata_dir = nodes/node%s\naddress = 127.0.0.%s\n' "$i" "$i" "$i" >>"$SCRATCH/cluster.ini"
  done
}

# "<keyspace>.<table> <bytes>" per table: its SSTable components on the
# three nodes (not secondary index SSTables, manifest.json, schema.cql).
sstable_bytes() {
  find "$SCRATCH"/nodes/node*/ -mindepth 3 -maxdepth 3 -type f -name '*-big-*' -printf '%h %s\n' |
    sed -E 's#^.*/([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32} #\1.\2 #' |
    awk '{s[$1] += $2} END {for (t in s) print t, s[t]}' | LC_ALL=C sort
}
# Per table, the largest node's SSTables (all: all its files), as "ks.table bytes".
one_node_bytes() { # [all]
  if [ "${1:-}" = all ]; then depth=9 name='*'; else depth=3 name='*-big-*'; fi
  find "$SCRATCH"/nodes/node*/ -mindepth 3 -maxdepth $depth -type f -name "$name" -printf '%p %s\n' |
    sed -E 's#^.*/(node[0-9]+)/([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/[^ ]* #\1 \2.\3 #' |
    awk '{s[$2 " " $1] += $3} END {for (k in s) {split(k, a, " "); if (s[k] > m[a[1]]) m[a[1]] = s[k]} for (t in m) print t, m[t]}' |
    LC_ALL=C sort
}
node_sstables() { find "$SCRATCH"/nodes/node*/ -mindepth 3 -maxdepth 3 -name '*-Data.db' | wc -l | tr -d ' '; }

backup() { strata backup --cluster "$SCRATCH/cluster.ini" "$@" --json | json 'd["version"]'; }

say "rf3-a v1 and v2 backed up at their cuts, then v2 again keeping the replicas"
use_nodes "$RF3"
sstable_bytes >"$SCRATCH/bytes.v1"
SST1=$(node_sstables)
strata init >/dev/null
# v1's exact snapshot time (README): the version takes its second's name
V1=$(backup --cut 2026-11-21T23:19:56.550666Z)
use_nodes "$RF3/v2"
sstable_bytes >"$SCRATCH/bytes.v2"
one_node_bytes >"$SCRATCH/one_node.v2"
SST2=$(node_sstables)
V2=$(backup --cut 2026-11-21T23:22:01Z)
V3=$(backup --cut 2026-11-21T23:22:02Z --keep-replicas)
expect_eq "$V1 $V2 $V3" "2026-11-21T23:19:56Z 2026-11-21T23:22:01Z 2026-11-21T23:22:02Z" "version ids"
expect_eq "$(wc -l <"$SCRATCH/bytes.v1" | tr -d ' ')" 14 "tables of rf3-a"

say "ls lists reconciled files as keyspace/table/file"
strata ls "$V1/app/users" >"$SCRATCH/ls.txt"
[ -s "$SCRATCH/ls.txt" ] || fail "ls $V1/app/users printed nothing"
if grep -Ev '^ *[0-9]+  app/users/(nb-[0-9]+-big-[A-Za-z0-9]+\.(db|txt|crc32)|schema\.cql)$' "$SCRATCH/ls.txt"; then
  fail "ls $V1/app/users: lines above are not keyspace/table/file of a reconciled table"
fi
grep -q '  app/users/schema.cql$' "$SCRATCH/ls.txt" || fail "ls $V1/app/users lists no schema.cql"

# Restores VERSION/app/users to DIR and checks it against ls --json: the
# same files with the same sizes, nothing else, all of them reconciled.
check_table_restore() {
  v=$1 out=$2
  strata ls "$v/app/users" --json >"$SCRATCH/ls.json"
  expect_eq "$(json 'all(f["reconciled"] is True and f["node"] == "" for f in d)' <"$SCRATCH/ls.json")" True \
    "every file of $v/app/users reconciled"
  json '"\n".join("%s %d" % (f["path"], f["size_bytes"]) for f in d)' <"$SCRATCH/ls.json" | LC_ALL=C sort >"$SCRATCH/want"
  strata restore "$v/app/users" --to "$out" --json >"$SCRATCH/restore.json"
  expect_eq "$(find "$out" -mindepth 1 -maxdepth 2 | LC_ALL=C sort | tr '\n' ' ')" "$out/app $out/app/users " \
    "directories written by the restore of $v/app/users"
  (cd "$out/app/users" && find . -type f -printf '%P %s\n') | LC_ALL=C sort >"$SCRATCH/have"
  expect_same "$SCRATCH/want" "$SCRATCH/have" "restore of $v/app/users differs from what ls lists"
  expect_eq "$(json 'd["files"]' <"$SCRATCH/restore.json")" "$(wc -l <"$SCRATCH/want" | tr -d ' ')" "files restored"
  expect_eq "$(json 'd["restored_bytes"]' <"$SCRATCH/restore.json")" "$(awk '{s += $2} END {print s}' "$SCRATCH/want")" \
    "bytes restored"
  expect_eq "$(json 'd["reconciled_tables"], d["node_tables"]' <"$SCRATCH/restore.json")" "1 0" \
    "table directories restored"
  echo "   $v/app/users: $(wc -l <"$SCRATCH/want" | tr -d ' ') files, as listed"
}

say "restore of app/users writes exactly what ls lists"
check_table_restore "$V1" "$SCRATCH/users.v1"
check_table_restore "$V2" "$SCRATCH/users.v2"

say "the restored files are the mount's files of the same version"
mkdir -p "$MNT"
strata mount --log "$SCRATCH/mount.log" "$MNT"
for pair in "$V1 v1" "$V2 v2"; do
  set -- $pair
  restored_sums "$MNT/versions/$1/app/users" >"$SCRATCH/mount.sums"
  restored_sums "$SCRATCH/users.$2/app/users" >"$SCRATCH/restore.sums"
  [ -s "$SCRATCH/mount.sums" ] || fail "/versions/$1/app/users is empty"
  expect_same "$SCRATCH/mount.sums" "$SCRATCH/restore.sums" \
    "restore of $1/app/users differs from /versions/$1/app/users"
done
unmount_and_wait
echo "   sha256 equal for $V1 and $V2"

say "restored SSTables read, and hold every user Cassandra returned"
for label in v1 v2; do
  n=0
  for data in "$SCRATCH/users.$label"/app/users/*-Data.db; do
    "$STRATA_BIN" sstable dump "$data" >"$SCRATCH/dump.$label.$n.json" 2>"$SCRATCH/dump.err" ||
      fail "sstable dump $data: $(cat "$SCRATCH/dump.err")"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || fail "no Data.db restored for $label"
  python3 - "$RF3/expected/$label/users.jsonl" "$SCRATCH"/dump.$label.*.json <<'EOF' || fail "users of $label"
import json, sys
keys = set()
for path in sys.argv[2:]:
    partitions = json.load(open(path))
    if not partitions:
        sys.exit('%s: no partition' % path)
    keys.update(p['partition']['key'][0] for p in partitions)
want = set(json.loads(line)['id'] for line in open(sys.argv[1]))
if want - keys:
    sys.exit('%d users missing from the layers, e.g. %s' % (len(want - keys), sorted(want - keys)[0]))
print('   %s: %d layers read, %d partitions, all %d users there' %
      (sys.argv[1].split('/')[-2], len(sys.argv) - 2, len(keys), len(want)))
EOF
done

say "versions --json has the report, the coverage and the table summaries"
strata versions --json >"$SCRATCH/versions.json"
# vj VERSION EXPR: EXPR over that version's entry (bound to v).
vj() { json "[$2 for v in d if v['id'] == '$1'][0]" <"$SCRATCH/versions.json"; }
expect_eq "$(json '[v["reconciled"] for v in d]' <"$SCRATCH/versions.json")" "[True, True, True]" "reconciled"
expect_eq "$(vj "$V1" 'v["report"]["cut"]')" 2026-11-21T23:19:56.550666Z "cut in the report of $V1"
expect_eq "$(vj "$V1" 'v["report"]["cut_us"]')" 1795303196550666 "cut_us in the report of $V1"
expect_eq "$(vj "$V2" 'v["report"]["cut"]')" "$V2" "cut in the report of $V2"
expect_eq "$(vj "$V1" 'v["report"]["coverage"]["app"]["captured_nodes"]')" 3 "captured nodes of app"
expect_eq "$(vj "$V1" 'v["report"]["coverage"]["app"]["replication_factor"]')" 3 "replication factor of app"
expect_eq "$(vj "$V1" 'v["report"]["coverage"]["app"]["all_replicas_captured"]')" True "all replicas of app"
expect_eq "$(vj "$V1" 'v["coverage_brief"]')" "all replicas" "coverage brief of $V1"
expect_eq "$(vj "$V1" 'v["node_sstables"]')" "$SST1" "node SSTables seen by $V1"
expect_eq "$(vj "$V2" 'v["node_sstables"]')" "$SST2" "node SSTables seen by $V2"
for pair in "$V1 v1" "$V2 v2"; do
  set -- $pair
  vj "$1" '"\n".join("%s.%s %d" % (t["keyspace"], t["table"], t["replica_bytes"]) for t in v["table_summaries"])' |
    LC_ALL=C sort >"$SCRATCH/summaries"
  expect_same "$SCRATCH/bytes.$2" "$SCRATCH/summaries" "table summaries of $1 differ from the nodes' SSTable bytes"
done
expect_eq "$(vj "$V2" '[t["layer_bytes"] for t in v["table_summaries"] if t["table"] == "users"][0]')" \
  "$(find "$SCRATCH/users.v2/app/users" -name 'nb-*' -printf '%s\n' | awk '{s += $1} END {print s}')" \
  "layer bytes of app.users in $V2 (its restored SSTables)"
strata versions | grep -q "^$V1 .*all replicas\$" || fail "versions does not show the coverage of $V1"

say "a version of two of the three nodes is complete for QUORUM only"
sed '/^\[node node3\]/,$d' "$SCRATCH/cluster.ini" >"$SCRATCH/two.ini"
"$STRATA_BIN" -r "$SCRATCH/repo2" init >/dev/null
"$STRATA_BIN" -r "$SCRATCH/repo2" backup --cluster "$SCRATCH/two.ini" --cut 2026-11-21T23:22:01Z >/dev/null
expect_eq "$("$STRATA_BIN" -r "$SCRATCH/repo2" versions --json | json 'd[0]["coverage_brief"]')" \
  "2/3 replicas, complete for QUORUM" "coverage brief without node3"
"$STRATA_BIN" -r "$SCRATCH/repo2" versions | grep -q "2/3 replicas, complete for QUORUM\$" ||
  fail "versions does not show the coverage without node3"

say "stats: logical bytes per table are its SSTables on the three nodes"
strata stats --json >"$SCRATCH/stats.json"
json '"\n".join("%s.%s %d %d" % (t["keyspace"], t["table"], t["logical_bytes_latest"], t["logical_bytes_all"]) for t in d["tables"])' \
  <"$SCRATCH/stats.json" | LC_ALL=C sort >"$SCRATCH/stats.tables"
# newest version: v2's nodes; all versions: v1 once, v2 twice ($V2 and $V3)
LC_ALL=C join "$SCRATCH/bytes.v1" "$SCRATCH/bytes.v2" | awk '{print $1, $3, $2 + 2 * $3}' >"$SCRATCH/want.tables"
expect_same "$SCRATCH/want.tables" "$SCRATCH/stats.tables" "stats per table differ from the nodes' SSTable bytes"
json '"\n".join("%s.%s %d" % (t["keyspace"], t["table"], t["one_node_bytes_latest"]) for t in d["tables"])' \
  <"$SCRATCH/stats.json" | LC_ALL=C sort >"$SCRATCH/stats.one_node"
expect_same "$SCRATCH/one_node.v2" "$SCRATCH/stats.one_node" "stats' one node per table differs from the largest node's SSTables"
expect_eq "$(json 'all(t["stored_per_node"] == t["stored_bytes"] / t["one_node_bytes_latest"] for t in d["tables"])' \
  <"$SCRATCH/stats.json")" True "stored bytes per node"
sum1=$(awk '{s += $2} END {print s}' "$SCRATCH/bytes.v1")
sum2=$(awk '{s += $2} END {print s}' "$SCRATCH/bytes.v2")
expect_eq "$(json '[v["logical_bytes"] for v in d["by_version"]]' <"$SCRATCH/stats.json")" "[$sum1, $sum2, $sum2]" \
  "logical bytes per version"
expect_eq "$(json 'd["logical_bytes"] == sum(v["logical_bytes"] for v in d["by_version"])' <"$SCRATCH/stats.json")" True \
  "logical bytes of the repository"
expect_eq "$(json '[v["stored_bytes"] for v in d]' <"$SCRATCH/versions.json")" \
  "$(json '[v["stored_bytes"] for v in d["by_version"]]' <"$SCRATCH/stats.json")" "stored bytes per version"
strata restore "$V2" --to "$SCRATCH/all.v2" >/dev/null
expect_eq "$(json 'd["by_version"][1]["reconciled_bytes"]' <"$SCRATCH/stats.json")" \
  "$(find "$SCRATCH/all.v2" -type f -name 'nb-*' -printf '%s\n' | awk '{s += $1} END {print s}')" \
  "reconciled bytes of $V2 (its restored SSTables)"
expect_eq "$(find "$SCRATCH/all.v2" -mindepth 1 -maxdepth 1 | sed 's#.*/##' | LC_ALL=C sort | tr '\n' ' ')" \
  "app system_schema " "top directories of the restore of $V2"

say "restore --node of a version without replicas fails with one error line"
if strata restore "$V2" --node node2 --to "$SCRATCH/none" >"$SCRATCH/out" 2>"$SCRATCH/err"; then
  fail "restore --node node2 of $V2 succeeded"
else rc=$?; fi
expect_eq "$rc" 1 "exit status of restore --node without replicas"
expect_eq "$(wc -l <"$SCRATCH/err" | tr -d ' ')" 1 "lines on stderr"
grep -q "^strata: error: .*node2.*--keep-replicas" "$SCRATCH/err" || fail "error line: $(cat "$SCRATCH/err")"
[ ! -e "$SCRATCH/none" ] || fail "the failed restore wrote $(find "$SCRATCH/none" | head -3)"

say "with --keep-replicas, restore --node node2 gives node2's files byte for byte"
strata ls "$V3/app/users" >"$SCRATCH/ls3.txt"
expect_eq "$(grep -c '  node2/app/users/' "$SCRATCH/ls3.txt")" \
  "$(find "$SCRATCH"/nodes/node2/app/users-* -type f | wc -l | tr -d ' ')" "node2's users files listed"
grep -q '  app/users/schema.cql$' "$SCRATCH/ls3.txt" || fail "ls of $V3 lacks the reconciled files"
strata restore "$V3" --node node2 --to "$SCRATCH/node2" --json >"$SCRATCH/restore.json"
expect_eq "$(ls "$SCRATCH/node2")" node2 "top directory of restore --node node2"
data_sums "$SCRATCH/nodes/node2" >"$SCRATCH/want.node2"
restored_sums "$SCRATCH/node2/node2" >"$SCRATCH/have.node2"
expect_same "$SCRATCH/want.node2" "$SCRATCH/have.node2" "restore --node node2 of $V3 differs from node2's files"
expect_eq "$(json 'd["files"]' <"$SCRATCH/restore.json")" "$(wc -l <"$SCRATCH/want.node2" | tr -d ' ')" "files of node2"
strata restore "$V3/app/users" --to "$SCRATCH/users.v3" >/dev/null
cmp -s "$SCRATCH/users.v2/app/users/schema.cql" "$SCRATCH/users.v3/app/users/schema.cql" ||
  fail "schema.cql of $V3 differs from $V2's"
expect_eq "$(ls "$SCRATCH/users.v3")" app "restore without --node writes only the reconciled table"
echo "   $(wc -l <"$SCRATCH/have.node2" | tr -d ' ') files of node2 byte-identical"

say "a version of node files (--files) lists and restores per node"
"$STRATA_BIN" -r "$SCRATCH/repo3" init >/dev/null
"$STRATA_BIN" -r "$SCRATCH/repo3" backup --cluster "$SCRATCH/cluster.ini" --files >/dev/null
"$STRATA_BIN" -r "$SCRATCH/repo3" ls latest/app/users >"$SCRATCH/ls4.txt"
if grep -Ev '^ *[0-9]+  node[123]/app/users/' "$SCRATCH/ls4.txt"; then fail "ls of a --files version: lines above"; fi
"$STRATA_BIN" -r "$SCRATCH/repo3" restore latest --to "$SCRATCH/files" >/dev/null
for n in node1 node2 node3; do
  data_sums "$SCRATCH/nodes/$n" >"$SCRATCH/want.$n"
  restored_sums "$SCRATCH/files/$n" >"$SCRATCH/have.$n"
  expect_same "$SCRATCH/want.$n" "$SCRATCH/have.$n" "restore of a --files version differs on $n"
done
expect_eq "$("$STRATA_BIN" -r "$SCRATCH/repo3" versions --json | json 'd[0]["reconciled"], "report" in d[0]')" \
  "False False" "a --files version is not reconciled"
expect_eq "$("$STRATA_BIN" -r "$SCRATCH/repo3" stats --json | json 'd["by_version"][0]["logical_bytes"]')" \
  "$(find "$SCRATCH"/nodes/node* -type f -printf '%s\n' | awk '{s += $1} END {print s}')" \
  "logical bytes of a --files version (all its files)"
"$STRATA_BIN" -r "$SCRATCH/repo3" stats --json |
  json '"\n".join("%s.%s %d" % (t["keyspace"], t["table"], t["one_node_bytes_latest"]) for t in d["tables"])' |
  LC_ALL=C sort >"$SCRATCH/stats3.one_node"
one_node_bytes all >"$SCRATCH/one_node.files"
expect_same "$SCRATCH/one_node.files" "$SCRATCH/stats3.one_node" "one node of a --files version (its largest node's files)"

say "a layer's Index.db repeats its Data.db's partition keys: they are stored once"
use_nodes "$RF3"
"$STRATA_BIN" -r "$SCRATCH/repo4" init >/dev/null
"$STRATA_BIN" -r "$SCRATCH/repo4" backup --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56.550666Z >/dev/null
fetched=$("$STRATA_BIN" -r "$SCRATCH/repo4" restore latest/app/users --to "$SCRATCH/users4" --json | json 'd["fetched_bytes"]')
stored=$("$STRATA_BIN" -r "$SCRATCH/repo4" stats --json |
  json '[t["stored_bytes"] for t in d["tables"] if (t["keyspace"], t["table"]) == ("app", "users")][0]')
# Index.db's copies are made from the Data.db just restored, not fetched again
expect_eq "$fetched" "$stored" "bytes a restore of app.users fetched (its stored bytes)"
# each file of the layer is one chunk: compressed alone, they cost what
# storing them without the copies costs
alone=$(for f in "$SCRATCH"/users4/app/users/*; do zstd -3 -c "$f" | wc -c; done | awk '{s += $1} END {print s}')
index=$(zstd -3 -c "$SCRATCH"/users4/app/users/nb-*-Index.db | wc -c)
[ "$stored" -lt $((alone - index / 2)) ] ||
  fail "app.users stores $stored bytes, not under $alone (its files compressed alone) less half of Index.db's $index"
echo "PASS"
