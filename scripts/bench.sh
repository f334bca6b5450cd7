#!/usr/bin/env bash
# Runs the benchmarks whose figures BENCHMARKS.md records, side by side with the alternatives
# named there. Run it on a quiet machine; results land in target/criterion and on stdout.
#   ./scripts/bench.sh            # everything
#   ./scripts/bench.sh merkle     # only the Merkle log group
#   ./scripts/bench.sh envelope   # only envelopes (+ age and openssl)
#   ./scripts/bench.sh evm        # receipt-trie proofs
#   ./scripts/bench.sh relay      # the relay end to end over two anvil chains
#   ./scripts/bench.sh fabric     # Fabric ingestion and P-256 verification
#   ./scripts/bench.sh metrics    # /metrics rendering of a 10-lane, 10-chain gateway
#   ./scripts/bench.sh pipeline   # three gateways on in-memory chains (no chain submission),
#                                 # then alternately with and without metric updates
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
if [ "$what" = all ] || [ "$what" = evm ]; then
  # Receipt-trie proofs (issue 3).
  taskset -c 0 cargo bench -p causeway-proofs --bench evm
fi
if [ "$what" = all ] || [ "$what" = relay ]; then
  # End to end over two anvil chains, beside anvil's raw transfer rate (issue 3).
  cargo build --release -p causeway-gateway
  target/release/causeway bench relay
fi
if [ "$what" = all ] || [ "$what" = fabric ]; then
  # Fabric ingestion from the test peer's Deliver stream with full verification, on 1 and 2
  # worker threads, and P-256 verifications per core (issue 4).
  cargo bench -p causeway-adapters --bench fabric
fi
if [ "$what" = all ] || [ "$what" = metrics ]; then
  # /metrics: families built from a gateway snapshot and written in the text format (issue 13).
  taskset -c 0 cargo bench -p causeway-monitoring --bench render
fi
if [ "$what" = all ] || [ "$what" = pipeline ]; then
  # Three member gateways (processes, peer protocol over loopback mTLS) on an in-memory source
  # through verify, log, sign, exchange and batch assembly (issue 11).
  cargo build --release -p causeway-gateway
  target/release/causeway --log-level warn bench pipeline
  # What metric updates cost (issue 13): the same bench with them and without them
  # (--no-metrics: no /metrics, no updates), alternated in one run so that whatever else loads
  # the machine weighs on both alike; compare the CPU µs/msg columns.
  for run in 1 2 3; do
    echo "metrics on, run $run"
    target/release/causeway --log-level warn bench pipeline
    echo "metrics off, run $run"
    target/release/causeway --log-level warn bench pipeline --no-metrics
  done
fi
