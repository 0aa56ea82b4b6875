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

# Starts a proxy in front of s3rver: s3_start_proxy NAME FAIL_RATE [STALL_S];
# sets PROXY_PORT; the proxy's request log is $SCRATCH/NAME.log.
s3_start_proxy() {
  rm -f "$SCRATCH/$1.port"
  python3 "$S3_HELPERS/sigv4_proxy.py" --upstream "http://127.0.0.1:$S3_PORT" \
    --port-file "$SCRATCH/$1.port" --log "$SCRATCH/$1.log" --fail-rate "$2" \
    --stall-seconds "${3:-4}" 2>>"$SCRATCH/$1.err" &
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

# awscli against s3rver directly (an independent client).
s3_aws() {
  aws --endpoint-url "http://127.0.0.1:$S3_PORT" "$@"
}
