#!/bin/sh
# test_s3_faults.sh - backup, verify and restore through a proxy that fails
# 20% of the requests to the S3 server: 500s, 503 SlowDown, dropped
# connections, stalls longer than strata's timeout, truncated bodies and
# answers lost after the server acted.  Everything must still succeed and
# restore byte for byte (a full backup, then ten rounds of an added
# SSTable, backup and restore), every fault kind must have happened, and
# botocore must have accepted every signature, retries included.
set -eu
: "${STRATA_BIN:?}" "${SCRATCH:?}" "${CORPUS:?}"
RF3=$CORPUS/cluster/rf3-a
[ -d "$RF3/node1" ] || { echo "skip: no corpus at $RF3"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }
python3 -c 'import botocore' 2>/dev/null || { echo "skip: python3-botocore missing"; exit 77; }
. tests/s3/lib.sh
trap s3_stop_all EXIT

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
strata() { "$STRATA_BIN" --s3-endpoint "http://127.0.0.1:$PROXY_PORT" --s3-path-style -r s3://strata/faulty "$@"; }

say "s3rver behind a proxy failing 20% of requests; strata gives up on a stall after 1 s"
s3_start_server
s3_start_proxy proxy 0.2 1.5
export STRATA_S3_TIMEOUT=1 STRATA_S3_RETRY_SECONDS=120

say "rf3-a's three nodes and one with a 22 MiB SSTable (a multipart pack)"
s3_test_nodes 22

say "init, backup, verify, restore"
strata init >/dev/null
strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/b.json"
V=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' <"$SCRATCH/b.json")
strata verify >"$SCRATCH/verify.out" || fail "verify exit $?: $(cat "$SCRATCH/verify.out")"
strata restore "$V" --to "$SCRATCH/restore" >/dev/null
for n in node1 node2 node3 node4; do
  sums "$SCRATCH/restore/$n" | cmp -s - "$SCRATCH/sums.$n" || fail "restore differs on $n"
done

say "ten more rounds: a new SSTable, a backup, a restore of it"
for round in 2 3 4 5 6 7 8 9 10 11; do
  python3 -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(1048576 + int(sys.argv[2])))' \
    "$SCRATCH/nodes/node4/ks/$S3_TEST_TABLE/nb-$round-big-Data.db" "$round"
  data_sums "$SCRATCH/nodes/node4" >"$SCRATCH/sums.node4"
  strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
  rm -rf "$SCRATCH/restore"
  strata restore latest/ks --to "$SCRATCH/restore" >/dev/null
  sums "$SCRATCH/restore/node4" | cmp -s - "$SCRATCH/sums.node4" || fail "round $round: restore differs"
done
strata verify >"$SCRATCH/verify.out" || fail "final verify exit $?: $(cat "$SCRATCH/verify.out")"

say "the faults really happened"
total=$(grep -c . "$SCRATCH/proxy.log")
faults=$(awk '$4 != "-"' "$SCRATCH/proxy.log" | wc -l | tr -d ' ')
echo "   $total requests, $faults failed on purpose:" $(awk '$4 != "-" {print $4}' "$SCRATCH/proxy.log" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
[ "$total" -ge 200 ] || fail "only $total requests"
[ "$((faults * 100 / total))" -ge 12 ] && [ "$((faults * 100 / total))" -le 28 ] || fail "$faults of $total failed, not about 20%"
for kind in 500 503 drop stall truncate lost; do
  grep -q " $kind ok$" "$SCRATCH/proxy.log" || fail "no '$kind' fault was injected"
done
bad=$(awk '$5 == "BAD"' "$SCRATCH/proxy.log" | wc -l | tr -d ' ')
[ "$bad" = 0 ] || fail "botocore rejected $bad signatures"
echo PASS
