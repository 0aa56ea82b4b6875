#!/bin/sh
# test_sstable_rewrite.sh - `strata sstable rewrite`: with no options the
# copy of a real Cassandra SSTable is byte-identical file by file; with
# --format/--compression/--generation it is converted and dumps to the same
# content; refusals (existing output, bad options) have their exit codes.
set -eu
: "${STRATA_BIN:?}" "${SCRATCH:?}" "${CORPUS:?}"
[ -d "$CORPUS/cluster/rf3-a" ] || { echo "skip: no corpus at $CORPUS"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

node1=$CORPUS/cluster/rf3-a/node1/app
# the compacted users SSTable (trailing empty chunk, dropped column) and the
# events one with wide partitions (row index in Index.db)
for src in "$node1"/users-*/nb-7-big-Data.db "$node1"/events-*/nb-5-big-Data.db \
           "$CORPUS"/scylla/uncompressed-range_tombstones_simple/mc-1-big-Data.db; do
  out=$SCRATCH/same/$(basename "$(dirname "$src")")
  mkdir -p "$out"
  "$STRATA_BIN" -q sstable rewrite "$src" "$out"
  prefix=$(basename "$src" Data.db)
  n=0
  for f in "$(dirname "$src")/$prefix"*; do
    cmp -s "$f" "$out/$(basename "$f")" || fail "$(basename "$f") of $src differs"
    n=$((n + 1))
  done
  expect_eq "$n" 8 "components of $src"
  expect_eq "$(ls -A "$out" | wc -l)" 8 "files written for $src"
done

# converted: another format, compressor and generation; same content
src=$(echo "$node1"/events-*/nb-5-big-Data.db)
conv=$SCRATCH/conv
mkdir -p "$conv"
"$STRATA_BIN" -q sstable rewrite --format oa --compression zstd --generation 42 "$src" "$conv"
for c in Data.db CompressionInfo.db Index.db Summary.db Filter.db Statistics.db Digest.crc32 TOC.txt; do
  [ -f "$conv/oa-42-big-$c" ] || fail "oa-42-big-$c missing"
done
grep -q "ZstdCompressor" "$conv/oa-42-big-CompressionInfo.db" || fail "not Zstd"
"$STRATA_BIN" -q sstable rewrite --format mc --compression none --generation 43 "$src" "$conv"
[ -f "$conv/mc-43-big-CRC.db" ] || fail "uncompressed rewrite has no CRC.db"
"$STRATA_BIN" sstable dump "$src" >"$SCRATCH/a.json"
"$STRATA_BIN" sstable dump "$conv/oa-42-big-Data.db" >"$SCRATCH/b.json"
"$STRATA_BIN" sstable dump "$conv/mc-43-big-Data.db" >"$SCRATCH/c.json"
python3 - "$SCRATCH/a.json" "$SCRATCH/b.json" "$SCRATCH/c.json" <<'PY' || fail "converted content differs"
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k != "position"}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
a, b, c = (strip(json.load(open(p))) for p in sys.argv[1:])
assert a == b, "oa/zstd copy differs"
assert a == c, "mc/uncompressed copy differs"
PY

# refusals
rc=0; "$STRATA_BIN" sstable rewrite "$src" "$SCRATCH/same/$(basename "$(dirname "$src")")" 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 1 "exit code when the SSTable exists"
grep -q "already exists" "$SCRATCH/err" || fail "existing output message: $(cat "$SCRATCH/err")"
rc=0; "$STRATA_BIN" sstable rewrite --compression lzma "$src" "$conv" 2>/dev/null || rc=$?
expect_eq "$rc" 2 "exit code of an unknown compression"
rc=0; "$STRATA_BIN" sstable rewrite "$src" 2>/dev/null || rc=$?
expect_eq "$rc" 2 "exit code without OUTDIR"
rc=0; "$STRATA_BIN" sstable rewrite --format ka "$src" "$conv" 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 1 "exit code of a format not written"
grep -q 'format "ka" is not written' "$SCRATCH/err" || fail "format message: $(cat "$SCRATCH/err")"
rc=0; "$STRATA_BIN" sstable rewrite "$src" "$SCRATCH/missing-dir" 2>/dev/null || rc=$?
expect_eq "$rc" 1 "exit code of a missing OUTDIR"
[ -z "$(ls -A "$conv" | grep '^\.strata-tmp-' || true)" ] || fail "temporary files left behind"
echo "sstable rewrite: ok"
