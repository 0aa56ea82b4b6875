#!/bin/sh
# bench/bench_reader.sh - decode throughput of the SSTable reader.
#
# Reads the largest SSTables of the real corpus (cluster/rf3-a and the
# legacy wide-partition tables), then one large SSTable made by repeating
# the decompressed content of those tables, stored uncompressed (pure
# decoding) and in 16 KiB LZ4 chunks (decompression, CRC check and
# decoding), and one partition of that size (the rows of the widest rf3-a
# events partition, repeated), and prints MB/s of uncompressed partition
# data, rows/s on one core and the peak memory, which must not grow with
# the partition.  STRATA_BENCH_READER_MB sets the large size (default 512).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${STRATA_BENCH_READER_MB:=512}"

make -s build/libstrata.a
bin=$BENCH_OUT/bench_reader
${CC:-cc} -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o "$bin" bench/bench_reader.c build/libstrata.a \
  $(pkg-config --libs liblz4 snappy zlib libzstd jansson openssl libisal) -lm -pthread

rf3=$STRATA_CORPUS/cluster/rf3-a/node1/app
largest="$rf3/events-*/nb-5-big-Data.db $rf3/users-*/nb-7-big-Data.db $rf3/readings-*/nb-5-big-Data.db
  $STRATA_CORPUS/cassandra-legacy/nb/legacy_tables/legacy_nb_clust/nb-1-big-Data.db
  $STRATA_CORPUS/cassandra-legacy/ma/legacy_tables/legacy_ma_clust/ma-1-big-Data.db"

echo "== reader: largest corpus SSTables (best of 3 runs)"
best() { # runs the scan three times, keeps the fastest TOTAL line
  for i in 1 2 3; do "$bin" scan "$@" | tail -1; done | sort -t' ' -k8 -n -r | head -1
}
# shellcheck disable=SC2086
"$bin" scan $largest
# shellcheck disable=SC2086
best $largest

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-reader-XXXXXX")
trap 'rm -rf "$work"' EXIT
for src in $rf3/events-*/nb-5-big-Data.db $rf3/users-*/nb-7-big-Data.db $rf3/readings-*/nb-5-big-Data.db; do
  table=$(basename "$(dirname "$src")" | cut -d- -f1)
  mkdir -p "$work/plain/$table" "$work/lz4/$table"
  "$bin" grow "$src" "$work/plain/$table/nb-1-big-" $((STRATA_BENCH_READER_MB / 3))
  "$bin" grow "$src" "$work/lz4/$table/nb-1-big-" $((STRATA_BENCH_READER_MB / 3)) lz4
done
echo "== reader: ${STRATA_BENCH_READER_MB} MB of repeated rf3-a content, uncompressed (decode only)"
"$bin" scan "$work"/plain/*/nb-1-big-Data.db | tee "$BENCH_OUT/reader_plain.txt"
echo "== reader: the same in 16 KiB LZ4 chunks (decompress + CRC32 + decode)"
"$bin" scan "$work"/lz4/*/nb-1-big-Data.db | tee "$BENCH_OUT/reader_lz4.txt"
echo "== reader: one ${STRATA_BENCH_READER_MB} MB partition (peak RSS stays flat)"
mkdir -p "$work/wide"
"$bin" widen "$(echo $rf3/events-*/nb-5-big-Data.db)" "$work/wide/nb-1-big-" "$STRATA_BENCH_READER_MB"
"$bin" scan "$work/wide/nb-1-big-Data.db" | tee "$BENCH_OUT/reader_wide.txt"
