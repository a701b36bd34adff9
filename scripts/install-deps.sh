#!/usr/bin/env bash
# Installs the Debian packages ringshard needs to build and test, and nothing
# else. Idempotent: only packages that are missing are installed; apt-get runs
# through sudo only when we are not root. Usage: install-deps.sh [build|bench]
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config
  liburing-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  libtomlplusplus-dev libsimdjson-dev
  # The deployment API plugin's durable store.
  libsqlite3-dev
  android-libboringssl-dev openssl testssl.sh
  zlib1g-dev
  # Name resolution for the HTTP client (client/resolver.cc).
  libc-ares-dev
  # A real backend for the reverse-proxy tests (and a peer in the benchmarks).
  nginx-light
  # Response compression: libbrotlienc (http/), libbrotlidec (tests).
  libbrotli-dev
  curl python3
  # WebSocket tests against clients that are not ours: the websockets
  # library (for /usr/bin/python3) and headless Chromium (large, ~300 MB).
  python3-websockets chromium
  # systemd-analyze, to verify packaging/ringshard.service (the test skips
  # without it).
  systemd
  # promtool checks /metrics, and a real Prometheus server scrapes it once
  # (tests/integration/prometheus_scrape.sh).
  prometheus
)
bench_pkgs=(wrk h2o gnuplot-nox)

want=("${build_pkgs[@]}")
if [[ "${1:-build}" == "bench" ]]; then
  want+=("${bench_pkgs[@]}")
fi

# Node.js and npm drive Chromium (playwright-core). An install from another
# source (nodesource, nvm) is used as it is: Debian's packages only when the
# commands are missing. npm is looked at after nodejs is in: nodesource's
# nodejs carries its own npm and conflicts with Debian's npm package.
if ! command -v node >/dev/null; then
  want+=(nodejs)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if (( ${#missing[@]} > 0 )); then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if ! command -v npm >/dev/null; then
  echo "install-deps: installing npm"
  (( ${#missing[@]} > 0 )) || "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends npm
fi
