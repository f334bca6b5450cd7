#!/usr/bin/env bash
# Envelope comparison figures: `age` (X25519 recipients, ChaCha20-Poly1305 STREAM) encrypting and
# decrypting the same 1 KiB / 64 KiB / 16 MiB payloads for 1, 5 and 50 recipients as
# `cargo bench -p causeway-privacy --bench envelope`, and `openssl speed -evp aes-256-gcm` on one
# core as the AES-GCM ceiling. Prints one table; the Causeway columns are filled from criterion's
# last results in target/criterion when they exist.
#
#   scripts/bench-privacy.sh                 # all sizes
#   scripts/bench-privacy.sh 1KiB            # one or more of: 1KiB 64KiB 16MiB
#   RECIPIENTS="1 5" scripts/bench-privacy.sh
#   SKIP_OPENSSL=1 scripts/bench-privacy.sh 1KiB
#
# Tools: age 1.1.1-1+b3 and hyperfine 1.15.0-2 from Debian bookworm (installed with apt-get when
# missing; another version is used, with a warning, where that one is unavailable). Without
# hyperfine, a loop timed with `date +%s%N` is used. Everything runs pinned to CPU 0 when
# `taskset` exists, because all figures are stated per core.
#
# age is a separate process per run: its figures include process start-up, which dominates at
# 1 KiB. The "age start-up" line (`age --version`) shows that floor.
set -euo pipefail
cd "$(dirname "$0")/.."

AGE_VERSION="1.1.1-1+b3"
HYPERFINE_VERSION="1.15.0-2"
RECIPIENTS="${RECIPIENTS:-1 5 50}"
SIZES=("$@")
[ "${#SIZES[@]}" -eq 0 ] && SIZES=(1KiB 64KiB 16MiB)

apt_install() { # package pinned-version
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y "$1=$2" >/dev/null 2>&1 && return 0
  echo "warning: $1=$2 unavailable; installing the distribution's $1" >&2
  $sudo apt-get update >/dev/null 2>&1 || true
  $sudo apt-get install -y "$1" >/dev/null
}

command -v age >/dev/null && command -v age-keygen >/dev/null || apt_install age "$AGE_VERSION"
command -v hyperfine >/dev/null || apt_install hyperfine "$HYPERFINE_VERSION" || true

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)

bytes_of() {
  case "$1" in
    1KiB) echo 1024 ;;
    64KiB) echo 65536 ;;
    16MiB) echo 16777216 ;;
    *) echo "unknown size $1 (use 1KiB, 64KiB or 16MiB)" >&2; exit 2 ;;
  esac
}

# Runs per measurement: enough for a stable mean without taking minutes at 16 MiB.
runs_for() {
  case "$1" in
    16MiB) echo 10 ;;
    *) echo 30 ;;
  esac
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Mean seconds of a command (no shell in between).
mean_seconds() { # runs command...
  local runs="$1"; shift
  if command -v hyperfine >/dev/null; then
    "${PIN[@]}" hyperfine -N --style none --warmup 3 --runs "$runs" \
      --export-json "$work/h.json" "$(printf '%q ' "$@")" >/dev/null 2>&1
    grep -o '"mean": *[0-9.eE+-]*' "$work/h.json" | head -n1 | sed 's/.*: *//'
  else
    "$@" >/dev/null 2>&1 # warm-up
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do "${PIN[@]}" "$@" >/dev/null 2>&1; done
    end=$(date +%s%N)
    awk -v s="$start" -v e="$end" -v n="$runs" 'BEGIN { printf "%.9f", (e - s) / 1e9 / n }'
  fi
}

mb_per_s() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.1f", b / t / 1e6; else print "n/a" }'; }
ms() { awk -v t="$1" 'BEGIN { printf "%.3f", t * 1e3 }'; }

# Causeway's criterion mean (seconds) for group/size/recipients, if a bench run left one.
criterion_seconds() {
  local f="target/criterion/$1/$2/$3r/new/estimates.json"
  [ -f "$f" ] || { echo ""; return; }
  python3 - "$f" <<'EOF' 2>/dev/null || echo ""
import json, sys
print(json.load(open(sys.argv[1]))["mean"]["point_estimate"] / 1e9)
EOF
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "age: $(age --version)   hyperfine: $(hyperfine --version 2>/dev/null || echo 'absent (date loop)')   $(openssl version)"
startup="$(mean_seconds 30 age --version)"
echo "age start-up (age --version): $(ms "$startup") ms per process"
echo

# Identities and recipient lists.
for n in $RECIPIENTS; do
  : >"$work/recipients-$n.txt"
  for i in $(seq "$n"); do
    age-keygen -o "$work/key-$n-$i.txt" 2>/dev/null
    age-keygen -y "$work/key-$n-$i.txt" >>"$work/recipients-$n.txt"
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2fx", b / a; else print "n/a" }'; }

printf '%-6s %4s | %12s %12s | %12s %12s | %12s %12s | %9s %9s\n' size rcpt \
  "age enc MB/s" "age dec MB/s" "age enc ms" "age dec ms" "cw seal MB/s" "cw open MB/s" \
  "seal/age" "open/age"
printf '%s\n' "---------------------------------------------------------------------------------------------------------------------------"
for size in "${SIZES[@]}"; do
  bytes="$(bytes_of "$size")"
  runs="$(runs_for "$size")"
  head -c "$bytes" /dev/urandom >"$work/plain-$size"
  for n in $RECIPIENTS; do
    age -e -R "$work/recipients-$n.txt" -o "$work/sealed-$size-$n.age" "$work/plain-$size"
    # Decrypt as the last recipient, as the criterion bench opens as the last one.
    enc="$(mean_seconds "$runs" age -e -R "$work/recipients-$n.txt" -o /dev/null "$work/plain-$size")"
    dec="$(mean_seconds "$runs" age -d -i "$work/key-$n-$n.txt" -o /dev/null "$work/sealed-$size-$n.age")"
    cw_seal="$(criterion_seconds seal "$size" "$n")"
    cw_open="$(criterion_seconds open "$size" "$n")"
    printf '%-6s %4s | %12s %12s | %12s %12s | %12s %12s | %9s %9s\n' "$size" "$n" \
      "$(mb_per_s "$bytes" "$enc")" "$(mb_per_s "$bytes" "$dec")" "$(ms "$enc")" "$(ms "$dec")" \
      "$( [ -n "$cw_seal" ] && mb_per_s "$bytes" "$cw_seal" || echo n/a)" \
      "$( [ -n "$cw_open" ] && mb_per_s "$bytes" "$cw_open" || echo n/a)" \
      "$(ratio "$cw_seal" "$enc")" "$(ratio "$cw_open" "$dec")"
  done
done
echo "(cw = Causeway, from target/criterion; n/a until 'cargo bench -p causeway-privacy --bench envelope' ran)"

if [ -z "${SKIP_OPENSSL:-}" ]; then
  echo
  echo "ceiling: openssl speed -evp aes-256-gcm -seconds 3, one core (columns: bytes per call, in 1000s of bytes/s)"
  "${PIN[@]}" openssl speed -evp aes-256-gcm -seconds 3 2>/dev/null | tail -n 2 | tee "$work/openssl.txt"
  # The 16 KiB column (the last) against Causeway's 16 MiB seal and open, one recipient.
  ossl_kbs="$(tail -n 1 "$work/openssl.txt" | awk '{ v = $NF; sub(/k$/, "", v); print v }')"
  for op in seal open; do
    cw="$(criterion_seconds "$op" 16MiB 1)"
    if [ -n "$cw" ] && [ -n "$ossl_kbs" ]; then
      awk -v b=16777216 -v t="$cw" -v k="$ossl_kbs" -v op="$op" \
        'BEGIN { printf "Causeway %s 16 MiB, 1 recipient: %.0f MB/s = %.0f%% of openssl aes-256-gcm (16 KiB calls, %.0f MB/s)\n", op, b / t / 1e6, 100 * (b / t) / (k * 1000), k / 1000 }'
    fi
  done
fi
