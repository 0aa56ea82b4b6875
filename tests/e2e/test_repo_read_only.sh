#!/bin/sh
# test_repo_read_only.sh - a repository on read-only media (a read-only
# bind mount: the tests run as root, for whom chmod changes nothing) is
# read with its own index: versions, ls, stats and verify answer as from
# the writable repository, a restore is byte-identical to one made from it,
# nothing is written; backup and index rebuild fail with one error line.
# With its index behind the objects, readers index it in the cache
# directory and still restore the newer version.  Needs root (else skipped).
set -eu
. "$(dirname "$0")/lib.sh"

RO=$SCRATCH/ro
export XDG_CACHE_HOME="$SCRATCH/cache"
ro() { "$STRATA_BIN" -r "$RO" "$@"; }
# Runs a reading command on the read-only repository: the output it gave
# on the writable one (in $SCRATCH/rw.NAME), nothing on stderr.
same_reads() { # NAME ARGS...
  name=$1
  shift
  if ro "$@" >"$SCRATCH/ro.$name" 2>"$SCRATCH/err"; then rc=0; else rc=$?; fi
  cat "$SCRATCH/err"
  [ "$rc" -eq 0 ] || fail "$* on the read-only repository exits $rc"
  [ ! -s "$SCRATCH/err" ] || fail "$* on the read-only repository writes to stderr"
  expect_same "$SCRATCH/rw.$name" "$SCRATCH/ro.$name" "$* differs on the read-only repository"
  echo "   $*: same output"
}

say "rf3-a backed up, restored from the writable repository"
copy_rf3a_nodes
strata init >/dev/null
V1=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
strata restore "$V1" --to "$SCRATCH/rw.v1" >/dev/null || fail "restore of $V1 exits $?"
strata versions --json >"$SCRATCH/rw.versions"
strata ls latest --json >"$SCRATCH/rw.ls"
strata stats --json >"$SCRATCH/rw.stats"
strata verify >"$SCRATCH/rw.verify"

say "the repository bind-mounted read-only"
mkdir -p "$RO"
mount --bind "$REPO" "$RO" 2>/dev/null || { echo "skip: cannot bind-mount"; exit 77; }
trap 'umount "$RO" 2>/dev/null || true' EXIT INT TERM
mount -o remount,bind,ro "$RO" 2>/dev/null || { echo "skip: cannot remount read-only"; exit 77; }
if touch "$RO/probe" 2>/dev/null; then fail "$RO is writable"; fi
(cd "$REPO" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2) >"$SCRATCH/repo.sums"

say "reading commands use the repository's own index"
same_reads versions versions --json
same_reads ls ls latest --json
same_reads stats stats --json
same_reads verify verify
ro restore "$V1" --to "$SCRATCH/ro.v1" >/dev/null || fail "restore of $V1 from the read-only repository exits $?"
diff -r "$SCRATCH/rw.v1" "$SCRATCH/ro.v1" >/dev/null || fail "the restore from the read-only repository differs"
echo "   restore of $V1: $(find "$SCRATCH/ro.v1" -type f | wc -l | tr -d ' ') files byte-identical"
[ ! -e "$XDG_CACHE_HOME/strata" ] || fail "an up-to-date index was copied to the cache directory"

say "writing commands fail with one error line"
expect_error "backup into a read-only repository succeeded" ro backup --files --cluster "$SCRATCH/cluster.ini"
grep -q 'cannot be written: Read-only file system' "$SCRATCH/err" || fail "the error does not say the repository is read-only"
expect_error "index rebuild of a read-only repository succeeded" ro index rebuild
(cd "$REPO" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2) | cmp -s - "$SCRATCH/repo.sums" ||
  fail "the repository changed"

say "the repository's index behind its objects: readers index it in the cache"
cp -R "$REPO/index" "$SCRATCH/index.v1"
for n in node1 node2 node3; do rm -rf "${SCRATCH:?}/nodes/$n"; cp -R "$RF3/v2/$n" "$SCRATCH/nodes/$n"; done
V2=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
strata restore "$V2" --to "$SCRATCH/rw.v2" >/dev/null || fail "restore of $V2 exits $?"
rm -rf "${REPO:?}/index"
cp -R "$SCRATCH/index.v1" "$REPO/index"
ro versions --json 2>"$SCRATCH/err" | json '" ".join(v["id"] for v in d)' >"$SCRATCH/ids" || fail "versions exits $?"
cat "$SCRATCH/err"
[ "$(cat "$SCRATCH/ids")" = "$V1 $V2" ] || fail "versions lists $(cat "$SCRATCH/ids"), expected $V1 $V2"
[ "$(grep -c . "$SCRATCH/err")" -eq 1 ] && grep -q "lacks .* and cannot be written; indexing .* in $XDG_CACHE_HOME/strata/" "$SCRATCH/err" ||
  fail "not one warning saying the index lacks objects and where they are indexed"
ro restore "$V2" --to "$SCRATCH/ro.v2" >/dev/null 2>&1 || fail "restore of $V2 from the read-only repository exits $?"
diff -r "$SCRATCH/rw.v2" "$SCRATCH/ro.v2" >/dev/null || fail "the restore of $V2 from the read-only repository differs"
echo "   restore of $V2: $(find "$SCRATCH/ro.v2" -type f | wc -l | tr -d ' ') files byte-identical"
cmp -s "$SCRATCH/index.v1/current/data.mdb" "$REPO/index/current/data.mdb" || fail "the read-only index changed"
echo "PASS"
