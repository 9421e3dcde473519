#!/usr/bin/env bash
# Prints the closing line of a test run from the go test JSON events in DIR/*.json:
#
#   summary: N passed, N failed, N skipped
#
# usage: test-summary.sh DIR [FAILED_STEP...]
# Each failed step other than go-test (lint, check-generate, ...) counts as one failure, so a
# failing run never ends on "0 failed". A package that failed outside any test (build error,
# panic in TestMain, timeout) counts as one failure too. Exit status: 1 when anything failed.
set -euo pipefail

dir=$1; shift
extra=0 go_test_failed=0
for step in "$@"; do
  if [ "$step" = go-test ]; then go_test_failed=1; else extra=$((extra + 1)); fi
done

# go test -json writes one event per line with Time first and Action second; Output events carry
# test output as a JSON string, so their escaped quotes never match these patterns.
read -r passed failed skipped < <(
  cat "$dir"/*.json 2>/dev/null | awk '
    /^\{"Time":"[^"]*","Action":"(pass|fail|skip)"/ {
      action = $0; sub(/^\{"Time":"[^"]*","Action":"/, "", action); sub(/".*/, "", action)
      pkg = ""; if (match($0, /"Package":"[^"]*"/)) pkg = substr($0, RSTART + 11, RLENGTH - 12)
      if (match($0, /"Test":"/)) {
        n[action]++
        if (action == "fail") testfail[pkg] = 1
      } else if (action == "fail") {
        pkgfail[pkg] = 1
      }
    }
    END {
      for (p in pkgfail) if (!(p in testfail)) n["fail"]++
      printf "%d %d %d\n", n["pass"], n["fail"], n["skip"]
    }'
)

# go test failed but left no failure in the JSON (it could not start): still a failure.
if [ "$go_test_failed" = 1 ] && [ "$failed" = 0 ]; then failed=1; fi
failed=$((failed + extra))
if [ $((passed + failed + skipped)) = 0 ]; then
  echo "summary: no test ran"
fi
echo "summary: $passed passed, $failed failed, $skipped skipped" | tee "$dir/summary.txt"
[ "$failed" = 0 ]
