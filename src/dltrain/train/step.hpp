// One training step, shared by `dltrain train` and `dltrain bench` so that both time the same work.
#pragma once

#include <torch/torch.h>

#include "dltrain/data/batches.hpp"
#include "dltrain/train/precision.hpp"

namespace dltrain::train {

struct StepSettings {
  torch::nn::functional::CrossEntropyFuncOptions loss;
  double grad_clip = 0.0;  // max global L2 norm of the gradients; 0: off
  Precision precision = Precision::kFp32;
  torch::Device device = torch::kCPU;
};

struct StepOutput {
  torch::Tensor loss;    // detached, on the device
  torch::Tensor logits;  // detached
};

// Zero the gradients, forward (under autocast for bf16) and loss, backward, clip, optimizer step.
StepOutput train_step(torch::nn::Sequential& net, torch::optim::Optimizer& optimizer, const data::Batch& batch,
                      const StepSettings& settings);

}  // namespace dltrain::train
