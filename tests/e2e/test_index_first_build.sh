#!/bin/sh
# test_index_first_build.sh - readers of a repository without an index yet
# (just created, or its index deleted) while another process builds the
# first one: they wait for it rather than fail, and list every version,
# not none.
set -eu
. "$(dirname "$0")/lib.sh"
command -v flock >/dev/null || { echo "skip: flock missing"; exit 77; }

ids() { strata versions --json | json '" ".join(sorted(v["id"] for v in d))'; }

say "a new repository read by 6 processes at once"
strata init >/dev/null
for i in 1 2 3 4 5 6; do
  (
    rc=0
    "$STRATA_BIN" -r "$REPO" versions --json >"$SCRATCH/out.$i" 2>"$SCRATCH/err.$i" || rc=$?
    echo "$rc" >"$SCRATCH/rc.$i"
  ) &
done
wait
for i in 1 2 3 4 5 6; do
  [ "$(cat "$SCRATCH/rc.$i")" = 0 ] || fail "reader $i exits $(cat "$SCRATCH/rc.$i"): $(cat "$SCRATCH/err.$i")"
  [ "$(json 'len(d)' <"$SCRATCH/out.$i")" = 0 ] || fail "reader $i lists versions in a new repository"
done
echo "   every reader listed no version"

say "rf3-a backed up, its index deleted, index.lock held for 2 s"
copy_rf3a_nodes "$RF3"
strata backup --cluster "$SCRATCH/cluster.ini" >/dev/null 2>>"$SCRATCH/backup.err"
want=$(ids)
[ "$(echo "$want" | wc -w)" -eq 1 ] || fail "versions after a backup: $want"
rm -rf "$REPO/index/current" "$REPO"/index/lmdb-*
flock "$REPO/index/index.lock" sleep 2 &
holder=$!
sleep 0.3
have=$(ids 2>"$SCRATCH/err") || fail "versions exits $?: $(cat "$SCRATCH/err")"
wait "$holder"
[ "$have" = "$want" ] || fail "versions lists '$have', expected $want"
grep -q 'waiting for another process to build the index' "$SCRATCH/err" || fail "no word of the wait: $(cat "$SCRATCH/err")"
echo "   the reader waited, then built the index itself: $have"
echo PASS
