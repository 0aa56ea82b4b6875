#!/bin/sh
# test_backup_formats.sh - every SSTable format in the corpus (ma mc md
# me na nb nc oa, da "bti") laid out as three nodes of one keyspace: back
# up, again (nothing new), with one SSTable added (only it is new);
# restore every version and compare the sha256 of every file.
set -eu
. "$(dirname "$0")/lib.sh"
[ -d "$CORPUS/cassandra-legacy" ] || { echo "skip: no corpus at $CORPUS"; exit 77; }

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }
count_sstables() { find "$SCRATCH/nodes" -name '*-Data.db' | wc -l | tr -d ' '; }
save_sums() { for n in node1 node2 node3; do data_sums "$SCRATCH/nodes/$n" >"$SCRATCH/sums.$1.$n"; done; }
check_restore() {
  out=$SCRATCH/restore.$(echo "$1" | tr -c "A-Za-z0-9\n" _)
  strata restore "$1" --to "$out" >/dev/null
  for n in node1 node2 node3; do
    restored_sums "$out/$n" >"$out.$n.sums"
    cmp -s "$out.$n.sums" "$SCRATCH/sums.$2.$n" || {
      diff "$SCRATCH/sums.$2.$n" "$out.$n.sums" | head -20
      fail "restore of $1 ($2) differs from the originals on $n"
    }
  done
  echo "   restore of $1 ($2): $(cat "$out".node*.sums | wc -l | tr -d ' ') files byte-identical"
}
backup() { strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/backup.json"; }
field() { json "$1" <"$SCRATCH/backup.json"; }

say "every corpus SSTable directory becomes a table of keyspace 'corpus', dealt over 3 nodes"
i=0
for dir in $(find "$CORPUS/cassandra-legacy" "$CORPUS/cassandra-misc" "$CORPUS/scylla" -name '*-Data.db' -exec dirname {} \; | sort -u); do
  table=$(basename "$dir" | tr -c 'A-Za-z0-9_\n' _)
  id=$(printf '%s' "$table" | md5sum | cut -c1-32)
  tdir=$SCRATCH/nodes/node$((i % 3 + 1))/corpus/$table-$id
  [ ! -e "$tdir" ] || fail "two corpus directories named $table"
  mkdir -p "$tdir"
  find "$dir" -maxdepth 1 -type f -exec cp {} "$tdir/" \;
  i=$((i + 1))
done
chmod -R u+w "$SCRATCH/nodes"
formats=$(find "$SCRATCH/nodes" -name '*-Data.db' | sed -E 's#.*/([a-z]{2})-[^/]*$#\1#' | sort -u | tr '\n' ' ')
echo "   $i tables, $(count_sstables) SSTables, formats: $formats"
for f in ma mc md me na nb nc oa da; do
  case " $formats" in *" $f "*) ;; *) fail "format $f missing from the layout" ;; esac
done
printf '[cluster]\nname = formats\n' >"$SCRATCH/cluster.ini"
for n in node1 node2 node3; do printf '[node %s]\ndata_dir = nodes/%s\n' "$n" "$n" >>"$SCRATCH/cluster.ini"; done
strata init >/dev/null

say "first backup stores every SSTable"
save_sums v1
backup
V1=$(field 'd["version"]')
expect_eq "$(field 'd["sstables"]["new"]')" "$(count_sstables)" "first backup new sstables"
expect_eq "$(field 'd["files"]["new"]')" "$(find "$SCRATCH/nodes" -type f | wc -l | tr -d ' ')" "first backup new files"

say "ls names every SSTable of every format on its node"
strata ls "$V1" --json >"$SCRATCH/ls.json"
json '"\n".join(sorted(set("%s/%s/%s" % (f["node"], f["table"], f["sstable"]) for f in d if f["sstable"])))' \
  <"$SCRATCH/ls.json" >"$SCRATCH/ls.sstables"
(cd "$SCRATCH/nodes" && find . -name '*-Data.db') |
  sed -E 's#^\./([^/]+)/corpus/([A-Za-z0-9_]+)-[0-9a-f]{32}/(.*)-Data\.db$#\1/\2/\3#' | LC_ALL=C sort >"$SCRATCH/find.sstables"
LC_ALL=C sort "$SCRATCH/ls.sstables" | cmp -s - "$SCRATCH/find.sstables" || {
  diff "$SCRATCH/find.sstables" "$SCRATCH/ls.sstables" | head
  fail "ls does not list the SSTables find sees"
}
grep -q '/da-1-bti$' "$SCRATCH/ls.sstables" || fail "no bti SSTable listed"

say "second backup finds nothing new"
backup
V2=$(field 'd["version"]')
expect_eq "$(field 'd["sstables"]["new"]')" 0 "second backup new sstables"
expect_eq "$(field 'd["sstables"]["unchanged"]')" "$(count_sstables)" "second backup unchanged sstables"

say "legacy_oa_simple gets a copy of its SSTable as generation 7: only it is new"
src=$(find "$SCRATCH/nodes" -type d -name 'legacy_oa_simple-*')
for f in "$src"/oa-1-big-*; do cp "$f" "$src/$(basename "$f" | sed 's/^oa-1-/oa-7-/')"; done
save_sums v3
backup
V3=$(field 'd["version"]')
expect_eq "$(field 'd["sstables"]["new"]')" 1 "third backup new sstables"
expect_eq "$(field 'd["files"]["new"]')" "$(ls "$src" | grep -c '^oa-7-big-')" "third backup new files"

say "every version restores byte for byte"
check_restore "$V1" v1
check_restore "$V2" v1
check_restore "$V3" v3
echo "PASS"
