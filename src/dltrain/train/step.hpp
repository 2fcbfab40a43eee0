// One training step, shared by `dltrain train` and `dltrain bench` so that both time the same work.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "dltrain/data/batches.hpp"
#include "dltrain/train/grad_scaler.hpp"
#include "dltrain/train/precision.hpp"

namespace dltrain::dist {
class GradientSync;
}  // namespace dltrain::dist

namespace dltrain::train {

struct StepSettings {
  torch::nn::functional::CrossEntropyFuncOptions loss;
  double grad_clip = 0.0;  // max global L2 norm of the gradients; 0: off
  Precision precision = Precision::kFp32;
  torch::Device device = torch::kCPU;
  GradScaler* scaler = nullptr;  // fp16 runs: dynamic loss scaling
  dist::GradientSync* sync = nullptr;  // data-parallel runs: averages the gradients over the workers after backward
};

struct StepOutput {
  torch::Tensor loss;     // 0-dim, detached, on the device
  torch::Tensor correct;  // 0-dim int64: correctly classified images of the batch
};

// Scales the gradients so that their global L2 norm is at most `max_norm`, as torch.nn.utils.clip_grad_norm_
// does, but without reading the norm on the host (LibTorch's C++ version returns it as a double: a sync per step).
void clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Zero the gradients, forward (under autocast for bf16/fp16) and loss, backward (of the scaled loss for fp16),
// the gradient all-reduce (data-parallel runs), clip, optimizer step. Nothing in it reads a device value on the host,
// except the fp16 scaler's skip decision and a data-parallel run's votes (gradient_sync.hpp).
StepOutput train_step(torch::nn::Sequential& net, torch::optim::Optimizer& optimizer, const data::Batch& batch,
                      const StepSettings& settings);

}  // namespace dltrain::train
