# lib.sh - what the end-to-end tests share, sourced first by each:
# the environment check, messages, the strata wrapper, copies of the real
# cluster rf3-a as node data directories, and sha256 listings.
: "${STRATA_BIN:?}" "${SCRATCH:?}" "${CORPUS:?}"
RF3=$CORPUS/cluster/rf3-a
[ -d "$RF3/node1" ] || { echo "skip: no corpus at $RF3"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }
: "${REPO:=$SCRATCH/repo}"

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
strata() { "$STRATA_BIN" -r "$REPO" "$@"; }
# Fails with MESSAGE, after the first differences, unless files WANT and HAVE are equal.
expect_same() { cmp -s "$1" "$2" || { diff "$1" "$2" | head; fail "$3"; }; }
# Runs CMD..., which must fail with exit 1 and one "strata: error:" line
# on stderr (kept in $SCRATCH/err and shown); MESSAGE says what succeeded
# when it does not fail.
expect_error() { # MESSAGE CMD...
  msg=$1
  shift
  if "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; then fail "$msg"; else rc=$?; fi
  cat "$SCRATCH/err"
  [ "$rc" -eq 1 ] || fail "exit $rc, expected 1"
  [ "$(grep -c '^strata: error:' "$SCRATCH/err")" -eq 1 ] || fail "not one error line"
}
# Prints a Python expression over the JSON document on stdin (bound to d).
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Holds an exclusive flock(1) on FILE for SECONDS in the background, as
# another strata process would, and returns once the lock is taken; the
# holder's pid is in $holder.
hold_lock() { # FILE SECONDS
  rm -f "$SCRATCH/lock.held"
  flock "$1" sh -c 'touch "$1"; sleep "$2"' sh "$SCRATCH/lock.held" "$2" &
  holder=$!
  for _ in $(seq 300); do [ -e "$SCRATCH/lock.held" ] && return 0; sleep 0.01; done
  fail "flock $1 not taken in 3 s"
}

# Copies node1..3 of rf3-a (SRC: $RF3 for v1, $RF3/v2 for v2) to
# $SCRATCH/nodes/ and writes $SCRATCH/cluster.ini naming them.
copy_rf3a_nodes() {
  mkdir -p "$SCRATCH/nodes"
  for n in node1 node2 node3; do cp -R "${1:-$RF3}/$n" "$SCRATCH/nodes/$n"; done
  printf '[cluster]\nname = rf3-a\n' >"$SCRATCH/cluster.ini"
  for n in node1 node2 node3; do printf '[node %s]\ndata_dir = nodes/%s\n' "$n" "$n" >>"$SCRATCH/cluster.ini"; done
}

# sha256 of every file under a node data directory as "<hash>  <path>",
# named as restore names them: <keyspace>/<table>/<path> (table id dropped);
# snapshot directories are not data.
data_sums() {
  (cd "$1" && find . -type f ! -path '*/snapshots/*' -exec sha256sum {} +) |
    sed -E 's#  \./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  \1/\2/#' | LC_ALL=C sort -k2
}

# sha256 of every file under DIR as "<hash>  <path>", sorted by path.
restored_sums() { (cd "$1" && find . -type f -exec sha256sum {} +) | sed 's#  \./#  #' | LC_ALL=C sort -k2; }

# Unmounts $MNT and waits for the mount process (its pid is in the
# "mounted" line of $SCRATCH/mount.log) to end, so a sanitizer report at
# its exit is in the log, which then fails the test.
unmount_and_wait() {
  pid=$(sed -n 's/.*mounted .* (pid \([0-9]*\)).*/\1/p' "$SCRATCH/mount.log" | tail -1)
  fusermount3 -u "$MNT"
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null || fail "the mount process $pid did not end"
  if grep -q "Sanitizer" "$SCRATCH/mount.log"; then fail "sanitizer report in the mount log"; fi
}
