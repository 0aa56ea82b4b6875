#!/bin/sh
# test_backup_kill_reconcile.sh - a reconciling backup (the default: no
# replicas kept) killed with SIGKILL at several moments of its run.  After
# each kill every earlier version still restores byte for byte and the
# repository verifies clean; the backup then run to the end gives the same
# version, to the byte, as the same backup into a repository that never
# saw a kill.  The cluster is generated (strata-gen-cluster) large enough
# for a backup to take a while, and grows by new flushes and a compaction
# between versions, so the killed runs reconcile against stored layers.
set -eu
. "$(dirname "$0")/lib.sh"
GEN=${GEN_BIN:-$PWD/strata-gen-cluster}
[ -x "$GEN" ] || fail "no generator at $GEN (make strata-gen-cluster)"
C=$SCRATCH/c

cut_after_writes() { python3 -c "import json; print(json.load(open('$C/gen.json'))['clock'] // 1000000 + 1)"; }
# The restored files of VERSION of repository REPO, as sha256 listing NAME.
restore_sums() { # VERSION NAME
  rm -rf "$SCRATCH/out"
  strata restore "$1" --to "$SCRATCH/out" >/dev/null || fail "restore of $1 from $REPO exits $?"
  restored_sums "$SCRATCH/out" >"$SCRATCH/$2"
}
# Backs up the cluster at CUT into REPO, unless a run not killed in time
# did; the version id in $V.
backup_to_end() { # CUT
  V=$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ)
  [ -f "$REPO/versions/$V" ] && return 0
  strata backup --cluster "$C/cluster.ini" --cut "$1" --json >"$SCRATCH/backup.json" 2>"$SCRATCH/backup.err" ||
    { cat "$SCRATCH/backup.err"; fail "backup at $1 into $REPO exits $?"; }
  V=$(json 'd["version"]' <"$SCRATCH/backup.json")
}

# Kills a backup at CUT after each of the delays, checking the earlier
# versions (ids and sums in $SCRATCH/earlier) after each kill.
kill_backups() { # CUT DELAYS...
  cut=$1
  shift
  for delay in "$@"; do
    "$STRATA_BIN" -r "$REPO" backup --cluster "$C/cluster.ini" --cut "$cut" >"$SCRATCH/killed.out" 2>&1 &
    pid=$!
    sleep "$delay"
    if kill -9 "$pid" 2>/dev/null; then
      wait "$pid" || true
      printf '   killed after %ss: ' "$delay"
    else
      if wait "$pid"; then rc=0; else rc=$?; fi
      [ "$rc" -eq 0 ] || { cat "$SCRATCH/killed.out"; fail "the backup failed by itself"; }
      echo "   ended before ${delay}s"
      return 0
    fi
    if timeout 300 "$STRATA_BIN" -r "$REPO" verify >"$SCRATCH/verify.out" 2>&1; then rc=0; else rc=$?; fi
    [ "$rc" -eq 0 ] || { cat "$SCRATCH/verify.out"; fail "verify after a backup killed at ${delay}s exits $rc"; }
    while read -r id name; do
      restore_sums "$id" now
      cmp -s "$SCRATCH/now" "$SCRATCH/$name" || fail "version $id restores differently after the kill at ${delay}s"
    done <"$SCRATCH/earlier"
    echo "verify clean, $(wc -l <"$SCRATCH/earlier" | tr -d ' ') earlier versions byte-identical"
    # a kill that came after the commit point leaves the version whole;
    # a backup at the same cut again is refused, as it should be
    if [ -f "$REPO/versions/$(date -u -d "@$cut" +%Y-%m-%dT%H:%M:%SZ)" ]; then
      echo "   its version was committed before the kill"
      return 0
    fi
  done
}

say "a generated 3-node RF=3 cluster; version 1 in a repository that never sees a kill"
"$GEN" --out "$C" --mb 150 --seed 5 >/dev/null
CUT1=$(cut_after_writes)
REPO=$SCRATCH/clean
strata init >/dev/null
start=$(date +%s.%N)
backup_to_end "$CUT1"
took=$(python3 -c "import time; print(round(time.time() - $start, 2))")
echo "   version 1 takes ${took}s"
restore_sums "$V" clean.1
delays=$(python3 -c "print(' '.join(str(round($took * f, 2)) for f in (0.15, 0.4, 0.65, 0.9)))")

say "version 1 killed at $delays seconds, then run to the end"
REPO=$SCRATCH/repo
strata init >/dev/null
: >"$SCRATCH/earlier"
kill_backups "$CUT1" $delays
backup_to_end "$CUT1"
restore_sums "$V" got.1
expect_same "$SCRATCH/clean.1" "$SCRATCH/got.1" "version 1 after the kills differs from the one never killed"
echo "   version 1 is the same as the one never killed ($(wc -l <"$SCRATCH/got.1" | tr -d ' ') files)"
echo "$V clean.1" >"$SCRATCH/earlier"

say "new flushes on every node and node2 compacted: version 2"
"$GEN" --out "$C" --next --percent 10 >/dev/null
"$GEN" --out "$C" --compact node2 >/dev/null
CUT2=$(cut_after_writes)
REPO=$SCRATCH/clean
backup_to_end "$CUT2"
restore_sums "$V" clean.2
REPO=$SCRATCH/repo
kill_backups "$CUT2" $delays
backup_to_end "$CUT2"
restore_sums "$V" got.2
expect_same "$SCRATCH/clean.2" "$SCRATCH/got.2" "version 2 after the kills differs from the one never killed"
echo "   version 2 is the same as the one never killed ($(wc -l <"$SCRATCH/got.2" | tr -d ' ') files)"
strata verify >/dev/null || fail "verify after the completed backups exits $?"
echo "PASS"
