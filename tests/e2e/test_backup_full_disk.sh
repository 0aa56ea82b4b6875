#!/bin/sh
# test_backup_full_disk.sh - a repository on an 8 MiB tmpfs: a backup that
# does not fit fails with one clear no-space error, the version stored
# before still verifies and restores byte for byte, and once the data fits
# again a backup succeeds.  Needs root for the mount (else skipped).
set -eu
. "$(dirname "$0")/lib.sh"

REPO=$SCRATCH/small/repo
node_sums() {
  (cd "$SCRATCH/node1" && find . -type f -exec sha256sum {} +) |
    sed -E 's#  \./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  node1/\1/\2/#' | LC_ALL=C sort -k2
}

mkdir -p "$SCRATCH/small"
mount -t tmpfs -o size=8m tmpfs "$SCRATCH/small" 2>/dev/null || { echo "skip: cannot mount a tmpfs"; exit 77; }
trap 'umount "$SCRATCH/small" 2>/dev/null || true' EXIT INT TERM

say "a repository on an 8 MiB tmpfs holding one version of rf3-a node1"
cp -R "$RF3/node1" "$SCRATCH/node1"
chmod -R u+w "$SCRATCH/node1"
printf '[cluster]\nname = small\n[node node1]\ndata_dir = %s\n' "$SCRATCH/node1" >"$SCRATCH/cluster.ini"
strata init >/dev/null
node_sums >"$SCRATCH/sums.v1"
V1=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | json 'd["version"]')
echo "   $V1: $(du -sk "$REPO" | cut -f1) KiB used of $(df -k "$SCRATCH/small" | awk 'NR==2 {print $2}') KiB"

say "20 MiB of incompressible data added: the backup does not fit"
# a new SSTable of a table system_schema names (a directory it does not
# name is a dropped table's, left out)
big=$(ls -d "$SCRATCH"/node1/app/events-*)/nb-99-big
head -c 20M /dev/urandom >"$big-Data.db"
printf 'Data.db\nTOC.txt\n' >"$big-TOC.txt"
expect_error "a backup larger than the file system succeeded" strata backup --files --cluster "$SCRATCH/cluster.ini"
grep -i '^strata: error:' "$SCRATCH/err" | grep -Eiq 'no space|space left|full' || fail "the error does not say the storage is full"
! grep -Eq 'AddressSanitizer|runtime error' "$SCRATCH/err" || fail "crashed"

say "the earlier version is intact"
[ "$(strata versions --json | json '" ".join(v["id"] for v in d)')" = "$V1" ] || fail "versions changed"
strata verify >"$SCRATCH/verify.out" 2>&1 || { cat "$SCRATCH/verify.out"; fail "verify exits $? after the failed backup"; }
strata restore "$V1" --to "$SCRATCH/out1" >/dev/null || fail "restore of $V1 exits $?"
(cd "$SCRATCH/out1" && find . -type f -exec sha256sum {} +) | sed 's#  \./#  #' | LC_ALL=C sort -k2 |
  cmp -s - "$SCRATCH/sums.v1" || fail "restore of $V1 differs"
echo "   $V1 verifies and restores byte for byte"

say "with the big file gone, a backup fits again"
rm -f "$big-Data.db" "$big-TOC.txt"
strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/b.json" 2>"$SCRATCH/err" ||
  { cat "$SCRATCH/err"; fail "backup after freeing space exits $? ($(df -k "$SCRATCH/small" | awk 'NR==2 {print $4}') KiB free)"; }
echo "   $(json 'd["version"]' <"$SCRATCH/b.json"): $(json 'd["sstables"]["new"]' <"$SCRATCH/b.json") new SSTables"
echo "PASS"
