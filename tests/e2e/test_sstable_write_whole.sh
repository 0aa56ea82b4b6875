#!/bin/sh
# test_sstable_write_whole.sh - `strata sstable rewrite` and `sstable merge
# --to DIR` leave in the output directory either the whole SSTable or none
# of their files, and the files already there as they were: when Ctrl-C
# (SIGINT) or SIGTERM comes while they write (exit 1, one "interrupted"
# error line), when an input turns out damaged after the output began,
# when the disk fills up (root only: a small tmpfs), and when a file of
# one of the new SSTable's names is already there (refused, kept).
# Interrupting needs an SSTable that takes a while to write: a generated
# one (strata-gen-cluster); the rest runs on rf3-a.
set -eu
. "$(dirname "$0")/lib.sh"
GEN=${GEN_BIN:-$PWD/strata-gen-cluster}
[ -x "$GEN" ] || fail "no generator at $GEN (make strata-gen-cluster)"

# Runs CMD... with SIGNAL sent as soon as a temporary file of the writer
# appears in DIR (so while it writes), and prints the exit status (128 +
# the signal when it killed CMD), or "done" when CMD ended before.
signal_while_writing() { # SIGNAL DIR CMD...
  python3 - "$@" <<'EOF'
import os, signal, subprocess, sys, time
sig, out = getattr(signal, sys.argv[1]), sys.argv[2]
proc = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
sent = False
while proc.poll() is None and not sent:
    if any(n.startswith(".strata-tmp-") for n in os.listdir(out)):
        proc.send_signal(sig)
        sent = True
    time.sleep(0.0005)
rc = proc.wait()
print(128 - rc if rc < 0 else rc if sent else "done")
EOF
}
# The output directory holds exactly the file put there before, unchanged.
only_keep() { # DIR WHAT
  left=$(ls -A "$1" | grep -v '^keep\.txt$' || true)
  [ -z "$left" ] || fail "$2 left files behind: $left"
  [ "$(cat "$1/keep.txt")" = "an operator's file" ] || fail "$2 changed the file already there"
}
fresh_out() { rm -rf "$1" && mkdir -p "$1" && echo "an operator's file" >"$1/keep.txt"; }

say "a generated table of one node (a 10 MB SSTable)"
"$GEN" --out "$SCRATCH/gen" --nodes 1 --rf 1 --mb 60 --flush-mb 200 >/dev/null
users=$(echo "$SCRATCH"/gen/node1/gen/users-*)
[ -f "$users/nb-1-big-Data.db" ] || fail "the generator wrote no users SSTable"
# what each writes when not interrupted
mkdir -p "$SCRATCH/whole-rewrite" "$SCRATCH/whole-merge"
"$STRATA_BIN" -q sstable rewrite "$users/nb-1-big-Data.db" "$SCRATCH/whole-rewrite"
"$STRATA_BIN" -q sstable merge --to "$SCRATCH/whole-merge" "$users"
for cmd in rewrite merge; do (cd "$SCRATCH/whole-$cmd" && sha256sum nb-1-big-*) >"$SCRATCH/whole-$cmd.sums"; done

for cmd in rewrite merge; do
  say "$cmd interrupted while writing: no file left, a run again writes the whole SSTable"
  n=0
  for sig in SIGINT SIGTERM SIGINT; do
    fresh_out "$SCRATCH/dst"
    if [ $cmd = rewrite ]; then
      set -- "$STRATA_BIN" sstable rewrite "$users/nb-1-big-Data.db" "$SCRATCH/dst"
    else
      set -- "$STRATA_BIN" sstable merge --to "$SCRATCH/dst" "$users"
    fi
    rc=$(signal_while_writing $sig "$SCRATCH/dst" "$@" 2>"$SCRATCH/err")
    [ "$rc" != done ] || continue
    n=$((n + 1))
    [ "$rc" -eq 1 ] || { cat "$SCRATCH/err"; fail "$cmd given $sig exits $rc, not 1"; }
    [ "$(grep -c '^strata: error: .*interrupted' "$SCRATCH/err")" -eq 1 ] ||
      { cat "$SCRATCH/err"; fail "$cmd given $sig does not say so in one error line"; }
    only_keep "$SCRATCH/dst" "$cmd given $sig"
  done
  [ "$n" -gt 0 ] || fail "every $cmd ended before the signal"
  "$@" 2>/dev/null
  (cd "$SCRATCH/dst" && sha256sum -c --quiet "$SCRATCH/whole-$cmd.sums") || fail "the $cmd run again differs"
  [ "$(ls -A "$SCRATCH/dst" | wc -l)" -eq 9 ] || fail "the $cmd run again wrote other files: $(ls -A "$SCRATCH/dst")"
  echo "   $n of 3 interrupted, nothing left each time; run again, the SSTable is whole"
done

say "a file of the new SSTable's names already there: refused and kept"
node1_events=$(echo "$RF3"/node1/app/events-*)
fresh_out "$SCRATCH/taken"
echo "an operator's index" >"$SCRATCH/taken/nb-5-big-Index.db"
expect_error "a rewrite replaced nb-5-big-Index.db" \
  "$STRATA_BIN" sstable rewrite "$node1_events/nb-5-big-Data.db" "$SCRATCH/taken"
grep -q "nb-5-big-Index.db already exists" "$SCRATCH/err" || fail "the error does not name the file"
[ "$(cat "$SCRATCH/taken/nb-5-big-Index.db")" = "an operator's index" ] || fail "the file there was replaced"
rm "$SCRATCH/taken/nb-5-big-Index.db"
only_keep "$SCRATCH/taken" "the refused rewrite"
echo "$SCRATCH/taken/nb-1-big-Statistics.db" >"$SCRATCH/taken/nb-1-big-Statistics.db"
expect_error "a merge replaced nb-1-big-Statistics.db" \
  "$STRATA_BIN" sstable merge --to "$SCRATCH/taken" "$RF3"/node*/app/events-*
[ "$(cat "$SCRATCH/taken/nb-1-big-Statistics.db")" = "$SCRATCH/taken/nb-1-big-Statistics.db" ] ||
  fail "the merge replaced the file there"

say "merge --to with an input damaged past what it already wrote: nothing left"
copy_rf3a_nodes
chmod -R u+w "$SCRATCH/nodes"
damaged=$(echo "$SCRATCH"/nodes/node3/app/events-*/nb-1-big-Data.db)
size=$(wc -c <"$damaged")
printf 'XXXXXXXX' | dd of="$damaged" bs=1 seek=$((size - 200)) conv=notrunc 2>/dev/null
fresh_out "$SCRATCH/dst"
expect_error "a merge of a damaged SSTable succeeded" \
  "$STRATA_BIN" sstable merge --to "$SCRATCH/dst" "$SCRATCH"/nodes/node*/app/events-*
grep -q "checksum mismatch" "$SCRATCH/err" || fail "the error does not name the damage"
only_keep "$SCRATCH/dst" "the failed merge"

say "a full disk (tmpfs) at several points of the write: nothing left"
mkdir -p "$SCRATCH/small"
if mount -t tmpfs -o size=4m tmpfs "$SCRATCH/small" 2>/dev/null; then
  trap 'umount "$SCRATCH/small" 2>/dev/null || true' EXIT INT TERM
  # Data.db is 10 MB, Index.db 2.3 MB: the space runs out in Data.db, then
  # in Index.db, then in the last components
  for kib in 4096 10100 12400; do
    umount "$SCRATCH/small"
    mount -t tmpfs -o size=${kib}k tmpfs "$SCRATCH/small"
    echo "an operator's file" >"$SCRATCH/small/keep.txt"
    for cmd in rewrite merge; do
      if [ $cmd = rewrite ]; then
        expect_error "a rewrite into ${kib} KiB succeeded" \
          "$STRATA_BIN" sstable rewrite "$users/nb-1-big-Data.db" "$SCRATCH/small"
      else
        expect_error "a merge into ${kib} KiB succeeded" \
          "$STRATA_BIN" sstable merge --to "$SCRATCH/small" "$users"
      fi
      grep -q "No space left" "$SCRATCH/err" || fail "the error does not say the disk is full"
      only_keep "$SCRATCH/small" "$cmd into ${kib} KiB"
    done
  done
else
  echo "   skipped: cannot mount a tmpfs"
fi
echo "PASS"
