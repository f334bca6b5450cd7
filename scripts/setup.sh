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

# npm tools, pinned by tools/package.json + tools/package-lock.json (committed) and installed into
# the project-local, gitignored .tools/ with `npm ci`: solc-js 0.8.30 (scripts/build-contracts.sh)
# and anvil 1.7.1 (@foundry-rs/anvil-linux-amd64, the devnet's EVM chains). Nothing is taken
# from PATH: the devnet crate runs .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
# (override with CAUSEWAY_ANVIL). Also Hyperledger Fabric's official Node client and protos
# (@hyperledger/fabric-gateway 1.11.0, the last release that supports Node 20; fabric-protos 0.3.7;
# @grpc/grpc-js 1.14.7) for the Fabric fidelity tests (devnet/fidelity/, devnet/src/node.rs);
# optional dependencies are omitted (fabric-gateway's pkcs11js HSM binding is a native build we
# never use). Re-running is a no-op once .tools/ matches the lock file.
ANVIL=.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
if ! need_cmd npm || ! need_cmd node; then
  echo "error: node and npm are needed to install solc and anvil into .tools/" >&2
  exit 1
fi
if cmp -s tools/package.json .tools/package.json 2>/dev/null \
  && cmp -s tools/package-lock.json .tools/package-lock.json 2>/dev/null \
  && [ -f .tools/node_modules/.package-lock.json ] \
  && [ -x "$ANVIL" ] && [ -f .tools/node_modules/solc/soljson.js ] \
  && [ -f .tools/node_modules/@hyperledger/fabric-gateway/package.json ]; then
  echo "setup: npm tools in .tools/ are up to date"
else
  echo "setup: installing pinned npm tools into .tools/"
  mkdir -p .tools
  cp tools/package.json tools/package-lock.json .tools/
  npm ci --prefix .tools --no-audit --no-fund --loglevel=error --omit=optional
fi
echo "setup: $("$ANVIL" --version | head -n 1)"
echo "setup: solc $(node -e 'process.stdout.write(require("./.tools/node_modules/solc").version())')"
echo "setup: @hyperledger/fabric-gateway $(node -p 'require("./.tools/node_modules/@hyperledger/fabric-gateway/package.json").version')"

# promtool and the Prometheus server (monitoring/'s tests: `promtool check metrics` on a real
# scrape, `promtool test rules` on the alert rules, a real server evaluating every dashboard and
# alert expression). Debian bookworm's package, pinned, unpacked into .tools/debian/ with
# `dpkg -x` (no service started, nothing installed system-wide). Tests find the binaries there
# (override with CAUSEWAY_PROMTOOL and CAUSEWAY_PROMETHEUS).
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+b6
PROMTOOL=.tools/debian/usr/bin/promtool
if [ -x "$PROMTOOL" ] && [ -x .tools/debian/usr/bin/prometheus ] \
  && [ "$(cat .tools/debian/prometheus.version 2>/dev/null)" = "$PROMETHEUS_DEB_VERSION" ]; then
  echo "setup: prometheus $PROMETHEUS_DEB_VERSION in .tools/debian/ is up to date"
else
  if ! need_cmd apt-get || ! need_cmd dpkg; then
    echo "error: apt-get and dpkg are needed to fetch Debian's prometheus package (promtool)" >&2
    exit 1
  fi
  echo "setup: fetching Debian's prometheus $PROMETHEUS_DEB_VERSION into .tools/debian/"
  deb_dir=$(mktemp -d)
  chmod 755 "$deb_dir" # apt fetches as the _apt user
  if ! (cd "$deb_dir" && apt-get download "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null); then
    echo "setup: apt-get download failed; refreshing the package lists once (apt-get update)" >&2
    apt-get update >/dev/null
    (cd "$deb_dir" && apt-get download "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null)
  fi
  mkdir -p .tools/debian
  dpkg -x "$deb_dir"/prometheus_*.deb .tools/debian
  rm -rf "$deb_dir"
  echo "$PROMETHEUS_DEB_VERSION" > .tools/debian/prometheus.version
fi
echo "setup: $("$PROMTOOL" --version 2>&1 | head -n 1)"

# Chromium, headless, for the status page's browser test (gateway/tests/it/ui_browser.rs: it loads
# /ui from a running consortium and checks what the page shows against the API). Debian bookworm's
# package, pinned; installed system-wide with apt-get because, unlike promtool, it needs its shared
# libraries (fonts, NSS, GTK) from their Debian packages. The test finds /usr/bin/chromium
# (override with CAUSEWAY_CHROMIUM). Bookworm's security archive replaces the pinned version when
# a newer one ships: then update CHROMIUM_DEB_VERSION (apt-cache policy chromium shows it).
CHROMIUM_DEB_VERSION=148.0.7778.167-1~deb12u1
installed_chromium=$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)
if [ "$installed_chromium" = "$CHROMIUM_DEB_VERSION" ]; then
  echo "setup: chromium $CHROMIUM_DEB_VERSION is installed"
else
  if ! need_cmd apt-get; then
    echo "error: apt-get is needed to install Debian's chromium $CHROMIUM_DEB_VERSION" >&2
    exit 1
  fi
  echo "setup: installing Debian's chromium $CHROMIUM_DEB_VERSION (apt-get)"
  chromium_pkgs=("chromium=$CHROMIUM_DEB_VERSION" "chromium-common=$CHROMIUM_DEB_VERSION")
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${chromium_pkgs[@]}" >/dev/null; then
    echo "setup: apt-get install failed; refreshing the package lists once (apt-get update)" >&2
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${chromium_pkgs[@]}" >/dev/null
  fi
fi
echo "setup: $(chromium --version 2>/dev/null | head -n 1)"

# PostgreSQL 15 (Debian bookworm), pinned: the PostgreSQL store's tests and benchmark start a
# private cluster from /usr/lib/postgresql/15/bin (devnet/src/postgres.rs; override with
# CAUSEWAY_POSTGRES_BIN), as `nobody` when run as root. The package's own cluster is not used.
# Bookworm's security archive replaces the pinned server version when a newer one ships: then
# update POSTGRESQL_15_DEB_VERSION (apt-cache policy postgresql-15 shows it).
POSTGRESQL_DEB_VERSION=15+248+deb12u1
POSTGRESQL_15_DEB_VERSION=15.18-0+deb12u1
installed_pg=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
installed_pg_meta=$(dpkg-query -W -f='${Version}' postgresql 2>/dev/null || true)
if [ "$installed_pg" = "$POSTGRESQL_15_DEB_VERSION" ] \
  && [ "$installed_pg_meta" = "$POSTGRESQL_DEB_VERSION" ]; then
  echo "setup: postgresql $POSTGRESQL_15_DEB_VERSION is installed"
else
  if ! need_cmd apt-get; then
    echo "error: apt-get is needed to install Debian's postgresql $POSTGRESQL_15_DEB_VERSION" >&2
    exit 1
  fi
  echo "setup: installing Debian's postgresql $POSTGRESQL_15_DEB_VERSION (apt-get)"
  pg_pkgs=("postgresql=$POSTGRESQL_DEB_VERSION" "postgresql-15=$POSTGRESQL_15_DEB_VERSION"
    "postgresql-client-15=$POSTGRESQL_15_DEB_VERSION")
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${pg_pkgs[@]}" >/dev/null; then
    echo "setup: apt-get install failed; refreshing the package lists once (apt-get update)" >&2
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${pg_pkgs[@]}" >/dev/null
  fi
fi
echo "setup: $(/usr/lib/postgresql/15/bin/postgres --version)"

# schemathesis (PyPI), pinned with every dependency by tools/schemathesis-requirements.txt and
# installed without resolving anything else (--no-deps) into a venv under .tools/: the API's
# property test (gateway/tests/it/api_schemathesis.rs) runs it against the served OpenAPI document.
ST_VENV=.tools/schemathesis
if ! need_cmd python3; then
  echo "error: python3 (with its venv module) is needed to install schemathesis into $ST_VENV" >&2
  exit 1
fi
if cmp -s tools/schemathesis-requirements.txt "$ST_VENV/requirements.txt" 2>/dev/null \
  && [ -x "$ST_VENV/bin/schemathesis" ]; then
  echo "setup: schemathesis in $ST_VENV is up to date"
else
  echo "setup: installing pinned schemathesis into $ST_VENV"
  rm -rf "$ST_VENV"
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    -r tools/schemathesis-requirements.txt
  cp tools/schemathesis-requirements.txt "$ST_VENV/requirements.txt"
fi
echo "setup: $("$ST_VENV/bin/schemathesis" --version)"

# Later issues add: Chromium.
echo "setup: ok"
