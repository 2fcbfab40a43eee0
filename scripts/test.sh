#!/usr/bin/env bash
# README command 2: set up and run the whole test suite (unit tests and CLI tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Test-only packages: torchrun (python3-torch) for the data-parallel test, which skips its torchrun part without it.
source scripts/apt_missing.sh
APT_NO_RECOMMENDS=1 apt_install_missing test.sh python3-torch || echo "test.sh: python3-torch could not be installed; the torchrun test skips"
if [ -z "${DLTRAIN_DATA_DIR:-}" ] && [ -d ../shared/data/mnist ]; then export DLTRAIN_DATA_DIR="$PWD/../shared/data"; fi
cd build
ctest --output-on-failure -j2 "$@"
