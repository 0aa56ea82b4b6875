#!/bin/sh
# Runs each cmocka test binary given as an argument and prints one closing
# summary line; exits non-zero if any binary failed.
# Leaks LMDB makes when a damaged index interrupts it are expected (tests/lsan.supp).
: "${LSAN_OPTIONS:=suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0}"
export LSAN_OPTIONS
passed=0
failed=0
for t in "$@"; do
  if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t"; fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
