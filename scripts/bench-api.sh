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
# With API_BENCH_BEFORE=<an older build's api_bench binary>, the older build serves too and its
# GET is measured in the same run, alternated with this build's (before, after, before, after),
# so a change is compared side by side on the same machine state. API_BENCH_BIN=<api_bench binary>
# serves that build instead of building this tree's.
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

if [ -n "${API_BENCH_BIN:-}" ]; then
  BIN="$API_BENCH_BIN"   # built already (a shared machine's build lock can hold cargo for minutes)
else
  cargo build --release --locked -p causeway-gateway --example api_bench
  BIN="${CARGO_TARGET_DIR:-target}/release/examples/api_bench"
fi
# A server's CPU time so far (user + system, seconds): the CPU per request it prints after each
# run does not depend on how busy the machine is, unlike the rates.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# wrk with the arguments after the server's pid, then the server's CPU per request.
measured() {
  local pid=$1 before after result
  shift
  before=$(cpu_seconds "$pid")
  result=$(wrk "$@")
  after=$(cpu_seconds "$pid")
  echo "$result"
  echo "$result" | awk -v a="$after" -v b="$before" '/requests in/ {
    printf "server CPU: %.1f us per request (%.2f s over %d requests)\n", (a - b) * 1e6 / $1, a - b, $1 }'
}

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
measured "$server" -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://$hello_addr/"
if [ -n "${API_BENCH_BEFORE:-}" ]; then
  before_out=$(mktemp)
  before_fifo=$(mktemp -u); mkfifo "$before_fifo"
  "$API_BENCH_BEFORE" <"$before_fifo" >"$before_out" &
  before_server=$!
  exec 4>"$before_fifo"
  trap 'exec 3>&- 4>&-; wait "$server" "$before_server" 2>/dev/null || true; rm -f "$out" "$fifo" "$before_out" "$before_fifo"' EXIT
  for _ in $(seq 100); do grep -q '^HELLO ' "$before_out" && break; sleep 0.1; done
  read -r _ before_addr before_token before_id < <(grep '^API ' "$before_out")
  for round in 1 2; do
    echo "== GET /v1/messages/{id}, BEFORE ($API_BENCH_BEFORE), round $round"
    measured "$before_server" -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -H "Authorization: Bearer $before_token" \
      "http://$before_addr/v1/messages/$before_id"
    echo "== GET /v1/messages/{id}, AFTER (this build), round $round"
    measured "$server" -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -H "Authorization: Bearer $token" "http://$api_addr/v1/messages/$id"
  done
  exec 4>&-
  wait "$before_server" 2>/dev/null || true
  echo "== plain hyper hello (ceiling), again"
  measured "$server" -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://$hello_addr/"
else
  echo "== GET /v1/messages/{id}"
  measured "$server" -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -H "Authorization: Bearer $token" "http://$api_addr/v1/messages/$id"
fi
echo "== POST /v1/messages (public, 1 KiB body, durable before the answer)"
hex=$(head -c 1024 /dev/zero | od -An -v -tx1 | tr -d ' \n' | tr 0 a)
lua=$(mktemp --suffix .lua)
cat >"$lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"origin":1,"destination":2,"recipient":"0x2222222222222222222222222222222222222222","body":"0x$hex"}'
EOF
measured "$server" -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$lua" \
  "http://$api_addr/v1/messages"
rm -f "$lua"
