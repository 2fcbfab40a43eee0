#!/usr/bin/env bash
# README command 1: set up, make sure MNIST is there (DLTRAIN_DATA_DIR or a verified download), train the CNN.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DLTRAIN_DATA_DIR:-}" ] && [ -d ../shared/data/mnist ]; then export DLTRAIN_DATA_DIR=../shared/data; fi
if [ -n "${DLTRAIN_DATA_DIR:-}" ] && build/app/dltrain data verify mnist --root "$DLTRAIN_DATA_DIR/mnist" >/dev/null 2>&1; then
  echo "quickstart: using MNIST in $DLTRAIN_DATA_DIR/mnist"
else
  build/app/dltrain data fetch mnist --root data/mnist
  export DLTRAIN_DATA_DIR=data
fi
exec build/app/dltrain train --config configs/mnist_cnn.json "$@"
