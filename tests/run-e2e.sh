#!/bin/sh
# Runs every tests/e2e/test_*.sh against the strata binary named by
# $STRATA_BIN, each in its own scratch directory, and prints one closing
# summary line.  A test script exits 0 on success, 77 when a prerequisite
# it cannot install is missing (reported as skipped), anything else fails.
cd "$(dirname "$0")/.." || exit 1
: "${STRATA_BIN:=$PWD/strata}"
export STRATA_BIN
export CORPUS="${CORPUS:-$(cd .. && pwd)/shared/corpus}"
# Leaks LMDB makes when a damaged index interrupts it are expected (tests/lsan.supp).
: "${LSAN_OPTIONS:=suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0}"
export LSAN_OPTIONS
passed=0 failed=0 skipped=0
for t in tests/e2e/test_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/strata-e2e.XXXXXX")
  start=$(date +%s)
  SCRATCH="$scratch" sh "$t" >"$scratch.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  case $rc in
    0) passed=$((passed + 1)); echo "ok   $name (${secs}s)"; rm -rf "$scratch" "$scratch.log" ;;
    77) skipped=$((skipped + 1)); echo "skip $name"; rm -rf "$scratch" "$scratch.log" ;;
    *) failed=$((failed + 1)); echo "FAIL $name (exit $rc), log follows:"; tail -n 40 "$scratch.log"; rm -rf "$scratch" ;;
  esac
done
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
