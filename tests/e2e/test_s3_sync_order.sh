#!/bin/sh
# test_s3_sync_order.sh - a remote repository's index is brought up to date
# while another machine backs up: a mount opened with a fresh cache lists
# the packs (the answer held back) while the other machine stores a pack
# and the version naming it.  Whenever the mount lists that version, it
# must read byte for byte: versions are listed before packs, so every pack
# a listed version names is in the pack listing that follows.
set -eu
. "$(dirname "$0")/lib.sh"
. tests/s3/lib.sh
s3_mount_test

s3_start_server
printf '\n' >"$SCRATCH/rules" # no faults yet
s3_start_proxy slow 0 8 "$SCRATCH/rules"
SLOW_PORT=$PROXY_PORT
s3_start_proxy proxy 0
export STRATA_S3_PATH_STYLE=1 REPO=s3://strata/order
other() { STRATA_S3_ENDPOINT="http://127.0.0.1:$PROXY_PORT" XDG_CACHE_HOME="$SCRATCH/other-machine" strata "$@"; }

say "rf3-a v1 backed up from another machine"
copy_rf3a_nodes
other init >/dev/null
other backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null

say "a mount lists the packs (its answer held back 8 s) while the other machine backs up v2"
printf 'GET list-type=2&prefix=[^&]*packs late 1\n' >"$SCRATCH/rules"
mkdir -p "$MNT"
STRATA_S3_ENDPOINT="http://127.0.0.1:$SLOW_PORT" strata mount --log "$SCRATCH/mount.log" "$MNT" &
mounting=$!
i=0
until grep -q 'packs.* late ok$' "$SCRATCH/slow.log" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || fail "the mount listed no packs"; sleep 0.1
done
echo extra >"$SCRATCH/nodes/node1/app/$(ls "$SCRATCH/nodes/node1/app" | head -1)/nb-500-big-Data.db"
V2=$(other backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
wait $mounting || fail "mount failed"
grep -q 'versions.* fwd - ok$' "$SCRATCH/slow.log" || fail "the mount listed no versions"

say "the mount lists $V2 (at once, or once it looks again) and reads it byte for byte"
wait_listed "$V2" 40
data_sums "$SCRATCH/nodes/node1" >"$SCRATCH/sums.node1"
cp -R "$MNT/nodes/node1/$V2" "$SCRATCH/out" 2>"$SCRATCH/err" || fail "reading $V2: $(head -3 "$SCRATCH/err")"
sums "$SCRATCH/out" | cmp -s - "$SCRATCH/sums.node1" || fail "$V2 read through the mount differs"
unmount_and_wait
echo PASS
