#!/usr/bin/env bash
# Runs one command in each Go module of the workspace, in the order of $MODULES (set by the
# Makefile), from the module's folder, with FERRY_MODULE naming the module.
#
# A module with no Go files yet is reported and skipped. Every module is tried even after one
# fails; the exit status is 1 when any failed, and the failing modules are named at the end.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { echo "usage: MODULES='a b' $0 command [args...]" >&2; exit 2; }
[ -n "${MODULES:-}" ] || { echo "each-module.sh: MODULES is empty; run it through make" >&2; exit 2; }

# FERRY_LABEL, when set, is what the progress lines show instead of the command.
shown=${FERRY_LABEL:-$*}
shown=${shown//$repo\//}
failed=()
for module in $MODULES; do
  dir="$repo/$module"
  if [ ! -f "$dir/go.mod" ]; then
    echo "--- $module: no go.mod; it is in MODULES but not a module" >&2
    failed+=("$module")
    continue
  fi
  if [ -z "$(find "$dir" -name '*.go' -not -path '*/testdata/*' -print -quit)" ]; then
    echo "--- $module: no Go files yet, skipped"
    continue
  fi
  echo "--- $module: $shown"
  (cd "$dir" && FERRY_MODULE=$module "$@") || failed+=("$module")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "--- FAILED in: ${failed[*]} ($shown)"
  exit 1
fi
