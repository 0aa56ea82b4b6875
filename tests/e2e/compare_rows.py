"""compare_rows.py - CQL rows against Cassandra's CONSISTENCY ALL answer.

usage: compare_rows.py GOT.jsonl EXPECTED.jsonl KEY,COLUMNS

Both files hold one SELECT JSON row per line (GOT from `strata sstable
merge --view`).  Rows are matched by their primary key columns; every
field of an expected row must be equal in the row got, ttl(...) within
TTL_SLACK seconds (the export took a few seconds), and no row may be left
over.  Prints one summary line; exits 1 on any difference.
"""
import json
import sys

TTL_SLACK = 5


def rows(path, keys):
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out[json.dumps([row.get(k) for k in keys])] = row
    return out


def same(want, got):
    for field, value in want.items():
        other = got.get(field)
        if field.startswith("ttl(") and isinstance(value, int) and isinstance(other, int):
            if abs(value - other) > TTL_SLACK:
                return field
        elif other != value:
            return field
    return None


def main():
    keys = sys.argv[3].split(",")
    got, want = rows(sys.argv[1], keys), rows(sys.argv[2], keys)
    shown, matched = 0, 0
    for key, row in want.items():
        diff = same(row, got[key]) if key in got else "(row missing)"
        if diff is None:
            matched += 1
        elif shown < 3:
            shown += 1
            print("  %s differs in %s: expected %s, got %s" % (key, diff, json.dumps(row), json.dumps(got.get(key))))
    extra = len(set(got) - set(want))
    print("%d of %d rows identical, %d not expected" % (matched, len(want), extra))
    sys.exit(0 if matched == len(want) and not extra else 1)


main()
