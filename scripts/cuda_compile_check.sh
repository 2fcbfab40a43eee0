#!/usr/bin/env bash
# Compile-checks dltrain's CUDA-only code on a machine without a CUDA LibTorch: every source that has CUDA
# branches is compiled (no link) with DLTRAIN_WITH_CUDA against the CUDA headers Debian's LibTorch 1.13 ships
# and the CUDA toolkit's headers. It checks the 1.13 API only; LibTorch 2.x builds are checked by `cmake --preset cuda`.
# Usage: scripts/cuda_compile_check.sh   (CUDA_HOME defaults to /usr/local/cuda; exit 77 when it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
cuda_home="${CUDA_HOME:-/usr/local/cuda}"
if [[ ! -f "$cuda_home/include/cuda_runtime_api.h" || ! -f /usr/include/ATen/cuda/CUDAGraph.h ]]; then
  echo "skipped: no CUDA toolkit headers in $cuda_home (set CUDA_HOME) or no LibTorch CUDA headers"
  exit 77
fi
# Debian's libtorch-dev ships c10's CUDA headers but not the one CMake generates for them.
stub="$(mktemp -d)"
trap 'rm -rf "$stub"' EXIT
mkdir -p "$stub/c10/cuda/impl"
printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$stub/c10/cuda/impl/cuda_cmake_macros.h"

# dist/group.cpp: c10d's Gloo header needs USE_C10D_GLOO (CMake sets it for that file); the NCCL path is checked
# where nccl.h is found.
# export/onnx_export.cpp: ONNX's headers need the definitions its CMake target carries (ONNX_ML, ONNX_NAMESPACE).
c10d_flags=(-DUSE_C10D_GLOO -DONNX_ML=1 -DONNX_NAMESPACE=onnx)
if [[ -f "$cuda_home/include/nccl.h" || -f /usr/include/nccl.h ]]; then c10d_flags+=(-DUSE_C10D_NCCL -DDLTRAIN_WITH_NCCL); fi
mapfile -t sources < <(grep -rlE 'DLTRAIN_WITH_CUDA|torch_compat.hpp' src tests --include='*.cpp' | sort)
failed=0
for f in "${sources[@]}"; do
  if g++ -std=c++17 -fsyntax-only -DDLTRAIN_WITH_CUDA "${c10d_flags[@]}" -DDLTRAIN_VERSION='"check"' \
      -DDLTRAIN_BUILD_TYPE='"check"' \
      -Isrc -Itests -Itests/unit -I"$stub" -I/usr/include/torch/csrc/api/include -I"$cuda_home/include" "$f"; then
    echo "ok      $f"
  else
    echo "FAILED  $f"
    failed=1
  fi
done
exit "$failed"
