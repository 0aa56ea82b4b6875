#!/bin/sh
# test_mount_read.sh - reading through a real mount, byte for byte: files
# of many chunks (part compressible, part not), empty files, a time-UUID
# generation; thousands of random-offset preads of various sizes (half
# of them O_DIRECT, so they reach strata instead of the page cache)
# compared with the original bytes; 8 concurrent readers of different
# files; a small chunk cache (so chunks are evicted and read again).
set -eu
: "${STRATA_BIN:?}" "${SCRATCH:?}"
. "$(dirname "$0")/lib.sh"
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }
REPO=${STRATA_TEST_REPO:-$SCRATCH/repo}
MNT=$SCRATCH/mnt
trap 'fusermount3 -u "$MNT" 2>/dev/null || true' EXIT

say "three nodes with multi-chunk SSTable files"
python3 - "$SCRATCH/nodes" <<'EOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(20261122)
tid = 'b' * 32
# MiB of Data.db per SSTable, per node; odd byte counts so files end mid-chunk
sizes = {'node1': [16, 5, 2], 'node2': [9, 3], 'node3': [7, 4, 1]}
for node, mibs in sizes.items():
    d = os.path.join(root, node, 'ks', 'big-' + tid)
    os.makedirs(d)
    for gen, mib in enumerate(mibs, 1):
        with open(os.path.join(d, 'nb-%d-big-Data.db' % gen), 'wb') as f:
            left = mib * 1048576 + rng.randrange(1, 65536)
            while left:
                n = min(left, rng.randrange(65536, 1048576))
                if rng.random() < 0.5:
                    f.write(rng.randbytes(n))
                else:
                    word = rng.randbytes(rng.randrange(1, 64))
                    f.write((word * (n // len(word) + 1))[:n])
                left -= n
        with open(os.path.join(d, 'nb-%d-big-TOC.txt' % gen), 'w') as f:
            f.write('Data.db\nTOC.txt\nStatistics.db\n')
        open(os.path.join(d, 'nb-%d-big-Statistics.db' % gen), 'wb').close()
    with open(os.path.join(d, 'nb-%d-big-Digest.crc32' % len(mibs)), 'w') as f:
        f.write('7')
# a time-UUID generation (Cassandra 5): unique across nodes, kept as it is
d = os.path.join(root, 'node2', 'ks', 'big-' + tid)
with open(os.path.join(d, 'nb-3gdc_0e6x_1g2n42e3jg2f6sdtlv-big-Data.db'), 'wb') as f:
    f.write(rng.randbytes(300000))
with open(os.path.join(d, 'nb-3gdc_0e6x_1g2n42e3jg2f6sdtlv-big-TOC.txt'), 'w') as f:
    f.write('Data.db\nTOC.txt\n')
EOF
printf '[cluster]\nname = big\n' >"$SCRATCH/cluster.ini"
for n in node1 node2 node3; do printf '[node %s]\ndata_dir = nodes/%s\n' "$n" "$n" >>"$SCRATCH/cluster.ini"; done
strata init >/dev/null
V=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
mkdir -p "$MNT"
mount_it() { strata mount --cache-size 16M --log "$SCRATCH/mount.log" "$MNT"; }
mount_it
if strata mount "$MNT" 2>"$SCRATCH/err"; then fail "a second mount on $MNT succeeded"; fi
grep -q "^strata: error: .* is mounted already" "$SCRATCH/err" || fail "second mount: $(cat "$SCRATCH/err")"
[ "$(grep -c " $MNT " /proc/mounts)" = 1 ] || fail "$(grep -c " $MNT " /proc/mounts) mounts on $MNT"

# Pairs "mount path<TAB>original path" for every file of node N.
pairs() {
  (cd "$SCRATCH/nodes/$1/ks" && find . -type f | sed 's#^\./big-b*/##') | while read -r f; do
    printf '%s\t%s\n' "$MNT/nodes/$1/$V/ks/big/$f" "$(echo "$SCRATCH/nodes/$1/ks"/big-*/"$f")"
  done
}
for n in node1 node2 node3; do pairs "$n"; done >"$SCRATCH/pairs"
[ "$(wc -l <"$SCRATCH/pairs")" -eq 29 ] || fail "expected 29 files, found $(wc -l <"$SCRATCH/pairs")"

say "random-offset preads compared with the original bytes"
python3 - "$SCRATCH/pairs" <<'EOF'
import mmap, os, random, sys
pairs = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
rng = random.Random(7)
sizes = [1, 2, 511, 4096, 65537, 262144, 1048576, 1048576 + 4097, 3 * 1048576 + 5]
buf = mmap.mmap(-1, max(sizes))  # page aligned, as O_DIRECT wants
reads = checked = direct = 0
handles = {}
for i in range(4000):
    m, o = rng.choice(pairs)
    size = os.path.getsize(o)
    use_direct = i % 2 == 1
    key = (m, use_direct)
    if key not in handles:
        handles[key] = os.open(m, os.O_RDONLY | (os.O_DIRECT if use_direct else 0))
    fd = handles[key]
    n = rng.choice(sizes)
    # offsets anywhere, often near the end and sometimes past it
    off = rng.choice([rng.randrange(0, size + 2), max(0, size - rng.randrange(0, 70000))])
    if use_direct:
        got = os.preadv(fd, [memoryview(buf)[:n]], off)
        data = bytes(buf[:got])
        direct += 1
    else:
        data = os.pread(fd, n, off)
    with open(o, 'rb') as f:
        f.seek(off)
        want = f.read(n)
    if data != want:
        sys.exit('%s: %d bytes at %d: got %d bytes, differ from the original' % (m, n, off, len(data)))
    reads += 1
    checked += len(data)
print('   %d preads (%d O_DIRECT), %d bytes, all equal to the originals' % (reads, direct, checked))
EOF

say "8 concurrent readers of different files, on a fresh mount"
unmount_and_wait
mount_it
grep 'Data.db' "$SCRATCH/pairs" | head -8 >"$SCRATCH/eight"
[ "$(wc -l <"$SCRATCH/eight")" -eq 8 ] || fail "need 8 Data.db files"
i=0
while IFS="$(printf '\t')" read -r m o; do
  i=$((i + 1))
  (sha256sum <"$m" | cut -c1-64 >"$SCRATCH/got.$i"; sha256sum <"$o" | cut -c1-64 >"$SCRATCH/want.$i") &
done <"$SCRATCH/eight"
wait
for i in 1 2 3 4 5 6 7 8; do
  [ -s "$SCRATCH/got.$i" ] && cmp -s "$SCRATCH/got.$i" "$SCRATCH/want.$i" || fail "concurrent reader $i read wrong bytes"
done
echo "   8 files read concurrently, sha256 equal to the originals"

say "every file of every node through /nodes and /versions"
while IFS="$(printf '\t')" read -r m o; do cmp -s "$m" "$o" || fail "$m differs from $o"; done <"$SCRATCH/pairs"
(cd "$MNT/versions/$V/ks/big" && find . -type f -exec sha256sum {} + | cut -c1-64 | sort) >"$SCRATCH/merged.sums"
(cd "$SCRATCH/nodes" && find . -type f -exec sha256sum {} + | cut -c1-64 | sort) >"$SCRATCH/orig.sums"
cmp -s "$SCRATCH/merged.sums" "$SCRATCH/orig.sums" || fail "/versions/$V/ks/big does not hold the nodes' files"
[ "$(ls "$MNT/versions/$V/ks/big" | grep -c Data.db)" -eq 9 ] || fail "merged view does not have 9 SSTables"
[ "$(ls "$MNT/versions/$V/ks/big" | grep -c -E '^nb-[1-8]-big-Data.db$')" -eq 8 ] ||
  fail "numeric generations in the merged view are not 1..8"
cmp -s "$MNT/versions/$V/ks/big/nb-3gdc_0e6x_1g2n42e3jg2f6sdtlv-big-Data.db" \
  "$(echo "$SCRATCH"/nodes/node2/ks/big-*/nb-3gdc_0e6x_1g2n42e3jg2f6sdtlv-big-Data.db)" ||
  fail "the time-UUID generation SSTable is not shown under its own name"
[ ! -s "$MNT/nodes/node1/$V/ks/big/nb-1-big-Statistics.db" ] || fail "empty file is not empty"

unmount_and_wait
if grep -q "error" "$SCRATCH/mount.log"; then fail "errors in the mount log"; fi
echo "ok"
