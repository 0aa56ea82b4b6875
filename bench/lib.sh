# bench/lib.sh - helpers shared by the bench_*.sh scripts (sourced, not run).
#
# Every benchmark needs the same things: the settings `make bench` passes
# down, the synthetic cluster data set, a way to time a command and read its
# peak memory, and a place for results.  Keeping them here means every
# benchmark measures the same way and reports comparable numbers.
#
# Settings (environment):
#   STRATA_BENCH_MB    data set size in MB (10^6 bytes), default 1700
#   STRATA_BENCH_SEED  generator seed, default 1
#   STRATA_BIN         the strata binary, default ./strata of this checkout
#   STRATA_CORPUS      real Cassandra corpus, default ../shared/corpus
#   BENCH_OUT          results directory, default bench/out

BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BENCH_OUT:=$BENCH_ROOT/bench/out}"
: "${STRATA_BENCH_MB:=1700}"
: "${STRATA_BENCH_SEED:=1}"
: "${STRATA_BIN:=$BENCH_ROOT/strata}"
: "${STRATA_CORPUS:=$BENCH_ROOT/../shared/corpus}"
export BENCH_OUT STRATA_BENCH_MB STRATA_BENCH_SEED STRATA_BIN STRATA_CORPUS
mkdir -p "$BENCH_OUT"

note() { printf '%s\n' "$*" >&2; }

now() { date +%s.%N; }

# calc EXPR: floating-point arithmetic, printed with up to 3 decimals.
calc() { awk "BEGIN { v = $1; printf(v == int(v) ? \"%d\\n\" : \"%.3f\\n\", v) }"; }

# The generator is rebuilt when its source changes, so a stale binary never
# produces a different data set than the one the source describes.
gen_binary() {
  gen=$BENCH_OUT/gen_dataset
  if [ ! -x "$gen" ] || [ "$BENCH_ROOT/bench/gen_dataset.c" -nt "$gen" ]; then
    ${CC:-cc} -O2 -std=c11 -Wall -Wextra -D_GNU_SOURCE -o "$gen" \
      "$BENCH_ROOT/bench/gen_dataset.c" -llz4 -lz
  fi
  printf '%s\n' "$gen"
}

# copy_corpus DIR VERSION: the real 3-node cluster's SSTables (v1 or v2) as
# the app and system_schema keyspaces of DIR's nodes, replacing older ones.
copy_corpus() {
  src=$STRATA_CORPUS/cluster/rf3-a
  [ "$2" = v2 ] && src=$src/v2
  if [ ! -d "$src/node1" ]; then
    note "bench: no corpus at $src; data set has synthetic files only"
    return 0
  fi
  for n in 1 2 3; do
    for ks in app system_schema; do
      [ -d "$src/node$n/$ks" ] || continue
      rm -rf "$1/node$n/$ks"
      mkdir -p "$1/node$n"
      cp -R "$src/node$n/$ks" "$1/node$n/$ks"
      chmod -R u+w "$1/node$n/$ks"
    done
  done
}

# bench_dataset DIR: version 1 of the data set in DIR, about STRATA_BENCH_MB
# MB.  Reused when DIR already holds version 1 for the same size, seed and
# generator; DIR.stamp records that outside the tree the tools back up.
bench_dataset() {
  gen=$(gen_binary)
  stamp="v1 $STRATA_BENCH_MB $STRATA_BENCH_SEED $(cksum <"$BENCH_ROOT/bench/gen_dataset.c")"
  if [ -d "$1" ] && [ "$(cat "$1.stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  rm -rf "$1" "$1.stamp" "$1.mb"
  mkdir -p "$1"
  copy_corpus "$1" v1
  corpus=$(du -sb "$1" | cut -f1)
  mb=$(awk "BEGIN { v = $STRATA_BENCH_MB - $corpus / 1e6; print (v < 1 ? 1 : v) }")
  "$gen" "$1" "$mb" "$STRATA_BENCH_SEED"
  printf '%s\n' "$mb" >"$1.mb"
  printf '%s\n' "$stamp" >"$1.stamp"
}

# bench_dataset_v2 DIR: turns version 1 in DIR into version 2 (new flushes,
# a compaction per node, the corpus cluster's second snapshot).
bench_dataset_v2() {
  gen=$(gen_binary)
  rm -f "$1.stamp"
  "$gen" -v2 "$1" "$(cat "$1.mb")" "$STRATA_BENCH_SEED"
  copy_corpus "$1" v2
}

# dataset_bytes DIR: apparent size of every file, what the tools read.
dataset_bytes() { du -sb "$1" | cut -f1; }

# warm DIR: reads every file once so each tool starts with the data set in
# the page cache, rather than whoever runs first paying for the disk.
warm() { find "$1" -type f -exec cat {} + >/dev/null; }

# measure LOG CMD...: runs CMD with its output in LOG; sets M_WALL (seconds),
# M_CPU (user + system seconds, which the machine's other load disturbs far
# less than wall time), M_RSS (peak resident set, KiB) and M_RC.
measure() {
  log=$1
  shift
  t0=$(now)
  M_RC=0
  /usr/bin/time -v -o "$log.time" "$@" >"$log" 2>&1 || M_RC=$?
  t1=$(now)
  M_WALL=$(awk "BEGIN { printf(\"%.2f\", $t1 - $t0) }")
  M_RSS=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$log.time")
  : "${M_RSS:=0}"
  M_CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf("%.2f", s) }' "$log.time")
}
