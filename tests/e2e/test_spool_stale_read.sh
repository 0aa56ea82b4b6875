#!/bin/sh
# test_spool_stale_read.sh - the backup writes its reconciled layers to
# the spool without fsync, so a write error in writeback would only show
# as stale bytes when the layer is read back to be stored.  With reads of
# the spooled Data.db made stale (an LD_PRELOAD shim), the backup fails
# with one clear error naming the file, stores no version, and leaves a
# repository that verifies; without the shim the same backup succeeds and
# restores the nodes' content.
set -eu
. "$(dirname "$0")/lib.sh"
command -v cc >/dev/null || { echo "skip: no C compiler for the shim"; exit 77; }

cc -shared -fPIC -o "$SCRATCH/stale_read.so" "$(dirname "$0")/stale_read.c" -ldl
copy_rf3a_nodes
strata init >/dev/null

# the sanitizers' runtime is loaded after the shim here, which they accept
stale_backup() {
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$SCRATCH/stale_read.so" \
    "$STRATA_BIN" -r "$REPO" backup --cluster "$SCRATCH/cluster.ini"
}

say "spooled Data.db read back stale: the backup fails, no version"
expect_error "a backup storing stale spool bytes succeeded" stale_backup
grep -q 'strata-layer-.*-Data.db: read back with CRC32 [0-9a-f]*, written with [0-9a-f]*: a write error in the spool' \
  "$SCRATCH/err" || fail "the error does not name the stale file"
[ "$(strata versions --json | json 'len(d)')" -eq 0 ] || fail "a version was stored"
strata verify >/dev/null || fail "the repository does not verify after the failed backup"

say "the same backup without the shim: stored, verified, restored"
V=$(strata backup --cluster "$SCRATCH/cluster.ini" --json 2>"$SCRATCH/err2" | json 'd["version"]')
strata verify >/dev/null || fail "verify after the backup"
strata restore "$V" --to "$SCRATCH/restored" >/dev/null || fail "restore"
[ -n "$(find "$SCRATCH/restored" -name '*-Data.db' | head -1)" ] || fail "nothing restored"
echo "ok"
