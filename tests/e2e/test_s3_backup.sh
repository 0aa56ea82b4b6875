#!/bin/sh
# test_s3_backup.sh - an s3:// repository on a real S3-protocol server
# (s3rver), every request passing a proxy that recomputes its SigV4
# signature with botocore: init, backup of rf3-a's three nodes plus a node
# with multi-part packs, versions, verify, restore byte for byte (its
# account of what it fetched equal to the proxy's, and at most half again
# the bytes restored); awscli
# copies the bucket to a directory that strata then reads as a local
# repository (the objects are byte-identical); the index is rebuilt when
# the cache is missing and picks up versions another machine wrote; wrong
# credentials fail with one clear line; an interrupted backup resumes
# without uploading again what is stored.
set -eu
: "${STRATA_BIN:?}" "${SCRATCH:?}" "${CORPUS:?}"
RF3=$CORPUS/cluster/rf3-a
[ -d "$RF3/node1" ] || { echo "skip: no corpus at $RF3"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }
python3 -c 'import botocore' 2>/dev/null || { echo "skip: python3-botocore missing"; exit 77; }
command -v aws >/dev/null || { echo "skip: awscli missing"; exit 77; }
. tests/s3/lib.sh
trap s3_stop_all EXIT
export STRATA_S3_RETRY_SECONDS=60

say() { printf '== %s %s\n' "$(date +%T)" "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/proxy.err" ] && tail -5 "$SCRATCH/proxy.err"; exit 1; }
REPO="s3://strata/backups/rf3 a+ü"
strata() { "$STRATA_BIN" --s3-endpoint "http://127.0.0.1:$PROXY_PORT" --s3-path-style -r "$REPO" "$@"; }
bad_signatures() { awk '$5 == "BAD"' "$SCRATCH/proxy.log" | wc -l | tr -d ' '; }
# The proxy's log lines after line $1 (the log is appended to, never moved).
log_since() { tail -n "+$(($1 + 1))" "$SCRATCH/proxy.log"; }
log_mark() { wc -l <"$SCRATCH/proxy.log" | tr -d ' '; }

# What restore --json says it fetched must be what the proxy saw it send for
# packs (no faults here, so no retries), and read-ahead may cost at most
# half again the bytes restored (the data is incompressible, so stored
# bytes are about the restored ones).
check_fetched() { # RESULT_JSON GETS_MARK BYTES_MARK
  seen=$(log_since "$2" | grep -c '^GET [^ ]*/packs/' || true)
  sent=$(tail -n "+$(($3 + 1))" "$SCRATCH/proxy.log.bytes" | awk '$1 ~ /\/packs\// { s += $2 } END { print s + 0 }')
  python3 - "$1" "$seen" "$sent" <<'EOF2' || fail "restore's fetched figures: $(cat "$1")"
import json, sys
d = json.load(open(sys.argv[1]))
seen, sent = int(sys.argv[2]), int(sys.argv[3])
print("   fetched %d bytes in %d requests for %d restored (%.2fx); the proxy saw %d pack GETs, %d bytes"
      % (d["fetched_bytes"], d["fetched_requests"], d["restored_bytes"], d["fetched_bytes"] / d["restored_bytes"], seen, sent))
sys.exit(not (d["fetched_requests"] == seen and d["fetched_bytes"] == sent and d["fetched_bytes"] <= 1.5 * d["restored_bytes"]))
EOF2
}

check_restore() { # VERSION DIR
  rm -rf "$2"
  gets=$(log_mark)
  sent=$(wc -l <"$SCRATCH/proxy.log.bytes" | tr -d ' ')
  strata restore "$1" --to "$2" --json >"$2.json" || fail "restore of $1"
  check_fetched "$2.json" "$gets" "$sent"
  for n in node1 node2 node3 node4; do
    sums "$2/$n" >"$2.$n.sums"
    cmp -s "$2.$n.sums" "$SCRATCH/sums.$n" || { diff "$SCRATCH/sums.$n" "$2.$n.sums" | head; fail "restore of $1 differs on $n"; }
  done
}

say "s3rver and the signature-checking proxy on 127.0.0.1"
s3_start_server
s3_start_proxy proxy 0

say "four nodes: rf3-a v1 and one with 34 MiB of incompressible SSTable data"
s3_test_nodes 21 13

say "init, and a second init fails"
strata init >/dev/null
if strata init 2>"$SCRATCH/err"; then fail "second init succeeded"; fi
grep -q 'already holds a strata repository' "$SCRATCH/err" || fail "second init: $(cat "$SCRATCH/err")"

say "backup, versions, verify, restore"
strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/b1.json"
V1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' <"$SCRATCH/b1.json")
strata versions | grep -q "^$V1 " || fail "versions does not list $V1"
strata verify >"$SCRATCH/verify.out" || fail "verify exit $?: $(cat "$SCRATCH/verify.out")"
check_restore "$V1" "$SCRATCH/restore1"
multipart=$(grep -c '^POST .*uploads ' "$SCRATCH/proxy.log" || true)
[ "$multipart" -ge 1 ] || fail "no multipart upload happened"
ranged=$(grep -c '^GET .*/packs/' "$SCRATCH/proxy.log" || true)
echo "   $V1 restored byte for byte; $multipart multipart uploads, $ranged pack reads"
[ "$(bad_signatures)" = 0 ] || fail "botocore rejected $(bad_signatures) signatures"
[ "$(grep -c ' ok$' "$SCRATCH/proxy.log")" -gt 20 ] || fail "too few requests checked by the proxy"

say "virtual-host addressing: the bucket in the host name (strata.s3.localhost)"
mark=$(log_mark)
"$STRATA_BIN" --s3-endpoint "http://s3.localhost:$PROXY_PORT" -r "$REPO" versions | grep -q "^$V1 " ||
  fail "versions with virtual-host addressing"
log_since "$mark" | grep -q '^GET /backups/' || fail "no virtual-host style request reached the server"

say "awscli lists and copies what strata wrote; strata reads the copy as a local repository"
s3_aws s3 ls --recursive "s3://strata/backups/rf3 a+ü/" >"$SCRATCH/aws.ls"
grep -q ' backups/rf3 a+ü/config$' "$SCRATCH/aws.ls" || fail "awscli does not list the config object"
[ "$(grep -c "/packs/" "$SCRATCH/aws.ls")" -ge 2 ] || fail "awscli lists too few packs"
s3_aws s3 cp --recursive --quiet "s3://strata/backups/rf3 a+ü/" "$SCRATCH/copy" || fail "aws s3 cp"
"$STRATA_BIN" -r "$SCRATCH/copy" verify >/dev/null || fail "verify of the awscli copy"
rm -rf "$SCRATCH/restore-copy"
"$STRATA_BIN" -r "$SCRATCH/copy" restore "$V1" --to "$SCRATCH/restore-copy" >/dev/null
for n in node1 node2 node3 node4; do
  sums "$SCRATCH/restore-copy/$n" | cmp -s - "$SCRATCH/sums.$n" || fail "restore from the awscli copy differs on $n"
done

say "the index is rebuilt when the cache is gone, and sees another machine's versions"
rm -rf "$SCRATCH/cache"
mark=$(log_mark)
STRATA_S3_LIST_KEYS=1 strata versions | grep -q "^$V1 " || fail "versions after losing the cache"
pages=$(log_since "$mark" | grep -c 'list-type=2.*continuation-token=' || true)
[ "$pages" -ge 1 ] || fail "listing one key per page used no continuation token"
echo extra >"$SCRATCH/nodes/node1/app/$(ls "$SCRATCH/nodes/node1/app" | head -1)/nb-500-big-Data.db"
printf 'Data.db\n' >"$SCRATCH/nodes/node1/app/$(ls "$SCRATCH/nodes/node1/app" | head -1)/nb-500-big-TOC.txt"
data_sums "$SCRATCH/nodes/node1" >"$SCRATCH/sums.node1"
XDG_CACHE_HOME="$SCRATCH/other-machine" strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/b2.json"
V2=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' <"$SCRATCH/b2.json")
strata versions | grep -q "^$V2 " || fail "the first cache does not see $V2"
check_restore "$V2" "$SCRATCH/restore2"

say "a cache directory on read-only media is named as such, not the bucket"
mkdir "$SCRATCH/ro-cache"
if mount --bind "$SCRATCH/ro-cache" "$SCRATCH/ro-cache" 2>/dev/null; then
  rc=0
  mount -o remount,bind,ro "$SCRATCH/ro-cache" &&
    XDG_CACHE_HOME="$SCRATCH/ro-cache" strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null \
      2>"$SCRATCH/err" || rc=$?
  umount "$SCRATCH/ro-cache"
  cat "$SCRATCH/err"
  [ "$rc" = 1 ] && grep -q "^strata: error: creating $SCRATCH/ro-cache/strata/.*Read-only file system" "$SCRATCH/err" ||
    fail "a read-only cache directory: exit $rc, $(cat "$SCRATCH/err")"
else
  echo "   skipped: no bind mount here"
fi

say "a session token is signed like the rest (botocore checks it)"
mark=$(log_mark)
AWS_SESSION_TOKEN='FQoGZXIvYXdzE//session+token/=' strata versions >/dev/null || fail "versions with a session token"
log_since "$mark" | grep -q ' ok$' || fail "no request with a session token reached the proxy"

say "TLS: certificates are verified (STRATA_S3_CA_FILE for a private CA) unless --s3-insecure (which warns)"
tls_port=$(sh tests/s3/server.sh start "$SCRATCH/tls" tls)
trap 's3_stop_all; sh tests/s3/server.sh stop "$SCRATCH/tls"' EXIT
tls() { "$STRATA_BIN" --s3-endpoint "https://127.0.0.1:$tls_port" --s3-path-style -r s3://strata/tls "$@"; }
t0=$(date +%s)
if tls init 2>"$SCRATCH/err"; then fail "a self-signed certificate was accepted"; fi
grep -q 'certificate' "$SCRATCH/err" || fail "self-signed certificate: $(cat "$SCRATCH/err")"
[ $(($(date +%s) - t0)) -lt 10 ] || fail "a certificate failure was retried"
tls --s3-insecure init 2>"$SCRATCH/err" >/dev/null || fail "--s3-insecure init: $(cat "$SCRATCH/err")"
grep -q 'verification is off' "$SCRATCH/err" || fail "--s3-insecure gave no warning"
STRATA_S3_CA_FILE="$SCRATCH/tls/cert.pem" tls versions >/dev/null 2>"$SCRATCH/err" ||
  fail "verified TLS with the server's CA: $(cat "$SCRATCH/err")"
[ ! -s "$SCRATCH/err" ] || fail "verified TLS warned: $(cat "$SCRATCH/err")"

say "wrong credentials: one clear line, non-zero exit"
[ "$(bad_signatures)" = 0 ] || fail "botocore rejected $(bad_signatures) signatures"
mark=$(log_mark)
if AWS_SECRET_ACCESS_KEY=wrong strata versions >/dev/null 2>"$SCRATCH/err"; then fail "a wrong secret was accepted"; fi
grep -q 'access denied (check credentials)' "$SCRATCH/err" || fail "wrong secret: $(cat "$SCRATCH/err")"
grep -q wrong "$SCRATCH/err" && fail "the secret was printed"
[ "$(grep -c . "$SCRATCH/err")" -le 2 ] || fail "more than a line or two: $(cat "$SCRATCH/err")"
log_since "$mark" | grep -q ' BAD$' || fail "the proxy did not see the bad signature"

say "a bucket that does not exist is named as such"
for cmd in versions init; do
  rc=0; "$STRATA_BIN" --s3-endpoint "http://127.0.0.1:$PROXY_PORT" --s3-path-style -r s3://nosuchbucket/r $cmd \
    >/dev/null 2>"$SCRATCH/err" || rc=$?
  [ "$rc" = 1 ] && [ "$(cat "$SCRATCH/err")" = "strata: error: S3 bucket does not exist" ] ||
    fail "$cmd on a missing bucket: exit $rc, $(cat "$SCRATCH/err")"
done

say "an interrupted backup resumes without uploading stored packs again"
REPO=s3://strata/resume
strata init >/dev/null
mark=$(log_mark)
"$STRATA_BIN" --s3-endpoint "http://127.0.0.1:$PROXY_PORT" --s3-path-style -r "$REPO" \
  backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null 2>&1 &
pid=$!
i=0
until log_since "$mark" | grep -q '^POST /strata/resume/packs/.*uploadId='; do
  i=$((i + 1)); [ $i -lt 600 ] || fail "no pack upload completed"; sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
# Requests already sent still land; s3rver (unlike S3) shows an assembled
# multipart object before it is fully written, so let them finish.
sleep 2
# Stored: completed multipart uploads and whole-object PUTs (the proxy
# forwards a request it has read even when the client is gone).
log_since "$mark" | awk '($1 == "POST" && $2 ~ /uploadId=/) || ($1 == "PUT" && $2 !~ /\?/) {sub(/\?.*/, "", $2); print $2}' |
  grep /packs/ | sort -u >"$SCRATCH/completed-first"
mark=$(log_mark)
strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/b3.json"
log_since "$mark" | grep -E '^(PUT|POST) /strata/resume/packs/' | awk '{sub(/\?.*/, "", $2); print $2}' | sort -u >"$SCRATCH/second"
again=$(comm -12 "$SCRATCH/completed-first" "$SCRATCH/second" | wc -l | tr -d ' ')
[ "$again" = 0 ] || fail "$again packs stored before the interruption were uploaded again"
echo "   $(wc -l <"$SCRATCH/completed-first" | tr -d ' ') packs stored before the kill, none uploaded again; $(wc -l <"$SCRATCH/second" | tr -d ' ') uploaded after"
V3=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' <"$SCRATCH/b3.json")
strata verify >/dev/null || fail "verify after the resumed backup"
check_restore "$V3" "$SCRATCH/restore3"
[ "$(bad_signatures)" = 1 ] || fail "botocore rejected $(bad_signatures) signatures (1 expected)"
echo PASS
