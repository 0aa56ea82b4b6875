#!/bin/sh
# bench/bench_rf3a.sh - what one reconciled copy of the real cluster costs,
# table by table, against one node's SSTables.
#
# Backs up rf3-a (the corpus's real 3-node RF=3 Cassandra 4.0 cluster) as
# version 1 and then version 2, each at its snapshot's time, and prints for
# each table of version 1 the bytes strata stored against the SSTables of
# each node (their components; not secondary index SSTables, manifest.json
# or schema.cql), with the target of at most 0.5 of one node.  Beside it,
# what xz -9e (stronger than any compressor strata uses) makes of the
# reconciled SSTable files, and what it makes of the same rows laid out
# column by column (each field of the reconciled rows, as `strata sstable
# dump` prints it, in a stream of its own): the second shows how much of the
# gap to 0.5 is the SSTable layout rather than the values' entropy.  Then
# version 2's stored bytes against version 1's.
set -eu
. "$(dirname "$0")/lib.sh"

src=$STRATA_CORPUS/cluster/rf3-a
[ -d "$src/node1" ] || { note "bench_rf3a: no corpus at $src"; exit 1; }
command -v xz >/dev/null || { note "bench_rf3a: xz missing"; exit 1; }
out=$BENCH_OUT/rf3a
rm -rf "$out"
mkdir -p "$out/nodes"
printf '[cluster]\nname = rf3-a\nring = %s/ring.txt\n' "$src" >"$out/cluster.ini"
for n in 1 2 3; do
  printf '[node node%s]\ndata_dir = nodes/node%s\naddress = 127.0.0.%s\n' "$n" "$n" "$n" >>"$out/cluster.ini"
done
nodes_at() { # SRC: the nodes' data directories, writable for the snapshots
  rm -rf "$out/nodes"
  mkdir -p "$out/nodes"
  for n in 1 2 3; do cp -R "$1/node$n" "$out/nodes/node$n"; done
  chmod -R u+w "$out/nodes"
}
strata() { "$STRATA_BIN" -r "$out/repo" "$@"; }

strata init >/dev/null
nodes_at "$src"
(cd "$out" && strata -q backup --cluster cluster.ini --cut 2026-11-21T23:19:56Z)
strata versions --json >"$out/v1.json"
# SSTable components of each table on each node: "table node bytes"
for n in 1 2 3; do
  for d in "$out"/nodes/node$n/app/*-*/; do
    t=$(basename "$d")
    t=${t%-*}
    b=$(find "$d" -maxdepth 1 -type f \( -name '*-*.db' -o -name '*-Digest.crc32' -o -name '*-TOC.txt' \) \
      -exec cat {} + | wc -c)
    echo "$t $n $b"
  done
done >"$out/node_bytes.txt"
# xz -9e of each reconciled table (its SSTable files and schema.cql)
strata restore 2026-11-21T23:19:56Z/app --to "$out/restored" >/dev/null
for d in "$out"/restored/app/*/; do
  echo "$(basename "$d") $(cat "$d"/* | xz -9e -c | wc -c)"
done >"$out/xz.txt"
for d in "$out"/restored/app/*/; do
  "$STRATA_BIN" sstable dump "$d" >"$out/$(basename "$d").json"
done
# xz -9e of each table's rows stored column by column: partition keys,
# each clustering column, row kinds and deletions, write times (as differences from the previous
# row's; a cell's from its row's), TTLs, and each column's values and
# collection paths, each a stream of its own; uuids as their 16 bytes
python3 - "$out" <<'EOF'
import collections, glob, json, lzma, os, re, sys, uuid
out = sys.argv[1]
xz = lambda b: len(lzma.compress(bytes(b), preset=9 | lzma.PRESET_EXTREME))
uuid_text = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
def line(v):  # a field's bytes: uuids as their 16 bytes, the rest as JSON text
    if isinstance(v, list) and v and all(isinstance(x, str) and uuid_text.match(x) for x in v):
        return b"".join(uuid.UUID(x).bytes for x in v)
    if isinstance(v, str) and uuid_text.match(v):
        return uuid.UUID(v).bytes
    return json.dumps(v).encode() + b"\n"
with open(out + "/columns.txt", "w") as f:
    for path in sorted(glob.glob(out + "/restored/app/*/")):
        t = os.path.basename(path.rstrip("/"))
        cols, prev = collections.defaultdict(bytearray), 0
        for p in json.load(open("%s/%s.json" % (out, t))):
            cols["key"] += line(p["partition"]["key"])
            cols["partition deletion"] += line(p["partition"].get("deletion_info"))
            for r in p.get("rows", []):
                cols["row"] += line([r["type"], r.get("end"), r.get("deletion_info")])
                for i, c in enumerate(r.get("clustering", r.get("start")) or []):
                    cols["clustering %d" % i] += line(c)
                li = r.get("liveness_info", {})
                ts = li.get("tstamp", prev)
                cols["row time"] += line(ts - prev)
                cols["row ttl"] += line([li.get("ttl"), li.get("expires_at")])
                prev = ts
                for c in r.get("cells", []):
                    n = c["name"]
                    cols["cell"] += line(n)
                    cols["path " + n] += line(c.get("path"))
                    v = c.get("value")
                    if isinstance(v, str) and v.startswith("0x"):
                        cols["value " + n] += bytes.fromhex(v[2:])
                    else:
                        cols["value " + n] += line(v)
                    cols["cell time"] += line(c.get("tstamp", ts) - ts)
                    cols["cell facts"] += line([c.get("ttl"), c.get("expires_at"), c.get("deletion_info")])
        f.write("%s %d\n" % (t, sum(xz(v) for v in cols.values())))
EOF
# readings' random columns: its payload blobs, its timeuuids' clock
# sequence and node bytes, and its doubles, each with what xz -9e leaves
# of them
python3 - "$out" <<'EOF'
import json, lzma, re, struct, sys, uuid
out = sys.argv[1]
blobs, tails, doubles = bytearray(), bytearray(), bytearray()
for p in json.load(open(out + "/readings.json")):
    for r in p.get("rows", []):
        for c in r.get("clustering") or []:
            if isinstance(c, str) and re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-1", c):
                tails += uuid.UUID(c).bytes[8:]
        for c in r.get("cells", []):
            v = c.get("value")
            if isinstance(v, str) and v.startswith("0x"):
                blobs += bytes.fromhex(v[2:])
            elif c["name"] == "value" and isinstance(v, (int, float)):
                doubles += struct.pack(">d", v)
xz = lambda b: len(lzma.compress(bytes(b), preset=9 | lzma.PRESET_EXTREME))
with open(out + "/random.txt", "w") as f:
    f.write("%d %d %d %d %d %d\n" % (len(blobs), xz(blobs), len(tails), xz(tails), len(doubles), xz(doubles)))
EOF
nodes_at "$src/v2"
(cd "$out" && strata -q backup --cluster cluster.ini --cut 2026-11-21T23:22:01Z)
strata versions --json >"$out/v2.json"

python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
v1 = json.load(open(out + "/v1.json"))[0]
v2 = json.load(open(out + "/v2.json"))
v2 = [v for v in v2 if v["id"] != v1["id"]][0]
nodes = {}
for line in open(out + "/node_bytes.txt"):
    t, n, b = line.split()
    nodes.setdefault(t, {})[int(n)] = int(b)
xz = {l.split()[0]: int(l.split()[1]) for l in open(out + "/xz.txt")}
print("rf3-a version 1, per table: strata's stored bytes against each node's SSTables (target <= 0.5)")
cols = {l.split()[0]: int(l.split()[1]) for l in open(out + "/columns.txt")}
print("%-12s %9s %9s %9s %9s   %6s %6s %6s   %s" % ("table", "stored", "node1", "node2", "node3",
      "/node1", "/node2", "/node3", "xz -9e /node1: of the reconciled files, of their rows by column"))
for s in sorted(v1["table_summaries"], key=lambda s: s["table"]):
    if s["keyspace"] != "app":
        continue
    t, st, nb = s["table"], s["stored_bytes"], nodes[s["table"]]
    print("%-12s %9d %9d %9d %9d   %6.3f %6.3f %6.3f   %.3f" % (t, st, nb[1], nb[2], nb[3], st / nb[1],
          st / nb[2], st / nb[3], xz[t] / nb[1]) + "   %.3f" % (cols[t] / nb[1]))
blobs, blobs_xz, tails, tails_xz, doubles, doubles_xz = map(int, open(out + "/random.txt").read().split())
print("readings' random bytes: payload blobs %d (xz -9e %d), timeuuid clock sequence and node %d (xz -9e %d):"
      % (blobs, blobs_xz, tails, tails_xz))
print("  %.3f of node1's readings before any key, time or number" % ((blobs_xz + tails_xz) / nodes["readings"][1]))
print("  with its doubles, %d (xz -9e %d): %.3f" % (doubles, doubles_xz,
      (blobs_xz + tails_xz + doubles_xz) / nodes["readings"][1]))
print("version 2 stored %d bytes, version 1 %d: %.3f" % (v2["stored_bytes"], v1["stored_bytes"],
      v2["stored_bytes"] / v1["stored_bytes"]))
EOF
