#!/bin/sh
# bench/bench_s3.sh - strata's S3 backend against a local directory
# repository and against restic's S3 backend, on the same data set and the
# same S3 server (s3rver on 127.0.0.1, tests/s3/server.sh).
#
# Measured, each from a fresh repository with the data set in the page
# cache: a full backup by strata to a directory, by strata to s3://, and by
# restic to s3:; then reading every file of the version back: through a
# strata mount of each strata repository (cat of every file), and by
# `restic restore` from S3 (restic's mount is not comparable: it has no
# chunk cache of its own and is single-threaded), plus `strata restore`
# from S3 for the like-for-like figure.  The target (issue 6): strata's S3
# backup at least 1.5x restic's.
#
# s3rver is a Node.js test server, far slower than a real object store, so
# absolute S3 figures here are the server's; the ratios are the point.  It
# runs over verified HTTPS (a self-signed certificate both tools are given
# as their CA): over plain HTTP restic signs uploads in aws-chunked
# streaming form, which s3rver stores undecoded, so restic could not read
# its own repository.
# STRATA_BENCH_S3_MB sets the data set size (default 600 MB).
# Output: a table on stdout, logs in bench/out/s3/, figures in bench/out/s3.json.
set -eu
. "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"

out=$BENCH_OUT/s3
data=$BENCH_OUT/s3-dataset
rm -rf "$out"
mkdir -p "$out"
STRATA_BENCH_MB=${STRATA_BENCH_S3_MB:-600}

echo "== S3 benchmark: strata s3:// vs strata directory vs restic s3:, ${STRATA_BENCH_MB} MB data set"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo "generating the data set in $data ..."
bench_dataset "$data"
bytes=$(dataset_bytes "$data")

SCRATCH=$out
. tests/s3/lib.sh
MNT=$out/mnt
cleanup() {
  fusermount3 -u "$MNT" 2>/dev/null || true
  s3_stop_all
}
trap cleanup EXIT
s3_start_server tls
echo "s3rver $(node "$S3_HELPERS/node_modules/s3rver/bin/s3rver.js" --version 2>/dev/null) on 127.0.0.1:$S3_PORT"
CA=$out/s3rver/cert.pem
export STRATA_S3_ENDPOINT="https://127.0.0.1:$S3_PORT" STRATA_S3_PATH_STYLE=1 STRATA_S3_CA_FILE=$CA
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$out/restic-cache

printf '[cluster]\nname = bench\n' >"$out/cluster.ini"
for n in node1 node2 node3; do printf '[node %s]\ndata_dir = %s\n' "$n" "$data/$n" >>"$out/cluster.ini"; done

LOCAL=$out/strata-dir
S3=s3://strata/bench
RESTIC=s3:https://127.0.0.1:$S3_PORT/strata/restic
restic() { command restic --cacert "$CA" "$@"; }

mbps() { awk "BEGIN { printf(\"%.1f\", $1 / 1e6 / $2) }"; }
# run NAME CMD...: one timed step; sets r_NAME (MB/s of the data set) and
# prints a line; a failed step reports 0.
run() {
  name=$1
  shift
  measure "$out/$name.log" "$@"
  eval "cpu_$name=$M_CPU"
  if [ "$M_RC" -eq 0 ]; then
    eval "r_$name=$(mbps "$bytes" "$M_WALL")"
    printf '  %-22s %7s s  %7s MB/s  %6s s CPU\n' "$name" "$M_WALL" "$(eval echo "\$r_$name")" "$M_CPU"
  else
    eval "r_$name=0"
    printf '  %-22s FAILED (exit %s, see %s)\n' "$name" "$M_RC" "$out/$name.log"
  fi
}

# The reading half of the mount benchmark, run under measure: mount REPO,
# cat every file of the latest version, unmount.
cat >"$out/read_mount.sh" <<'EOF'
set -eu
V=$("$STRATA_BIN" -r "$1" versions | awk 'NR == 2 {print $1}')
"$STRATA_BIN" -r "$1" mount --log "$2/mount.log" "$2/mnt"
find "$2/mnt/nodes/"*/"$V" -type f -exec cat {} + | wc -c >"$2/read.bytes"
fusermount3 -u "$2/mnt"
EOF
# read_ok NAME: a mount read counts only when it returned every byte of
# the version (its logical bytes: the data set less what backups skip).
read_ok() {
  got=$(cat "$out/read.bytes" 2>/dev/null || echo 0)
  want=$("$STRATA_BIN" -r "$LOCAL" versions --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["logical_bytes"])')
  [ "$got" = "$want" ] || { echo "  ($1 read $got bytes, not $want: not counted)"; eval "r_$1=0"; }
}

"$STRATA_BIN" -r "$LOCAL" init >/dev/null
"$STRATA_BIN" -r "$S3" init >/dev/null
restic -r "$RESTIC" init >"$out/restic-init.log" 2>&1

echo "full backup of $bytes bytes:"
warm "$data"
run strata_dir_backup "$STRATA_BIN" -r "$LOCAL" backup --files --cluster "$out/cluster.ini"
warm "$data"
run strata_s3_backup "$STRATA_BIN" -r "$S3" backup --files --cluster "$out/cluster.ini"
warm "$data"
run restic_s3_backup restic --cacert "$CA" -r "$RESTIC" backup --host bench "$data"

echo "reading the version back:"
if command -v fusermount3 >/dev/null && [ -c /dev/fuse ]; then
  mkdir -p "$MNT"
  run strata_dir_mount_read sh "$out/read_mount.sh" "$LOCAL" "$out"
  read_ok strata_dir_mount_read
  run strata_s3_mount_read sh "$out/read_mount.sh" "$S3" "$out"
  read_ok strata_s3_mount_read
else
  echo "  (no FUSE here: mount reads skipped)"
  r_strata_dir_mount_read=0 r_strata_s3_mount_read=0
fi
run strata_s3_restore "$STRATA_BIN" -r "$S3" restore latest --to "$out/strata-restore"
rm -rf "$out/strata-restore"
run restic_s3_restore restic --cacert "$CA" -r "$RESTIC" restore latest --target "$out/restic-restore"
rm -rf "$out/restic-restore"

ratio() { awk "BEGIN { if ($2 == 0) print \"n/a\"; else printf(\"%.2f\", $1 / $2) }"; }
vs_restic=$(ratio "$r_strata_s3_backup" "$r_restic_s3_backup")
verdict="n/a"
[ "$vs_restic" = n/a ] || verdict=$(awk "BEGIN { print ($vs_restic >= 1.5 ? \"meets target\" : \"MISSES target\") }")
echo
echo "strata s3 backup / restic s3 backup:      ${vs_restic}x  (target >= 1.5x) $verdict"
echo "strata s3 backup / strata dir backup:     $(ratio "$r_strata_s3_backup" "$r_strata_dir_backup")x"
# CPU time is what the machine's other load disturbs least (wall time on a
# busy machine mostly measures the neighbours, and s3rver's single thread).
per_cpu() { awk "BEGIN { printf(\"%.1f\", $1 == 0 ? 0 : $bytes / 1e6 / $1) }"; }
s3_cpu=$(per_cpu "$cpu_strata_s3_backup") restic_cpu=$(per_cpu "$cpu_restic_s3_backup")
echo "backup MB per CPU second: strata s3 $s3_cpu, restic s3 $restic_cpu ($(ratio "$s3_cpu" "$restic_cpu")x)"
echo "strata s3 mount read / strata dir read:   $(ratio "$r_strata_s3_mount_read" "$r_strata_dir_mount_read")x"
echo "strata s3 mount read / restic s3 restore: $(ratio "$r_strata_s3_mount_read" "$r_restic_s3_restore")x"
echo "strata s3 restore / restic s3 restore:    $(ratio "$r_strata_s3_restore" "$r_restic_s3_restore")x"
cat >"$BENCH_OUT/s3.json" <<EOF
{
  "data_set_bytes": $bytes,
  "mb_per_s": {
    "strata_dir_backup": $r_strata_dir_backup, "strata_s3_backup": $r_strata_s3_backup,
    "restic_s3_backup": $r_restic_s3_backup,
    "strata_dir_mount_read": $r_strata_dir_mount_read, "strata_s3_mount_read": $r_strata_s3_mount_read,
    "strata_s3_restore": $r_strata_s3_restore, "restic_s3_restore": $r_restic_s3_restore
  },
  "strata_s3_backup_vs_restic": "$vs_restic",
  "backup_mb_per_cpu_second": {"strata_s3": $s3_cpu, "restic_s3": $restic_cpu},
  "target": 1.5,
  "verdict": "$verdict"
}
EOF
