#!/usr/bin/env bash
# README command 2: set up and run the whole test suite (unit tests and CLI tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DLTRAIN_DATA_DIR:-}" ] && [ -d ../shared/data/mnist ]; then export DLTRAIN_DATA_DIR="$PWD/../shared/data"; fi
cd build
ctest --output-on-failure -j2 "$@"
