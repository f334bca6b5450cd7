#!/usr/bin/env bash
# The fuzz targets (fuzz/, a cargo-fuzz crate outside the workspace) must keep compiling with
# the decoders they exercise. Running them needs cargo-fuzz: see scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f fuzz/Cargo.toml ]; then
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-check" cargo check --manifest-path fuzz/Cargo.toml --bins --quiet
  echo "fuzz targets: compile ok"
fi
