#!/bin/sh
# test_backup_index.sh - the local index is derived data: deleted, it is
# rebuilt by `index rebuild` from the stored objects and every version
# still restores byte for byte; overwritten with garbage, strata reports a
# clear error or rebuilds it, and never crashes.
set -eu
. "$(dirname "$0")/lib.sh"

all_sums() {
  for n in node1 node2 node3; do
    (cd "$SCRATCH/nodes/$n" && find . -type f -exec sha256sum {} +) |
      sed -E "s#  \\./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  $n/\\1/\\2/#"
  done | LC_ALL=C sort -k2
}
check_restore() {
  rm -rf "$SCRATCH/out"
  strata restore "$1" --to "$SCRATCH/out" >/dev/null || fail "restore of $1 exits $?"
  restored_sums "$SCRATCH/out" | cmp -s - "$SCRATCH/sums.$2" || fail "restore of $1 differs from $2"
  echo "   restore of $1 ($2): $(wc -l <"$SCRATCH/sums.$2" | tr -d ' ') files byte-identical"
}
# Exit status of a command that must not crash: 0 or 1, never a signal or a sanitizer report.
no_crash() {
  if "$@" >"$SCRATCH/cmd.out" 2>"$SCRATCH/cmd.err"; then rc=0; else rc=$?; fi
  if grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$SCRATCH/cmd.err" || [ "$rc" -gt 3 ]; then
    cat "$SCRATCH/cmd.err"
    fail "$* crashed (exit $rc)"
  fi
  if [ "$rc" -ne 0 ]; then
    [ "$(grep -c . "$SCRATCH/cmd.err")" -ge 1 ] && grep -q '^strata: error:' "$SCRATCH/cmd.err" ||
      fail "$* failed without an error line: $(cat "$SCRATCH/cmd.err")"
  fi
  return 0
}

say "rf3-a v1 and v2 backed up"
copy_rf3a_nodes
strata init >/dev/null
all_sums >"$SCRATCH/sums.v1"
V1=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
for n in node1 node2 node3; do rm -rf "${SCRATCH:?}/nodes/$n"; cp -R "$RF3/v2/$n" "$SCRATCH/nodes/$n"; done
all_sums >"$SCRATCH/sums.v2"
V2=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
strata versions --json | json '"\n".join(sorted(v["id"] for v in d))' >"$SCRATCH/ids.before"
[ -d "$SCRATCH/repo/index" ] || fail "no index directory at REPO/index"

say "index deleted, then rebuilt from the stored objects"
rm -rf "$SCRATCH/repo/index"
strata index rebuild || fail "index rebuild exits $?"
[ -d "$SCRATCH/repo/index" ] || fail "index rebuild made no REPO/index"
strata versions --json | json '"\n".join(sorted(v["id"] for v in d))' | cmp -s - "$SCRATCH/ids.before" ||
  fail "versions differ after the rebuild"
check_restore "$V1" v1
check_restore "$V2" v2
strata verify >/dev/null || fail "verify after the rebuild exits $?"

say "a reader indexing (index.lock held) delays a backup; a running backup (write.lock) stops one"
hold_lock "$SCRATCH/repo/index/index.lock" 2
start=$(date +%s%N)
strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null 2>"$SCRATCH/wait.err" ||
  fail "backup while a reader indexed exits $?: $(cat "$SCRATCH/wait.err")"
waited=$((($(date +%s%N) - start) / 1000000))
wait "$holder"
grep -q 'waiting for a reader' "$SCRATCH/wait.err" || fail "backup did not say it waited: $(cat "$SCRATCH/wait.err")"
[ "$waited" -ge 1000 ] || fail "backup went on after ${waited} ms while index.lock was held"
hold_lock "$SCRATCH/repo/index/write.lock" 5
start=$(date +%s%N)
if strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null 2>"$SCRATCH/lock.err"; then
  fail "a second backup ran beside a running one"
else rc=$?; fi
took=$((($(date +%s%N) - start) / 1000000))
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
[ "$rc" -eq 1 ] || fail "backup beside a running one exits $rc"
grep -q '^strata: error: .*another backup' "$SCRATCH/lock.err" || fail "no lock error: $(cat "$SCRATCH/lock.err")"
[ "$took" -lt 4000 ] || fail "a second backup waited ${took} ms instead of failing at once"
echo "   waited ${waited} ms for the reader; refused the second backup in ${took} ms"

say "index deleted, no rebuild: the next command copes"
rm -rf "$SCRATCH/repo/index"
no_crash strata versions --json
echo "   versions: exit $rc $(head -c 200 "$SCRATCH/cmd.err")"
check_restore "$V2" v2

say "garbage over REPO/index/current/data.mdb"
for cmd in versions "ls latest" stats verify "restore $V1 --to $SCRATCH/garbage"; do
  head -c 65536 /dev/urandom >"$SCRATCH/repo/index/current/data.mdb"
  # shellcheck disable=SC2086
  no_crash strata $cmd
  echo "   $cmd: exit $rc $(head -1 "$SCRATCH/cmd.err")"
done
no_crash strata backup --files --cluster "$SCRATCH/cluster.ini" --json
echo "   backup: exit $rc $(head -1 "$SCRATCH/cmd.err")"
head -c 65536 /dev/urandom >"$SCRATCH/repo/index/current/data.mdb"
strata index rebuild >/dev/null || fail "index rebuild over a garbage index exits $?"
check_restore "$V1" v1
check_restore "$V2" v2
strata verify >/dev/null || fail "verify after rebuilding a garbage index exits $?"
echo "PASS"
