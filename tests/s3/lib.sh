# lib.sh - shell helpers for the S3 end-to-end tests and benchmark, sourced
# from the project root after $SCRATCH is set: the s3rver test server, the
# SigV4-checking proxy in front of it, and the environment strata and
# awscli need to use them.  Everything listens on 127.0.0.1 and stops in
# s3_stop_all (call it from an EXIT trap).

S3_HELPERS=$PWD/tests/s3
S3_PROXY_PIDS=""

# Starts s3rver (exit 77 when it cannot be installed); sets S3_PORT.
# s3_start_server tls: over HTTPS, certificate in $SCRATCH/s3rver/cert.pem.
s3_start_server() {
  sh "$S3_HELPERS/server.sh" install || exit $?
  S3_PORT=$(sh "$S3_HELPERS/server.sh" start "$SCRATCH/s3rver" "${1:-}") || exit 1
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null
  export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-credentials"
  export XDG_CACHE_HOME="$SCRATCH/cache"
}

# Starts a proxy in front of s3rver: s3_start_proxy NAME FAIL_RATE [STALL_S
# [RULES]]; sets PROXY_PORT; the proxy's request log is $SCRATCH/NAME.log;
# RULES names the file of faults for chosen requests (sigv4_proxy.py --rules).
s3_start_proxy() {
  rm -f "$SCRATCH/$1.port"
  python3 "$S3_HELPERS/sigv4_proxy.py" --upstream "http://127.0.0.1:$S3_PORT" \
    --port-file "$SCRATCH/$1.port" --log "$SCRATCH/$1.log" --fail-rate "$2" \
    --stall-seconds "${3:-4}" ${4:+--rules "$4"} 2>>"$SCRATCH/$1.err" &
  S3_PROXY_PIDS="$S3_PROXY_PIDS $!"
  i=0
  until [ -s "$SCRATCH/$1.port" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "proxy did not start:"; cat "$SCRATCH/$1.err"; exit 1; }
    sleep 0.1
  done
  PROXY_PORT=$(cat "$SCRATCH/$1.port")
}

s3_stop_all() {
  for p in $S3_PROXY_PIDS; do kill "$p" 2>/dev/null || true; done
  sh "$S3_HELPERS/server.sh" stop "$SCRATCH/s3rver"
}

# For a test that mounts (after tests/e2e/lib.sh): skips without FUSE or
# botocore (for the proxy), sets MNT, unmounts it and stops the servers on exit, and shows the end of
# the mount's log on failure.
s3_mount_test() {
  command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }
  python3 -c 'import botocore' 2>/dev/null || { echo "skip: python3-botocore missing"; exit 77; }
  MNT=$SCRATCH/mnt
  trap 'fusermount3 -u "$MNT" 2>/dev/null || true; s3_stop_all' EXIT
  fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }
}

# Waits up to SECONDS for VERSION to be listed in $MNT/versions; sets waited.
wait_listed() { # VERSION SECONDS
  waited=0
  until ls "$MNT/versions" | grep -qx "$1"; do
    [ "$waited" -lt "$2" ] || fail "$1 is not listed after $waited s"
    sleep 1
    waited=$((waited + 1))
  done
}

# awscli against s3rver directly (an independent client).
s3_aws() {
  aws --endpoint-url "http://127.0.0.1:$S3_PORT" "$@"
}

# sha256 of every file below DIR as "<hash>  <relative path>", sorted.
sums() { (cd "$1" && find . -type f -exec sha256sum {} +) | sed 's#  \./#  #' | LC_ALL=C sort -k2; }
# The same for a node's data directory, named as restore names files:
# <keyspace>/<table>/<file>, the table id dropped.
data_sums() { sums "$1" | sed -E 's#  ([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  \1/\2/#' | LC_ALL=C sort -k2; }

# s3_test_nodes MIB...: $SCRATCH/nodes/node1..3 from the corpus cluster
# rf3-a (v1) and node4 with one incompressible SSTable per MIB (whole MiB
# plus a few bytes; generation 1, 2, ...) in ks/big-<id>; writes
# $SCRATCH/cluster.ini and each node's data_sums in $SCRATCH/sums.<node>.
S3_TEST_TABLE=big-dddddddddddddddddddddddddddddddd
s3_test_nodes() {
  mkdir -p "$SCRATCH/nodes"
  for n in node1 node2 node3; do cp -R "$CORPUS/cluster/rf3-a/$n" "$SCRATCH/nodes/$n"; done
  python3 - "$SCRATCH/nodes/node4/ks/$S3_TEST_TABLE" "$@" <<'EOF'
import os, random, sys
d = sys.argv[1]
os.makedirs(d)
rng = random.Random(6)
for gen, mib in enumerate(sys.argv[2:], 1):
    with open(os.path.join(d, 'nb-%d-big-Data.db' % gen), 'wb') as f:
        f.write(rng.randbytes(int(mib) * 1048576 + rng.randrange(1, 4096)))
    with open(os.path.join(d, 'nb-%d-big-TOC.txt' % gen), 'w') as f:
        f.write('Data.db\nTOC.txt\n')
EOF
  chmod -R u+w "$SCRATCH/nodes"
  printf '[cluster]\nname = t\n' >"$SCRATCH/cluster.ini"
  for n in node1 node2 node3 node4; do
    printf '[node %s]\ndata_dir = %s\n' "$n" "$SCRATCH/nodes/$n" >>"$SCRATCH/cluster.ini"
    data_sums "$SCRATCH/nodes/$n" >"$SCRATCH/sums.$n"
  done
}
