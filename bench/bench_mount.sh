#!/bin/sh
# bench/bench_mount.sh - reading a whole version through strata's FUSE mount
# beside reading the original files, `restic mount` and `borg mount` of the
# same data set, and listing a repository of many versions.
#
# Targets (issue 3): the first read of a version through a freshly started
# mount at least 2x borg mount's; the second read served from the kernel
# page cache (several GB/s); `ls -R /versions` of a repository with 1,000
# versions under 1 s.  Each tool's repository files are read once before
# its mount starts, so the figures are the tools' own pipelines (fetch,
# decompress, check, hand to the kernel), not the disk.  Every tree is read
# the same way, file after file (`find | xargs cat`), as `cp -r` would.
#
# Output: a table on stdout, logs in bench/out/mount/, figures in
# bench/out/mount.json.  STRATA_BENCH_TOOLS picks the tools (default
# "strata restic borg"), STRATA_BENCH_VERSIONS the number of versions of
# the listing test (default 1000; 0 skips it).
set -eu
. "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/mount
data=$BENCH_OUT/dataset
tools=${STRATA_BENCH_TOOLS:-strata restic borg}
versions=${STRATA_BENCH_VERSIONS:-1000}
mnt=$out/mnt
rm -rf "$out"
mkdir -p "$mnt"
trap 'fusermount3 -u "$mnt" 2>/dev/null || true' EXIT

export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$out/restic-cache
export BORG_BASE_DIR=$out/borg-home BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

echo "== mount benchmark: strata vs restic vs borg, reading a whole version"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
# The backup benchmark leaves the data set behind (as its version 2); any
# version of it serves here, so it is generated only when missing.
[ -d "$data/node1" ] || { echo "generating the data set in $data ..."; bench_dataset "$data"; }
echo "data set: $(dataset_bytes "$data") bytes, $(find "$data" -type f | wc -l) files"

# wait_for PATH: until PATH exists (a mount is serving), at most 60 s.
wait_for() {
  i=0
  while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  [ -e "$1" ]
}

# read_tree DIR: reads every file under DIR once; sets R_MBPS (of the bytes
# the files hold) and R_WALL.
read_tree() {
  t0=$(now)
  find "$1" -type f -print0 | xargs -0 cat >/dev/null
  t1=$(now)
  b=$(du -sb --apparent-size "$1" | cut -f1)
  R_WALL=$(awk "BEGIN { printf(\"%.2f\", $t1 - $t0) }")
  R_MBPS=$(awk "BEGIN { printf(\"%.0f\", $b / 1e6 / ($t1 - $t0)) }")
  R_BYTES=$b
}

# cpu_s PID: user + system seconds the process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf("%.2f", ($14 + $15) / hz) }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# peak_rss PID: the process's peak resident set in MiB.
peak_rss() { awk '/VmHWM/ { printf("%.0f", $2 / 1024) }' "/proc/$1/status" 2>/dev/null || echo 0; }

# unmount PID: unmounts the bench mount point and waits for its server.
unmount() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# run TOOL: back up (untimed), warm the repository, mount, read twice.
# Sets r_<tool>_first, r_<tool>_second (MB/s), r_<tool>_rss (MiB).
run() {
  tool=$1 pid=""
  case $tool in
    strata)
      repo=$out/strata-repo
      printf '[cluster]\nname = bench\n' >"$out/cluster.ini"
      for n in node1 node2 node3; do printf '[node %s]\ndata_dir = %s/%s\n' "$n" "$data" "$n" >>"$out/cluster.ini"; done
      "$STRATA_BIN" -r "$repo" init >"$out/strata-init.log" 2>&1 &&
        "$STRATA_BIN" -r "$repo" backup --files --cluster "$out/cluster.ini" >"$out/strata-backup.log" 2>&1 || return 1
      warm "$repo"
      "$STRATA_BIN" -r "$repo" mount -f "$mnt" 2>"$out/strata-mount.log" &
      pid=$!
      tree=$mnt/versions/latest/ ;;
    restic)
      repo=$out/restic-repo
      restic -r "$repo" init --repository-version 2 >"$out/restic-init.log" 2>&1 &&
        restic -r "$repo" backup --host bench "$data" >"$out/restic-backup.log" 2>&1 || return 1
      warm "$repo"
      restic -r "$repo" mount "$mnt" >"$out/restic-mount.log" 2>&1 &
      pid=$!
      tree=$mnt/snapshots/latest$data/ ;;
    borg)
      repo=$out/borg-repo
      borg init -e none "$repo" >"$out/borg-init.log" 2>&1 &&
        borg create --compression lz4 "$repo::v1" "$data" >"$out/borg-backup.log" 2>&1 || return 1
      warm "$repo"
      borg mount -f "$repo::v1" "$mnt" >"$out/borg-mount.log" 2>&1 &
      pid=$!
      tree=$mnt$data/ ;;
  esac
  if ! wait_for "$tree"; then
    unmount "$pid"
    return 1
  fi
  c0=$(cpu_s "$pid")
  read_tree "$tree"
  cpu=$(calc "$(cpu_s "$pid") - $c0")
  eval "r_${tool}_first=$R_MBPS r_${tool}_bytes=$R_BYTES r_${tool}_cpu=$cpu"
  printf '  %-7s first read  %6s s  %6s MB/s  (%s bytes; the mount used %s s CPU)\n' "$tool" \
    "$R_WALL" "$R_MBPS" "$R_BYTES" "$cpu"
  if [ "$tool" = strata ]; then
    ra=$(cat "/sys/class/bdi/$(mountpoint -d "$mnt")/read_ahead_kb" 2>/dev/null || echo "?")
    echo "          kernel read-ahead of the mount: $ra KiB"
  fi
  read_tree "$tree"
  eval "r_${tool}_second=$R_MBPS r_${tool}_rss=$(peak_rss "$pid")"
  printf '  %-7s second read %6s s  %6s MB/s\n' "$tool" "$R_WALL" "$R_MBPS"
  unmount "$pid"
}

echo "reading the original files (page cache):"
warm "$data"
read_tree "$data/"
r_files_first=$R_MBPS r_files_second=$R_MBPS
printf '  %-7s read        %6s s  %6s MB/s\n' files "$R_WALL" "$R_MBPS"

ran=""
for t in $tools; do
  if run "$t"; then
    ran="$ran $t"
  else
    note "bench: $t could not back up or mount (see $out/$t-*.log); skipped"
  fi
done

# ---- many versions: listing ---------------------------------------------------
ls_first=0 ls_second=0 ls_entries=0
if [ "$versions" -gt 0 ] && [ -d "$STRATA_CORPUS/cluster/rf3-a/node1" ]; then
  echo "listing: $versions versions of the real 3-node cluster rf3-a ..."
  small=$out/versions-data
  copy_corpus "$small" v1
  printf '[cluster]\nname = rf3\n' >"$out/rf3.ini"
  for n in node1 node2 node3; do printf '[node %s]\ndata_dir = %s/%s\n' "$n" "$small" "$n" >>"$out/rf3.ini"; done
  repo=$out/versions-repo
  "$STRATA_BIN" -r "$repo" init >/dev/null
  i=0
  while [ $i -lt "$versions" ]; do
    "$STRATA_BIN" -q -r "$repo" backup --files --cluster "$out/rf3.ini" >/dev/null
    i=$((i + 1))
  done
  "$STRATA_BIN" -r "$repo" mount -f "$mnt" 2>"$out/versions-mount.log" &
  pid=$!
  wait_for "$mnt/versions/latest"
  t0=$(now)
  ls -R "$mnt/versions" >"$out/ls-R.txt"
  t1=$(now)
  ls -R "$mnt/versions" >/dev/null
  t2=$(now)
  ls_first=$(calc "$t1 - $t0") ls_second=$(calc "$t2 - $t1")
  ls_entries=$(grep -c -v -e '^$' -e ':$' "$out/ls-R.txt")
  ls_rss=$(peak_rss "$pid")
  unmount "$pid"
  printf '  ls -R /versions: %s s (first), %s s (second), %s entries, mount peak RSS %s MiB\n' \
    "$ls_first" "$ls_second" "$ls_entries" "$ls_rss"
fi

# ---- report ----------------------------------------------------------------------
v() { eval "printf '%s' \"\${r_$1_$2:-0}\""; }
ratio() { awk "BEGIN { if ($2 == 0) print \"n/a\"; else printf(\"%.2f\", $1 / $2) }"; }
echo
# CPU seconds of the mount process for the first read are the figure the
# machine's other load disturbs least (wall time is shared, CPU time is not).
printf '%-7s %14s %15s %14s %18s\n' tool "first MB/s" "second MB/s" "peak RSS MiB" "first read CPU s"
for t in files $ran; do
  printf '%-7s %14s %15s %14s %18s\n' "$t" "$(v "$t" first)" "$(v "$t" second)" "$(v "$t" rss)" "$(v "$t" cpu)"
done
verdict="n/a"
case " $ran " in *" strata "*)
  echo
  for other in files restic borg; do
    case " files $ran " in *" $other "*) ;; *) continue ;; esac
    printf 'strata/%-6s first read %6sx   second read %6sx   CPU per first read %6sx\n' "$other" \
      "$(ratio "$(v strata first)" "$(v "$other" first)")" "$(ratio "$(v strata second)" "$(v "$other" second)")" \
      "$(ratio "$(v strata cpu)" "$(v "$other" cpu)")"
  done
  b=$(ratio "$(v strata first)" "$(v borg first)")
  if [ "$b" != n/a ]; then
    verdict=$(awk "BEGIN { print ($b >= 2) ? \"meets target\" : \"MISSES target\" }")
    echo "first read vs borg mount: ${b}x (target >= 2x): $verdict"
  fi
  ;;
esac
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

cat >"$BENCH_OUT/mount.json" <<EOF
{
  "data_set_bytes": $(dataset_bytes "$data"),
  "read_mbps": {
    "files": {"first": $(v files first), "second": $(v files second)},
    "strata": {"first": $(v strata first), "second": $(v strata second), "peak_rss_mib": $(v strata rss), "first_cpu_s": $(v strata cpu)},
    "restic": {"first": $(v restic first), "second": $(v restic second), "peak_rss_mib": $(v restic rss), "first_cpu_s": $(v restic cpu)},
    "borg": {"first": $(v borg first), "second": $(v borg second), "peak_rss_mib": $(v borg rss), "first_cpu_s": $(v borg cpu)}
  },
  "first_read_vs_borg": {"target": 2, "verdict": "$verdict"},
  "ls_R_versions": {"versions": $versions, "entries": $ls_entries, "first_s": $ls_first, "second_s": $ls_second, "target_s": 1}
}
EOF
