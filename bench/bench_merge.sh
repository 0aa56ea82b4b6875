#!/bin/sh
# bench/bench_merge.sh - throughput of the merge of replicated tables.
#
# Generates a 3-node RF=3 cluster of about STRATA_BENCH_MB MB with
# strata-gen-cluster (kept in bench/out/merge-cluster and reused while its
# size, seed and generator source are unchanged), then merges each table's
# SSTables of all nodes with Cassandra's reconciliation: once iterating the
# merged stream only, once also writing it as one uncompressed nb SSTable;
# each STRATA_BENCH_RUNS times (default 3); the median and the best pass
# are reported.
# Prints on-disk input MB per CPU second (one core) and rows per second,
# against the target of 150 MB/s per core for the merge.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

make -s strata-gen-cluster build/libstrata.a
bin=$BENCH_OUT/bench_merge
${CC:-cc} -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o "$bin" bench/bench_merge.c build/libstrata.a \
  $(pkg-config --libs liblz4 snappy zlib libzstd jansson openssl libisal) -lm -pthread

data=$BENCH_OUT/merge-cluster
stamp="$STRATA_BENCH_MB $STRATA_BENCH_SEED $(cat tools/gen/*.c tools/gen/*.h | cksum)"
if [ ! -d "$data" ] || [ "$(cat "$data.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$data" "$data.stamp"
  echo "== generating ${STRATA_BENCH_MB} MB (seed $STRATA_BENCH_SEED)"
  measure "$BENCH_OUT/merge-gen.log" ./strata-gen-cluster --out "$data" --mb "$STRATA_BENCH_MB" \
    --seed "$STRATA_BENCH_SEED"
  cat "$BENCH_OUT/merge-gen.log"
  [ "$M_RC" -eq 0 ] || exit 1
  echo "generator: $M_WALL s wall, $M_CPU CPU s, peak RSS $((M_RSS / 1024)) MiB"
  printf '%s\n' "$stamp" >"$data.stamp"
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/bench-merge-XXXXXX")
trap 'rm -rf "$out"' EXIT
echo "== merge of every table across all nodes (load $(cut -d' ' -f1-3 /proc/loadavg))"
"$bin" "$data" "$out" | tee "$BENCH_OUT/merge.txt"
