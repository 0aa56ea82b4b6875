#!/bin/sh
# test_mount_views.sh - the real 3-node cluster rf3-a through a real FUSE
# mount: `cp -r` of /versions/<v> and of /nodes/<node>/<v> compared by
# sha256 with what the nodes held; the renumbered view has unique
# generations per directory and complete SSTables; a version backed up
# while mounted appears without a remount, and latest leads to it at
# once; unmounting by fusermount3 -u and by SIGTERM is clean (the
# sanitized binary reports no error or leak).
set -eu
. "$(dirname "$0")/lib.sh"
command -v fusermount3 >/dev/null && [ -c /dev/fuse ] || { echo "skip: no FUSE here"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*"; [ -f "$SCRATCH/mount.log" ] && tail -20 "$SCRATCH/mount.log"; exit 1; }
MNT=$SCRATCH/mnt
trap 'fusermount3 -u "$MNT" 2>/dev/null || true' EXIT

tree_sums() { (cd "$1" && find . -type f -exec sha256sum {} +) | sed 's#  \./#  #' | LC_ALL=C sort -k2; }

# The renumbered view of one version (a copy of it) against the node data
# directories: the same table directories; per directory the SSTables are,
# component by component (name and sha256), exactly the nodes' SSTables;
# no generation twice; numeric generations are 1..N; every component the
# TOC.txt names is there.
check_merged() {
  python3 - "$@" <<'EOF'
import collections, hashlib, os, re, sys
view, nodes = sys.argv[1], sys.argv[2:]
NAME = re.compile(r'^([a-z]{2})-([0-9a-z_]+)-(big|bti)-(.+)$')
def sha(p):
    with open(p, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()
def sstables(top, table_of):
    out = collections.defaultdict(lambda: collections.defaultdict(dict))
    for root, _, files in os.walk(top):
        rel = os.path.relpath(root, top).split(os.sep)
        if rel == ['.'] or len(rel) < 2:
            continue
        key = (rel[0], table_of(rel[1]), '/'.join(rel[2:]))
        for f in files:
            m = NAME.match(f)
            if m:
                out[key][(top, f[:-len(m.group(4)) - 1])][m.group(4)] = sha(os.path.join(root, f))
            elif top == view:
                sys.exit('unexpected file %s in %s' % (f, root))
    return out
orig = collections.defaultdict(dict)
for node in nodes:
    for key, ssts in sstables(node, lambda t: re.sub(r'-[0-9a-f]{32}$', '', t)).items():
        orig[key].update(ssts)
got = sstables(view, lambda t: t)
if set(orig) != set(got):
    sys.exit('table directories differ: %s' % sorted(set(orig) ^ set(got)))
n = 0
for key in sorted(orig):
    want = sorted(sorted(c.items()) for c in orig[key].values())
    have = sorted(sorted(c.items()) for c in got[key].values())
    if want != have:
        sys.exit('%s: SSTables differ from the nodes\' SSTables' % (key,))
    gens = [NAME.match(p + '-x').group(2) for _, p in got[key]]
    if len(set(gens)) != len(gens):
        sys.exit('%s: a generation is used twice: %s' % (key, sorted(gens)))
    numeric = sorted(int(g) for g in gens if g.isdigit())
    if numeric != list(range(1, len(numeric) + 1)):
        sys.exit('%s: generations are not 1..N: %s' % (key, numeric))
    for (_, prefix), comps in got[key].items():
        toc = os.path.join(view, key[0], key[1], key[2], prefix + '-TOC.txt')
        with open(toc) as f:
            listed = set(line.strip() for line in f if line.strip())
        if not listed <= set(comps):
            sys.exit('%s: %s lacks %s' % (key, prefix, sorted(listed - set(comps))))
    n += len(got[key])
print('   %d SSTables in %d directories: unique generations, complete, byte-identical' % (n, len(got)))
EOF
}

# Copies a version out of the mount and checks both views of it.
check_version() {
  v=$1 label=$2
  rm -rf "$SCRATCH/copy"
  mkdir -p "$SCRATCH/copy/nodes"
  cp -r "$MNT/versions/$v" "$SCRATCH/copy/merged"
  check_merged "$SCRATCH/copy/merged" "$SCRATCH/orig.$label/node1" "$SCRATCH/orig.$label/node2" \
    "$SCRATCH/orig.$label/node3" || fail "/versions/$v differs from the nodes' SSTables"
  for n in node1 node2 node3; do
    cp -r "$MNT/nodes/$n/$v" "$SCRATCH/copy/nodes/$n"
    data_sums "$SCRATCH/orig.$label/$n" >"$SCRATCH/want.$n"
    tree_sums "$SCRATCH/copy/nodes/$n" >"$SCRATCH/have.$n"
    [ -s "$SCRATCH/have.$n" ] || fail "/nodes/$n/$v is empty"
    cmp -s "$SCRATCH/want.$n" "$SCRATCH/have.$n" || {
      diff "$SCRATCH/want.$n" "$SCRATCH/have.$n" | head
      fail "/nodes/$n/$v differs from $n's files"
    }
  done
  echo "   /nodes/*/$v: $(cat "$SCRATCH"/have.node* | wc -l | tr -d ' ') files byte-identical"
}

use_nodes() {
  rm -rf "$SCRATCH/nodes" "$SCRATCH/orig.$2"
  mkdir -p "$SCRATCH/nodes" "$SCRATCH/orig.$2"
  for n in node1 node2 node3; do
    cp -R "$1/$n" "$SCRATCH/nodes/$n"
    cp -R "$1/$n" "$SCRATCH/orig.$2/$n"
  done
  chmod -R u+w "$SCRATCH/nodes"
}

backup() {
  strata backup --files --cluster "$SCRATCH/cluster.ini" --json >"$SCRATCH/backup.json"
  json 'd["version"]' <"$SCRATCH/backup.json"
}

say "rf3-a v1 backed up"
use_nodes "$RF3" v1
printf '[cluster]\nname = rf3-a\n' >"$SCRATCH/cluster.ini"
for n in node1 node2 node3; do printf '[node %s]\ndata_dir = nodes/%s\n' "$n" "$n" >>"$SCRATCH/cluster.ini"; done
strata init >/dev/null
V1=$(backup)

say "mount returns once the mount is ready"
mkdir -p "$MNT"
strata mount --log "$SCRATCH/mount.log" "$MNT"
[ "$(ls "$MNT")" = "$(printf 'nodes\nversions')" ] || fail "top level is not nodes, versions: $(ls "$MNT")"
[ "$(ls "$MNT/versions")" = "$(printf '%s\nlatest' "$V1")" ] || fail "/versions lists $(ls "$MNT/versions")"
[ "$(readlink "$MNT/versions/latest")" = "$V1" ] || fail "latest does not point to $V1"
[ "$(ls "$MNT/nodes")" = "$(printf 'node1\nnode2\nnode3')" ] || fail "/nodes lists $(ls "$MNT/nodes")"

say "sizes and times in stat"
f=$(find "$SCRATCH/orig.v1/node1/app" -name 'nb-7-big-Data.db')
[ "$(stat -c %s "$MNT/nodes/node1/$V1/app/users/nb-7-big-Data.db")" = "$(stat -c %s "$f")" ] ||
  fail "size in stat differs from the original"
[ "$(stat -c %Y "$MNT/versions/$V1/app/users/.users_name_idx/nb-1-big-Data.db")" = "$(date -u -d "$(echo "$V1" | sed 's/T/ /; s/Z.*//')" +%s)" ] ||
  fail "mtime is not the version's time"
echo "a" | dd of="$MNT/versions/$V1/app/users/x" 2>/dev/null && fail "the mount accepted a write"

say "cp -r of /versions/$V1 and /nodes/*/$V1"
check_version "$V1" v1

say "a version backed up while mounted appears without a remount"
use_nodes "$RF3/v2" v2
V2=$(backup)
[ "$V2" != "$V1" ] || fail "the second backup did not make a new version"
# latest was followed before; nothing has listed /versions since
[ "$(readlink "$MNT/versions/latest")" = "$V2" ] ||
  fail "latest still points to $(readlink "$MNT/versions/latest"), not $V2, until /versions is listed"
[ "$(cd "$MNT/versions/latest" && pwd -P)" = "$MNT/versions/$V2" ] || fail "the path through latest does not lead to $V2"
[ "$(ls "$MNT/versions")" = "$(printf '%s\n%s\nlatest' "$V1" "$V2")" ] || fail "/versions lists $(ls "$MNT/versions")"
[ "$(readlink "$MNT/versions/latest")" = "$V2" ] || fail "latest does not point to $V2"
[ -d "$MNT/nodes/node2/$V2" ] || fail "/nodes/node2/$V2 missing"
check_version "$V2" v2
check_merged "$MNT/versions/latest" "$SCRATCH/orig.v2/node1" "$SCRATCH/orig.v2/node2" \
  "$SCRATCH/orig.v2/node3" >/dev/null || fail "/versions/latest is not $V2"

# Every directory here was filled as it was asked for; the next mount's
# walk fills versions ahead of itself (fs/ahead.c) and must show the same.
ls -R "$MNT/versions" "$MNT/nodes" >"$SCRATCH/ls-asked.txt"

say "fusermount3 -u unmounts; the mount process ends cleanly"
unmount_and_wait
grep -q "unmounted" "$SCRATCH/mount.log" || fail "the mount process did not finish cleanly"
! mountpoint -q "$MNT" || fail "still mounted"

say "foreground mount ends on SIGTERM with status 0"
"$STRATA_BIN" -r "$SCRATCH/repo" mount -f "$MNT" 2>"$SCRATCH/fg.log" &
pid=$!
for _ in $(seq 100); do [ -L "$MNT/versions/latest" ] && break; sleep 0.1; done
[ -L "$MNT/versions/latest" ] || fail "foreground mount did not come up"
ls -R "$MNT/versions" "$MNT/nodes" >"$SCRATCH/ls-walk.txt"
cmp -s "$SCRATCH/ls-asked.txt" "$SCRATCH/ls-walk.txt" ||
  fail "ls -R of a fresh mount differs from the listing filled on demand: $(diff "$SCRATCH/ls-asked.txt" "$SCRATCH/ls-walk.txt" | head -5)"
cmp -s "$MNT/nodes/node1/$V2/app/users/manifest.json" \
  "$(find "$SCRATCH/orig.v2/node1/app" -path '*/users-*/manifest.json')" || fail "foreground mount reads wrong bytes"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat "$SCRATCH/fg.log"; fail "foreground mount exited $rc after SIGTERM"; }
! mountpoint -q "$MNT" || fail "still mounted after SIGTERM"
echo "ok"
