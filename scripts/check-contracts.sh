#!/usr/bin/env bash
# CI check: the committed contracts/artifacts/ must be exactly what the sources compile to.
# Rebuilds into a temporary folder with the pinned solc-js and compares file by file.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/build-contracts.sh "$tmp/artifacts" >/dev/null
if ! diff -r -u contracts/artifacts "$tmp/artifacts" >"$tmp/diff"; then
  head -n 40 "$tmp/diff" >&2
  echo "error: contracts/artifacts/ is out of date with contracts/src/ (or has stray files);" \
    "run scripts/build-contracts.sh and commit the artifacts" >&2
  exit 1
fi
echo "check-contracts: artifacts match the sources ($(ls contracts/artifacts | wc -l) contracts)"
