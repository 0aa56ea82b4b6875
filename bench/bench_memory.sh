#!/bin/sh
# bench/bench_memory.sh - peak memory of the commands that stream a table,
# against the size of what they stream.
#
# Two clusters of strata-gen-cluster (3 nodes, RF=3): one whose readings
# table is a single partition of about STRATA_BENCH_MB/4 MB on every
# replica (--wide: overlapping writes, range deletions, a map column), and
# one of STRATA_BENCH_MB MB in many small partitions.  For each it runs
# `sstable merge --to` of every table, `backup --jobs 2` (reconciling),
# `restore` of the version, and a `mount` (--cache-size 64M) through which
# every file of the version is read whole and then in 64 KiB reads at
# random offsets of the largest Data.db, each checked against the restore.
# It prints each command's peak resident memory beside the input size and
# fails when one exceeds its budget, which depends on what the design says
# memory may depend on, never on partition sizes or row counts: 16 MiB and
# 1 MiB per input SSTable (a few read buffers each) for a merge; for the
# backup, 4 pack buffers of ~39 MiB (one per worker, two queued) beside
# that for every SSTable of the cluster; 64 MiB for the restore's four
# threads; the mount's 64 MiB chunk cache and as much again.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

make -s strata strata-gen-cluster
S=$STRATA_BIN
WIDE_MB=$((STRATA_BENCH_MB / 4))

# dataset DIR MB [--wide]: the cluster, reused while size, seed and the
# generator's source are unchanged.
dataset() {
  stamp="$2 $STRATA_BENCH_SEED ${3:-} $(cat tools/gen/*.c tools/gen/*.h | cksum)"
  [ -d "$1" ] && [ "$(cat "$1.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  rm -rf "$1" "$1.stamp"
  # shellcheck disable=SC2086
  ./strata-gen-cluster --out "$1" --mb "$2" --seed "$STRATA_BENCH_SEED" ${3:-} | tail -1
  printf '%s\n' "$stamp" >"$1.stamp"
}

failed=0
# report NAME INPUT_BYTES PEAK_KIB BUDGET_MIB
report() {
  verdict=ok
  [ "$3" -le $(($4 * 1024)) ] || { verdict="OVER BUDGET"; failed=1; }
  printf '  %-34s %9s MB in %7s MiB peak (budget %4s MiB) %s\n' "$1" "$(calc "$2 / 1e6")" "$(($3 / 1024))" "$4" \
    "$verdict"
  printf '{"case": "%s", "input_bytes": %s, "peak_rss_kib": %s, "budget_mib": %s}\n' "$1" "$2" "$3" "$4" \
    >>"$BENCH_OUT/memory.jsonl"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-memory-XXXXXX")
mnt=$work/mnt
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
: >"$BENCH_OUT/memory.jsonl"

# mount_read NAME REPO RESTORED INPUT_BYTES
mount_read() {
  mkdir -p "$mnt"
  "$S" -r "$2" mount -f --cache-size 64M "$mnt" 2>"$work/mount.log" &
  pid=$!
  for _ in $(seq 100); do [ -d "$mnt/versions/latest" ] && break; sleep 0.1; done
  (cd "$mnt/versions/latest" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2) >"$work/mount.sums"
  (cd "$3" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2) | cmp -s - "$work/mount.sums" ||
    { note "bench: files read through the mount differ from the restore"; failed=1; }
  big=$(cd "$3" && find . -name '*Data.db' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
  blocks=$(($(stat -c %s "$3/$big") / 65536))
  for off in $(awk -v n="$blocks" -v seed="$STRATA_BENCH_SEED" \
    'BEGIN { srand(seed); for (i = 0; i < 200; i++) print int(rand() * (n > 0 ? n : 1)) }'); do
    dd if="$3/$big" bs=65536 skip="$off" count=1 2>/dev/null >"$work/block"
    dd if="$mnt/versions/latest/$big" bs=65536 skip="$off" count=1 iflag=direct 2>/dev/null |
      cmp -s - "$work/block" || { note "bench: random read at block $off of $big differs"; failed=1; }
  done
  peak=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
  fusermount3 -u "$mnt"
  wait "$pid" || { note "bench: the mount failed"; cat "$work/mount.log"; failed=1; }
  report "$1 mount read" "$4" "$peak" 128
}

# run NAME DIR: every command on the cluster in DIR
run() {
  input=$(du -sb "$2"/node*/gen | awk '{ s += $1 } END { print s }')
  echo "== $1: $(calc "$input / 1e6") MB of SSTables on 3 nodes (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for dir in "$2"/node1/gen/*; do
    t=$(basename "$dir")
    rm -rf "$work/merged" && mkdir "$work/merged"
    measure "$work/merge.log" "$S" sstable merge --to "$work/merged" "$2"/node*/gen/"$t"
    [ "$M_RC" -eq 0 ] || { cat "$work/merge.log"; exit 1; }
    inputs=$(ls "$2"/node*/gen/"$t"/*-Data.db | wc -l)
    report "$1 merge --to ${t%%-*}" "$(du -sb "$2"/node*/gen/"$t" | awk '{ s += $1 } END { print s }')" "$M_RSS" \
      $((16 + inputs))
  done
  rm -rf "$work/merged" "$work/repo" "$work/restore"
  "$S" -r "$work/repo" init >/dev/null
  measure "$work/backup.log" "$S" -r "$work/repo" backup --jobs 2 --cluster "$2/cluster.ini"
  [ "$M_RC" -eq 0 ] || { cat "$work/backup.log"; exit 1; }
  report "$1 backup" "$input" "$M_RSS" $((4 * 39 + 16 + $(ls "$2"/node*/*/*/*-Data.db | wc -l)))
  measure "$work/restore.log" "$S" -r "$work/repo" restore latest --to "$work/restore"
  [ "$M_RC" -eq 0 ] || { cat "$work/restore.log"; exit 1; }
  report "$1 restore" "$(du -sb "$work/restore" | cut -f1)" "$M_RSS" 64
  mount_read "$1" "$work/repo" "$work/restore" "$(du -sb "$work/restore" | cut -f1)"
  rm -rf "$work/repo" "$work/restore"
}

dataset "$BENCH_OUT/memory-wide" "$WIDE_MB" --wide
run "one partition" "$BENCH_OUT/memory-wide"
dataset "$BENCH_OUT/memory-many" "$STRATA_BENCH_MB"
run "many partitions" "$BENCH_OUT/memory-many"
exit "$failed"
