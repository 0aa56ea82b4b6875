#!/bin/sh
# server.sh - the S3-protocol server the S3 tests and benchmarks run against.
#
#   server.sh install          npm ci of the pinned s3rver (tests/s3/node_modules)
#   server.sh start DIR [tls]  s3rver on 127.0.0.1, data in DIR/data, bucket
#                              "strata" created; prints the port (also DIR/port);
#                              with "tls", HTTPS with a self-signed certificate
#                              (DIR/cert.pem); virtual-host addressing as
#                              http://s3.localhost:PORT (BUCKET.s3.localhost)
#   server.sh stop DIR         stops the server started with DIR
#
# s3rver's credentials are S3RVER / S3RVER.  Exit status 77 from install or
# start means s3rver cannot be installed here (no npm or no registry).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)

install() {
  [ -x "$HERE/node_modules/.bin/s3rver" ] && return 0
  command -v npm >/dev/null || { echo "s3rver: npm is missing" >&2; exit 77; }
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2) || { echo "s3rver: npm ci failed" >&2; exit 77; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  dir=$1
  install
  mkdir -p "$dir/data"
  port=$(free_port)
  scheme=http tls=""
  if [ "${2:-}" = tls ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
      -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
    scheme=https tls="--key $dir/key.pem --cert $dir/cert.pem"
  fi
  # shellcheck disable=SC2086
  # s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  # OpenSSL 3 keeps in its legacy provider.
  NODE_OPTIONS=--openssl-legacy-provider \
    "$HERE/node_modules/.bin/s3rver" -d "$dir/data" -a 127.0.0.1 -p "$port" -s $tls \
    --service-endpoint localhost --configure-bucket strata >"$dir/s3rver.log" 2>&1 &
  echo $! >"$dir/pid"
  i=0
  until curl -s -k -o /dev/null "$scheme://127.0.0.1:$port/"; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "s3rver did not start:" >&2; cat "$dir/s3rver.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$port" >"$dir/port"
  echo "$port"
}

stop() {
  [ -f "$1/pid" ] || return 0
  kill "$(cat "$1/pid")" 2>/dev/null || true
  rm -f "$1/pid"
}

case "${1:-}" in
  install) install ;;
  start) start "$2" "${3:-}" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
