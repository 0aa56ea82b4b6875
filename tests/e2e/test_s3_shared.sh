#!/bin/sh
# test_s3_shared.sh - the foundation's end-to-end backup test, the mount's
# byte-comparison test and the reconciling backup's test (layers read back
# from the bucket), unchanged, against s3:// repositories on
# the S3 test server (every request signature-checked by the proxy).  They
# take the location from STRATA_TEST_REPO; the endpoint and path-style
# addressing reach strata through STRATA_S3_ENDPOINT / STRATA_S3_PATH_STYLE,
# the environment the --s3-* options set.
set -eu
: "${STRATA_BIN:?}" "${SCRATCH:?}" "${CORPUS:?}"
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }
python3 -c 'import botocore' 2>/dev/null || { echo "skip: python3-botocore missing"; exit 77; }
. tests/s3/lib.sh
trap s3_stop_all EXIT

s3_start_server
s3_start_proxy proxy 0
export STRATA_S3_ENDPOINT="http://127.0.0.1:$PROXY_PORT" STRATA_S3_PATH_STYLE=1

ran=0
for t in test_backup_rf3a test_mount_read test_reconcile_rf3a; do
  [ -f "tests/e2e/$t.sh" ] || { echo "FAIL: tests/e2e/$t.sh is missing"; exit 1; }
  printf '== %s against s3://strata/%s\n' "$t" "$t"
  mkdir -p "$SCRATCH/$t"
  rc=0
  STRATA_TEST_REPO="s3://strata/$t" SCRATCH="$SCRATCH/$t" sh "tests/e2e/$t.sh" >"$SCRATCH/$t.log" 2>&1 || rc=$?
  case $rc in
    0) ran=$((ran + 1)); tail -1 "$SCRATCH/$t.log" ;;
    77) echo "   skipped: $(tail -1 "$SCRATCH/$t.log")" ;;
    *) tail -30 "$SCRATCH/$t.log"; echo "FAIL: $t against S3 (exit $rc)"; exit 1 ;;
  esac
done
bad=$(awk '$5 == "BAD"' "$SCRATCH/proxy.log" | wc -l | tr -d ' ')
[ "$bad" = 0 ] || { echo "FAIL: botocore rejected $bad signatures"; exit 1; }
[ "$ran" -gt 0 ] || { echo "skip: neither test could run here"; exit 77; }
echo "PASS ($ran tests, $(grep -c . "$SCRATCH/proxy.log") signed requests checked)"
