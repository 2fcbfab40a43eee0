// train.precision: the number format of a run. fp32 (default); tf32 (CUDA: float32 matmuls and convolutions
// on TF32 tensor cores); bf16 (autocast: matmuls and convolutions in bfloat16, the rest in float32); fp16 (CUDA:
// autocast to float16 with dynamic loss scaling, grad_scaler.hpp); fp64 (every tensor in double, for reference runs).
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "dltrain/config/vocabulary.hpp"
#include "dltrain/core/torch_compat.hpp"

namespace dltrain::train {

using config::Precision;  // names and help texts: config::precisions()
// Throws DeviceError when `device` cannot run `precision` (tf32 and fp16 are CUDA modes). Call before step 0.
void check_precision(Precision precision, const torch::Device& device);
// The dtype of the parameters and of the normalised input: double for fp64, else float.
torch::Dtype parameter_dtype(Precision precision);
// Turns TF32 math on for a tf32 run and off otherwise, and cuDNN autotuning on unless `deterministic`, which asks
// for deterministic cuDNN and cuBLAS algorithms instead (process-wide LibTorch settings; CPU runs are
// deterministic either way).
void set_math_mode(Precision precision, bool deterministic = false);

// Opens autocast for a forward pass when the precision asks for it (bf16, fp16); otherwise does nothing.
class ForwardScope {
 public:
  ForwardScope(Precision precision, const torch::Device& device) {
    if (precision == Precision::kBf16) autocast_.emplace(device.type(), at::kBFloat16);
    if (precision == Precision::kFp16) autocast_.emplace(device.type(), at::kHalf);
  }

 private:
  std::optional<compat::AutocastScope> autocast_;
};

}  // namespace dltrain::train
