#!/usr/bin/env bash
# README command 2: set up and run the whole test suite (unit tests and CLI tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Test-only packages: torchrun (python3-torch) for the data-parallel test, which skips its torchrun part without it;
# an independent TensorBoard reader's CRC-32C and protobuf (python3-crc32c, python3-protobuf) and a real browser
# (chromium) for the report tests; ONNX's checker and OpenCV's DNN module (python3-onnx, python3-opencv) for the
# ONNX export test. Each test skips the part whose package is missing.
source scripts/apt_missing.sh
APT_NO_RECOMMENDS=1 apt_install_missing test.sh python3-torch python3-crc32c python3-protobuf chromium python3-onnx \
  python3-opencv ||
  echo "test.sh: a test-only package could not be installed; the tests that need it skip"
if [ -z "${DLTRAIN_DATA_DIR:-}" ] && [ -d ../shared/data/mnist ]; then export DLTRAIN_DATA_DIR="$PWD/../shared/data"; fi
cd build
ctest --output-on-failure -j2 "$@"
