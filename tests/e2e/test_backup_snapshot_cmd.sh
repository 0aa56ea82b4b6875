#!/bin/sh
# test_backup_snapshot_cmd.sh - nodes whose snapshots are made by the
# operator's snapshot_cmd (a stand-in for `nodetool snapshot -t {tag}`
# that hard-links every table and writes a manifest.json, chattering on
# stdout as nodetool does): the backup reads the snapshot, --json output
# stays clean, clear_snapshot_cmd removes it, and the restore equals the
# nodes' files plus the snapshot's manifests.
set -eu
. "$(dirname "$0")/lib.sh"


say "two rf3-a nodes without their snapshot artefacts; a fake nodetool"
for n in node1 node2; do
  cp -R "$RF3/$n" "$SCRATCH/$n"
  chmod -R u+w "$SCRATCH/$n"
  find "$SCRATCH/$n" \( -name manifest.json -o -name schema.cql \) -delete
done
cat >"$SCRATCH/nodetool" <<'EOF'
#!/bin/sh
# nodetool snapshot|clearsnapshot TAG DATA_DIR
set -eu
action=$1 tag=$2 data=$3
for t in "$data"/*/*/; do
  case $action in
    snapshot)
      echo "Requested creating snapshot(s) for [all keyspaces] with snapshot name [$tag]"
      mkdir -p "$t/snapshots/$tag"
      for f in "$t"*; do if [ -f "$f" ]; then ln "$f" "$t/snapshots/$tag/"; fi; done
      for i in "$t".[!.]*/; do
        [ -d "$i" ] || continue
        mkdir "$t/snapshots/$tag/$(basename "$i")"
        for f in "$i"*; do if [ -f "$f" ]; then ln "$f" "$t/snapshots/$tag/$(basename "$i")/"; fi; done
      done
      printf '{"files":[],"created_at":"now"}\n' >"$t/snapshots/$tag/manifest.json"
      ;;
    clearsnapshot)
      rm -rf "$t/snapshots/$tag"
      rmdir "$t/snapshots" 2>/dev/null || true
      ;;
  esac
done
echo "Snapshot directory: $tag"
EOF
cat >"$SCRATCH/cluster.ini" <<EOF
[cluster]
name = ops
[node node1]
data_dir = node1
snapshot_cmd = sh $SCRATCH/nodetool snapshot {tag} $SCRATCH/node1
clear_snapshot_cmd = sh $SCRATCH/nodetool clearsnapshot {tag} $SCRATCH/node1
[node node2]
data_dir = node2
snapshot_cmd = sh $SCRATCH/nodetool snapshot {tag} $SCRATCH/node2
clear_snapshot_cmd = sh $SCRATCH/nodetool clearsnapshot {tag} $SCRATCH/node2
EOF
strata init >/dev/null

say "backup through snapshot_cmd, --json on stdout only"
strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/backup.json" 2>"$SCRATCH/backup.err"
V=$(json 'd["version"]' <"$SCRATCH/backup.json") || fail "stdout is not one JSON object: $(head -3 "$SCRATCH/backup.json")"
grep -q 'Requested creating snapshot' "$SCRATCH/backup.err" || fail "the command's output did not reach stderr"
new=$(json 'd["sstables"]["new"]' <"$SCRATCH/backup.json")
[ "$new" -eq "$(find "$SCRATCH/node1" "$SCRATCH/node2" -name '*-Data.db' | wc -l)" ] || fail "new sstables: $new"
echo "   $V: $new SSTables"

say "clear_snapshot_cmd removed the snapshots"
[ -z "$(find "$SCRATCH/node1" "$SCRATCH/node2" -name snapshots)" ] || fail "snapshots left behind"

say "restore: every node file byte for byte, plus one manifest.json per table"
strata restore "$V" --to "$SCRATCH/out" >/dev/null
for n in node1 node2; do
  (cd "$SCRATCH/$n" && find . -type f -exec sha256sum {} +) |
    sed -E "s#  \\./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  $n/\\1/\\2/#"
  for t in "$SCRATCH/$n"/*/*/; do
    printf '%s  %s/%s/%s/manifest.json\n' "$(printf '{"files":[],"created_at":"now"}\n' | sha256sum | cut -d' ' -f1)" \
      "$n" "$(basename "$(dirname "$t")")" "$(basename "$t" | sed -E 's/-[0-9a-f]{32}$//')"
  done
done | LC_ALL=C sort -k2 >"$SCRATCH/want"
(cd "$SCRATCH/out" && find . -type f -exec sha256sum {} +) | sed 's#  \./#  #' | LC_ALL=C sort -k2 >"$SCRATCH/got"
cmp -s "$SCRATCH/want" "$SCRATCH/got" || { diff "$SCRATCH/want" "$SCRATCH/got" | head; fail "restore differs"; }
echo "   $(wc -l <"$SCRATCH/got" | tr -d ' ') files as expected"
echo "PASS"
