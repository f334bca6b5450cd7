#!/usr/bin/env bash
# The HTTP API's throughput and latency with wrk (BENCHMARKS.md "HTTP API"): GET
# /v1/messages/{id} (bearer token checked against the store, message and history read from
# SQLite), POST /v1/messages (a public message with a 1 KiB body, recorded durably in SQLite
# with synchronous = FULL before the 202) and, in the same run, a plain hyper "hello" handler on
# the same runtime as the ceiling.
# Both servers and wrk share this machine's cores: note how busy it is beside the figures.
#
# Tool: wrk 4.1.0-3+b2 from Debian bookworm (installed with apt-get when missing).
# Usage: scripts/bench-api.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
WRK_VERSION=4.1.0-3+b2

if ! command -v wrk >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y "wrk=$WRK_VERSION" >/dev/null 2>&1 \
    || { $sudo apt-get update >/dev/null 2>&1 || true; $sudo apt-get install -y wrk >/dev/null; }
fi
echo "bench-api: $(wrk --version 2>&1 | head -1)"
echo "bench-api: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"

cargo build --release --locked -p causeway-gateway --example api_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/api_bench"
out=$(mktemp)
fifo=$(mktemp -u); mkfifo "$fifo"
"$BIN" <"$fifo" >"$out" &
server=$!
exec 3>"$fifo"   # the server runs until this closes
trap 'exec 3>&-; wait "$server" 2>/dev/null || true; rm -f "$out" "$fifo"' EXIT
for _ in $(seq 100); do grep -q '^HELLO ' "$out" && break; sleep 0.1; done
read -r _ api_addr token id < <(grep '^API ' "$out")
read -r _ hello_addr < <(grep '^HELLO ' "$out")

echo "== plain hyper hello (ceiling)"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://$hello_addr/"
echo "== GET /v1/messages/{id}"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" \
  "http://$api_addr/v1/messages/$id"
echo "== POST /v1/messages (public, 1 KiB body, durable before the answer)"
hex=$(head -c 1024 /dev/zero | od -An -v -tx1 | tr -d ' \n' | tr 0 a)
lua=$(mktemp --suffix .lua)
cat >"$lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"origin":1,"destination":2,"recipient":"0x2222222222222222222222222222222222222222","body":"0x$hex"}'
EOF
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$lua" "http://$api_addr/v1/messages"
rm -f "$lua"
