#!/bin/sh
# test_restore_stale.sh - restore never leaves a table directory holding
# SSTables of another version: rf3-a v1 then v2 backed up reconciled and
# as node files (--files); restoring v1 of app.users where v2's was
# restored fails before writing, with or without --overwrite, naming the
# directory and a file of v2 (also one in an index subdirectory), and
# changes nothing; into a fresh directory it works, and --overwrite still
# replaces the files of the same version.  A file of the same name (one
# table already restored there) also makes a restore of the whole version
# without --overwrite fail before it writes any other table.
set -eu
. "$(dirname "$0")/lib.sh"

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }
backup() { strata backup --cluster "$SCRATCH/cluster.ini" "$@" --json | json 'd["version"]'; }
use_nodes() {
  rm -rf "$SCRATCH/nodes"
  copy_rf3a_nodes "$1"
  chmod -R u+w "$SCRATCH/nodes"
}
# Restores VERSION/app/users to DIR with ARGS...: must fail naming
# DIR/TABLE_DIR and the file FILE (a regex), and leave DIR as it was.
expect_refused() { # VERSION DIR TABLE_DIR FILE ARGS...
  v=$1 dir=$2 table_dir=$3 file=$4
  shift 4
  restored_sums "$dir" >"$SCRATCH/before"
  expect_error "restore of $v/app/users over $table_dir succeeded" strata restore "$v/app/users" --to "$dir" "$@"
  grep -Eq "^strata: error: $dir/$table_dir holds $file, .*empty directory or remove" "$SCRATCH/err" ||
    fail "the error does not name $dir/$table_dir and $file"
  restored_sums "$dir" | expect_same "$SCRATCH/before" - "the refused restore changed $dir"
}

say "rf3-a v1 and v2, reconciled and as node files"
strata init >/dev/null
use_nodes "$RF3"
V1=$(backup)
F1=$(backup --files)
use_nodes "$RF3/v2"
V2=$(backup)
F2=$(backup --files)

say "a reconciled v1 restore over v2's two layers is refused"
strata restore "$V2/app/users" --to "$SCRATCH/ow" >/dev/null
[ -f "$SCRATCH/ow/app/users/nb-2-big-Data.db" ] || fail "$V2/app/users has no second layer"
strata ls "$V1/app/users" | grep -q 'nb-2-big-' && fail "$V1/app/users has a second layer"
expect_refused "$V1" "$SCRATCH/ow" app/users 'nb-2-big-[A-Za-z0-9.]+' --overwrite
expect_refused "$V1" "$SCRATCH/ow" app/users 'nb-2-big-[A-Za-z0-9.]+'

say "into a fresh directory it works; --overwrite replaces the same version's files"
strata restore "$V1/app/users" --to "$SCRATCH/fresh" >/dev/null
strata ls "$V1/app/users" | sed 's#.*  ##' | LC_ALL=C sort >"$SCRATCH/want"
(cd "$SCRATCH/fresh" && find . -type f | sed 's#^\./##' | LC_ALL=C sort) >"$SCRATCH/have"
expect_same "$SCRATCH/want" "$SCRATCH/have" "files of $V1/app/users in a fresh directory"
# what an interrupted restore leaves, Cassandra's temporary files (which a
# node deletes when it starts) and files that are no SSTable, stay
touch "$SCRATCH/ow/app/users/nb-9-big-Data.db.strata-tmp" "$SCRATCH/ow/app/users/notes.txt" \
  "$SCRATCH/ow/app/users/nb-9-big-Statistics.db.tmp"
strata restore "$V2/app/users" --to "$SCRATCH/ow" --overwrite >/dev/null

say "without --overwrite, one table already restored stops a whole version's restore before it writes"
strata restore "$V1/app/users" --to "$SCRATCH/part" >/dev/null
restored_sums "$SCRATCH/part" >"$SCRATCH/before"
expect_error "restore of $V1 over its own app/users succeeded" strata restore "$V1" --to "$SCRATCH/part"
grep -q "^strata: error: $SCRATCH/part/app/users/nb-1-big-[A-Za-z0-9.]* already exists (use --overwrite" "$SCRATCH/err" ||
  fail "the error does not name the file that exists"
restored_sums "$SCRATCH/part" | expect_same "$SCRATCH/before" - "the refused restore wrote other tables into $SCRATCH/part"
strata restore "$V1" --to "$SCRATCH/part" --overwrite >/dev/null
[ "$(restored_sums "$SCRATCH/part" | wc -l)" -eq "$(strata ls "$V1" | wc -l)" ] || fail "--overwrite did not restore all of $V1"

say "node files: v1 over v2 is refused, and so is a foreign index SSTable"
strata restore "$F2/app/users" --to "$SCRATCH/nf" >/dev/null
expect_refused "$F1" "$SCRATCH/nf" 'node[123]/app/users' '(\.users_name_idx/)?nb-[0-9]+-big-[A-Za-z0-9.]+' --overwrite
strata restore "$F1/app/users" --to "$SCRATCH/nf1" >/dev/null
idx=$SCRATCH/nf1/node2/app/users/.users_name_idx
cp "$idx/nb-1-big-Data.db" "$idx/nb-99-big-Data.db"
expect_refused "$F1" "$SCRATCH/nf1" node2/app/users '\.users_name_idx/nb-99-big-Data\.db' --overwrite
rm "$idx/nb-99-big-Data.db"
strata restore "$F1/app/users" --to "$SCRATCH/nf1" --overwrite >/dev/null
echo "PASS"
