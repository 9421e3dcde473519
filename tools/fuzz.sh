#!/usr/bin/env bash
# Runs every Fuzz* target of the Go module in the current folder for FUZZTIME each.
# usage: fuzz.sh FUZZTIME   (run through `make fuzz`, which calls it in every module)
#
# go test -fuzz takes one target in one package at a time, so the targets are listed first.
# A failing input is written by go test under the package's testdata/fuzz/ and reported here;
# every target still runs, and the exit status is 1 when any failed.
set -uo pipefail

fuzztime=${1:?usage: fuzz.sh FUZZTIME}
listing=$(go test -list '^Fuzz' ./... 2>&1) || { echo "$listing"; echo "fuzz: could not list the fuzz targets"; exit 1; }

# go test -list prints a package's matching names, then "ok  <package> <time>".
targets=() names=()
while IFS= read -r line; do
  case "$line" in
    Fuzz*) names+=("$line") ;;
    ok*)
      pkg=$(awk '{print $2}' <<<"$line")
      for name in "${names[@]}"; do targets+=("$pkg $name"); done
      names=()
      ;;
  esac
done <<<"$listing"

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no Fuzz targets in this module"
  exit 0
fi

failed=()
for target in "${targets[@]}"; do
  read -r pkg name <<<"$target"
  echo "fuzz: $pkg $name for $fuzztime"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" || failed+=("$pkg.$name")
done

echo "fuzz: ${#targets[@]} target(s), ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
