#!/bin/sh
# test_backup_kill.sh - a reconciling backup (replicas kept) killed with
# SIGKILL at several moments leaves a repository that verifies clean; the
# next backup completes, restores every node byte for byte and removes the
# killed runs' snapshot links.  The
# nodes are rf3-a v1 plus a few large random
# "SSTables" so that a backup runs for some seconds.
set -eu
. "$(dirname "$0")/lib.sh"

say "rf3-a v1 on three nodes, plus a 50-90 MB random SSTable on each"
for n in 1 2 3; do
  cp -R "$RF3/node$n" "$SCRATCH/node$n"
  chmod -R u+w "$SCRATCH/node$n"
  # in a table system_schema names: another directory would be a dropped
  # table's, left out; unreadable, the table is kept as the nodes' files
  big=$(ls -d "$SCRATCH/node$n"/app/events-*)/nb-99-big
  head -c $((30 + 20 * n))M /dev/urandom >"$big-Data.db"
  head -c 4096 /dev/urandom >"$big-Index.db"
  printf 'Data.db\nIndex.db\nTOC.txt\n' >"$big-TOC.txt"
done
printf '[cluster]\nname = kill\n' >"$SCRATCH/cluster.ini"
for n in 1 2 3; do printf '[node node%s]\ndata_dir = node%s\n' "$n" "$n" >>"$SCRATCH/cluster.ini"; done
strata init >/dev/null

for delay in 0.2 0.5 1 2; do
  say "backup killed after ${delay}s"
  "$STRATA_BIN" -r "$SCRATCH/repo" backup --keep-replicas --cluster "$SCRATCH/cluster.ini" >"$SCRATCH/killed.out" 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" || true
    echo "   killed; $(du -sk "$SCRATCH/repo" | cut -f1) KiB in the repository"
  else
    if wait "$pid"; then rc=0; else rc=$?; fi
    echo "   (the backup had already ended, exit $rc)"
    [ "$rc" -eq 0 ] || { cat "$SCRATCH/killed.out"; fail "the backup failed by itself"; }
  fi
  if timeout 300 "$STRATA_BIN" -r "$SCRATCH/repo" verify >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
  [ "$rc" -eq 0 ] || {
    cat "$SCRATCH/verify.out"
    [ "$rc" -ne 124 ] || fail "verify after a backup killed at ${delay}s hangs (killed after 300 s)"
    fail "verify after a backup killed at ${delay}s exits $rc"
  }
  echo "   verify: clean"
done

say "a backup run to the end after the kills"
strata versions --json >"$SCRATCH/versions.json"
before=$(json 'len(d)' <"$SCRATCH/versions.json")
strata backup --keep-replicas --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/backup.json"
V=$(json 'd["version"]' <"$SCRATCH/backup.json")
strata versions --json >"$SCRATCH/versions.json"
[ "$(json 'len(d)' <"$SCRATCH/versions.json")" -eq $((before + 1)) ] || fail "the completed backup did not add one version"
strata verify >/dev/null || fail "verify after the completed backup exits $?"
left=$(find "$SCRATCH"/node1 "$SCRATCH"/node2 "$SCRATCH"/node3 -name snapshots)
[ -z "$left" ] || fail "snapshot links of the killed backups are still in the data directories: $left"
echo "   the killed backups' snapshot links were removed"

say "restore of $V is byte-identical (the replicas were kept)"
for n in 1 2 3; do
  strata restore "$V" --node "node$n" --to "$SCRATCH/out" >/dev/null
  data_sums "$SCRATCH/node$n" >"$SCRATCH/want.$n"
  restored_sums "$SCRATCH/out/node$n" >"$SCRATCH/got.$n"
  cmp -s "$SCRATCH/want.$n" "$SCRATCH/got.$n" || {
    diff "$SCRATCH/want.$n" "$SCRATCH/got.$n" | head
    fail "node$n differs after restore"
  }
done
echo "   $(cat "$SCRATCH"/got.* | wc -l | tr -d ' ') files byte-identical"
echo "PASS"
