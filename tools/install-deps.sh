#!/bin/sh
# Installs the Debian packages strata needs to build, test and benchmark,
# and only those that are missing, so `make demo` / `make test` work on a
# fresh machine and cost nothing on a prepared one.
set -eu

# python3 is in the first list because the demo reads JSON with it.
build="gcc make pkg-config libfuse3-dev fuse3 libzstd-dev liblmdb-dev
libcurl4-openssl-dev libssl-dev libcmocka-dev liblz4-dev libsnappy-dev
zlib1g-dev libjansson-dev libinih-dev libxxhash-dev libexpat1-dev libisal-dev python3"
test_extra="clang libclang-rt-14-dev zstd lmdb-utils npm python3-botocore awscli"
bench_extra="restic borgbackup time openssl python3-llfuse xz-utils"

want="$build"
case "${1:-build}" in
  test) want="$build $test_extra" ;;
  bench) want="$build $test_extra $bench_extra" ;;
esac

# npm may come with a Node.js that is not Debian's; Debian's npm would
# then conflict with it, so a working npm on PATH counts as present.
present() {
  case "$1" in
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
  esac
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=""
for p in $want; do
  present "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "strata: missing packages:$missing (run as root or install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
