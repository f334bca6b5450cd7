#!/usr/bin/env bash
# Installs Hyperlane's Solidity sources for the side-by-side gas benchmark (issue 9 item 5):
# the npm package @hyperlane-xyz/core, pinned by tools/hyperlane/package.json and
# package-lock.json, into the gitignored bench/hyperlane/node_modules with `npm ci` (peer
# dependencies, the package's TypeScript tooling, are not installed; its Solidity imports are
# vendored in the package under dependencies/). Only bench/hyperlane/build.mjs needs it, to
# rebuild the committed bench/hyperlane/artifacts; the tests read the artifacts. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=bench/hyperlane
if cmp -s tools/hyperlane/package.json "$dest/package.json" 2>/dev/null \
  && cmp -s tools/hyperlane/package-lock.json "$dest/package-lock.json" 2>/dev/null \
  && [ -f "$dest/node_modules/@hyperlane-xyz/core/contracts/Mailbox.sol" ]; then
  echo "setup-hyperlane: up to date"
  exit 0
fi
cp tools/hyperlane/package.json tools/hyperlane/package-lock.json "$dest/"
npm ci --prefix "$dest" --legacy-peer-deps --no-audit --no-fund --loglevel=error
echo "setup-hyperlane: @hyperlane-xyz/core $(node -p "require('./$dest/node_modules/@hyperlane-xyz/core/package.json').version")"
