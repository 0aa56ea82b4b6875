#!/bin/sh
# bench/bench_dedup.sh - semantic deduplication: what a reconciled backup
# of an RF=3 cluster costs beside restic and borg backing up the same node
# directories.
#
# strata-gen-cluster writes a 3-node RF=3 cluster of about STRATA_BENCH_MB
# MB (real nb SSTables: overlapping replicas that miss some writes,
# overwrites, deletes, TTLs, several SSTables per node), then the next
# version of it with 1% new data.  strata (reconciling, cut at the
# generator's clock), restic (repository version 2, zstd) and borg (lz4,
# no encryption) back up version 1 and then version 2 into fresh local
# repositories, each with the data set in the page cache.  Reported: wall
# and CPU time of each backup, peak memory, repository size after each,
# and the targets of issue 7: strata's repository at most 1/6 of restic's,
# and the incremental backup in at most 5% of the full one's time.  Then,
# up to version STRATA_BENCH_VERSIONS (default 5), a history: each next
# version has 1% new data and one node (node1, node2, node3 in turn) runs
# a major compaction, as nodes do between backups; the repositories' sizes
# after each show what re-storing compacted data costs tools that copy
# files.
set -eu
. "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/dedup
data=$out/cluster
tools=${STRATA_BENCH_TOOLS:-strata restic borg}
rm -rf "$out"
mkdir -p "$out"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$out/restic-cache
export BORG_BASE_DIR=$out/borg-home BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
gen=$BENCH_ROOT/strata-gen-cluster
make -s -C "$BENCH_ROOT" strata-gen-cluster

echo "== semantic deduplication: ${STRATA_BENCH_MB} MB RF=3 cluster, strata vs restic vs borg"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
measure "$out/gen.log" "$gen" --out "$data" --mb "$STRATA_BENCH_MB" --seed "$STRATA_BENCH_SEED"
[ "$M_RC" -eq 0 ] || { cat "$out/gen.log"; exit 1; }
echo "generated: $(tail -1 "$out/gen.log") ($M_WALL s)"

# The cut of a version: just past the generator's clock (its writes carry
# the clock's timestamps, not the machine's).
clock_cut() { python3 -c "import json; print(json.load(open('$data/gen.json'))['clock'] // 1000000 + 1)"; }

results=$out/results.txt
: >"$results"
backup() { # TOOL VERSION
  log=$out/$1-$2.log
  warm "$data"
  case $1 in
    strata) measure "$log" "$STRATA_BIN" -r "$out/strata-repo" backup --cluster "$data/cluster.ini" --cut "$(clock_cut)" ;;
    restic) measure "$log" restic -r "$out/restic-repo" backup --host bench "$data" --exclude "$data/gen.json" ;;
    borg) measure "$log" borg create --compression lz4 "$out/borg-repo::$2" "$data" ;;
  esac
  [ "$M_RC" -eq 0 ] || { tail -5 "$log"; echo "$1 backup of $2 failed"; exit 1; }
  size=$(du -sb "$out/$1-repo" | cut -f1)
  printf '%s %s %s %s %s %s\n' "$1" "$2" "$M_WALL" "$M_CPU" "$M_RSS" "$size" >>"$results"
  printf '%-7s %-3s %8s s wall %8s CPU s %7s MiB peak %12s bytes in the repository\n' "$1" "$2" "$M_WALL" \
    "$M_CPU" "$((M_RSS / 1024))" "$size"
}

for t in $tools; do
  case $t in
    strata) "$STRATA_BIN" -r "$out/strata-repo" init >/dev/null ;;
    restic) restic -r "$out/restic-repo" init --repository-version 2 >/dev/null ;;
    borg) borg init -e none "$out/borg-repo" >/dev/null ;;
  esac
done
bytes_v1=$(dataset_bytes "$data")
echo "== version 1: $bytes_v1 bytes on three nodes"
for t in $tools; do backup "$t" v1; done

measure "$out/gen-next.log" "$gen" --out "$data" --next --percent 1
[ "$M_RC" -eq 0 ] || { cat "$out/gen-next.log"; exit 1; }
bytes_v2=$(dataset_bytes "$data")
echo "== version 2: 1% new data, $bytes_v2 bytes on three nodes"
for t in $tools; do backup "$t" v2; done
versions=${STRATA_BENCH_VERSIONS:-5}
v=3
while [ "$v" -le "$versions" ]; do
  node=node$(((v - 3) % 3 + 1))
  measure "$out/gen-next.log" "$gen" --out "$data" --next --percent 1
  [ "$M_RC" -eq 0 ] || { cat "$out/gen-next.log"; exit 1; }
  measure "$out/gen-compact.log" "$gen" --out "$data" --compact "$node"
  [ "$M_RC" -eq 0 ] || { cat "$out/gen-compact.log"; exit 1; }
  echo "== version $v: 1% new data, $node compacted, $(dataset_bytes "$data") bytes on three nodes"
  for t in $tools; do backup "$t" "v$v"; done
  v=$((v + 1))
done
if [ -x "$STRATA_BIN" ] && grep -q '^strata' "$results"; then
  "$STRATA_BIN" -r "$out/strata-repo" versions >"$out/strata-versions.txt"
  cat "$out/strata-versions.txt"
fi

echo "== ratios (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
awk '
  { wall[$1 " " $2] = $3; cpu[$1 " " $2] = $4; size[$1 " " $2] = $6 }
  END {
    s = size["strata v2"]
    if (s && size["restic v2"]) printf("repository after v2: strata/restic %.3f (target <= 0.167: %s)\n", s / size["restic v2"], s * 6 <= size["restic v2"] ? "met" : "NOT met")
    if (s && size["borg v2"]) printf("repository after v2: strata/borg %.3f\n", s / size["borg v2"])
    if (wall["strata v1"]) printf("incremental/full backup time: wall %.3f, CPU %.3f (target <= 0.05: %s)\n", wall["strata v2"] / wall["strata v1"], cpu["strata v2"] / cpu["strata v1"], wall["strata v2"] <= 0.05 * wall["strata v1"] ? "met" : "NOT met")
    for (t in wall) if (t ~ / v1$/) printf("%s full backup: %.1f MB/s of node data\n", t, '"$bytes_v1"' / 1e6 / wall[t])
    for (v = 3; ("strata v" v) in size; v++) {
      line = sprintf("repository after v%d (since v2, per version 1%% new data and a node compacted): strata/restic", v)
      if (("restic v" v) in size) line = line sprintf(" %.3f", size["strata v" v] / size["restic v" v])
      if (("borg v" v) in size) line = line sprintf(", strata/borg %.3f", size["strata v" v] / size["borg v" v])
      print line
    }
  }' "$results"
