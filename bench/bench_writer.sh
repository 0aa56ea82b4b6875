#!/bin/sh
# bench/bench_writer.sh - write throughput of the SSTable writer.
#
# Rewrites the largest SSTables of the real corpus (rf3-a and the legacy
# wide-partition table) with their own parameters, then large SSTables
# made by repeating the decompressed content of the rf3-a tables (built
# with bench_reader's grow) and one partition of that size (widen), with
# 16 KiB LZ4 chunks as Cassandra's default, uncompressed (CRC.db) and Zstd.
# Prints the writer's CPU cost as MB/s of uncompressed data per core (the
# rewrite's CPU time less a read-only pass over the same input), the
# wall-clock rate and the peak memory, which must not grow with the
# partition.  STRATA_BENCH_WRITER_MB sets the large size (default 256).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${STRATA_BENCH_WRITER_MB:=256}"

make -s build/libstrata.a
libs="$(pkg-config --libs liblz4 snappy zlib libzstd jansson openssl libisal) -lm -pthread"
bin=$BENCH_OUT/bench_writer
${CC:-cc} -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o "$bin" bench/bench_writer.c build/libstrata.a $libs
grow=$BENCH_OUT/bench_writer_grow
${CC:-cc} -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o "$grow" bench/bench_reader.c build/libstrata.a $libs

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-writer-XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out
mkdir -p "$out"

rf3=$STRATA_CORPUS/cluster/rf3-a/node1/app
largest="$rf3/events-*/nb-5-big-Data.db $rf3/users-*/nb-7-big-Data.db $rf3/readings-*/nb-5-big-Data.db
  $STRATA_CORPUS/cassandra-legacy/nb/legacy_tables/legacy_nb_clust/nb-1-big-Data.db"

echo "== writer: largest corpus SSTables, their own parameters (byte-identical output)"
# shellcheck disable=SC2086
"$bin" "$out" keep $largest
rm -f "$out"/*

for src in $rf3/events-*/nb-5-big-Data.db $rf3/users-*/nb-7-big-Data.db $rf3/readings-*/nb-5-big-Data.db; do
  table=$(basename "$(dirname "$src")" | cut -d- -f1)
  mkdir -p "$work/in/$table"
  "$grow" grow "$src" "$work/in/$table/nb-1-big-" $((STRATA_BENCH_WRITER_MB / 3))
done
for mode in lz4 none zstd; do
  echo "== writer: ${STRATA_BENCH_WRITER_MB} MB of repeated rf3-a content, written as $mode"
  "$bin" "$out" "$mode" "$work"/in/*/nb-1-big-Data.db | tee "$BENCH_OUT/writer_$mode.txt"
  rm -f "$out"/*
done
echo "== writer: one ${STRATA_BENCH_WRITER_MB} MB partition, LZ4 (peak RSS stays flat)"
mkdir -p "$work/wide"
"$grow" widen "$(echo $rf3/events-*/nb-5-big-Data.db)" "$work/wide/nb-1-big-" "$STRATA_BENCH_WRITER_MB"
"$bin" "$out" lz4 "$work/wide/nb-1-big-Data.db" | tee "$BENCH_OUT/writer_wide.txt"
