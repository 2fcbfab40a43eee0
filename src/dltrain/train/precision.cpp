// Precision names, device checks and the process-wide math mode.
#include "dltrain/train/precision.hpp"

#include <cstdlib>

#include "dltrain/core/error.hpp"

namespace dltrain::train {

void check_precision(Precision precision, const torch::Device& device) {
  if (precision == Precision::kTf32 && !device.is_cuda()) {
    throw DeviceError("train.precision=tf32 is a CUDA mode (TF32 tensor cores) and the device is " + device.str(),
                      "use fp32 on the CPU (or bf16 to try bfloat16 autocast)");
  }
  if (precision == Precision::kFp16 && !device.is_cuda()) {
    throw DeviceError("train.precision=fp16 (float16 autocast with loss scaling) is a CUDA mode and the device is " +
                          device.str(),
                      "use bf16 on the CPU: bfloat16 keeps float32's range and needs no loss scaling");
  }
  if (precision == Precision::kBf16 && device.is_cuda()) {
    const std::optional<int> major = compat::cuda_capability_major(device.index());
    if (major && *major < 8) {
      throw DeviceError("train.precision=bf16 needs a GPU of compute capability 8.0 (Ampere) or newer; " + device.str() +
                            " is " + std::to_string(*major) + ".x",
                        "use fp32 on this GPU");
    }
  }
}

torch::Dtype parameter_dtype(Precision precision) {
  return precision == Precision::kFp64 ? torch::kDouble : torch::kFloat;
}

void set_math_mode(Precision precision, bool deterministic) {
  // Every training step has the same shapes (the last partial batch is dropped): let cuDNN time its algorithms
  // once and keep the fastest, unless the run must repeat bit for bit.
  at::globalContext().setBenchmarkCuDNN(!deterministic);
  at::globalContext().setDeterministicCuDNN(deterministic);
  // warn_only: an operation without a deterministic CUDA kernel warns instead of stopping the run.
  at::globalContext().setDeterministicAlgorithms(deterministic, /*warn_only=*/true);
  // cuBLAS is deterministic only with a fixed workspace, read when its first handle is created.
  if (deterministic) ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  const bool tf32 = precision == Precision::kTf32;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

}  // namespace dltrain::train
