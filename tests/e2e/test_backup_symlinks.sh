#!/bin/sh
# test_backup_symlinks.sh - an SSTable component moved to another disk and
# linked back into its table directory (relative link) is data like any
# other: both the reconciled backup and --files hold it, and a restore of
# the node files gives the original bytes.  Other links (a backups/ folder
# on another disk, a stray link to nothing) are no data and pass silently;
# a component linked to nothing fails the backup, naming it.  The snapshot
# leaves nothing behind.
set -eu
. "$(dirname "$0")/lib.sh"

copy_rf3a_nodes
data_sums "$SCRATCH/nodes/node1" >"$SCRATCH/sums.node1"
table=$(cd "$SCRATCH/nodes/node1/app" && ls -d users-*)
data=$(cd "$SCRATCH/nodes/node1/app/$table" && ls *-Data.db | head -1)
mkdir "$SCRATCH/nodes/elsewhere"
mv "$SCRATCH/nodes/node1/app/$table/$data" "$SCRATCH/nodes/elsewhere/"
ln -s "../../../elsewhere/$data" "$SCRATCH/nodes/node1/app/$table/$data"
ln -s "no-such-file" "$SCRATCH/nodes/node1/app/$table/dangling"
mkdir "$SCRATCH/nodes/elsewhere/backups"
ln -s "$SCRATCH/nodes/elsewhere/backups" "$SCRATCH/nodes/node1/app/$table/backups"
strata init >/dev/null

say "a component linked to nothing fails the backup"
ln -s "no-such-file" "$SCRATCH/nodes/node1/app/$table/nb-99-big-Data.db"
if strata backup --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z >/dev/null 2>"$SCRATCH/b0.err"; then
  fail "a backup with a component linked to nothing succeeded"
fi
grep "error:" "$SCRATCH/b0.err"
grep -q "^strata: error: .*/nb-99-big-Data.db: an SSTable component linked to no file" "$SCRATCH/b0.err" ||
  fail "the error does not name the dangling component: $(cat "$SCRATCH/b0.err")"
rm "$SCRATCH/nodes/node1/app/$table/nb-99-big-Data.db"

say "reconciled: every SSTable is read, the one behind a link too"
REPO=$SCRATCH/plain
strata init >/dev/null
cp -R "$SCRATCH/nodes" "$SCRATCH/plain-nodes"
rm "$SCRATCH/plain-nodes/node1/app/$table/$data" "$SCRATCH/plain-nodes/node1/app/$table/dangling" \
  "$SCRATCH/plain-nodes/node1/app/$table/backups"
cp "$SCRATCH/nodes/elsewhere/$data" "$SCRATCH/plain-nodes/node1/app/$table/"
sed "s#nodes/#plain-nodes/#" "$SCRATCH/cluster.ini" >"$SCRATCH/plain.ini"
strata backup --cluster "$SCRATCH/plain.ini" --cut 2026-11-21T23:19:56Z --json >"$SCRATCH/plain.json" 2>/dev/null
REPO=$SCRATCH/repo
strata backup --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z --json >"$SCRATCH/b1.json" 2>"$SCRATCH/b1.err"
cat "$SCRATCH/b1.err"
! grep -q "warning" "$SCRATCH/b1.err" || fail "a warning about links that are no data"
want=$(json 'd["sstables"]["new"]' <"$SCRATCH/plain.json")
got=$(json 'd["sstables"]["new"]' <"$SCRATCH/b1.json")
[ "$got" = "$want" ] || fail "$got SSTables read with the link, $want without"
strata restore latest/app/users --to "$SCRATCH/r1" >/dev/null
REPO=$SCRATCH/plain strata restore latest/app/users --to "$SCRATCH/r0" >/dev/null
restored_sums "$SCRATCH/r0" >"$SCRATCH/r0.sums"
restored_sums "$SCRATCH/r1" >"$SCRATCH/r1.sums"
expect_same "$SCRATCH/r0.sums" "$SCRATCH/r1.sums" "the reconciled users differ with the linked SSTable"
echo "   $got SSTables read, as without the link; users' layer byte-identical"

say "--files: node1 restores with the linked component's bytes"
strata backup --files --cluster "$SCRATCH/cluster.ini" --json >/dev/null 2>&1
strata restore latest --node node1 --to "$SCRATCH/r2" >/dev/null
restored_sums "$SCRATCH/r2/node1" >"$SCRATCH/r2.sums"
expect_same "$SCRATCH/sums.node1" "$SCRATCH/r2.sums" "node1's files restored differ from the originals"
echo "   node1: $(wc -l <"$SCRATCH/r2.sums" | tr -d ' ') files byte-identical"
[ -z "$(find "$SCRATCH/nodes" -name snapshots)" ] || fail "a snapshot was left in a data directory"
echo "PASS"
