#!/bin/sh
# test_mount_damage.sh - damaged repositories through a real mount: one
# chunk with a flipped byte and one deleted pack.  Reading a file that
# needs either fails with EIO (never wrong bytes), the damaged chunk is
# named in exactly one log line however often it is read, every other file
# reads back byte-identical, and the mount stays up throughout.
set -eu
. "$(dirname "$0")/lib.sh"
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }
MNT=$SCRATCH/mnt
trap 'fusermount3 -u "$MNT" 2>/dev/null || true' EXIT
packs() { (cd "$SCRATCH/repo" && find packs -type f ! -name '*.tmp-*' | sort); }

say "v1 and v2 of rf3-a backed up (v2's new chunks go to new packs)"
mkdir -p "$SCRATCH/nodes"
for n in node1 node2 node3; do cp -R "$RF3/$n" "$SCRATCH/nodes/$n"; done
chmod -R u+w "$SCRATCH/nodes"
printf '[cluster]\nname = rf3-a\n' >"$SCRATCH/cluster.ini"
for n in node1 node2 node3; do printf '[node %s]\ndata_dir = nodes/%s\n' "$n" "$n" >>"$SCRATCH/cluster.ini"; done
strata init >/dev/null
strata backup --files --cluster "$SCRATCH/cluster.ini" >/dev/null
packs >"$SCRATCH/packs.v1"
rm -rf "$SCRATCH/nodes"
mkdir -p "$SCRATCH/nodes"
for n in node1 node2 node3; do cp -R "$RF3/v2/$n" "$SCRATCH/nodes/$n"; done
chmod -R u+w "$SCRATCH/nodes"
V=$(strata backup --files --cluster "$SCRATCH/cluster.ini" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
packs | comm -13 "$SCRATCH/packs.v1" - >"$SCRATCH/packs.v2"
[ -s "$SCRATCH/packs.v2" ] || fail "the second backup wrote no pack"

say "flip a byte of node1's users nb-7 Data.db chunk (a v1 pack); delete a v2 pack"
# Every file below the minimum chunk size is one chunk whose id is the
# sha256 of the file: that is how the test knows which files each damage
# must hit.  Writes "<node>/<keyspace>/<table>/<path> <sha256|EIO>" lines.
python3 - "$SCRATCH" "$(head -1 "$SCRATCH/packs.v2")" <<'EOF'
import hashlib, os, re, struct, sys
scratch, gone = sys.argv[1], sys.argv[2]
repo = os.path.join(scratch, 'repo')
def sha(p):
    with open(p, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()
def entries(path):
    with open(path, 'rb') as f:
        data = f.read()
    count, tlen = struct.unpack_from('<II', data, len(data) - 48)
    assert data[-8:] == b'STRPKEND' and tlen == 65 * count
    base = len(data) - 48 - tlen
    for i in range(count):
        e = data[base + 65 * i: base + 65 * (i + 1)]
        off, stored = struct.unpack_from('<QI', e, 32)
        yield e[:32].hex(), off, stored
where = {}
for line in open(os.path.join(scratch, 'packs.v1')).read().split() + open(os.path.join(scratch, 'packs.v2')).read().split():
    for cid, off, stored in entries(os.path.join(repo, line)):
        where[cid] = (line, off, stored)
target = None
for root, _, files in os.walk(os.path.join(scratch, 'nodes', 'node1', 'app')):
    if re.search(r'/users-[0-9a-f]{32}$', root) and 'nb-7-big-Data.db' in files:
        target = sha(os.path.join(root, 'nb-7-big-Data.db'))
pack, off, stored = where[target]
assert pack not in open(os.path.join(scratch, 'packs.v2')).read(), 'nb-7 must be in a v1 pack'
p = os.path.join(repo, pack)
os.chmod(p, 0o644)
with open(p, 'r+b') as f:
    f.seek(off + stored // 2)
    b = f.read(1)
    f.seek(off + stored // 2)
    f.write(bytes([b[0] ^ 0xff]))
os.remove(os.path.join(repo, gone))
bad = {target} | {cid for cid, (pk, _, _) in where.items() if pk == gone}
n_bad = n_good = 0
with open(os.path.join(scratch, 'expect'), 'w') as out:
    for node in ('node1', 'node2', 'node3'):
        top = os.path.join(scratch, 'nodes', node)
        for root, _, files in os.walk(top):
            for f in files:
                path = os.path.join(root, f)
                rel = re.sub(r'^([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/', r'\1/\2/', os.path.relpath(path, top))
                if os.path.getsize(path) >= 256 * 1024:
                    continue
                s = sha(path)
                broken = os.path.getsize(path) > 0 and s in bad
                n_bad += broken
                n_good += not broken
                out.write('%s/%s %s\n' % (node, rel, 'EIO' if broken else s))
with open(os.path.join(scratch, 'bad_chunk'), 'w') as f:
    f.write(target + '\n')
print('   %d files must fail with EIO, %d must read back intact' % (n_bad, n_good))
assert n_bad >= 2 and n_good > 100
EOF

say "mount and read every file of $V"
mkdir -p "$MNT"
strata mount --log "$SCRATCH/mount.log" "$MNT"
check_all() {
  python3 - "$MNT/nodes" "$V" "$SCRATCH/expect" <<'EOF'
import errno, hashlib, sys
mnt, version, expect = sys.argv[1:]
eio = good = 0
for line in open(expect):
    rel, want = line.split()
    node, rest = rel.split('/', 1)
    path = '%s/%s/%s/%s' % (mnt, node, version, rest)
    try:
        with open(path, 'rb') as f:
            got = hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        if e.errno != errno.EIO:
            sys.exit('%s: %s (expected %s)' % (path, e, want))
        got = 'EIO'
    if got != want:
        sys.exit('%s: got %s, expected %s' % (path, got, want))
    eio += got == 'EIO'
    good += got != 'EIO'
print('   %d files failed with EIO as they must, %d read back byte-identical' % (eio, good))
EOF
}
check_all || fail "reading the damaged version"
say "again: the damage is still reported, the mount still serves"
check_all || fail "reading the damaged version a second time"
mountpoint -q "$MNT" || fail "the mount went away"
[ -L "$MNT/versions/latest" ] || fail "the mount stopped answering"

chunk=$(cat "$SCRATCH/bad_chunk")
[ "$(grep -c "$chunk" "$SCRATCH/mount.log")" -eq 1 ] || {
  cat "$SCRATCH/mount.log"
  fail "the damaged chunk $chunk is not named in exactly one log line"
}
grep -q "is missing" "$SCRATCH/mount.log" || fail "no log line names the missing pack"
unmount_and_wait
echo "ok"
