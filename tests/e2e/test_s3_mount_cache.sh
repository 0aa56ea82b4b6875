#!/bin/sh
# test_s3_mount_cache.sh - the mount's on-disk chunk cache for a remote
# repository: rf3-a backed up to s3:// (through the logging, signature
# checking proxy), mounted, read whole, unmounted and mounted again; the
# second mount reads every file byte for byte without fetching a single
# byte of a pack, and the cache stays within its size limit.
set -eu
. "$(dirname "$0")/lib.sh"
. tests/s3/lib.sh
s3_mount_test

s3_start_server
s3_start_proxy proxy 0
export STRATA_S3_ENDPOINT="http://127.0.0.1:$PROXY_PORT" STRATA_S3_PATH_STYLE=1
REPO=s3://strata/cache

say "rf3-a v1 backed up to $REPO"
copy_rf3a_nodes
strata init >/dev/null
V=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
for n in node1 node2 node3; do data_sums "$SCRATCH/nodes/$n" >"$SCRATCH/sums.$n"; done

# Reads every node's files of version V out of the mount; compares them.
read_all_and_compare() {
  rm -rf "$SCRATCH/out"
  mkdir -p "$SCRATCH/out"
  for n in node1 node2 node3; do
    cp -R "$MNT/nodes/$n/$V" "$SCRATCH/out/$n"
    sums "$SCRATCH/out/$n" | cmp -s - "$SCRATCH/sums.$n" || fail "$1: $n read through the mount differs"
  done
}
pack_reads() { grep -c '^GET [^ ]*/packs/' "$SCRATCH/proxy.log" || true; }

mkdir -p "$MNT"
say "first mount: every file read, chunks fetched and kept on disk"
strata mount --disk-cache-size 64M --log "$SCRATCH/mount.log" "$MNT"
before=$(pack_reads)
read_all_and_compare "first mount"
unmount_and_wait
first=$(( $(pack_reads) - before ))
[ "$first" -gt 0 ] || fail "the first mount fetched no pack bytes (is the proxy in the path?)"
cache=$(find "$SCRATCH/cache/strata" -path '*/chunks/*' -type f | wc -l | tr -d ' ')
[ "$cache" -gt 0 ] || fail "no chunk in the disk cache"
echo "   $first ranged pack reads, $cache chunks cached"

say "second mount: the same bytes, no pack fetched"
strata mount --disk-cache-size 64M --log "$SCRATCH/mount.log" "$MNT"
before=$(pack_reads)
read_all_and_compare "second mount"
unmount_and_wait
second=$(( $(pack_reads) - before ))
[ "$second" -eq 0 ] || fail "the second mount fetched $second ranges of packs despite the disk cache"
echo "   0 pack reads, all files byte-identical"

say "a damaged cache file is a miss, never wrong bytes"
f=$(find "$SCRATCH/cache/strata" -path '*/chunks/*' -type f | head -1)
printf 'garbage' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
strata mount --disk-cache-size 64M --log "$SCRATCH/mount.log" "$MNT"
read_all_and_compare "mount over a damaged cache file"
unmount_and_wait

say "a small limit keeps the cache small"
rm -rf "$SCRATCH/cache/strata"/*/chunks
strata mount --disk-cache-size 1M --log "$SCRATCH/mount.log" "$MNT"
read_all_and_compare "mount with a 1 MiB disk cache"
unmount_and_wait
bytes=$(find "$SCRATCH/cache/strata" -path '*/chunks/*' -type f -exec cat {} + | wc -c | tr -d ' ')
[ "$bytes" -le 1048576 ] || fail "the disk cache holds $bytes bytes, over its 1 MiB limit"
echo "   $bytes bytes cached under a 1 MiB limit"

say "a version another machine backs up shows in a running mount"
strata mount --log "$SCRATCH/mount.log" "$MNT"
ls "$MNT/versions" >/dev/null
V2=$(XDG_CACHE_HOME="$SCRATCH/other-machine" strata backup --files --cluster "$SCRATCH/cluster.ini" --json |
  json 'd["version"]')
waited=0
while [ ! -d "$MNT/versions/$V2" ] && [ "$waited" -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
[ -d "$MNT/versions/$V2" ] || fail "$V2, backed up with another index, not in the mount after $waited s"
V=$V2
read_all_and_compare "a version another machine backed up"
unmount_and_wait
echo "   $V2 showed after about $waited s and reads byte for byte"

bad=$(awk '$5 == "BAD"' "$SCRATCH/proxy.log" | wc -l | tr -d ' ')
[ "$bad" = 0 ] || fail "botocore rejected $bad signatures"
echo "PASS"
