#!/bin/sh
# test_index_rebuild_readers.sh - readers started while `strata index
# rebuild` runs see the whole index: the old one until the new one is
# complete, never a half-built one.  rf3-a's two versions are backed up
# under several cuts; then rebuilds run back to back while `versions
# --json` must list every version and a restore of the newest must be
# byte for byte the one made before.  An index laid out as older strata
# left it (data.mdb directly in index/) still opens, and a rebuild
# replaces it.  A rebuild killed midway leaves the old index in use, and
# its directory is removed by the next command.
set -eu
. "$(dirname "$0")/lib.sh"

ids() { strata versions --json | json '" ".join(sorted(v["id"] for v in d))'; }
envs() { find "$REPO/index" -maxdepth 1 -name 'lmdb-*' | wc -l | tr -d ' '; }

say "rf3-a v1 and v2 backed up under 6 cuts"
copy_rf3a_nodes "$RF3"
strata init >/dev/null
for i in 0 1 2; do
  for v in v1 v2; do
    rm -rf "$SCRATCH/nodes"
    if [ "$v" = v1 ]; then copy_rf3a_nodes "$RF3"; else copy_rf3a_nodes "$RF3/v2"; fi
    strata backup --cluster "$SCRATCH/cluster.ini" --cut "$((1795300000 + i * 100 + ${v#v}))" >/dev/null \
       2>>"$SCRATCH/backup.err"
  done
done
ids >"$SCRATCH/ids"
[ "$(wc -w <"$SCRATCH/ids")" -eq 6 ] || fail "versions after 6 backups: $(cat "$SCRATCH/ids")"
NEWEST=$(tr ' ' '\n' <"$SCRATCH/ids" | tail -1)
strata restore "$NEWEST" --to "$SCRATCH/want" >/dev/null
restored_sums "$SCRATCH/want" >"$SCRATCH/want.sums"
[ "$(wc -l <"$SCRATCH/want.sums")" -gt 50 ] || fail "restore of $NEWEST wrote $(wc -l <"$SCRATCH/want.sums") files"

say "readers while the index is rebuilt again and again"
rm -f "$SCRATCH/stop"
: >"$SCRATCH/rebuilds"
(
  while [ ! -f "$SCRATCH/stop" ]; do
    strata index rebuild >/dev/null 2>>"$SCRATCH/rebuild.err" || echo "rebuild exits $?" >>"$SCRATCH/rebuild.err"
    echo >>"$SCRATCH/rebuilds"
  done
) &
rebuilder=$!
trap 'touch "$SCRATCH/stop"; wait' EXIT
readers=0
while [ "$readers" -lt 12 ]; do
  readers=$((readers + 1))
  have=$(ids 2>"$SCRATCH/reader.err") || fail "versions exits $?: $(cat "$SCRATCH/reader.err")"
  [ "$have" = "$(cat "$SCRATCH/ids")" ] || fail "reader $readers: versions lists $have"
  rm -rf "$SCRATCH/have"
  strata restore "$NEWEST" --to "$SCRATCH/have" >/dev/null 2>"$SCRATCH/reader.err" ||
    fail "reader $readers: restore of $NEWEST exits $?: $(cat "$SCRATCH/reader.err")"
  restored_sums "$SCRATCH/have" >"$SCRATCH/have.sums"
  expect_same "$SCRATCH/want.sums" "$SCRATCH/have.sums" "reader $readers: the restore of $NEWEST differs"
done
touch "$SCRATCH/stop"
wait "$rebuilder"
trap - EXIT
! grep -v 'waiting for a reader' "$SCRATCH/rebuild.err" || fail "a rebuild failed"
rebuilds=$(wc -l <"$SCRATCH/rebuilds" | tr -d ' ')
[ "$rebuilds" -ge 3 ] || fail "only $rebuilds rebuilds beside $readers readers"
[ ! -e "$REPO/index/data.mdb" ] && [ "$(envs)" -eq 1 ] || fail "left beside the index: $(ls "$REPO/index")"
echo "   $readers readers during $rebuilds rebuilds saw every version"

say "an index laid out as before (data.mdb in index/) still opens"
target=$(readlink "$REPO/index/current")
mv "$REPO/index/$target/data.mdb" "$REPO/index/$target/lock.mdb" "$REPO/index/"
rm -r "$REPO/index/current" "${REPO:?}/index/$target"
[ "$(ids)" = "$(cat "$SCRATCH/ids")" ] || fail "the old layout lists $(ids)"
[ -f "$REPO/index/data.mdb" ] && [ ! -e "$REPO/index/current" ] || fail "opening changed the old layout"
strata index rebuild >/dev/null
[ "$(ids)" = "$(cat "$SCRATCH/ids")" ] || fail "rebuilt from the old layout, versions lists $(ids)"
[ ! -e "$REPO/index/data.mdb" ] && [ ! -e "$REPO/index/lock.mdb" ] && [ "$(envs)" -eq 1 ] ||
  fail "the rebuild left the old layout's files: $(ls "$REPO/index")"

say "a rebuild killed midway leaves the old index in use"
target=$(readlink "$REPO/index/current")
tries=0
until [ "$(envs)" -eq 2 ] && [ "$(readlink "$REPO/index/current")" = "$target" ]; do
  tries=$((tries + 1))
  [ "$tries" -le 20 ] || fail "no rebuild killed midway in 20 tries"
  target=$(readlink "$REPO/index/current")
  "$STRATA_BIN" -r "$REPO" index rebuild >/dev/null 2>&1 & # not the function: $! is strata's pid
  rebuild=$!
  until [ "$(envs)" -eq 2 ] || ! kill -0 "$rebuild" 2>/dev/null; do :; done
  kill -9 "$rebuild" 2>/dev/null || true
  wait "$rebuild" 2>/dev/null || true
done
[ "$(ids)" = "$(cat "$SCRATCH/ids")" ] || fail "after a killed rebuild versions lists $(ids)"
[ "$(readlink "$REPO/index/current")" = "$target" ] || fail "the killed rebuild's index is in use"
[ "$(envs)" -eq 1 ] || fail "the killed rebuild's directory stayed: $(ls "$REPO/index")"
echo "   killed after $tries tries; $target still in use, the other one removed"
echo PASS
