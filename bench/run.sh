#!/bin/sh
# bench/run.sh - runs strata's benchmarks (what `make bench` runs).
#
#   sh bench/run.sh            every bench/bench_*.sh, in name order
#   sh bench/run.sh backup     only bench/bench_backup.sh (several names ok)
#
# Each benchmark prints its own report and leaves its figures in bench/out/;
# this script keeps each one's output in bench/out/<name>.log, goes on when
# one fails, and ends with a summary, so one broken benchmark never hides
# the others' figures.  STRATA_BENCH_MB sets the data set size (default
# 1700 MB); see bench/README.md for the other settings.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

if [ $# -gt 0 ]; then
  scripts=""
  for name in "$@"; do
    s=bench/bench_$name.sh
    [ -f "$s" ] || { note "bench: no benchmark '$name' (no $s)"; exit 2; }
    scripts="$scripts $s"
  done
else
  scripts=$(ls bench/bench_*.sh 2>/dev/null || true)
fi
[ -n "$scripts" ] || { note "bench: no benchmarks in bench/"; exit 2; }

echo "strata benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), data set ${STRATA_BENCH_MB} MB"
summary=$BENCH_OUT/summary.txt
: >"$summary"
failed=0
for s in $scripts; do
  name=$(basename "$s" .sh)
  name=${name#bench_}
  echo
  t0=$(now)
  # The exit status has to survive the pipe through tee.
  { r=0; sh "$s" 2>&1 || r=$?; echo "$r" >"$BENCH_OUT/$name.rc"; } | tee "$BENCH_OUT/$name.log"
  rc=$(cat "$BENCH_OUT/$name.rc")
  rm -f "$BENCH_OUT/$name.rc"
  t1=$(now)
  status=ok
  [ "$rc" -eq 0 ] || { status="FAILED (exit $rc)"; failed=1; }
  printf '%-10s %-16s %6.0f s  log: %s\n' "$name" "$status" "$(calc "$t1 - $t0")" \
    "$BENCH_OUT/$name.log" >>"$summary"
done

echo
echo "== summary (load now $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$summary"
exit $failed
