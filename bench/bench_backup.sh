#!/bin/sh
# bench/bench_backup.sh - backup throughput, memory and repository size of
# strata beside restic and borg on the same Cassandra-like data set.
#
# The project's target (issue 2) is relative: strata must back up at least
# 3x as fast as restic and 2x as fast as borg (lz4, no encryption), with a
# repository no larger than either.  So all three back up the same data set
# in one run, each into a fresh local repository, each starting with the data
# set in the page cache: first version 1 of the data set (a full backup),
# then version 2 (a few per cent new SSTables: an incremental backup).  The
# machine's single-core SHA-256 and zstd -1 speeds and its speed of writing
# a new file are printed too, since they bound what any deduplicating,
# compressing backup can do here.
#
# Output: a table on stdout, logs and repositories in bench/out/backup/,
# figures in bench/out/backup.json.  STRATA_BENCH_TOOLS picks the tools
# (default "strata restic borg").
set -eu
. "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/backup
data=$BENCH_OUT/dataset
tools=${STRATA_BENCH_TOOLS:-strata restic borg}
rm -rf "$out"
mkdir -p "$out"

# Each tool's cache lives in $out so it starts cold with its repository.
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$out/restic-cache
export BORG_BASE_DIR=$out/borg-home BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== backup benchmark: strata vs restic vs borg, ${STRATA_BENCH_MB} MB data set"
load_before=$(load)
echo "load average before: $load_before ($(nproc) cores)"

echo "generating the data set in $data ..."
bench_dataset "$data"
bytes_v1=$(dataset_bytes "$data")
files_v1=$(find "$data" -type f | wc -l)
find "$data" -type f -printf '%P %s\n' | sort >"$out/files-v1.txt"

# Single-core baselines.  zstd runs on the largest Data.db, i.e. on the
# LZ4-compressed bytes that make up most of the data set.
sha_mbps=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null |
  awk '/^sha256/ { sub("k", "", $2); printf("%.0f", $2 / 1000) }')
sample=$(find "$data" -name '*-Data.db' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
set -- $(zstd -b1 -i2 "$sample" 2>&1 | tr '\r' '\n' |
  sed -n 's/.*(x\([0-9.]*\)), *\([0-9.]*\) MB\/s.*/\1 \2/p' | tail -1)
zstd_ratio=${1:-0} zstd_mbps=${2:-0}
# Every tool writes a repository about as large as the data set, so the
# speed of writing a new file through the page cache bounds them all too.
t0=$(now)
dd if=/dev/zero of="$out/write-test" bs=1M count=1024 conv=fsync 2>/dev/null
t1=$(now)
rm -f "$out/write-test"
write_mbps=$(awk "BEGIN { printf(\"%.0f\", 1073741824 / 1e6 / ($t1 - $t0)) }")
echo "machine: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "one core: SHA-256 ${sha_mbps} MB/s; zstd -1 ${zstd_mbps} MB/s (x${zstd_ratio}) on $(basename "$sample")"
echo "writing a new 1 GiB file (dd, fsync): ${write_mbps} MB/s"

cat >"$out/cluster.ini" <<EOF
[cluster]
name = bench

[node node1]
data_dir = $data/node1

[node node2]
data_dir = $data/node2

[node node3]
data_dir = $data/node3
EOF

strata_ok() {
  [ -x "$STRATA_BIN" ] && "$STRATA_BIN" --help 2>&1 | grep -q backup
}

# init TOOL: a fresh, empty repository (not timed).
init() {
  case $1 in
    strata) "$STRATA_BIN" -r "$out/strata-repo" init ;;
    restic) restic -r "$out/restic-repo" init --repository-version 2 ;;
    borg) borg init -e none "$out/borg-repo" ;;
  esac >"$out/$1-init.log" 2>&1
}

# backup TOOL RUN: one timed backup of the data set as it is now.
backup() {
  log=$out/$1-$2.log
  case $1 in
    strata) measure "$log" "$STRATA_BIN" -r "$out/strata-repo" backup --files --cluster "$out/cluster.ini" ;;
    restic) measure "$log" restic -r "$out/restic-repo" backup --host bench "$data" ;;
    borg) measure "$log" borg create --compression lz4 "$out/borg-repo::$2" "$data" ;;
  esac
  # strata snapshots with hard links inside table directories; none may be
  # left for the next tool to read.
  if [ "$1" = strata ] && [ -n "$(find "$data" -type d -name snapshots -print -quit)" ]; then
    note "bench: strata left snapshots/ directories behind; removing them"
    find "$data" -type d -name snapshots -prune -exec rm -rf {} +
  fi
}

# record TOOL RUN BYTES: stores the last measurement as r_<tool>_<run>_*.
record() {
  size=0
  [ -d "$out/$1-repo" ] && size=$(du -sb "$out/$1-repo" | cut -f1)
  mbps=$(awk "BEGIN { printf(\"%.1f\", $M_WALL > 0 ? $3 / 1e6 / $M_WALL : 0) }")
  cpu_mbps=$(awk "BEGIN { printf(\"%.1f\", $M_CPU > 0 ? $3 / 1e6 / $M_CPU : 0) }")
  [ "$M_RC" -eq 0 ] || mbps=0 cpu_mbps=0
  eval "r_$1_$2_wall=$M_WALL r_$1_$2_cpu=$M_CPU r_$1_$2_rss=$M_RSS r_$1_$2_rc=$M_RC"
  eval "r_$1_$2_mbps=$mbps r_$1_$2_cpu_mbps=$cpu_mbps r_$1_$2_size=$size"
  printf '  %-7s %-5s %s\n' "$1" "$2" \
    "$( [ "$M_RC" -eq 0 ] && echo "${M_WALL} s, ${mbps} MB/s, ${M_CPU} s CPU" ||
      echo "FAILED (exit $M_RC, see $out/$1-$2.log)")"
}

ran=""
for t in $tools; do
  if [ "$t" = strata ] && ! strata_ok; then
    note "bench: $STRATA_BIN has no backup command; strata skipped"
    continue
  fi
  if init "$t"; then
    ran="$ran $t"
  else
    note "bench: $t init failed (see $out/$t-init.log); $t skipped"
  fi
done
[ -n "$ran" ] || { note "bench: no tool to benchmark"; exit 1; }

echo "full backup of version 1 ($bytes_v1 bytes, $files_v1 files):"
for t in $ran; do
  warm "$data"
  backup "$t" full
  record "$t" full "$bytes_v1"
done

bench_dataset_v2 "$data"
bytes_v2=$(dataset_bytes "$data")
files_v2=$(find "$data" -type f | wc -l)
find "$data" -type f -printf '%P %s\n' | sort >"$out/files-v2.txt"
new_v2=$(comm -13 "$out/files-v1.txt" "$out/files-v2.txt" | awk '{ s += $NF } END { print s + 0 }')

echo "incremental backup of version 2 ($bytes_v2 bytes, $files_v2 files, $new_v2 bytes new or changed):"
for t in $ran; do
  warm "$data"
  backup "$t" incr
  record "$t" incr "$bytes_v2"
done
load_after=$(load)

# ---- report ----------------------------------------------------------------
v() { eval "printf '%s' \"\${r_$1_$2_$3:-0}\""; }
mib() { awk "BEGIN { printf(\"%.0f\", $1 / 1024) }"; }
mb() { awk "BEGIN { printf(\"%.1f\", $1 / 1e6) }"; }

echo
# "MB/CPU s" is data set bytes per CPU second: what a tool would do with one
# core to itself, and the column to trust when the machine is busy.
printf '%-7s %-5s %8s %8s %8s %9s %13s %10s\n' tool run "wall s" "MB/s" "CPU s" "MB/CPU s" \
  "peak RSS MiB" "repo MB"
for run in full incr; do
  for t in $ran; do
    printf '%-7s %-5s %8s %8s %8s %9s %13s %10s\n' "$t" "$run" "$(v "$t" "$run" wall)" \
      "$(v "$t" "$run" mbps)" "$(v "$t" "$run" cpu)" "$(v "$t" "$run" cpu_mbps)" \
      "$(mib "$(v "$t" "$run" rss)")" "$(mb "$(v "$t" "$run" size)")"
  done
done

# ratio A B DECIMALS: A / B, or "n/a" when B is zero (tool missing or failed).
ratio() { awk "BEGIN { if ($2 == 0) print \"n/a\"; else printf(\"%.$3f\", $1 / $2) }"; }
ratios_json=""
case " $ran " in *" strata "*)
  echo
  for other in restic borg; do
    case " $ran " in *" $other "*) ;; *) continue ;; esac
    want=3
    [ "$other" = borg ] && want=2
    for run in full incr; do
      tp=$(ratio "$(v strata "$run" mbps)" "$(v "$other" "$run" mbps)" 2)
      sz=$(ratio "$(v strata "$run" size)" "$(v "$other" "$run" size)" 3)
      target="" target_json=""
      if [ "$run" = full ]; then
        if [ "$tp" = n/a ] || [ "$sz" = n/a ]; then
          verdict="n/a"
        elif awk "BEGIN { exit !($tp >= $want && $sz <= 1) }"; then
          verdict="meets target"
        else
          verdict="MISSES target"
        fi
        target="   (target: throughput >= ${want}x, size <= 1x) $verdict"
        target_json=", \"throughput_target\": $want, \"size_target\": 1, \"verdict\": \"$verdict\""
      fi
      printf 'strata/%-6s %-4s throughput %7sx  repository size %6sx%s\n' \
        "$other" "$run" "$tp" "$sz" "$target"
      ratios_json="$ratios_json${ratios_json:+,}
    \"strata/$other/$run\": {\"throughput\": \"$tp\", \"size\": \"$sz\"$target_json}"
    done
  done
  ;;
esac
echo "load average after: $load_after"

{
  printf '{\n  "dataset_mb_setting": %s,\n' "$STRATA_BENCH_MB"
  printf '  "dataset": {"bytes_v1": %s, "files_v1": %s, "bytes_v2": %s, "files_v2": %s, "new_bytes_v2": %s},\n' \
    "$bytes_v1" "$files_v1" "$bytes_v2" "$files_v2" "$new_v2"
  printf '  "machine": {"cores": %s, "sha256_mbps": %s, "zstd1_mbps": %s, "zstd1_ratio_on_data_db": %s, "new_file_write_mbps": %s, "load_before": "%s", "load_after": "%s"},\n' \
    "$(nproc)" "${sha_mbps:-0}" "$zstd_mbps" "$zstd_ratio" "$write_mbps" "$load_before" "$load_after"
  printf '  "results": {'
  sep=""
  for t in $ran; do
    for run in full incr; do
      printf '%s\n    "%s/%s": {"wall_s": %s, "mbps": %s, "cpu_s": %s, "mb_per_cpu_s": %s, "peak_rss_kib": %s, "repo_bytes": %s, "exit": %s}' \
        "$sep" "$t" "$run" "$(v "$t" "$run" wall)" "$(v "$t" "$run" mbps)" "$(v "$t" "$run" cpu)" "$(v "$t" "$run" cpu_mbps)" \
        "$(v "$t" "$run" rss)" "$(v "$t" "$run" size)" "$(v "$t" "$run" rc)"
      sep=","
    done
  done
  printf '\n  },\n  "ratios": {%s\n  }\n}\n' "$ratios_json"
} >"$BENCH_OUT/backup.json"
echo "figures: $BENCH_OUT/backup.json; logs and repositories: $out"

failed=0
for t in $ran; do
  for run in full incr; do
    [ "$(v "$t" "$run" rc)" -eq 0 ] || failed=1
  done
done
exit $failed
