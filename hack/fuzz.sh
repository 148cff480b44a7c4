#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME (default 10s) each.
# go test accepts only one -fuzz target per package run, hence the loop.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
found=0
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		found=1
		echo "== $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
if [ "$found" = 0 ]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
