#!/bin/sh
# test_backup_dropped_table.sh - a table dropped and created again under
# its name has two directories, <table>-<old id>/ and <table>-<new id>/;
# the old one's SSTables, when still on disk, are data no node reads any
# more.  Here every node keeps a dropped "events" (with page_counts'
# SSTables, another schema) beside the live one: the backup warns and
# leaves it out, so both the reconciled version and --files restore
# exactly what a backup of the nodes without it restores.  So is a table
# dropped and not created again, whose name system_schema no longer holds
# ("gone", left with SSTables on node1 and node2), but not a table of
# Cassandra's own keyspaces (system.local, which no system_schema lists).
# A node holding the table only under the other id (two nodes created it
# at once) holds the same table's data: it is taken under the live id.
set -eu
. "$(dirname "$0")/lib.sh"

copy_rf3a_nodes
cp -R "$SCRATCH/nodes" "$SCRATCH/plain-nodes"
sed "s#nodes/#plain-nodes/#" "$SCRATCH/cluster.ini" >"$SCRATCH/plain.ini"
for n in node1 node2 node3; do
  old=$SCRATCH/nodes/$n/app/events-0123456789abcdef0123456789abcdef
  mkdir "$old"
  cp "$SCRATCH/nodes/$n/app/"page_counts-*/nb-* "$old/"
done
for n in node1 node2; do
  gone=$SCRATCH/nodes/$n/app/gone-00112233445566778899aabbccddeeff
  mkdir "$gone"
  cp "$SCRATCH/nodes/$n/app/"readings-*/nb-* "$gone/"
done

for mode in reconciled files; do
  flag=
  [ "$mode" = files ] && flag=--files
  say "$mode: the dropped table's directory is left out"
  REPO=$SCRATCH/plain-$mode
  strata init >/dev/null
  strata backup $flag --cluster "$SCRATCH/plain.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>&1
  strata restore latest --to "$SCRATCH/want-$mode" >/dev/null
  REPO=$SCRATCH/repo-$mode
  strata init >/dev/null
  strata backup $flag --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>"$SCRATCH/$mode.err"
  cat "$SCRATCH/$mode.err"
  strata restore latest --to "$SCRATCH/got-$mode" >/dev/null
  restored_sums "$SCRATCH/want-$mode" >"$SCRATCH/want.sums"
  restored_sums "$SCRATCH/got-$mode" >"$SCRATCH/got.sums"
  expect_same "$SCRATCH/want.sums" "$SCRATCH/got.sums" "$mode: the restore differs from the nodes' without the dropped table"
  for n in node1 node2 node3; do
    grep -q "^strata: warning: node $n: app.events: directory events-0123456789abcdef0123456789abcdef is a dropped table's" \
      "$SCRATCH/$mode.err" || fail "no warning about $n's dropped table's directory"
  done
  for n in node1 node2; do
    grep -q "^strata: warning: node $n: app.gone: directory gone-00112233445566778899aabbccddeeff is a dropped table's (system_schema names no such table); left out" \
      "$SCRATCH/$mode.err" || fail "no warning about $n's directory of a table dropped for good"
  done
  ! grep -q "node3: app.gone" "$SCRATCH/$mode.err" || fail "a warning about a directory node3 does not have"
done

say "a table of Cassandra's own keyspaces, which no system_schema lists, is kept"
local_dir=$SCRATCH/nodes/node1/system/local-7ad54392bcdd35a684174e047860b377
mkdir -p "$local_dir"
cp "$SCRATCH/nodes/node1/app/"page_counts-*/nb-* "$local_dir/"
REPO=$SCRATCH/repo-system
strata init >/dev/null
strata backup --files --include-system --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>"$SCRATCH/system.err"
! grep -q "system.local" "$SCRATCH/system.err" || fail "system.local was judged dropped: $(cat "$SCRATCH/system.err")"
[ "$(strata ls latest | grep -c ' node1/system/local/')" -eq "$(ls "$local_dir" | wc -l)" ] ||
  fail "the files of system.local are not all in the version"
rm -rf "$SCRATCH/nodes/node1/system"

say "a node holding the table only under another id (a schema disagreement): its data is the table's"
# node3 holds app.events, its real SSTables, only under the other id
rm -rf "$SCRATCH"/nodes/node3/app/events-0123456789abcdef0123456789abcdef
mv "$SCRATCH"/nodes/node3/app/events-91814540e60111f1b5720f8cceb1328b \
  "$SCRATCH"/nodes/node3/app/events-0123456789abcdef0123456789abcdef
for mode in reconciled files; do
  flag=
  [ "$mode" = files ] && flag=--files
  REPO=$SCRATCH/repo-disagree-$mode
  strata init >/dev/null
  strata backup $flag --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>"$SCRATCH/disagree.err"
  grep -q "^strata: warning: node node3: app.events is only under id 0123456789abcdef0123456789abcdef.*; taken as that table" \
    "$SCRATCH/disagree.err" || fail "$mode: no warning about node3's table under another id: $(cat "$SCRATCH/disagree.err")"
  rm -rf "$SCRATCH/got-$mode"
  strata restore latest --to "$SCRATCH/got-$mode" >/dev/null
  restored_sums "$SCRATCH/want-$mode" >"$SCRATCH/want.sums"
  restored_sums "$SCRATCH/got-$mode" >"$SCRATCH/got.sums"
  expect_same "$SCRATCH/want.sums" "$SCRATCH/got.sums" "$mode: the restore differs from the nodes' where all agree"
  echo "   $mode: node3's app.events taken as the table's, the restore as if all nodes agreed"
done
say "ok"
