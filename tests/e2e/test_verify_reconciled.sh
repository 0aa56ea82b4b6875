#!/bin/sh
# test_verify_reconciled.sh - verify on a repository of reconciled
# versions (rf3-a v1 and v2 at their cuts).  Each kind of damage, done to
# a copy of the intact repository: a flipped byte in a pack holding a
# layer chunk, a pack cut short, a pack deleted, a version object
# corrupted, a version object deleted (then the version lives only in the
# local index, which a lost machine or an index rebuild takes with it).
# verify must exit 3 and name what is damaged and the versions and tables
# it affects, and a table that needs none of it still restores byte for
# byte.  verify --repair writes lost version objects again from the index,
# and after it forgets the chunks of a lost pack or of a damaged layer (the
# first of its table or a later one) the next backup reconciles the
# table that lost them again from the nodes' SSTables, whole.
set -eu
. "$(dirname "$0")/lib.sh"

T1=2026-11-21T23:19:56Z
T2=2026-11-21T23:22:01Z
T3=2026-11-21T23:30:00Z
INTACT=$SCRATCH/intact

# Chunk id, pack key, offset and stored length of every chunk, from the
# packs' trailers (docs/FORMAT.md).
chunk_locations() {
  python3 - "$1" <<'EOF'
import glob, os, struct, sys
root = sys.argv[1]
for path in sorted(glob.glob(root + "/packs/*/*")):
    b = open(path, "rb").read()
    count, tlen = struct.unpack_from("<II", b, len(b) - 48)
    start = len(b) - 48 - tlen
    for i in range(count):
        e = b[start + 65 * i:start + 65 * (i + 1)]
        off, stored = struct.unpack_from("<QI", e, 32)
        print(e[:32].hex(), os.path.relpath(path, root), off, stored)
EOF
}
# A copy of the intact repository to damage, as REPO.
damage_copy() {
  REPO=$SCRATCH/damaged
  rm -rf "$REPO"
  cp -R "$INTACT" "$REPO"
}
# verify of REPO must exit 3 with the output in $SCRATCH/verify.out (text)
# and $SCRATCH/verify.json.
verify_damaged() { # WHAT
  if strata verify >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
  [ "$rc" -eq 3 ] || { cat "$SCRATCH/verify.out"; fail "verify with $1 exits $rc, not 3"; }
  if strata verify --json >"$SCRATCH/verify.json" 2>/dev/null; then rc=0; else rc=$?; fi
  [ "$rc" -eq 3 ] || fail "verify --json with $1 exits $rc, not 3"
  grep '^DAMAGED' "$SCRATCH/verify.out"
}
# verify --repair writes version $T1's object again from the index: the
# object is the intact repository's byte for byte and verify is clean.
repaired_from_index() { # WHAT
  if strata verify --repair >"$SCRATCH/repair.out" 2>&1; then rc=0; else rc=$?; fi
  [ "$rc" -eq 0 ] || { cat "$SCRATCH/repair.out"; fail "verify --repair of $1 exits $rc"; }
  grep -q "^repaired object versions/$T1: written again from the local index" "$SCRATCH/repair.out" ||
    fail "verify --repair does not name the repaired object"
  cmp -s "$INTACT/versions/$T1" "$REPO/versions/$T1" || fail "the repaired object of $T1 differs from the original"
  strata verify >/dev/null || fail "verify after the repair of $1 exits $?"
  echo "   verify --repair wrote versions/$T1 again, byte-identical to the original"
}
# The tables (keyspace/table) and versions verify --json says are affected.
affected() { json '"\n".join(sorted({"%s %s/%s" % (a["version"], a["keyspace"], a["table"]) for a in d["affected"]}))' <"$SCRATCH/verify.json"; }
# The sha256 listing of TABLE of VERSION restored from REPO, in $SCRATCH/NAME.
restore_sums() { # VERSION TABLE NAME
  rm -rf "$SCRATCH/out"
  strata restore "$1/$2" --to "$SCRATCH/out" >/dev/null 2>"$SCRATCH/restore.err" ||
    { cat "$SCRATCH/restore.err"; fail "restore of $1/$2 from $REPO exits $?"; }
  restored_sums "$SCRATCH/out" >"$SCRATCH/$3"
}
# TABLE of VERSION restores from REPO as from the intact repository.
restores_intact() { # VERSION TABLE
  restore_sums "$1" "$2" got
  damaged=$REPO
  REPO=$INTACT
  restore_sums "$1" "$2" want
  REPO=$damaged
  expect_same "$SCRATCH/want" "$SCRATCH/got" "restore of unaffected $1/$2 differs from the intact repository's"
  echo "   $1/$2, which needs none of it, restores byte for byte"
}
# Backs REPO up at $T3, which must say it reconciles TABLE (keyspace.table)
# again after verify --repair forgot chunks of one of its layers.
backup_reconciles_again() { # TABLE
  if strata backup --cluster "$SCRATCH/cluster.ini" --cut "$T3" >/dev/null 2>"$SCRATCH/backup.err"; then rc=0; else rc=$?; fi
  [ "$rc" -eq 0 ] || { cat "$SCRATCH/backup.err"; fail "the backup after the repair exits $rc"; }
  grep -q "$1: 1 of its stored layers lost chunks; reconciled again from every SSTable of the nodes over the 1 whole ones" "$SCRATCH/backup.err" ||
    fail "the backup does not say it reconciles $1 again: $(cat "$SCRATCH/backup.err")"
}
# The rows of TABLE (keyspace/table) in REPO's $T3 are those of the intact
# repository's $T2, in $SCRATCH/rows.$T3 (the merge reads the table's
# schema from system_schema beside it).
rows_as_intact() { # TABLE
  table=$1
  for v in "$REPO $T3" "$INTACT $T2"; do
    set -- $v
    rm -rf "$SCRATCH/rows"
    "$STRATA_BIN" -r "$1" restore "$2" --to "$SCRATCH/rows" >/dev/null
    "$STRATA_BIN" sstable merge --view 2026-11-21T23:22:05Z "$SCRATCH/rows/$table" >"$SCRATCH/rows.$2"
  done
  [ -s "$SCRATCH/rows.$T2" ] && cmp -s "$SCRATCH/rows.$T2" "$SCRATCH/rows.$T3" ||
    fail "$table of $T3 differs from the intact $T2's"
}

say "rf3-a v1 and v2 backed up at their cuts"
copy_rf3a_nodes
REPO=$INTACT
strata init >/dev/null
strata backup --cluster "$SCRATCH/cluster.ini" --cut "$T1" >/dev/null 2>&1
rm -rf "$SCRATCH/nodes"
copy_rf3a_nodes "$RF3/v2"
strata backup --cluster "$SCRATCH/cluster.ini" --cut "$T2" >/dev/null 2>&1
strata verify >/dev/null || fail "verify of the intact repository exits $?"
chunk_locations "$INTACT" >"$SCRATCH/chunks"
# the chunk of v1's layer of app.events (one chunk: its Data.db is below the chunker's maximum)
restore_sums "$T1" app/events events
events_data=$(sed -n 's#  app/events/nb-1-big-Data.db$##p' "$SCRATCH/events")
set -- $(grep "^$events_data " "$SCRATCH/chunks")
[ $# -eq 4 ] || fail "the chunk of v1's app.events layer is in no pack"
PACK=$2
OFFSET=$3
STORED=$4
echo "   v1's app.events layer Data.db is chunk ${events_data%"${events_data#????????????????}"} in $PACK"

say "one byte of that layer chunk flipped"
damage_copy
printf '\377' | dd of="$REPO/$PACK" bs=1 seek=$((OFFSET + STORED / 2)) conv=notrunc 2>/dev/null
verify_damaged "a flipped byte"
grep -q "^damaged chunk $events_data in $PACK: " "$SCRATCH/verify.out" || fail "the damaged chunk is not named"
affected >"$SCRATCH/affected"
printf '%s app/events\n%s app/events\n' "$T1" "$T2" | cmp -s - "$SCRATCH/affected" ||
  fail "affected versions and tables: $(cat "$SCRATCH/affected")"
grep -q "^  affects version $T1 file app/events/nb-1-big-Data.db (chunk " "$SCRATCH/verify.out" ||
  fail "the affected layer file is not named as keyspace/table/file"
echo "   affects app/events of $T1 and $T2 (the layer is carried over), nothing else"
restores_intact "$T2" app/users

say "verify --repair forgets it; the next backup reconciles app.events again over v2's layer, whole"
# the lost layer is the first of the stack, the whole one after it
if strata verify --repair >/dev/null 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 3 ] || fail "verify --repair of a flipped byte exits $rc, not 3"
backup_reconciles_again app.events
! grep -q "stored as the nodes' files" "$SCRATCH/backup.err" ||
  fail "app.events is not reconciled again: $(cat "$SCRATCH/backup.err")"
rows_as_intact app/events
echo "   $T3 holds app.events reconciled, $(wc -l <"$SCRATCH/rows.$T3" | tr -d ' ') rows as in $T2"

# v2's packs hold only what v2 added (v1's chunks, the TOC.txt that all
# layers share among them, are not stored again): damaged, they leave v1 whole.
restore_sums "$T2" app/users users
users2=$(sed -n 's#  app/users/nb-2-big-Data.db$##p' "$SCRATCH/users")
PACK2=$(grep "^$users2 " "$SCRATCH/chunks" | cut -d' ' -f2)
[ -n "$PACK2" ] || fail "the chunk of v2's app.users layer is in no pack"

say "the pack of v2's app.users layer cut short (its trailer lost)"
damage_copy
size=$(wc -c <"$REPO/$PACK2")
truncate -s $((size / 2)) "$REPO/$PACK2"
verify_damaged "a truncated pack"
grep -q "^damaged object $PACK2: " "$SCRATCH/verify.out" || fail "the truncated pack is not named"
# the text names at most 10 files of a version and counts the others
shown=$(grep -c "^  affects version $T2 file " "$SCRATCH/verify.out")
hidden=$(sed -n "s/^  \.\.\. and \([0-9]*\) more files of version $T2 (verify --json names them all)\$/\1/p" "$SCRATCH/verify.out")
all=$(json "len([a for a in d['affected'] if a['version'] == '$T2'])" <"$SCRATCH/verify.json")
[ "$shown" -le 10 ] && [ $((shown + ${hidden:-0})) -eq "$all" ] ||
  fail "$shown files of $T2 named and ${hidden:-0} counted, of $all"
echo "   $shown files of $T2 named, ${hidden:-0} more counted ($all in --json)"
affected >"$SCRATCH/affected"
grep -qx "$T2 app/users" "$SCRATCH/affected" || fail "app/users of $T2 not named as affected"
! grep -q "^$T1 " "$SCRATCH/affected" || fail "$T1 named as affected: $(cat "$SCRATCH/affected")"
echo "   affects $(tr '\n' ' ' <"$SCRATCH/affected")"
restores_intact "$T1" app/users

say "the pack of v2's app.users layer deleted"
damage_copy
rm "$REPO/$PACK2"
verify_damaged "a deleted pack"
grep -q "^damaged chunk $users2 in (no pack): not stored in any readable pack" "$SCRATCH/verify.out" ||
  fail "the chunk of the deleted pack is not named"
affected >"$SCRATCH/affected"
grep -qx "$T2 app/users" "$SCRATCH/affected" || fail "app/users of $T2 not named as affected"
! grep -q "^$T1 " "$SCRATCH/affected" || fail "$T1 named as affected: $(cat "$SCRATCH/affected")"
restores_intact "$T1" app/users

say "verify --repair forgets its chunks; the next backup reconciles app.users again over v1's layer, whole"
if strata verify --repair >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 3 ] || { cat "$SCRATCH/verify.out"; fail "verify --repair of a lost pack exits $rc, not 3"; }
grep "^forgot [1-9][0-9]* damaged or missing chunks in the index" "$SCRATCH/verify.out" ||
  fail "verify --repair does not forget the lost chunks"
# the nodes no longer hold app.users' SSTables of v1 (a disk lost since):
# only v1's layer, still whole, has their facts
for n in node1 node2 node3; do
  for d in "$RF3/$n"/app/users-*/*-Data.db; do
    rm -f "$SCRATCH/nodes/$n/app/$(basename "$(dirname "$d")")/$(basename "${d%-Data.db}")"-*
  done
done
backup_reconciles_again app.users
rows_as_intact app/users
if strata verify --json >"$SCRATCH/verify.json" 2>/dev/null; then rc=0; else rc=$?; fi
affected >"$SCRATCH/affected"
! grep -q "^$T3 " "$SCRATCH/affected" || fail "$T3 named as affected: $(cat "$SCRATCH/affected")"
echo "   $T3 holds app.users whole ($(wc -l <"$SCRATCH/rows.$T3" | tr -d ' ') rows as in $T2); $T2 stays damaged"

say "a version object corrupted"
damage_copy
printf '\377' | dd of="$REPO/versions/$T1" bs=1 seek=100 conv=notrunc 2>/dev/null
verify_damaged "a corrupted version object"
grep -q "^damaged object versions/$T1: " "$SCRATCH/verify.out" || fail "the corrupted version object is not named"
restores_intact "$T2" app/users
repaired_from_index "a corrupted version object"

say "a version object deleted: the version is only in this machine's index"
damage_copy
rm "$REPO/versions/$T1"
verify_damaged "a deleted version object"
grep -q "^damaged object versions/$T1: " "$SCRATCH/verify.out" || fail "the missing version object is not named"
restores_intact "$T2" app/users
repaired_from_index "a deleted version object"

say "a version object corrupted, and the index rebuilt without it: nothing to repair from"
damage_copy
printf '\377' | dd of="$REPO/versions/$T1" bs=1 seek=100 conv=notrunc 2>/dev/null
rm -rf "$REPO/index"
strata index rebuild >/dev/null 2>&1
if strata verify --repair >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 3 ] || { cat "$SCRATCH/verify.out"; fail "verify --repair without the index's copy exits $rc, not 3"; }
grep -q "cannot repair versions/$T1: " "$SCRATCH/verify.out" || fail "verify --repair does not say it cannot repair"
echo "   $(grep "cannot repair" "$SCRATCH/verify.out")"
echo "PASS"
