#!/usr/bin/env bash
# Runs every test of the workspace: the README's test command. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-targets --locked "$@"
cargo test --workspace --doc --locked
# The README's main job, as a new user runs it: a local consortium delivers 20 messages each way.
bash scripts/devnet.sh --messages 20
