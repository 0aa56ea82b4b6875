#!/bin/sh
# test_sstable_cli.sh - `strata sstable dump|meta` on real SSTables: content
# as the corpus manifest states it, lookups by key, every path spelling,
# and clear failures (file and offset, exit 1) on damaged or invalid input
# and on a missing path; the examples of the --help texts run.
set -eu
: "${STRATA_BIN:?}" "${SCRATCH:?}" "${CORPUS:?}"
[ -d "$CORPUS/cassandra-legacy" ] || { echo "skip: no corpus at $CORPUS"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

simple=$CORPUS/cassandra-legacy/nb/legacy_tables/legacy_nb_simple
# MANIFEST: pk '0'..'4' in byte order, one row each, val 'foo bar baz'
out=$("$STRATA_BIN" sstable dump "$simple/nb-1-big-Data.db")
expect_eq "$(echo "$out" | json "[p['partition']['key'][0] for p in d]")" "['0', '1', '2', '3', '4']" "simple keys"
expect_eq "$(echo "$out" | json "sorted({c['value'] for p in d for r in p['rows'] for c in r['cells']})")" \
  "['foo bar baz']" "simple values"
# the same SSTable named by prefix, by directory and by DIR/GENERATION
for spelling in "$simple/nb-1-big" "$simple" "$simple/1" "$simple/nb-1-big-Statistics.db"; do
  expect_eq "$("$STRATA_BIN" sstable dump "$spelling" | json "len(d)")" 5 "dump $spelling"
done
# -k: key '3' is 0x33
expect_eq "$("$STRATA_BIN" sstable dump -k 33 "$simple" | json "[p['partition']['key'][0] for p in d]")" "['3']" "dump -k"
expect_eq "$("$STRATA_BIN" sstable dump -k 39 "$simple" | json "len(d)")" 0 "dump -k of a missing key"

# MANIFEST: zstd, 6 chunks of 4 KiB, 22011 bytes, rows val2 = 1..2000
zstd=$CORPUS/scylla/zstd-multiple_chunks
meta=$("$STRATA_BIN" sstable meta "$zstd")
expect_eq "$(echo "$meta" | json "d['compression']['compressor'], d['compression']['chunks'], d['compression']['data_length']")" \
  "ZstdCompressor 6 22011" "zstd meta"
expect_eq "$("$STRATA_BIN" sstable dump "$zstd" | json "[r['clustering'][0] for r in d[0]['rows']] == list(range(1, 2001))")" \
  True "zstd rows"

# rf3-a readings: composite key, DESC timeuuid clustering, static column
readings=$(ls -d "$CORPUS"/cluster/rf3-a/node1/app/readings-*)
meta=$("$STRATA_BIN" sstable meta "$readings/nb-5-big-Data.db")
expect_eq "$(echo "$meta" | json "d['header']['partition_key'], [c['reversed'] for c in d['header']['clustering']]")" \
  "(text, date) [True, False]" "readings header"
"$STRATA_BIN" sstable dump "$readings/nb-5-big-Data.db" >"$SCRATCH/readings.json"
python3 - "$SCRATCH/readings.json" <<'PY' || fail "readings dump"
import json, sys
d = json.load(open(sys.argv[1]))
tokens = [p["partition"]["token"] for p in d]
assert tokens == sorted(tokens), "partitions not in token order"
assert all(len(p["partition"]["key"]) == 2 for p in d)
assert any(r["type"] == "static_block" for p in d for r in p["rows"])
PY

# damage: a flipped byte in Data.db is named with its offset; exit 1
mkdir -p "$SCRATCH/bad"
cp "$CORPUS"/cassandra-legacy/nb/legacy_tables/legacy_nb_clust/nb-1-big-* "$SCRATCH/bad/"
chmod u+w "$SCRATCH"/bad/*
printf '\377' | dd of="$SCRATCH/bad/nb-1-big-Data.db" bs=1 seek=3000 conv=notrunc 2>/dev/null
rc=0; "$STRATA_BIN" sstable dump "$SCRATCH/bad" >/dev/null 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 1 "exit code on a damaged chunk"
grep -q "nb-1-big-Data.db: offset [0-9]*: chunk [0-9]* checksum mismatch" "$SCRATCH/err" || fail "damage message: $(cat "$SCRATCH/err")"

# a whole dump checks Digest.crc32 as well
mkdir -p "$SCRATCH/digest"
cp "$simple"/nb-1-big-* "$SCRATCH/digest/"
chmod u+w "$SCRATCH"/digest/*
echo 12345 >"$SCRATCH/digest/nb-1-big-Digest.crc32"
rc=0; "$STRATA_BIN" sstable dump "$SCRATCH/digest" >/dev/null 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 1 "exit code on a wrong digest"
grep -q "does not match Digest.crc32 (12345)" "$SCRATCH/err" || fail "digest message: $(cat "$SCRATCH/err")"

# Cassandra's invalid-tombstone fixture: rejected, not read as good data
rc=0; "$STRATA_BIN" sstable dump "$CORPUS/cassandra-misc/negative-ldts-invalid-deletions-test/invalid_partition_deletion" \
  >/dev/null 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 1 "exit code on a negative deletion time"
grep -q "offset 69: invalid partition deletion: negative local deletion time -1" "$SCRATCH/err" || fail "invalid message: $(cat "$SCRATCH/err")"

# a mistyped path is said to be missing, not to be an old format
rc=0; "$STRATA_BIN" sstable dump "${simple}x" >/dev/null 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc:$(cat "$SCRATCH/err")" "1:strata: error: ${simple}x: No such file or directory" "dump of a missing path"

# every example of the --help texts runs as written, on rf3-a's users table
# (node2's generations start at 1) in the nodes' data layout, where
# merge names node1/app/... and rewrite users-<id>/... from the directory
# they start in; their output directories are made in $SCRATCH
users=$(basename "$(ls -d "$CORPUS"/cluster/rf3-a/node2/app/users-*)")
mkdir -p "$SCRATCH/users" "$SCRATCH/oa"
for cmd in "sstable:." "sstable merge:$CORPUS/cluster/rf3-a" "sstable rewrite:$CORPUS/cluster/rf3-a/node2/app"; do
  # shellcheck disable=SC2086 # the words of the command
  "$STRATA_BIN" ${cmd%%:*} --help | sed -n 's/^  strata sstable //p' |
    sed -e "s#/var/lib/cassandra/data#$CORPUS/cluster/rf3-a/node2#g" -e "s#users-<id>#$users#g" \
      -e "s# /tmp/# $SCRATCH/#g" >"$SCRATCH/examples"
  [ -s "$SCRATCH/examples" ] || fail "strata ${cmd%%:*} --help shows no example"
  while read -r example; do
    # shellcheck disable=SC2086
    (cd "${cmd#*:}" && "$STRATA_BIN" -q sstable $example) >/dev/null 2>"$SCRATCH/err" ||
      fail "the example 'strata sstable $example' of strata ${cmd%%:*} --help fails: $(cat "$SCRATCH/err")"
  done <"$SCRATCH/examples"
done

# an output directory that is missing or a file is named as such, with
# nothing of the writer's own (its temporary names) in the message
node1=$CORPUS/cluster/rf3-a/node1/app
rc=0; "$STRATA_BIN" sstable rewrite "$(ls "$node1"/events-*/nb-6-big-Data.db)" "$SCRATCH/missing/out" 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc:$(cat "$SCRATCH/err")" "1:strata: error: output directory $SCRATCH/missing/out: No such file or directory" \
  "rewrite into a missing directory"
: >"$SCRATCH/a-file"
rc=0; "$STRATA_BIN" -q sstable merge --to "$SCRATCH/a-file" "$node1"/events-* 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc:$(cat "$SCRATCH/err")" "1:strata: error: output directory $SCRATCH/a-file: not a directory" "merge --to a file"

rc=0; "$STRATA_BIN" sstable >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "usage exit code"
rc=0; "$STRATA_BIN" sstable dump -k zz "$simple" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc:$(wc -c <"$SCRATCH/out" | tr -d ' ')" "2:0" "exit code and stdout bytes of dump -k with a key not in hex"
rc=0; "$STRATA_BIN" sstable bogus >/dev/null 2>"$SCRATCH/err" || rc=$?
expect_eq "$rc" 2 "exit code of an unknown subcommand"
grep -q "unknown subcommand 'bogus'" "$SCRATCH/err" || fail "unknown subcommand message: $(cat "$SCRATCH/err")"
echo "sstable cli ok"
