// Divergence detection without a host sync per step: the device keeps the number of the first step whose loss was
// NaN or Inf, and the loop reads it only where it has to (log lines, before every checkpoint write, epoch ends).
// A GPU run then never saves NaN weights and still names the exact step that went wrong.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace dltrain::train {

class FiniteWatch {
 public:
  // `steps_done`: optimizer steps completed before this watch starts (a resumed run's step count).
  FiniteWatch(const torch::Device& device, int64_t steps_done);

  // Records the loss of the next step (step number steps_done + calls so far + 1). Queues a few device ops only.
  void observe(const torch::Tensor& loss);

  // The number (1-based, counted over the whole run) of the first observed step whose loss was not finite, or 0
  // while every loss was finite. Waits for the device.
  int64_t first_bad_step() const;

 private:
  torch::Tensor step_;       // int64 on the device: the last observed step's number
  torch::Tensor first_bad_;  // int64 on the device: 0, or the first non-finite step's number
};

}  // namespace dltrain::train
