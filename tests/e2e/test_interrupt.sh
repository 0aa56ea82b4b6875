#!/bin/sh
# test_interrupt.sh - Ctrl-C (SIGINT) during backup, restore and verify, on
# rf3-a v1 plus a 60-100 MB random "SSTable" per node (kept as the nodes'
# files) so that each runs long enough to be interrupted: the command exits
# 1 with one "strata: error:" line, a restore leaves no temporary file and
# only whole files under their names (each identical to an uninterrupted
# restore's), a run again with --overwrite completes it, and the
# repository verifies clean after each interruption.
set -eu
. "$(dirname "$0")/lib.sh"

# Runs CMD... with SIGINT as a terminal delivers it (not ignored, as an
# asynchronous command of sh would have it), sends SIGINT after SECONDS and
# prints the exit status (128 + the signal when it killed CMD), or "done"
# when CMD ended before.
interrupt_after() { # SECONDS CMD...
  python3 - "$@" <<'EOF'
import signal, subprocess, sys, time
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
try:
    proc.wait(timeout=float(sys.argv[1]))
    print("done")
except subprocess.TimeoutExpired:
    proc.send_signal(signal.SIGINT)
    rc = proc.wait()
    print(128 - rc if rc < 0 else rc)
EOF
}
# Interrupts CMD... after SECONDS (its stderr in $SCRATCH/err): true when it
# was interrupted, and then it must have exited 1 saying so in one error line;
# false when it ended before or completed its work all the same (exit 0).
interrupted() { # SECONDS CMD...
  rc=$(interrupt_after "$@" 2>"$SCRATCH/err")
  [ "$rc" != done ] && [ "$rc" != 0 ] || return 1
  [ "$rc" -eq 1 ] || { cat "$SCRATCH/err"; fail "$2 interrupted exits $rc, not 1"; }
  [ "$(grep -c '^strata: error: .*interrupted' "$SCRATCH/err")" -eq 1 ] || {
    cat "$SCRATCH/err"
    fail "$2 interrupted does not say so in one error line"
  }
}
verify_clean() { strata verify >"$SCRATCH/verify.out" 2>&1 || { cat "$SCRATCH/verify.out"; fail "verify after $1 exits $?"; }; }

say "rf3-a v1 plus a large random SSTable per node"
copy_rf3a_nodes "$RF3"
chmod -R u+w "$SCRATCH/nodes"
for n in 1 2 3; do
  # in a table system_schema names: another directory would be a dropped
  # table's, left out; unreadable, the table is kept as the nodes' files
  big=$(ls -d "$SCRATCH/nodes/node$n"/app/events-*)/nb-99-big
  head -c $((40 + 20 * n))M /dev/urandom >"$big-Data.db"
  printf 'Data.db\nTOC.txt\n' >"$big-TOC.txt"
done
strata init >/dev/null

say "backup interrupted, then completed"
n=0
for delay in 0.3 0.6 1; do
  if interrupted "$delay" "$STRATA_BIN" -r "$REPO" backup --cluster "$SCRATCH/cluster.ini"; then
    n=$((n + 1))
    [ "$(strata versions --json | json 'len(d)')" -eq 0 ] || fail "an interrupted backup published a version"
    verify_clean "a backup interrupted after ${delay}s"
  fi
done
[ "$n" -gt 0 ] || fail "every backup ended before SIGINT"
echo "   $n backups interrupted, the repository verifies clean after each"
V=$(strata -q backup --cluster "$SCRATCH/cluster.ini" --json 2>/dev/null | json 'd["version"]')
strata restore "$V" --to "$SCRATCH/whole" >/dev/null
restored_sums "$SCRATCH/whole" >"$SCRATCH/whole.sums"

say "restore interrupted: whole files only, no temporary ones; --overwrite completes it"
n=0
for delay in 0.1 0.3 0.6; do
  rm -rf "$SCRATCH/part"
  interrupted "$delay" "$STRATA_BIN" -r "$REPO" restore "$V" --to "$SCRATCH/part" || continue
  n=$((n + 1))
  grep -q "$SCRATCH/part holds part of the restore: run it again with --overwrite" "$SCRATCH/err" ||
    grep -q "restore interrupted$" "$SCRATCH/err" || { cat "$SCRATCH/err"; fail "the error does not say what is left"; }
  tmp=$(find "$SCRATCH/part" -name '*.strata-tmp*' 2>/dev/null)
  [ -z "$tmp" ] || fail "the interrupted restore left temporary files: $tmp"
  restored_sums "$SCRATCH/part" >"$SCRATCH/part.sums"
  # every file written is whole: as in the uninterrupted restore
  LC_ALL=C sort "$SCRATCH/whole.sums" >"$SCRATCH/whole.lines"
  missing=$(LC_ALL=C sort "$SCRATCH/part.sums" | LC_ALL=C comm -23 - "$SCRATCH/whole.lines")
  [ -z "$missing" ] || fail "files of the interrupted restore differ from the whole restore's: $missing"
  echo "   interrupted after ${delay}s: $(wc -l <"$SCRATCH/part.sums" | tr -d ' ') whole files of $(wc -l <"$SCRATCH/whole.sums" | tr -d ' ')"
  verify_clean "a restore interrupted after ${delay}s"
done
[ "$n" -gt 0 ] || fail "every restore ended before SIGINT"
strata restore "$V" --to "$SCRATCH/part" --overwrite >/dev/null
restored_sums "$SCRATCH/part" | expect_same "$SCRATCH/whole.sums" - "the restore run again with --overwrite"

say "verify interrupted"
n=0
for delay in 0.2 0.5; do
  rc=$(interrupt_after "$delay" "$STRATA_BIN" -r "$REPO" verify)
  # 0: it ended as the signal was sent (verify writes nothing either way)
  [ "$rc" = done ] || [ "$rc" -eq 0 ] || n=$((n + 1))
  verify_clean "a verify interrupted after ${delay}s"
done
[ "$n" -gt 0 ] || fail "every verify ended before SIGINT"
echo "PASS"
