#!/usr/bin/env bash
# Installs what is missing (Debian 12 or 13 packages, as root or with sudo) and builds dltrain into build/.
# Environment (used by scripts/check_libtorch2.sh; none is needed for a normal build):
#   DLTRAIN_LIBTORCH_PACKAGE  the LibTorch package (default libtorch-dev; libtorch-cuda-dev on Debian 13 contrib)
#   DLTRAIN_CMAKE_ARGS        extra arguments for the configure step (e.g. -DDLTRAIN_WERROR=ON)
#   DLTRAIN_SETUP_NO_BUILD=1  install only
set -euo pipefail
cd "$(dirname "$0")/.."

libtorch_package=${DLTRAIN_LIBTORCH_PACKAGE:-libtorch-dev}
# Gloo's headers for c10d (data-parallel training); Debian builds Gloo twice and the CUDA LibTorch needs the CUDA one.
gloo_package=libgloo-dev
[ "$libtorch_package" != libtorch-cuda-dev ] || gloo_package=libgloo-cuda-dev
packages=(build-essential cmake pkg-config "$libtorch_package" libcli11-dev libspdlog-dev
          nlohmann-json3-dev catch2 "$gloo_package" zlib1g-dev libcurl4-openssl-dev libssl-dev libpng-dev libarchive-dev libonnx-dev libopenblas0-openmp python3
          ca-certificates)
source scripts/apt_missing.sh
apt_install_missing setup "${packages[@]}"
[ -z "${DLTRAIN_SETUP_NO_BUILD:-}" ] || exit 0

# shellcheck disable=SC2086  # DLTRAIN_CMAKE_ARGS is a list of arguments
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${DLTRAIN_CMAKE_ARGS:-}
cmake --build build -j"$(nproc)"
