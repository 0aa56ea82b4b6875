#!/bin/sh
# test_s3_errors.sh - what an operator sees when the S3 endpoint is
# misconfigured or answers badly: an endpoint without a host, or an IP
# address without path-style addressing, is one error line at once; a pack
# upload denied (403 with an S3 <Error> body) or a version object the
# server keeps failing (500) is one error line, a non-zero exit and no new
# version, the repository still whole; pack reads whose Content-Length is
# one byte off (the stray byte left on a kept connection garbles the next
# answer's status line), or ranged ones answered with other bytes than
# asked for (cut short, shifted, the whole object), are retried and
# restore byte for byte; pack reads that keep failing are one line, and
# ranged ones cut short every time are no damage: verify --repair forgets
# no chunk over them; listings that fail leave a reader with
# its cache's index, and one with a new cache with an error.  Every request
# is signature-checked.
set -eu
. "$(dirname "$0")/lib.sh"
python3 -c 'import botocore' 2>/dev/null || { echo "skip: python3-botocore missing"; exit 77; }
. tests/s3/lib.sh
trap s3_stop_all EXIT

strata() { "$STRATA_BIN" --s3-endpoint "http://127.0.0.1:$PROXY_PORT" --s3-path-style -r s3://strata/errors "$@"; }
# strata with a cache directory no index was ever synced into
strata_new_cache() { XDG_CACHE_HOME="$SCRATCH/new-cache" strata "$@"; }
# CMD... must fail within SECONDS with one error line saying PATTERN.
fails_saying() { # PATTERN SECONDS CMD...
  pattern=$1 limit=$2
  shift 2
  t0=$(date +%s)
  expect_error "succeeded" "$@"
  grep -q "^strata: error: .*$pattern" "$SCRATCH/err" || fail "the error does not say '$pattern'"
  [ $(($(date +%s) - t0)) -le "$limit" ] || fail "took more than $limit s"
}
versions() { strata versions --json | json 'len(d)'; }
rules() { printf '%s\n' "$@" >"$SCRATCH/rules"; }
export STRATA_S3_RETRY_SECONDS=3

say "endpoints that cannot work fail at once"
export AWS_ACCESS_KEY_ID=K AWS_SECRET_ACCESS_KEY=S XDG_CACHE_HOME="$SCRATCH/cache"
fails_saying 'S3 endpoint http://: no host name' 1 "$STRATA_BIN" --s3-endpoint http:// -r s3://b/r versions
fails_saying 'is an IP address.*--s3-path-style' 1 \
  env STRATA_S3_RETRY_SECONDS=30 "$STRATA_BIN" --s3-endpoint http://127.0.0.1:9 -r s3://b/r versions

say "s3rver behind the signature-checking proxy, faults chosen per request"
s3_start_server
rules
s3_start_proxy proxy 0 4 "$SCRATCH/rules"
s3_test_nodes 21
strata init >/dev/null
strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
[ "$(versions)" = 1 ] || fail "the first backup made no version"

# A backup of a new SSTable while requests matching RULE fail: it fails
# with one line saying PATTERN and leaves VERSIONS versions, verified
# whole; without the fault the next backup succeeds.
backup_fails_then_succeeds() { # RULE PATTERN SECONDS VERSIONS
  gen=$(($4 + 10))
  python3 -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(3 << 20))' \
    "$SCRATCH/nodes/node4/ks/$S3_TEST_TABLE/nb-$gen-big-Data.db"
  data_sums "$SCRATCH/nodes/node4" >"$SCRATCH/sums.node4"
  rules "$1"
  fails_saying "$2" "$3" strata backup --files --cluster "$SCRATCH/cluster.ini"
  rules
  [ "$(versions)" = "$4" ] || fail "$(versions) versions, expected $4"
  strata verify >"$SCRATCH/verify.out" || fail "verify exit $?: $(cat "$SCRATCH/verify.out")"
  strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
  [ "$(versions)" = $(($4 + 1)) ] || fail "the backup after the fault made no version"
}

say "a pack upload denied: one line, no version, and the next backup makes it"
backup_fails_then_succeeds 'PUT /packs/ 403' 'S3 PUT .*packs/.*: access denied (check credentials): AccessDenied' 10 1

say "a version object the server keeps failing: one line, no version; the next backup makes it"
backup_fails_then_succeeds 'PUT /versions/ 500' \
  'S3 PUT .*versions/.*: HTTP 500 InternalError (gave up after 3 s of retries)' 15 2

say "pack reads with a Content-Length one byte off, or answered with other bytes than asked for, restore byte for byte"
for fault in short-length long-length short-range shifted-range whole; do
  rules "GET /packs/.*bytes= $fault 2"
  rm -rf "$SCRATCH/restore"
  strata restore latest --to "$SCRATCH/restore" >/dev/null 2>"$SCRATCH/err" || fail "restore with $fault: $(cat "$SCRATCH/err")"
  for n in node1 node2 node3 node4; do
    sums "$SCRATCH/restore/$n" | cmp -s - "$SCRATCH/sums.$n" || fail "restore with $fault differs on $n"
  done
  [ "$(grep -c " $fault ok$" "$SCRATCH/proxy.log")" = 2 ] || fail "not two $fault answers"
done

say "ranged pack reads always cut short: one line naming the object, not damage"
rules 'GET /packs/.*bytes= short-range'
rm -rf "$SCRATCH/restore"
fails_saying 'S3 GET .*packs/[0-9a-f/]* bytes=[0-9]*-[0-9]*: answered with bytes [0-9]*-[0-9]* of [0-9]* ([0-9]* bytes), 3 times' 30 \
  strata restore latest --to "$SCRATCH/restore"

say "verify --repair with whole packs unreadable and ranged reads cut short: an error, no chunk forgotten"
rules 'GET /packs/[0-9a-f]*/[0-9a-f]*$ 500' 'GET /packs/.*bytes= short-range'
fails_saying "checking a damaged chunk's copy: S3 GET .*packs/.* answered with bytes" 120 strata verify --repair
rules
strata verify >"$SCRATCH/verify.out" || fail "verify after the repair exit $?: $(cat "$SCRATCH/verify.out")"

say "pack reads that keep failing: one line"
rules 'GET /packs/ 503'
rm -rf "$SCRATCH/restore"
fails_saying 'S3 GET .*packs/.*: HTTP 503 SlowDown (gave up after 3 s of retries)' 30 \
  strata restore latest --to "$SCRATCH/restore"
rules

say "listings failing: a synced cache is read as it is; a new one is an error, not an empty repository"
rules 'GET list-type 503'
strata versions --json >"$SCRATCH/versions.json" 2>"$SCRATCH/err" || fail "versions from a synced cache: $(cat "$SCRATCH/err")"
[ "$(json 'len(d)' <"$SCRATCH/versions.json")" = 3 ] || fail "versions from a synced cache: not 3"
grep -q "using the index as it is" "$SCRATCH/err" || fail "no warning that the index was not brought up to date"
fails_saying 'HTTP 503' 30 strata_new_cache versions --json
[ ! -s "$SCRATCH/out" ] || fail "versions --json printed something on the error: $(cat "$SCRATCH/out")"
rules
strata_new_cache versions --json >"$SCRATCH/versions.json"
[ "$(json 'len(d)' <"$SCRATCH/versions.json")" = 3 ] || fail "the new cache once the listings work: not 3 versions"

bad=$(awk '$5 == "BAD"' "$SCRATCH/proxy.log" | wc -l | tr -d ' ')
[ "$bad" = 0 ] || fail "botocore rejected $bad signatures"
echo PASS
