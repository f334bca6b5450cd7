#!/usr/bin/env bash
# Rebuilds contracts/artifacts/*.json from contracts/src with the pinned solc-js (see
# contracts/build.mjs for the fixed compiler settings). Commit the result with the sources.
# Usage: scripts/build-contracts.sh [outDir]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .tools/node_modules/solc/soljson.js ]; then
  bash scripts/setup.sh
fi
node contracts/build.mjs "$@"
