#!/bin/sh
# test_mount_index_rebuild.sh - `strata index rebuild` while the repository
# is mounted.  The rebuild replaces the index file the mount opened; the
# mount moves to the new one, so rf3-a's version 2, backed up after the
# rebuild, appears without remounting, and every file of both versions,
# read through the mount only after the rebuild, is byte for byte what
# `strata restore` writes.  A rebuild beside a running backup is refused
# with one error line.
set -eu
. "$(dirname "$0")/lib.sh"
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }
command -v flock >/dev/null || { echo "skip: flock missing"; exit 77; }
MNT=$SCRATCH/mnt
trap 'fusermount3 -u "$MNT" 2>/dev/null || true' EXIT
fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }

# The cuts of rf3-a's snapshots (its README).
T1=2026-11-21T23:19:56Z
T2=2026-11-21T23:22:01Z
listed() { ls "$MNT/versions" | tr '\n' ' '; }

say "rf3-a version 1 backed up and mounted"
copy_rf3a_nodes "$RF3"
strata init >/dev/null
strata backup --cluster "$SCRATCH/cluster.ini" --cut "$T1" >/dev/null 2>>"$SCRATCH/backup.err"
mkdir "$MNT"
strata mount --log "$SCRATCH/mount.log" "$MNT"
[ "$(listed)" = "$T1 latest " ] || fail "mounted: $(listed)"

say "a rebuild beside a running backup (write.lock held) is refused"
hold_lock "$REPO/index/write.lock" 2
expect_error "index rebuild ran beside a backup" strata index rebuild
wait "$holder"
grep -q '^strata: error: .*another backup or index rebuild is running' "$SCRATCH/err" || fail "no lock error"

say "the index rebuilt under the mount, then version 2 backed up"
inode=$(stat -c %i "$REPO/index/current/data.mdb")
strata index rebuild >/dev/null
[ "$(stat -c %i "$REPO/index/current/data.mdb")" != "$inode" ] || fail "the rebuild kept the index file"
rm -rf "$SCRATCH/nodes"
copy_rf3a_nodes "$RF3/v2"
strata backup --cluster "$SCRATCH/cluster.ini" --cut "$T2" >/dev/null 2>>"$SCRATCH/backup.err"

say "version 2 appears in the mount (it looks every 10 s at most)"
waited=0
until [ "$(listed)" = "$T1 $T2 latest " ]; do
  [ "$waited" -lt 40 ] || fail "after $waited s the mount lists $(listed)"
  sleep 1
  waited=$((waited + 1))
done
[ "$(readlink "$MNT/versions/latest")" = "$T2" ] || fail "latest is $(readlink "$MNT/versions/latest")"
echo "   listed after $waited s"

say "both versions read through the mount as restore writes them"
for v in "$T1" "$T2"; do
  strata restore "$v" --to "$SCRATCH/restore-$v" >/dev/null
  restored_sums "$SCRATCH/restore-$v" >"$SCRATCH/want"
  [ "$(wc -l <"$SCRATCH/want")" -gt 50 ] || fail "$v: restore wrote $(wc -l <"$SCRATCH/want") files"
  restored_sums "$MNT/versions/$v" >"$SCRATCH/have"
  expect_same "$SCRATCH/want" "$SCRATCH/have" "$v read through the mount differs from its restore"
done

unmount_and_wait
if grep -q "error" "$SCRATCH/mount.log"; then fail "errors in the mount log"; fi
echo PASS
