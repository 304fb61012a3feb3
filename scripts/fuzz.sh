#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time each: scripts/fuzz.sh [DURATION]
set -euo pipefail
d=${1:-${FUZZTIME:-20s}}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "== $pkg $f ($d)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$d" -fuzzminimizetime 1x "$pkg"
  done
done
