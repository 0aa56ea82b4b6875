#!/bin/sh
# test_backup_bad_input.sh - wrong input gets one clear error line and a
# non-zero exit, and loses nothing already stored: missing and unreadable
# data directories, data directories that are not Cassandra's, malformed
# cluster files, a failing snapshot command, locations that are not
# repositories, unknown versions, mount points that are not empty
# directories, a mount's log file that cannot be written, usage errors.
set -eu
. "$(dirname "$0")/lib.sh"


# expect_error STATUS PATTERN COMMAND...: the command exits STATUS with
# exactly one line on stderr, which starts "strata: " and matches PATTERN.
# A mismatch is counted and the test goes on, so one run shows them all.
problems=0
expect_error() {
  want=$1 pattern=$2
  shift 2
  if "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; then rc=0; else rc=$?; fi
  why=""
  if [ "$rc" -ne "$want" ]; then why="exit $rc, expected $want"
  elif [ "$(wc -l <"$SCRATCH/err" | tr -d ' ')" -ne 1 ]; then why="not one line on stderr"
  elif ! grep -q '^strata: ' "$SCRATCH/err"; then why="error line does not start 'strata: '"
  elif ! grep -Eq -- "$pattern" "$SCRATCH/err"; then why="error does not match '$pattern'"
  fi
  if [ -n "$why" ]; then
    problems=$((problems + 1))
    echo "   WRONG ($why): $*"
    sed 's/^/      | /' "$SCRATCH/err"
  else
    echo "   exit $rc: $(cat "$SCRATCH/err")"
  fi
}
cluster_file() { # NAME DATA_DIR_OF_NODE2 [EXTRA LINE FOR NODE2]
  printf '[cluster]\nname = bad\n[node node1]\ndata_dir = %s\n[node node2]\ndata_dir = %s\n%s\n' \
    "$SCRATCH/nodes/node1" "$2" "${3:-}" >"$SCRATCH/$1"
}

say "a repository with one good version of two rf3-a nodes"
mkdir -p "$SCRATCH/nodes"
for n in node1 node2; do cp -R "$RF3/$n" "$SCRATCH/nodes/$n"; done
chmod -R u+w "$SCRATCH/nodes"
cluster_file good.ini "$SCRATCH/nodes/node2"
strata init >/dev/null
V1=$(strata backup --files --cluster "$SCRATCH/good.ini" --json | json 'd["version"]')
for n in node1 node2; do
  (cd "$SCRATCH/nodes/$n" && find . -type f -exec sha256sum {} +) |
    sed -E "s#  \\./([^/]+)/([A-Za-z0-9_]+)-[0-9a-f]{32}/#  $n/\\1/\\2/#"
done | LC_ALL=C sort -k2 >"$SCRATCH/sums.v1"

say "missing data directory"
cluster_file missing.ini "$SCRATCH/nodes/nowhere"
expect_error 1 "^strata: error: .*$SCRATCH/nodes/nowhere" strata backup --files --cluster "$SCRATCH/missing.ini"

say "two nodes naming one data directory"
cluster_file same.ini "$SCRATCH/nodes/node1"
expect_error 1 "^strata: error: node 'node2' repeats the data_dir $SCRATCH/nodes/node1 of node 'node1'" \
  strata backup --files --cluster "$SCRATCH/same.ini"

say "data directory that is a file"
echo "not a directory" >"$SCRATCH/plainfile"
cluster_file notdir.ini "$SCRATCH/plainfile"
expect_error 1 "^strata: error: .*$SCRATCH/plainfile" strata backup --files --cluster "$SCRATCH/notdir.ini"

say "unreadable data and keyspace directories"
runner=""
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null && runner="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$runner" ]; then
  # The unprivileged user needs its own repository and a way into SCRATCH.
  chmod 755 "$SCRATCH"
  mkdir -p "$SCRATCH/u/data/app" "$SCRATCH/u/ks"
  cp -R "$SCRATCH/nodes/node2/app/users-"* "$SCRATCH/u/ks/"
  [ -z "$runner" ] || chown -R 65534:65534 "$SCRATCH/u"
  chmod -R a+rX "$SCRATCH/nodes"
  $runner "$STRATA_BIN" -r "$SCRATCH/u/repo" init >/dev/null
  printf '[cluster]\nname = u\n[node node1]\ndata_dir = %s\n' "$SCRATCH/u/data" >"$SCRATCH/u/unreadable.ini"
  chmod 000 "$SCRATCH/u/data"
  # shellcheck disable=SC2086
  expect_error 1 "^strata: error: .*$SCRATCH/u/data" $runner "$STRATA_BIN" -r "$SCRATCH/u/repo" backup --files --cluster "$SCRATCH/u/unreadable.ini"
  chmod 755 "$SCRATCH/u/data"
  mkdir -p "$SCRATCH/u/data2" && mv "$SCRATCH/u/ks" "$SCRATCH/u/data2/app"
  [ -z "$runner" ] || chown -R 65534:65534 "$SCRATCH/u/data2"
  chmod 000 "$SCRATCH/u/data2/app"
  printf '[cluster]\nname = u\n[node node1]\ndata_dir = %s\n' "$SCRATCH/u/data2" >"$SCRATCH/u/unreadable2.ini"
  # shellcheck disable=SC2086
  expect_error 1 "^strata: error: .*$SCRATCH/u/data2/app" $runner "$STRATA_BIN" -r "$SCRATCH/u/repo" backup --files --cluster "$SCRATCH/u/unreadable2.ini"
  chmod 755 "$SCRATCH/u/data2/app"
  # shellcheck disable=SC2086
  [ "$($runner "$STRATA_BIN" -r "$SCRATCH/u/repo" versions --json | json 'len(d)')" -eq 0 ] ||
    fail "a failed backup left a version"
else
  echo "   (root without setpriv: permissions cannot be taken away; not checked)"
fi

say "a data directory that is not Cassandra's (files, but no <keyspace>/<table>-<id>/ SSTables)"
mkdir -p "$SCRATCH/notdata/docs/notes"
echo "not an SSTable" >"$SCRATCH/notdata/docs/notes/README"
printf '[cluster]\nname = bad\n[node node1]\ndata_dir = %s\n' "$SCRATCH/notdata" >"$SCRATCH/notdata.ini"
expect_error 1 "^strata: error: no SSTable in the nodes' data directories \(node node1: $SCRATCH/notdata\)" \
  "$STRATA_BIN" -q -r "$REPO" backup --cluster "$SCRATCH/notdata.ini"
expect_error 1 "^strata: error: no SSTable in the nodes' data directories" strata backup --files --cluster "$SCRATCH/notdata.ini"
printf '[cluster]\nname = bad\n[node node1]\ndata_dir = %s\n' "$SCRATCH/nodes/node1/app" >"$SCRATCH/keyspace.ini"
expect_error 1 "^strata: error: no SSTable in the nodes' data directories .*/var/lib/cassandra/data" \
  "$STRATA_BIN" -q -r "$REPO" backup --cluster "$SCRATCH/keyspace.ini"
# the same notes inside a real data directory are no table: the backup goes on
cp -R "$SCRATCH/notdata/docs" "$SCRATCH/nodes/node1/docs"
"$STRATA_BIN" -r "$SCRATCH/repo-notes" init >/dev/null
"$STRATA_BIN" -q -r "$SCRATCH/repo-notes" backup --cluster "$SCRATCH/good.ini" ||
  fail "backup of data directories holding notes beside the tables exits $?"
rm -r "$SCRATCH/nodes/node1/docs"

say "malformed cluster files name the line; a cluster file that cannot be read says why"
printf '[cluster]\nname = bad\n[node node1]\ndata_dir %s\n' "$SCRATCH/nodes/node1" >"$SCRATCH/syntax.ini"
expect_error 1 "^strata: error: .*syntax.ini:4:" strata backup --files --cluster "$SCRATCH/syntax.ini"
printf '[cluster]\nname = bad\n[node node1]\ndata_dir = %s\nsnapshot = yes\n' "$SCRATCH/nodes/node1" >"$SCRATCH/key.ini"
expect_error 1 "^strata: error: .*key.ini:5: .*snapshot" strata backup --files --cluster "$SCRATCH/key.ini"
printf '[cluster]\nname = bad\n[node node1]\n[node node2]\ndata_dir = %s\n' "$SCRATCH/nodes/node2" >"$SCRATCH/nodir.ini"
expect_error 1 "^strata: error: .*nodir.ini:3: .*node1" strata backup --files --cluster "$SCRATCH/nodir.ini"
printf '[cluster]\nname = bad\n' >"$SCRATCH/nonodes.ini"
expect_error 1 "^strata: error: .*nonodes.ini:[0-9]+: .*node" strata backup --files --cluster "$SCRATCH/nonodes.ini"
expect_error 1 "^strata: error: .*$SCRATCH/absent.ini" strata backup --files --cluster "$SCRATCH/absent.ini"
# a data directory given for the cluster file is no file without [cluster]
expect_error 1 "^strata: error: cluster file $SCRATCH/nodes/node1: Is a directory" \
  strata backup --files --cluster "$SCRATCH/nodes/node1"

say "filters naming nothing"
expect_error 1 "^strata: error: .*app\.nosuch" strata backup --files --cluster "$SCRATCH/good.ini" --table app.nosuch
expect_error 1 "^strata: error: .*nosuch" strata backup --files --cluster "$SCRATCH/good.ini" --keyspace nosuch

say "a failing snapshot command"
cluster_file cmd.ini "$SCRATCH/nodes/node2" "snapshot_cmd = echo snapshot {tag} refused >&2; exit 7"
if strata backup --files --cluster "$SCRATCH/cmd.ini" >"$SCRATCH/out" 2>"$SCRATCH/err"; then fail "backup with a failing snapshot_cmd succeeded"; fi
grep -q '^strata: error: .*status 7' "$SCRATCH/err" || fail "snapshot_cmd failure: $(cat "$SCRATCH/err")"
echo "   $(grep '^strata: error:' "$SCRATCH/err")"

say "locations that are not repositories"
expect_error 1 "^strata: error: .*$SCRATCH/nothing" "$STRATA_BIN" -r "$SCRATCH/nothing" versions
mkdir -p "$SCRATCH/emptydir"
expect_error 1 "^strata: error: .*$SCRATCH/emptydir" "$STRATA_BIN" -r "$SCRATCH/emptydir" backup --files --cluster "$SCRATCH/good.ini"
expect_error 1 "^strata: error: " "$STRATA_BIN" -r "$SCRATCH/nodes/node1" versions
expect_error 1 "^strata: error: " "$STRATA_BIN" -r "$SCRATCH/plainfile" versions
expect_error 1 "^strata: error: " env STRATA_REPO="$SCRATCH/nothing" "$STRATA_BIN" versions

say "unknown versions and selectors"
expect_error 1 "^strata: error: .*1999-01-01T00:00:00Z" strata restore 1999-01-01T00:00:00Z --to "$SCRATCH/r"
expect_error 1 "^strata: error: " strata ls 1999-01-01T00:00:00Z

say "usage errors exit 2"
expect_error 2 "^strata: backup: " strata backup --no-such-flag
expect_error 2 "^strata: backup: " strata backup
expect_error 2 "^strata: restore: " strata restore "$V1"
expect_error 2 "^strata: " strata no-such-command
expect_error 2 "^strata: index: expects 'rebuild'" strata index rebuilt
expect_error 2 "^strata: index: unexpected argument '--json'" strata index rebuild --json
expect_error 2 "^strata: backup: --jobs " strata backup --cluster "$SCRATCH/good.ini" --jobs 0
expect_error 2 "^strata: backup: --jobs " strata backup --cluster "$SCRATCH/good.ini" --jobs abc
# after --keyspace and --table, whose lists the usage error must free too
expect_error 2 "^strata: backup: --jobs " strata backup --cluster "$SCRATCH/good.ini" --keyspace app --jobs 0
expect_error 2 "^strata: backup: --table takes KEYSPACE.TABLE, not 'users'" \
  strata backup --cluster "$SCRATCH/good.ini" --table app.users --table users
expect_error 2 "^strata: backup: --max-layers " strata backup --cluster "$SCRATCH/good.ini" --max-layers 3x
expect_error 2 "^strata: backup: --cut " strata backup --cluster "$SCRATCH/good.ini" --cut 0
expect_error 2 "^strata: restore: --jobs " strata restore "$V1" --to "$SCRATCH/r" --jobs -3
expect_error 2 "^strata: mount: --cache-size " strata mount -f --cache-size -5 "$SCRATCH"
expect_error 2 "^strata: unknown option or missing argument: '--json' \(see 'strata --help'\)" strata --json versions
expect_error 2 "^strata: unknown option or missing argument: '-r' " "$STRATA_BIN" -r
# global options given after the command are said to go before it
expect_error 2 "^strata: versions: '-r' goes before the command: strata \[-r REPO\] " "$STRATA_BIN" versions -r "$REPO"
expect_error 2 "^strata: backup: '-q' goes before the command: " strata backup --cluster "$SCRATCH/good.ini" -q
expect_error 2 "^strata: sstable merge: '--s3-region' goes before the command: .* sstable merge \.\.\. " \
  strata sstable merge --s3-region eu x
expect_error 2 "^strata: sstable: unknown option or missing argument: '--bogus'" strata sstable dump --bogus x
expect_error 2 "^strata: sstable rewrite: unknown option or missing argument: '--bogus'" strata sstable rewrite --bogus x y
expect_error 2 "^strata: sstable merge: bad --format 'nbx'" strata sstable merge --to "$SCRATCH/m" --format nbx x
expect_error 2 "^strata: sstable rewrite: bad format 'nbx'" strata sstable rewrite --format nbx x y

say "every one-letter option a command takes is in its --help (-h everywhere, in strata --help)"
# A command rejects an option by naming it; one it takes fails otherwise
# (the value is no file, and operands are missing).  versions stands for
# ls, stats and verify (one parser), sstable dump for sstable meta.
for cmd in "" backup versions restore mount "sstable dump" "sstable merge" "sstable rewrite"; do
  # shellcheck disable=SC2086
  "$STRATA_BIN" $cmd --help >"$SCRATCH/help"
  taken=""
  for x in a b c d e f g i j k l m n o p q r s t u v w x y z; do
    if [ -z "$cmd" ]; then
      "$STRATA_BIN" "-$x" "$SCRATCH/no/such" versions >/dev/null 2>"$SCRATCH/err" || true
    else
      # shellcheck disable=SC2086
      "$STRATA_BIN" -r "$SCRATCH/no/such" $cmd "-$x" "$SCRATCH/no/such" >/dev/null 2>"$SCRATCH/err" || true
    fi
    grep -q "'-$x'" "$SCRATCH/err" && continue
    taken="$taken -$x"
    grep -Eq -- "(^|[^[:alnum:]-])-$x([^[:alnum:]-]|\$)" "$SCRATCH/help" ||
      { problems=$((problems + 1)); echo "   WRONG: strata $cmd takes -$x, which its --help does not list"; }
  done
  echo "   strata ${cmd:-(global)}:${taken:- none}"
done
"$STRATA_BIN" sstable --help | grep -q -- "-k, --key KEY" || fail "sstable --help does not list --key"

say "mount points that are missing, a file, or not empty (their files would be hidden)"
trap 'for m in "$SCRATCH/nodes/node1" "$SCRATCH/mnt"; do fusermount3 -u "$m" 2>/dev/null || true; done' EXIT
expect_error 1 "^strata: error: mount point $SCRATCH/nowhere: No such file" strata mount "$SCRATCH/nowhere"
expect_error 1 "^strata: error: mount point $SCRATCH/plainfile is not a directory" strata mount "$SCRATCH/plainfile"
expect_error 1 "^strata: error: mount point $SCRATCH/nodes/node1 is not empty" strata mount "$SCRATCH/nodes/node1"
ls "$SCRATCH/nodes/node1/app" >/dev/null || fail "node1's data directory is hidden"

say "a mount's log file that cannot be written (the mount would run with its lines lost)"
mkdir "$SCRATCH/mnt"
expect_error 1 "^strata: error: log file $SCRATCH/nowhere/mount.log: No such file" \
  strata mount --log "$SCRATCH/nowhere/mount.log" "$SCRATCH/mnt"
! grep -q " $SCRATCH/mnt " /proc/mounts || fail "mounted although its log file cannot be written"

say "a spool that is not a directory or is missing, a cut before the latest version's"
expect_error 1 "^strata: error: spool directory $SCRATCH/nowhere/spool" \
  "$STRATA_BIN" -q -r "$REPO" backup --cluster "$SCRATCH/good.ini" --spool "$SCRATCH/nowhere/spool"
expect_error 1 "^strata: error: spool directory $SCRATCH/plainfile: not a directory" \
  "$STRATA_BIN" -q -r "$REPO" backup --cluster "$SCRATCH/good.ini" --spool "$SCRATCH/plainfile"
# a mistyped spool is not made (its parent may be another disk)
expect_error 1 "^strata: error: spool directory $SCRATCH/nospool: No such file" \
  "$STRATA_BIN" -q -r "$REPO" backup --cluster "$SCRATCH/good.ini" --spool "$SCRATCH/nospool"
[ ! -e "$SCRATCH/nospool" ] || fail "the backup made the missing spool directory"
expect_error 1 "^strata: error: the cut must come after the latest version's \($V1\)" \
  strata backup --files --cluster "$SCRATCH/good.ini" --cut 2020-01-01T00:00:00Z

say "nothing stored was lost"
STRATA_REPO="$SCRATCH/repo" "$STRATA_BIN" versions --json | json '" ".join(v["id"] for v in d)' >"$SCRATCH/ids"
[ "$(cat "$SCRATCH/ids")" = "$V1" ] || fail "versions after the failures: $(cat "$SCRATCH/ids"), expected $V1"
strata verify >/dev/null || fail "verify exits $?"
strata restore "$V1" --to "$SCRATCH/restored" >/dev/null
(cd "$SCRATCH/restored" && find . -type f -exec sha256sum {} +) | sed 's#  \./#  #' | LC_ALL=C sort -k2 |
  cmp -s - "$SCRATCH/sums.v1" || fail "restore of $V1 differs"
[ -z "$(find "$SCRATCH/nodes" -name snapshots)" ] || fail "a failed backup left snapshot links in a data directory"
echo "   $V1 verifies and restores byte for byte; no snapshot left behind"
[ "$problems" -eq 0 ] || fail "$problems error case(s) handled wrongly (see WRONG above)"
echo "PASS"
