#!/bin/sh
# test_backup_damage.sh - one flipped byte in the middle of a pack: verify
# exits 3, names the damaged chunk and the versions and files that need it;
# a restore that needs the chunk fails instead of writing wrong bytes, and
# tables that do not need it still restore byte for byte.  A pack lost,
# verify --repair forgets its chunks and backups of the same node files
# store them again: every version is whole again.  In a reconciled version
# the files are named as ls lists them.
set -eu
. "$(dirname "$0")/lib.sh"

# <node>/<keyspace>/<table>/<path> and sha256 of every file of the nodes.
all_sums() {
  for n in node1 node2 node3; do
    (cd "$SCRATCH/nodes/$n" && find . -type f -exec sha256sum {} +) |
      sed -E "s#  \\./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  $n/\\1/\\2/#"
  done | LC_ALL=C sort -k2
}
lines_naming() { awk -v v="$1" '{ for (i = 1; i <= NF; i++) if ($i == v) { print; next } }' "$2"; }

say "rf3-a v1 and v2 backed up"
copy_rf3a_nodes
strata init >/dev/null
all_sums >"$SCRATCH/sums.v1"
V1=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
for n in node1 node2 node3; do rm -rf "${SCRATCH:?}/nodes/$n"; cp -R "$RF3/v2/$n" "$SCRATCH/nodes/$n"; done
all_sums >"$SCRATCH/sums.v2"
V2=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
strata verify >/dev/null || fail "verify of the intact repository exits $?"
echo "   $V1 and $V2, verify clean"

# Flips one byte in the middle of the largest pack of repository $1.
flip_pack_byte() {
  pack=$(find "$1/packs" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
  size=$(stat -c %s "$pack")
  off=$((size / 2))
  old=$(od -An -tu1 -j "$off" -N1 "$pack" | tr -d ' ')
  printf "$(printf '\\%03o' $(((old + 1) % 256)))" | dd of="$pack" bs=1 seek="$off" conv=notrunc 2>/dev/null
  [ "$(od -An -tu1 -j "$off" -N1 "$pack" | tr -d ' ')" != "$old" ] || fail "the byte did not change"
  echo "   $pack, byte $off of $size: $old -> $(((old + 1) % 256))"
}

say "one byte in the middle of the largest pack flipped"
flip_pack_byte "$SCRATCH/repo"

say "verify exits 3 and names the chunk, the versions and the files"
if strata verify >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
cat "$SCRATCH/verify.out"
[ "$rc" -eq 3 ] || fail "verify exit $rc, expected 3"
grep -Eq 'damaged chunk [0-9a-f]{64}' "$SCRATCH/verify.out" || fail "no 'damaged chunk <hash>' line"
[ -n "$(lines_naming "$V1" "$SCRATCH/verify.out")$(lines_naming "$V2" "$SCRATCH/verify.out")" ] ||
  fail "no affected version named"
# Every file named must be a file of the version named on the same line.
named=0
for v in "$V1" "$V2"; do
  label=v1
  [ "$v" = "$V2" ] && label=v2
  for f in $(lines_naming "$v" "$SCRATCH/verify.out" | grep -oE 'node[123]/[A-Za-z0-9_]+/[A-Za-z0-9_]+/[^ ]+' || true); do
    awk '{print $2}' "$SCRATCH/sums.$label" | grep -qxF "$f" || fail "verify names $f in $v, which $label does not hold"
    echo "$f" >>"$SCRATCH/affected"
    named=$((named + 1))
  done
done
[ "$named" -gt 0 ] || fail "no affected file named as <node>/<keyspace>/<table>/<path>"
echo "   $named affected file(s) named, each a file of its version"

say "restoring an affected table fails with one error line"
table=$(head -1 "$SCRATCH/affected" | cut -d/ -f2,3)
ver=$V1
grep -qF " $(head -1 "$SCRATCH/affected")" "$SCRATCH/sums.v1" || ver=$V2
if strata restore "$ver/$table" --to "$SCRATCH/bad" 2>"$SCRATCH/restore.err" >/dev/null; then
  restored_sums "$SCRATCH/bad" | awk '{print $1"  "$2}' >"$SCRATCH/bad.sums"
  fail "restore of $ver/$table succeeded over a damaged chunk"
else
  rc=$?
fi
[ "$rc" -eq 1 ] || fail "restore exit $rc, expected 1"
grep -q '^strata: error:' "$SCRATCH/restore.err" || fail "restore error: $(cat "$SCRATCH/restore.err")"
echo "   $(cat "$SCRATCH/restore.err")"
# files written before the damage say the directory is a partial restore
if [ -n "$(find "$SCRATCH/bad" -type f 2>/dev/null)" ]; then
  grep -q "holds part of the restore: once the cause is fixed, run it again with --overwrite" "$SCRATCH/restore.err" ||
    fail "a partial restore not said to be one: $(cat "$SCRATCH/restore.err")"
fi

say "tables that do not need the chunk still restore byte for byte"
for t in app/users app/readings app/events app/page_counts; do
  grep -q "/$t/" "$SCRATCH/affected" && continue
  strata restore "$V2/$t" --to "$SCRATCH/ok.${t#app/}" >/dev/null
  restored_sums "$SCRATCH/ok.${t#app/}" >"$SCRATCH/ok.sums"
  grep -E "  node[123]/$t/" "$SCRATCH/sums.v2" | cmp -s - "$SCRATCH/ok.sums" || fail "restore of $V2/$t differs"
  echo "   $V2/$t: $(wc -l <"$SCRATCH/ok.sums" | tr -d ' ') files byte-identical"
done

say "a pack deleted, verify --repair, the nodes backed up again: every version is whole again"
LOST=$SCRATCH/repo-lost
use_nodes() { rm -rf "$SCRATCH/nodes" && copy_rf3a_nodes "$1"; }
"$STRATA_BIN" -r "$LOST" init >/dev/null
use_nodes "$RF3"
L1=$("$STRATA_BIN" -q -r "$LOST" backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
use_nodes "$RF3/v2"
L2=$("$STRATA_BIN" -q -r "$LOST" backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
rm "$(find "$LOST/packs" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)"
if "$STRATA_BIN" -r "$LOST" verify --repair >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 3 ] || { cat "$SCRATCH/verify.out"; fail "verify --repair of a lost pack exits $rc, not 3"; }
grep "^forgot [1-9][0-9]* damaged or missing chunks" "$SCRATCH/verify.out" || fail "no chunk forgotten"
use_nodes "$RF3"
"$STRATA_BIN" -q -r "$LOST" backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
use_nodes "$RF3/v2"
"$STRATA_BIN" -q -r "$LOST" backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
if "$STRATA_BIN" -r "$LOST" verify >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 0 ] || { cat "$SCRATCH/verify.out"; fail "verify after the nodes were backed up again exits $rc"; }
for v in "$L1 v1" "$L2 v2"; do
  set -- $v
  rm -rf "$SCRATCH/whole"
  "$STRATA_BIN" -r "$LOST" restore "$1" --to "$SCRATCH/whole" >/dev/null
  restored_sums "$SCRATCH/whole" | cmp -s - "$SCRATCH/sums.$2" || fail "restore of $1 differs from $2's files"
  echo "   $1 restores byte for byte again ($(wc -l <"$SCRATCH/sums.$2" | tr -d ' ') files)"
done

say "the indexed copy of a chunk damaged, a good copy in another pack: verify --repair points the index at it"
TWO=$SCRATCH/repo-two-copies
"$STRATA_BIN" -r "$TWO" init >/dev/null
use_nodes "$RF3"
T1=$("$STRATA_BIN" -q -r "$TWO" backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
flip_pack_byte "$TWO"
"$STRATA_BIN" -q -r "$TWO" verify --repair >/dev/null 2>&1 || true
find "$TWO/packs" -type f >"$SCRATCH/packs.before"
# the backup stores the forgotten chunk again, in a new pack
"$STRATA_BIN" -q -r "$TWO" backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
# an index rebuilt while the new pack was away indexes the damaged copy
# first, and keeps it when the new pack comes back (a chunk keeps its first home)
mkdir "$SCRATCH/away"
find "$TWO/packs" -type f | grep -vxF -f "$SCRATCH/packs.before" | while read -r p; do mv "$p" "$SCRATCH/away/"; done
[ -n "$(ls "$SCRATCH/away")" ] || fail "the second backup stored no new pack"
rm -rf "$TWO/index"
"$STRATA_BIN" -q -r "$TWO" index rebuild >/dev/null
for p in "$SCRATCH"/away/*; do n=$(basename "$p"); mv "$p" "$TWO/packs/$(echo "$n" | cut -c1-2)/$n"; done
"$STRATA_BIN" -q -r "$TWO" versions >/dev/null
# restore reads the indexed copy: verify must count the files that need it
if "$STRATA_BIN" -r "$TWO" verify --json >"$SCRATCH/verify.json" 2>/dev/null; then rc=0; else rc=$?; fi
[ "$rc" -eq 3 ] && [ "$(json 'd["affected_files"]' <"$SCRATCH/verify.json")" -gt 0 ] ||
  fail "verify counts no affected file while the index points at a damaged copy (exit $rc)"
if "$STRATA_BIN" -r "$TWO" verify --repair >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
grep -q "^forgot" "$SCRATCH/verify.out" && { cat "$SCRATCH/verify.out"; fail "a chunk with a good copy was forgotten"; }
grep "^moved 1 " "$SCRATCH/verify.out" || { cat "$SCRATCH/verify.out"; fail "the index was not pointed at the good copy"; }
rm -rf "$SCRATCH/whole"
"$STRATA_BIN" -r "$TWO" restore "$T1" --to "$SCRATCH/whole" >/dev/null
restored_sums "$SCRATCH/whole" | cmp -s - "$SCRATCH/sums.v1" || fail "restore of $T1 differs from v1's files"
echo "   $T1 restores byte for byte from the good copy"

say "in a reconciled version, verify names an affected file as ls lists it (keyspace/table/file)"
REC=$SCRATCH/repo-reconciled
"$STRATA_BIN" -r "$REC" init >/dev/null
VR=$("$STRATA_BIN" -q -r "$REC" backup --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
flip_pack_byte "$REC"
if "$STRATA_BIN" -r "$REC" verify >"$SCRATCH/verify.out" 2>&1; then fail "verify of the damaged $REC exits 0"; fi
"$STRATA_BIN" -r "$REC" ls "$VR" | awk '{print $2}' >"$SCRATCH/ls.rec"
sed -n "s/^  affects version $VR file \([^ ]*\) .*/\1/p" "$SCRATCH/verify.out" >"$SCRATCH/affected.rec"
[ -s "$SCRATCH/affected.rec" ] || fail "verify names no file of $VR: $(cat "$SCRATCH/verify.out")"
while read -r f; do
  grep -qxF "$f" "$SCRATCH/ls.rec" || fail "verify names $f, which ls $VR does not list"
done <"$SCRATCH/affected.rec"
echo "   $(wc -l <"$SCRATCH/affected.rec" | tr -d ' ') affected file(s), e.g. $(head -1 "$SCRATCH/affected.rec")"
echo "PASS"
