#!/bin/sh
# test_backup_rf3a.sh - the real 3-node cluster rf3-a through strata:
# back up v1, again (nothing new), with one added SSTable (only it is new),
# then v2; restore every version and compare the sha256 of every file with
# what the nodes held when that version was taken.
set -eu
. "$(dirname "$0")/lib.sh"

REPO=${STRATA_TEST_REPO:-$SCRATCH/repo}
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }

count_sstables() { find "$SCRATCH/nodes" -name '*-Data.db' | wc -l | tr -d ' '; }
count_files() { find "$SCRATCH/nodes" -type f | wc -l | tr -d ' '; }
save_sums() { for n in node1 node2 node3; do data_sums "$SCRATCH/nodes/$n" >"$SCRATCH/sums.$1.$n"; done; }

# Restores VERSION and compares each node with the sums saved under LABEL.
check_restore() {
  out=$SCRATCH/restore.$(echo "$1" | tr -c "A-Za-z0-9\n" _)
  strata restore "$1" --to "$out" >/dev/null
  for n in node1 node2 node3; do
    restored_sums "$out/$n" >"$out.$n.sums"
    [ -s "$out.$n.sums" ] || fail "restore of $1 wrote nothing for $n"
    cmp -s "$out.$n.sums" "$SCRATCH/sums.$2.$n" || {
      diff "$SCRATCH/sums.$2.$n" "$out.$n.sums" | head -20
      fail "restore of $1 ($2) differs from the originals on $n"
    }
  done
  echo "   restore of $1 ($2): $(cat "$out".node*.sums | wc -l | tr -d ' ') files byte-identical"
}

backup() { strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/backup.json"; }
field() { json "$1" <"$SCRATCH/backup.json"; }

say "three node data directories from rf3-a v1"
mkdir -p "$SCRATCH/nodes"
for n in node1 node2 node3; do cp -R "$RF3/$n" "$SCRATCH/nodes/$n"; done
chmod -R u+w "$SCRATCH/nodes"
cat >"$SCRATCH/cluster.ini" <<EOF
[cluster]
name = rf3-a
[node node1]
data_dir = nodes/node1
[node node2]
data_dir = nodes/node2
[node node3]
data_dir = $SCRATCH/nodes/node3
EOF

say "init creates a repository, a second init fails"
strata init >/dev/null
case $REPO in *://*) ;; *) [ -d "$REPO" ] || fail "init made no repository" ;; esac
if strata init 2>"$SCRATCH/err"; then fail "second init succeeded"; else rc=$?; fi
expect_eq "$rc" 1 "exit status of a second init"
grep -q '^strata: error:' "$SCRATCH/err" || fail "second init: no error line: $(cat "$SCRATCH/err")"

say "backup of v1 stores every SSTable"
save_sums v1
backup
V1=$(field 'd["version"]')
echo "$V1" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z(\.[0-9]+)?$' || fail "version id $V1"
expect_eq "$(field 'd["sstables"]["new"]')" "$(count_sstables)" "v1 new sstables"
expect_eq "$(field 'd["sstables"]["unchanged"]')" 0 "v1 unchanged sstables"
expect_eq "$(field 'd["files"]["new"]')" "$(count_files)" "v1 new files"
expect_eq "$(field 'd["logical_bytes"]')" "$(find "$SCRATCH/nodes" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')" "v1 logical bytes"
expect_eq "$(field 'len(d["nodes"]) if isinstance(d["nodes"], list) else d["nodes"]')" 3 "v1 nodes"
echo "   $V1: $(count_sstables) SSTables, $(count_files) files"
[ -z "$(find "$SCRATCH/nodes" -name snapshots)" ] || fail "backup left a snapshots/ directory behind"

say "second backup finds nothing new"
backup
V1B=$(field 'd["version"]')
[ "$V1B" != "$V1" ] || fail "two backups share the id $V1"
expect_eq "$(field 'd["sstables"]["new"]')" 0 "second backup new sstables"
expect_eq "$(field 'd["sstables"]["unchanged"]')" "$(count_sstables)" "second backup unchanged sstables"
expect_eq "$(field 'd["files"]["new"]')" 0 "second backup new files"
expect_eq "$(field 'd["read_bytes"]')" 0 "second backup bytes read"

say "one SSTable added to node2 (node1's users nb-8 as generation 99): only it is new"
users2=$(echo "$SCRATCH"/nodes/node2/app/users-*)
for f in "$RF3"/node1/app/users-*/nb-8-big-*; do
  cp "$f" "$users2/$(basename "$f" | sed 's/^nb-8-/nb-99-/')"
done
save_sums v3
backup
V3=$(field 'd["version"]')
expect_eq "$(field 'd["sstables"]["new"]')" 1 "new sstables after adding one"
expect_eq "$(field 'd["sstables"]["unchanged"]')" "$(($(count_sstables) - 1))" "unchanged sstables after adding one"
expect_eq "$(field 'd["files"]["new"]')" "$(ls "$users2" | grep -c '^nb-99-big-')" "new files after adding one"

say "versions lists the three versions"
strata versions --json >"$SCRATCH/versions.json"
expect_eq "$(json 'len(d)' <"$SCRATCH/versions.json")" 3 "number of versions"
expect_eq "$(json '" ".join(sorted(v["id"] for v in d))' <"$SCRATCH/versions.json")" "$(printf '%s\n' "$V1" "$V1B" "$V3" | sort | tr '\n' ' ' | sed 's/ $//')" "version ids"
expect_eq "$(json '[v for v in d if v["id"] == "'"$V3"'"][0]["new_sstables"]' <"$SCRATCH/versions.json")" 1 "new_sstables of $V3"
expect_eq "$(json '[v for v in d if v["id"] == "'"$V3"'"][0]["sstables"]' <"$SCRATCH/versions.json")" "$(count_sstables)" "sstables of $V3"
expect_eq "$(json '[v for v in d if v["id"] == "'"$V1"'"][0]["cluster"]' <"$SCRATCH/versions.json")" rf3-a "cluster of $V1"

say "ls of app/users in v1 lists every users file of every node, index files included"
strata ls "$V1/app/users" --json >"$SCRATCH/ls.json"
want=$(find "$RF3"/node1/app/users-* "$RF3"/node2/app/users-* "$RF3"/node3/app/users-* -type f | wc -l | tr -d ' ')
expect_eq "$(json 'len(d)' <"$SCRATCH/ls.json")" "$want" "files listed for v1 app/users"
expect_eq "$(json 'len([f for f in d if f["path"].startswith(".users_name_idx/") and f["sstable"].startswith(".users_name_idx/nb-")])' <"$SCRATCH/ls.json")" \
  "$(find "$RF3"/node*/app/users-*/.users_name_idx -type f | wc -l | tr -d ' ')" "index files listed"
expect_eq "$(json 'sorted(set(f["table_id"] for f in d))[0]' <"$SCRATCH/ls.json")" "$(basename "$users2" | sed 's/^users-//')" "table id"
manifest_size=$(json '[f for f in d if f["node"] == "node1" and f["path"] == "manifest.json"][0]["size_bytes"]' <"$SCRATCH/ls.json")
expect_eq "$manifest_size" "$(stat -c %s "$RF3"/node1/app/users-*/manifest.json)" "size of node1 users manifest.json"

say "the nodes move on to rf3-a v2"
for n in node1 node2 node3; do rm -rf "${SCRATCH:?}/nodes/$n"; cp -R "$RF3/v2/$n" "$SCRATCH/nodes/$n"; done
chmod -R u+w "$SCRATCH/nodes"
save_sums v2
# An SSTable of v2 is new when one of its files is not in the v3 backup (same node, path, bytes).
cat "$SCRATCH"/sums.v3.node1 | sed 's#  #  node1/#' >"$SCRATCH/known"
sed 's#  #  node2/#' "$SCRATCH/sums.v3.node2" >>"$SCRATCH/known"
sed 's#  #  node3/#' "$SCRATCH/sums.v3.node3" >>"$SCRATCH/known"
for n in node1 node2 node3; do sed "s#  #  $n/#" "$SCRATCH/sums.v2.$n"; done >"$SCRATCH/now"
want_new=$(LC_ALL=C sort "$SCRATCH/known" >"$SCRATCH/known.s"; LC_ALL=C sort "$SCRATCH/now" |
  LC_ALL=C comm -13 "$SCRATCH/known.s" - | awk '{print $2}' |
  sed -nE 's#^(.*/)?([a-z]{2}-[0-9]+-big)-[^/]+$#\1\2#p' | sort -u | wc -l | tr -d ' ')
backup
V2=$(field 'd["version"]')
expect_eq "$(field 'd["sstables"]["new"]')" "$want_new" "new sstables of v2"
expect_eq "$(field 'd["sstables"]["new"] + d["sstables"]["unchanged"]')" "$(count_sstables)" "sstables of v2"
echo "   $V2: $want_new of $(count_sstables) SSTables new"

say "every version restores byte for byte"
check_restore "$V1" v1
check_restore "$V1B" v1
check_restore "$V3" v3
check_restore "$V2" v2
check_restore latest v2

say "restore of one table of v1"
strata restore "$V1/app/users" --to "$SCRATCH/one" >/dev/null
for n in node1 node2 node3; do
  restored_sums "$SCRATCH/one/$n" >"$SCRATCH/one.$n"
  grep '  app/users/' "$SCRATCH/sums.v1.$n" | cmp -s - "$SCRATCH/one.$n" || fail "restore of $V1/app/users differs on $n"
done
echo "   $V1/app/users: $(cat "$SCRATCH"/one.node* | wc -l | tr -d ' ') files byte-identical, nothing else"

say "a backup of one table takes it and system_schema only"
strata backup --files --cluster "$SCRATCH/cluster.ini" --table app.users --json >"$SCRATCH/backup.json"
want=$(find "$SCRATCH"/nodes/node*/app/users-* "$SCRATCH"/nodes/node*/system_schema -name '*-Data.db' | wc -l | tr -d ' ')
expect_eq "$(field 'd["sstables"]["new"] + d["sstables"]["unchanged"]')" "$want" "sstables of app.users + system_schema"
expect_eq "$(field 'd["sstables"]["new"]')" 0 "new sstables of the app.users backup"
strata ls latest --json | json '" ".join(sorted(set(f["keyspace"] + ("" if f["keyspace"] == "system_schema" else "." + f["table"]) for f in d)))' >"$SCRATCH/tables"
expect_eq "$(cat "$SCRATCH/tables")" "app.users system_schema" "keyspaces and tables of the app.users backup"

say "verify finds no damage"
strata verify >/dev/null || fail "verify exit $?"
echo "PASS"
