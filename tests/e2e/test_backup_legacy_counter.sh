#!/bin/sh
# test_backup_legacy_counter.sh - counters written before Cassandra 2.1
# keep "local" shards, which add up where other shards replace each other.
# A node's compaction rewrites such a table with the same content; the
# next version cannot hold that as a layer beside the stored one (the two
# local shards would count twice), so it keeps the table as the node's
# files.  The global-shard twin of the table stays a layer, and costs
# nothing new.  Every restored counter must read what the node holds: 1.
set -eu
. "$(dirname "$0")/lib.sh"
LEGACY=$CORPUS/cassandra-legacy/ma/legacy_tables
[ -d "$LEGACY/legacy_ma_simple_counter_compact" ] || { echo "skip: no corpus at $LEGACY"; exit 77; }

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }
LOCAL=local_shards-0123456789abcdef0123456789abcdef
GLOBAL=global_shards-fedcba9876543210fedcba9876543210
mkdir -p "$SCRATCH/node1/legacy_tables/$LOCAL" "$SCRATCH/node1/legacy_tables/$GLOBAL"
cp "$LEGACY/legacy_ma_simple_counter_compact"/* "$SCRATCH/node1/legacy_tables/$LOCAL/"
cp "$LEGACY/legacy_ma_simple_counter"/* "$SCRATCH/node1/legacy_tables/$GLOBAL/"
printf '[cluster]\nname = legacy\n[node node1]\ndata_dir = node1\n' >"$SCRATCH/cluster.ini"
strata init >/dev/null

# Sums the counter values of every Data.db under DIR, read with the CLI.
counter_total() {
  for f in $(find "$1" -name '*-Data.db' | sort); do "$STRATA_BIN" sstable dump "$f"; done | python3 -c '
import json, sys
text, total, dec = sys.stdin.read(), 0, json.JSONDecoder()
i = 0
while i < len(text):
    if text[i].isspace(): i += 1; continue
    doc, i = dec.raw_decode(text, i)
    total += sum(c["value"] for p in doc for r in p["rows"] for c in r.get("cells", []))
print(total)'
}
backup() { strata backup --cluster "$SCRATCH/cluster.ini" --cut "$1" --json 2>"$SCRATCH/backup.err" >"$SCRATCH/backup.json"; }
field() { json "$1" <"$SCRATCH/backup.json"; }

say "version 1: both tables reconciled into a layer"
backup 2026-12-01T00:00:00Z
expect_eq "$(field 'd["tables"]["reconciled"]')" 2 "tables reconciled in version 1"
expect_eq "$(field 'd["tables"]["kept_as_files"]')" 0 "tables kept as files in version 1"

say "the node compacts both tables: the same content under generation 2"
for t in $LOCAL $GLOBAL; do
  (cd "$SCRATCH/node1/legacy_tables/$t" && for f in ma-1-big-*; do mv "$f" "ma-2-big-${f#ma-1-big-}"; done)
done

say "version 2: the local shards' table is kept as the node's files, with a warning"
backup 2026-12-01T01:00:00Z
cat "$SCRATCH/backup.err"
grep -q "local_shards: counter column val: pre-2.1 local shards" "$SCRATCH/backup.err" ||
  fail "no warning about the local shards"
expect_eq "$(field 'd["tables"]["kept_as_files"]')" 1 "tables kept as files in version 2"
expect_eq "$(field 'd["tables"]["with_new_layer"]')" 0 "tables with a new layer in version 2"

say "every version restores counters of 1"
for v in 2026-12-01T00:00:00Z 2026-12-01T01:00:00Z; do
  out=$SCRATCH/restore-$v
  strata restore "$v" --to "$out" >/dev/null
  for t in local_shards global_shards; do
    dir=$(find "$out" -type d -name "$t")
    [ -n "$dir" ] || fail "$v: $t not restored"
    expect_eq "$(counter_total "$dir")" 5 "$v: sum of $t's five counters"
    echo "   $v $t: $(find "$dir" -name '*-Data.db' | wc -l | tr -d ' ') SSTable(s), counters sum to 5"
  done
done
[ -d "$SCRATCH/restore-2026-12-01T01:00:00Z/node1/legacy_tables/local_shards" ] ||
  fail "version 2's local shards table is not restored as the node's files"
echo "PASS"
