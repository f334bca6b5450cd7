#!/usr/bin/env bash
# Fails if a production build links a test network: no crate of the shipping binary may depend on
# causeway-devnet through normal (non-dev) dependencies. `causeway-gateway` carries devnet only behind
# its default-on `devnet` feature (`causeway bench`), so its production build is checked without it.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for crate in causeway-proofs causeway-privacy causeway-config causeway-adapters causeway-relayer \
  causeway-monitoring; do
  if cargo tree --locked -q -p "$crate" -e normal,build | grep -q 'causeway-devnet'; then
    echo "error: $crate depends on causeway-devnet outside dev-dependencies" >&2
    status=1
  fi
done
if cargo tree --locked -q -p causeway-gateway --no-default-features -e normal,build | grep -q 'causeway-devnet'; then
  echo "error: causeway-gateway --no-default-features still links causeway-devnet" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "layers: no production crate depends on causeway-devnet"
exit "$status"
