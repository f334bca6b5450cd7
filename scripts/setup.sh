#!/usr/bin/env bash
# Installs everything Causeway's tests need beyond the Rust toolchain, pinned, idempotently.
# Called by scripts/test.sh and .ci/run; safe to run by hand. Nothing here downloads prebuilt
# binaries from anywhere but the package registries (crates.io, npm, Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

need_cmd() { command -v "$1" >/dev/null 2>&1; }

if ! need_cmd cargo; then
  echo "error: cargo is not installed; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# The shared test vectors sit beside the repository (../shared/vectors); tests read them there.
if [ ! -d ../shared/vectors ] && [ -z "${CAUSEWAY_VECTORS:-}" ]; then
  echo "warning: ../shared/vectors not found; vector tests will fail (set CAUSEWAY_VECTORS)" >&2
fi

# Later issues add: anvil and solc from npm into .tools/ (pinned), Debian packages for promtool
# and Chromium. Issue 2 needs nothing beyond cargo for its tests.
echo "setup: ok"
