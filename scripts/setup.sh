#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages, as root or with sudo) and builds dltrain into build/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libtorch-dev libcli11-dev libspdlog-dev nlohmann-json3-dev catch2
          zlib1g-dev libcurl4-openssl-dev libssl-dev libopenblas0-openmp python3 ca-certificates)
source scripts/apt_missing.sh
apt_install_missing setup "${packages[@]}"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
