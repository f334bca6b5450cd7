#!/usr/bin/env bash
# Runs the benchmarks whose figures BENCHMARKS.md records, side by side with the alternatives
# named there. Run it on a quiet machine; results land in target/criterion and on stdout.
#   ./scripts/bench.sh            # everything
#   ./scripts/bench.sh merkle     # only the Merkle log group
#   ./scripts/bench.sh envelope   # only envelopes (+ age and openssl)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
if [ "$what" = all ] || [ "$what" = merkle ]; then
  # One core, as the figures are stated per core.
  taskset -c 0 cargo bench -p causeway-proofs --bench merkle
fi
if [ "$what" = all ] || [ "$what" = envelope ]; then
  taskset -c 0 cargo bench -p causeway-privacy --bench envelope
  bash scripts/bench-privacy.sh
fi
