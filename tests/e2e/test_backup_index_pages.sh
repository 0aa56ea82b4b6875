#!/bin/sh
# test_backup_index_pages.sh - garbage inside the local index's pages (the
# LMDB meta pages left intact, so the file still looks like an index):
# every command reports a clear error or rebuilds the index, none crashes,
# and after `index rebuild` the version restores byte for byte.
set -eu
. "$(dirname "$0")/lib.sh"

# LMDB is not instrumented: on garbage pages it can issue a wild memcpy,
# which in production faults and is caught by strata's index guard.  Under
# AddressSanitizer the memcpy interceptor would report it before the fault,
# so this test lets such copies fault as they would in production.
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}intercept_intrin=0"
export ASAN_OPTIONS
# LMDB keeps two 4 KiB meta pages at the start of data.mdb.
garble_pages() {
  python3 -c 'import os,sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(8192); f.write(os.urandom(os.path.getsize(p) - 8192))' "$SCRATCH/repo/index/current/data.mdb"
}

say "rf3-a v1 backed up"
copy_rf3a_nodes
strata init >/dev/null
for n in node1 node2 node3; do
  (cd "$SCRATCH/nodes/$n" && find . -type f -exec sha256sum {} +) |
    sed -E "s#  \\./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  $n/\\1/\\2/#"
done | LC_ALL=C sort -k2 >"$SCRATCH/sums.v1"
V1=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')

say "garbage in the index pages, then each command"
crashed=""
for cmd in versions "ls latest" stats verify "restore $V1 --to $SCRATCH/out.garbled" "backup --files --cluster $SCRATCH/cluster.ini"; do
  garble_pages
  # shellcheck disable=SC2086
  if strata $cmd >"$SCRATCH/cmd.out" 2>"$SCRATCH/cmd.err"; then rc=0; else rc=$?; fi
  if grep -Eq 'AddressSanitizer|runtime error' "$SCRATCH/cmd.err" || [ "$rc" -gt 3 ]; then
    echo "   $cmd: CRASH (exit $rc):"
    grep -m1 -A14 -E 'ERROR|runtime error' "$SCRATCH/cmd.err" | sed 's/^/      | /'
    crashed="$crashed [$cmd]"
  elif [ "$rc" -ne 0 ] && ! grep -q '^strata: error:' "$SCRATCH/cmd.err"; then
    echo "   $cmd: exit $rc without an error line: $(head -3 "$SCRATCH/cmd.err")"
    crashed="$crashed [$cmd]"
  else
    echo "   $cmd: exit $rc $(head -1 "$SCRATCH/cmd.err")"
  fi
done
[ -z "$crashed" ] || fail "crashed on a garbled index:$crashed"

say "index rebuild, then restore"
garble_pages
strata index rebuild >/dev/null || fail "index rebuild over a garbled index exits $?"
strata restore "$V1" --to "$SCRATCH/out" >/dev/null || fail "restore after the rebuild exits $?"
restored_sums "$SCRATCH/out" | cmp -s - "$SCRATCH/sums.v1" || fail "restore after the rebuild differs"
echo "   $(wc -l <"$SCRATCH/sums.v1" | tr -d ' ') files byte-identical"
echo "PASS"
