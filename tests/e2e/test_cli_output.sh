#!/bin/sh
# test_cli_output.sh - what scripts and operators read from the command
# line, on rf3-a v1 backed up reconciled: the progress meter is drawn on a
# terminal's stderr and -q silences it, as every informational line.
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
echo "PASS"
