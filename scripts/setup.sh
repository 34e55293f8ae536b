#!/usr/bin/env bash
# Installs the Debian packages dossier needs to build and test, then builds a
# Release tree in build/.  Nothing is downloaded from outside Debian.
#   scripts/setup.sh            install (when missing) and build
#   scripts/setup.sh --deps     only install packages
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  librocksdb-dev libmsgpack-dev libxxhash-dev libssl-dev libcurl4-openssl-dev
  libcmocka-dev libyaml-dev liburing-dev libisal-dev libjemalloc-dev
  nats-server libnats-dev
  python3 python3-jsonschema
  clang libclang-rt-dev
  valgrind strace
  zsh
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi

[ "${1:-}" = "--deps" ] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/dossier"
