#!/bin/sh
# test_backup_transient_files.sh - files Cassandra writes for a moment only
# beside the SSTables: <component>.tmp (Statistics.db being rewritten by
# incremental repair or sstablerepairedset, a component streamed in as
# <component>.<uuid>.tmp) and 2.1/2.2's tmp-/tmplink- SSTables, which
# Cassandra deletes when it starts and never puts in a snapshot.  A backup
# (reconciled, --keep-replicas, --files) leaves them out: every restore is
# the one of the nodes without them.  While a "repair" rewrites
# Statistics.db through a .tmp and a rename again and again, in two sizes
# by turns, backups that hard-link the files and backups that read them in
# place (a file that refuses links) all succeed, each holding one of the
# two whole, and none holds a .tmp.  A listing that
# misses Statistics.db (readdir may, while it is renamed) still backs it
# up: its SSTable's TOC.txt names it.
set -eu
. "$(dirname "$0")/lib.sh"

copy_rf3a_nodes
chmod -R u+w "$SCRATCH/nodes"
cp -R "$SCRATCH/nodes" "$SCRATCH/plain-nodes"
sed "s#nodes/#plain-nodes/#" "$SCRATCH/cluster.ini" >"$SCRATCH/plain.ini"
events=$(echo "$SCRATCH"/nodes/node1/app/events-*)
users=$(echo "$SCRATCH"/nodes/node2/app/users-*)
cp "$events/nb-5-big-Statistics.db" "$events/nb-5-big-Statistics.db.tmp"
head -c 4096 /dev/urandom >"$events/nb-5-big-Data.db.0e6f1a40-e601-11f1-b572-0f8cceb1328b.tmp"
cp "$events/nb-5-big-Data.db" "$events/tmp-la-9-big-Data.db"
cp "$events/nb-5-big-Index.db" "$events/tmplink-la-9-big-Index.db"
cp "$users/.users_name_idx/nb-1-big-Statistics.db" "$users/.users_name_idx/nb-1-big-Statistics.db.tmp"

no_tmp_listed() { # WHAT
  ! strata ls latest | grep -E '\.tmp$|/tmp(link)?-' >"$SCRATCH/listed" || {
    cat "$SCRATCH/listed"
    fail "$1: the version holds temporary files"
  }
}

for mode in reconciled keep-replicas files; do
  say "$mode: the temporary files are left out"
  flag=
  [ $mode = reconciled ] || flag=--$mode
  REPO=$SCRATCH/plain-$mode
  strata init >/dev/null
  strata backup $flag --cluster "$SCRATCH/plain.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>&1
  strata restore latest --to "$SCRATCH/want-$mode" >/dev/null
  [ $mode != keep-replicas ] || strata restore latest --node node1 --to "$SCRATCH/want-$mode/node" >/dev/null
  REPO=$SCRATCH/repo-$mode
  strata init >/dev/null
  strata backup $flag --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>"$SCRATCH/err" ||
    { cat "$SCRATCH/err"; fail "$mode: the backup failed"; }
  no_tmp_listed "$mode"
  strata restore latest --to "$SCRATCH/got-$mode" >/dev/null
  [ $mode != keep-replicas ] || strata restore latest --node node1 --to "$SCRATCH/got-$mode/node" >/dev/null
  restored_sums "$SCRATCH/want-$mode" >"$SCRATCH/want.sums"
  restored_sums "$SCRATCH/got-$mode" >"$SCRATCH/got.sums"
  expect_same "$SCRATCH/want.sums" "$SCRATCH/got.sums" "$mode: the restore differs from the nodes' without temporary files"
  echo "   $(wc -l <"$SCRATCH/got.sums" | tr -d ' ') files restored, as from the nodes without them"
done

say "Statistics.db rewritten through a .tmp and a rename during backups"
rm -f "$events"/*.tmp "$events"/tmp*-la-9-*
restored_sums "$SCRATCH/want-files" >"$SCRATCH/want.sums"
say "a listing that misses Statistics.db (renamed meanwhile): its TOC.txt names it"
hide_lib=${STRATA_TEST_HIDE_LIB:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests/hide_dirent.so}
[ -f "$hide_lib" ] || fail "$hide_lib is missing: make build/tests/hide_dirent.so"
hiding() { LD_PRELOAD=$hide_lib STRATA_TEST_HIDE=nb-5-big-Statistics.db \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"; }
! hiding ls "$events" | grep -qx nb-5-big-Statistics.db || fail "the preloaded readdir does not hide the file"
for place in linked in-place; do
  if [ $place = in-place ]; then
    chattr +i "$events/nb-6-big-Data.db" 2>/dev/null || { echo "   in place: skipped (no chattr)"; continue; }
  fi
  REPO=$SCRATCH/hidden-$place
  strata init >/dev/null
  hiding "$STRATA_BIN" -r "$REPO" backup --files --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z \
    >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err"; fail "$place backup failed"; }
  chattr -i "$events/nb-6-big-Data.db" 2>/dev/null || true
  rm -rf "$SCRATCH/hidden"
  strata restore latest --to "$SCRATCH/hidden" >/dev/null
  restored_sums "$SCRATCH/hidden" >"$SCRATCH/got.sums"
  expect_same "$SCRATCH/want.sums" "$SCRATCH/got.sums" "$place backup of a listing without Statistics.db"
  echo "   $place: the restore holds nb-5-big-Statistics.db and every other file"
done

# Two Statistics.db in turn, the second 17 bytes longer, as when an
# incremental repair sets and then clears an SSTable's pending repair id
stats_a=$SCRATCH/stats-a
stats_b=$SCRATCH/stats-b
cp "$events/nb-5-big-Statistics.db" "$stats_a"
{ cat "$stats_a"; printf '%017d' 0; } >"$stats_b"
sum_a=$(sha256sum <"$stats_a" | cut -d' ' -f1)
sum_b=$(sha256sum <"$stats_b" | cut -d' ' -f1)
stop=$SCRATCH/stop-rewriting
(
  while [ ! -e "$stop" ]; do
    for s in "$stats_b" "$stats_a"; do
      cp "$s" "$events/nb-5-big-Statistics.db.tmp"
      mv "$events/nb-5-big-Statistics.db.tmp" "$events/nb-5-big-Statistics.db"
    done
  done
) &
rewriter=$!
trap 'touch "$stop"; chattr -i "$events/nb-6-big-Data.db" 2>/dev/null || true' EXIT INT TERM
for place in linked in-place; do
  if [ $place = in-place ]; then
    # an immutable file refuses links: the node's files are read in place
    chattr +i "$events/nb-6-big-Data.db" 2>/dev/null || { echo "   in place: skipped (no chattr)"; continue; }
  fi
  for i in 1 2 3 4 5; do
    REPO=$SCRATCH/race-$place-$i
    strata init >/dev/null
    strata backup --files --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>"$SCRATCH/err" ||
      { cat "$SCRATCH/err"; fail "$place backup $i failed while Statistics.db was rewritten"; }
    no_tmp_listed "$place backup $i"
    rm -rf "$SCRATCH/race"
    strata restore latest --to "$SCRATCH/race" >/dev/null
    # either Statistics.db, whole
    restored_sums "$SCRATCH/race" | sed "s/^$sum_b /$sum_a /" >"$SCRATCH/got.sums"
    expect_same "$SCRATCH/want.sums" "$SCRATCH/got.sums" "$place backup $i restores other files"
  done
  echo "   $place: 5 backups, each restoring the nodes' files and no .tmp"
done
touch "$stop"
wait "$rewriter"
echo "PASS"
