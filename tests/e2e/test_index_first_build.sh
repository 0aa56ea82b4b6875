#!/bin/sh
# test_index_first_build.sh - readers of a repository without an index yet
# (just created, or its index deleted) while another process builds the
# first one: they wait for it rather than fail, and list every version,
# not none.  An index/current that strata did not make as it makes it (a
# directory, left by a copy that followed links; a link leading out of
# index/) is replaced by a rebuilt index, not followed.
set -eu
. "$(dirname "$0")/lib.sh"
command -v flock >/dev/null || { echo "skip: flock missing"; exit 77; }

ids() { strata versions --json | json '" ".join(sorted(v["id"] for v in d))'; }

say "a new repository read by 6 processes at once"
strata init >/dev/null
for i in 1 2 3 4 5 6; do
  (
    rc=0
    "$STRATA_BIN" -r "$REPO" versions --json >"$SCRATCH/out.$i" 2>"$SCRATCH/err.$i" || rc=$?
    echo "$rc" >"$SCRATCH/rc.$i"
  ) &
done
wait
for i in 1 2 3 4 5 6; do
  [ "$(cat "$SCRATCH/rc.$i")" = 0 ] || fail "reader $i exits $(cat "$SCRATCH/rc.$i"): $(cat "$SCRATCH/err.$i")"
  [ "$(json 'len(d)' <"$SCRATCH/out.$i")" = 0 ] || fail "reader $i lists versions in a new repository"
done
echo "   every reader listed no version"

say "rf3-a backed up, its index deleted, index.lock held for 2 s"
copy_rf3a_nodes "$RF3"
strata backup --cluster "$SCRATCH/cluster.ini" >/dev/null 2>>"$SCRATCH/backup.err"
want=$(ids)
[ "$(echo "$want" | wc -w)" -eq 1 ] || fail "versions after a backup: $want"
rm -rf "$REPO/index/current" "$REPO"/index/lmdb-*
hold_lock "$REPO/index/index.lock" 2
have=$(ids 2>"$SCRATCH/err") || fail "versions exits $?: $(cat "$SCRATCH/err")"
wait "$holder"
[ "$have" = "$want" ] || fail "versions lists '$have', expected $want"
grep -q 'waiting for another process to build the index' "$SCRATCH/err" || fail "no word of the wait: $(cat "$SCRATCH/err")"
echo "   the reader waited, then built the index itself: $have"

say "a copy of the repository that followed links: index/current a directory"
cp -RL "$REPO" "$SCRATCH/copy"
[ -d "$SCRATCH/copy/index/current" ] && [ ! -L "$SCRATCH/copy/index/current" ] || fail "cp -RL kept the link"
copy() { "$STRATA_BIN" -r "$SCRATCH/copy" "$@"; }
have=$(copy versions --json 2>"$SCRATCH/err" | json '" ".join(sorted(v["id"] for v in d))') ||
  fail "versions of the copy exits: $(cat "$SCRATCH/err")"
[ "$have" = "$want" ] || fail "the copy lists '$have', expected $want"
copy index rebuild >/dev/null 2>"$SCRATCH/err" || fail "index rebuild of the copy exits $?: $(cat "$SCRATCH/err")"
case $(readlink "$SCRATCH/copy/index/current") in lmdb-*) ;; *) fail "the copy's current: $(ls -l "$SCRATCH/copy/index")" ;; esac
echo "   the copy lists $have; its index rebuilt and named by a link again"

say "index/current leading out of index/ is not followed"
target=$(readlink "$REPO/index/current")
cp -R "$REPO/index/$target" "$SCRATCH/outside"
(cd "$SCRATCH/outside" && sha256sum data.mdb lock.mdb) >"$SCRATCH/outside.sums"
ln -sfn ../../outside "$REPO/index/current"
[ "$(ids)" = "$want" ] || fail "versions lists $(ids)"
case $(readlink "$REPO/index/current") in lmdb-*) ;; *) fail "current still names $(readlink "$REPO/index/current")" ;; esac
(cd "$SCRATCH/outside" && sha256sum -c --quiet "$SCRATCH/outside.sums") || fail "the index outside was changed"
echo "   current replaced by $(readlink "$REPO/index/current"), the directory outside untouched"
echo PASS
