#!/bin/sh
# test_s3_mount_offline.sh - a mount of an s3:// repository whose endpoint
# stops answering (every listing answered 503 SlowDown, retried for 20 s)
# keeps serving what it has at once: /versions lists the versions indexed
# so far, a version's directory and a file read before come back in well
# under the retry budget, again and again; once the endpoint answers, a
# version another machine backed up meanwhile shows up and reads byte for
# byte.  Unmounted while a look waits on the endpoint, the mount process
# ends at once, not after the retry budget.
set -eu
. "$(dirname "$0")/lib.sh"
. tests/s3/lib.sh
s3_mount_test

s3_start_server
printf '\n' >"$SCRATCH/rules"
s3_start_proxy proxy 0 4 "$SCRATCH/rules"
export STRATA_S3_ENDPOINT="http://127.0.0.1:$PROXY_PORT" STRATA_S3_PATH_STYLE=1 STRATA_S3_RETRY_SECONDS=20
REPO=s3://strata/offline

say "rf3-a v1 backed up to $REPO and mounted"
copy_rf3a_nodes
strata init >/dev/null
V=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
data_sums "$SCRATCH/nodes/node1" >"$SCRATCH/sums.node1"
mkdir -p "$MNT"
strata mount --log "$SCRATCH/mount.log" "$MNT"
ls "$MNT/versions" | grep -qx "$V" || fail "$V is not listed"
F=$(cd "$MNT/nodes/node1/$V" && find . -name '*-Data.db' | head -1)
sha=$(sha256sum <"$MNT/nodes/node1/$V/$F")

# Runs CMD..., which must succeed within 3 s (a refresh of the versions
# waiting for the endpoint takes 20 s).
quick() {
  t0=$(date +%s)
  "$@" >"$SCRATCH/out" || fail "$* failed"
  [ $(($(date +%s) - t0)) -le 3 ] || fail "$* took $(($(date +%s) - t0)) s"
}

say "the endpoint answers every listing with 503: what is known is served at once"
printf 'GET list-type=2 503\n' >"$SCRATCH/rules"
for round in 1 2 3; do
  sleep 11 # past the time between refreshes
  quick ls "$MNT/versions"
  grep -qx "$V" "$SCRATCH/out" || fail "round $round: $V is not listed"
  quick ls "$MNT/nodes/node1/$V"
  quick sha256sum "$MNT/nodes/node1/$V/$F"
  [ "$(cat "$SCRATCH/out" | cut -d' ' -f1)" = "${sha%% *}" ] || fail "round $round: $F reads differently"
  quick ls "$MNT/versions"
done
grep -q "503 ok$" "$SCRATCH/proxy.log" || fail "no listing met the fault"

say "the endpoint answers again: a version another machine backed up shows up"
printf '\n' >"$SCRATCH/rules"
echo extra >"$SCRATCH/nodes/node1/app/$(ls "$SCRATCH/nodes/node1/app" | head -1)/nb-500-big-Data.db"
data_sums "$SCRATCH/nodes/node1" >"$SCRATCH/sums.node1"
V2=$(XDG_CACHE_HOME="$SCRATCH/other-machine" strata backup --files --cluster "$SCRATCH/cluster.ini" --json |
  json 'd["version"]')
wait_listed "$V2" 60
mkdir -p "$SCRATCH/out2"
cp -R "$MNT/nodes/node1/$V2" "$SCRATCH/out2/node1"
sums "$SCRATCH/out2/node1" | cmp -s - "$SCRATCH/sums.node1" || fail "$V2 read through the mount differs"
echo "   $V2 listed after about $waited s, read byte for byte"

say "unmounted while a look waits on the endpoint (503 again): the mount process ends at once"
printf 'GET list-type=2 503\n' >"$SCRATCH/rules"
sleep 11 # past the time between refreshes
met=$(grep -c "503 ok$" "$SCRATCH/proxy.log")
ls "$MNT/versions" >/dev/null
i=0
until [ "$(grep -c "503 ok$" "$SCRATCH/proxy.log")" -gt "$met" ]; do
  i=$((i + 1)); [ $i -lt 50 ] || fail "no look met the fault"; sleep 0.1
done
t0=$(date +%s)
unmount_and_wait
[ $(($(date +%s) - t0)) -le 3 ] || fail "the mount process ended $(($(date +%s) - t0)) s after the unmount"
bad=$(awk '$5 == "BAD"' "$SCRATCH/proxy.log" | wc -l | tr -d ' ')
[ "$bad" = 0 ] || fail "botocore rejected $bad signatures"
echo PASS
