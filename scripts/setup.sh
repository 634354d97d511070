#!/usr/bin/env bash
# Installs every Debian 12 package modelgate needs to build, test, demo and benchmark.
# Idempotent: packages already present are skipped, and apt is only touched when needed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl openssl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libhiredis-dev
  prometheus
)
# Extra groups: `setup.sh --with-torch` for the backend, `--with-bench` for benchmark peers,
# `--with-redis` for the Redis tests, `--with-fuzz` for the libFuzzer targets (clang),
# `--with-testssl` for the TLS listener scan (scripts/tls-scan.sh).
for arg in "$@"; do
  case "$arg" in
    --with-torch) packages+=(libtorch-dev libopenblas0-openmp libjemalloc2 libjemalloc-dev) ;;
    --with-bench) packages+=(wrk haproxy nginx redis-server) ;;
    --with-redis) packages+=(redis-server) ;;
    --with-fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --with-testssl) packages+=(testssl.sh) ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
