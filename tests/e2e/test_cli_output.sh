#!/bin/sh
# test_cli_output.sh - what scripts and operators read from the command
# line, on rf3-a v1 backed up reconciled: the progress meter is drawn on a
# terminal's stderr and -q silences it, as every informational line (that
# of sstable merge --to too); the columns of stats stay aligned with a
# keyspace name as long as Cassandra allows (48 characters); --json stays
# whole JSON with a cluster name or restore directory that is not UTF-8
# (a Latin-1 file or path), the bytes that are not shown as U+FFFD.  Every
# command's --help exits 0 with an example of it on stdout and explains
# each of its long options.
set -eu
. "$(dirname "$0")/lib.sh"

# Runs CMD... with stderr on a new pseudo-terminal (stdout and stdin not),
# and prints what it wrote there; fails when CMD fails.
on_tty_stderr() {
  python3 - "$@" <<'EOF'
import os, pty, subprocess, sys
master, slave = pty.openpty()
proc = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: the command's end closed the terminal
        break
    if not data:
        break
    seen += data
sys.stdout.buffer.write(seen)
sys.exit(proc.wait())
EOF
}
meter() { grep -c "$(printf '\033')\[K$1: " || true; }

say "every command's --help: exit 0, an example, each option explained"
for cmd in init backup versions ls stats verify restore index mount sstable "sstable merge" "sstable rewrite"; do
  # shellcheck disable=SC2086 # the words of the command
  "$STRATA_BIN" $cmd --help >"$SCRATCH/help" 2>"$SCRATCH/err" || fail "strata $cmd --help exits $?"
  [ ! -s "$SCRATCH/err" ] || fail "strata $cmd --help writes on stderr"
  grep -Eq "^  strata .*$cmd( |$)" "$SCRATCH/help" || { cat "$SCRATCH/help"; fail "strata $cmd --help shows no example"; }
  # the options of the usage lines (up to the first empty line), each
  # starting a line of its own below, where it is explained
  for opt in $(sed '/^$/q' "$SCRATCH/help" | grep -o -- '--[a-z][a-z-]*' | grep -v '^--help$' | sort -u); do
    grep -Eq "^ *(-[a-z], )?$opt( |$)" "$SCRATCH/help" || fail "strata $cmd --help does not explain $opt"
  done
done

say "rf3-a v1 backed up"
copy_rf3a_nodes "$RF3"
chmod -R u+w "$SCRATCH/nodes"
strata init >/dev/null
V1=$(strata backup --cluster "$SCRATCH/cluster.ini" --cut 2026-11-21T23:19:56Z --json | json 'd["version"]')

say "the progress meter is drawn on a terminal, and -q silences it"
for cmd in "verify" "restore $V1 --to $SCRATCH/r"; do
  label=${cmd%% *}
  rm -rf "$SCRATCH/r"
  # shellcheck disable=SC2086 # the words of the command
  on_tty_stderr "$STRATA_BIN" -r "$REPO" $cmd >"$SCRATCH/tty"
  [ "$(meter "$label" <"$SCRATCH/tty")" -gt 0 ] || fail "$label draws no progress meter on a terminal"
  rm -rf "$SCRATCH/r"
  # shellcheck disable=SC2086
  on_tty_stderr "$STRATA_BIN" -r "$REPO" -q $cmd >"$SCRATCH/tty"
  [ "$(meter "$label" <"$SCRATCH/tty")" -eq 0 ] || fail "$label -q draws the progress meter"
  [ ! -s "$SCRATCH/tty" ] || { cat -v "$SCRATCH/tty"; fail "$label -q writes on stderr"; }
  echo "   $label: meter without -q, nothing with it"
done

say "sstable merge --to says what it wrote, and nothing with -q"
mkdir "$SCRATCH/m" "$SCRATCH/mq"
"$STRATA_BIN" sstable merge --to "$SCRATCH/m" "$SCRATCH"/nodes/node*/app/users-* 2>"$SCRATCH/err"
grep -q "partitions of .* SSTables written to $SCRATCH/m" "$SCRATCH/err" || fail "merge --to does not say what it wrote"
"$STRATA_BIN" -q sstable merge --to "$SCRATCH/mq" "$SCRATCH"/nodes/node*/app/users-* 2>"$SCRATCH/err"
[ ! -s "$SCRATCH/err" ] || { cat "$SCRATCH/err"; fail "merge --to -q writes on stderr"; }
cmp -s "$SCRATCH/m/nb-1-big-Data.db" "$SCRATCH/mq/nb-1-big-Data.db" || fail "merge --to -q wrote another SSTable"

say "--json with names that are not UTF-8"
LC_ALL=C sed "s/^name = .*/name = caf$(printf '\351')/" "$SCRATCH/cluster.ini" >"$SCRATCH/latin1.ini"
REPO=$SCRATCH/latin1 strata init >/dev/null
VL=$(REPO=$SCRATCH/latin1 strata -q backup --cluster "$SCRATCH/latin1.ini" --json | json 'd["version"]')
REPO=$SCRATCH/latin1 strata versions --json >"$SCRATCH/versions.json"
[ "$(json '[v["id"] for v in d]' <"$SCRATCH/versions.json")" = "['$VL']" ] ||
  fail "versions --json does not list $VL of cluster 'caf\\351'"
[ "$(json 'd[0]["cluster"] == "caf\ufffd"' <"$SCRATCH/versions.json")" = True ] ||
  fail "the cluster name is not 'caf\\ufffd'"
to=$SCRATCH/r$(printf '\351')
REPO=$SCRATCH/latin1 strata restore "$VL/app/users" --to "$to" --json >"$SCRATCH/restore.json"
[ "$(json 'd["to"].endswith("/r\ufffd") and d["files"]' <"$SCRATCH/restore.json")" = 9 ] ||
  fail "restore --json into a Latin-1 directory: $(cat "$SCRATCH/restore.json")"
[ "$(find "$to" -type f | wc -l)" -eq 9 ] || fail "restore into a Latin-1 directory did not write 9 files"
echo "   versions and restore --json whole, the name shown as 'caf\\ufffd'"

say "stats columns stay aligned with a 48-character keyspace name"
LONG=a_keyspace_name_as_long_as_cassandra_allows_48ch
[ ${#LONG} -eq 48 ] || fail "the long name has ${#LONG} characters"
for n in 1 2 3; do mv "$SCRATCH/nodes/node$n/app" "$SCRATCH/nodes/node$n/$LONG"; done
REPO=$SCRATCH/long strata init >/dev/null
REPO=$SCRATCH/long strata -q backup --cluster "$SCRATCH/cluster.ini" 2>/dev/null
REPO=$SCRATCH/long strata stats >"$SCRATCH/stats.txt"
sed -n '/^TABLE /,$p' "$SCRATCH/stats.txt" >"$SCRATCH/tables.txt"
grep -q "^$LONG.users " "$SCRATCH/tables.txt" || fail "stats lists no $LONG.users"
[ "$(awk '{print length($0)}' "$SCRATCH/tables.txt" | sort -u | wc -l)" -eq 1 ] || {
  cat "$SCRATCH/tables.txt"
  fail "the rows of stats' tables are not aligned"
}
echo "   $(($(wc -l <"$SCRATCH/tables.txt") - 1)) table rows, one width"
echo "PASS"
