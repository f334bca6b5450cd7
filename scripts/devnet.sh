#!/usr/bin/env bash
# The README's main job: installs the pinned tools (scripts/setup.sh), builds causeway and runs
# `causeway devnet` with the arguments given (e.g. `--messages 20`, which exits 0 once 20
# messages per lane are delivered and verified; without it the devnet runs until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
cargo build --locked -p causeway-gateway --bin causeway
exec "${CARGO_TARGET_DIR:-target}/debug/causeway" devnet "$@"
