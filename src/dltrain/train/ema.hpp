// train.ema: an exponential moving average of the weights, kept beside the trained ones. After every optimizer step
// each averaged parameter and floating-point buffer (BatchNorm's running statistics too) moves towards the trained
// one: ema = d * ema + (1 - d) * w, with d = min(decay, (1 + step) / (10 + step)) so that the average does not
// lean on the random initial weights early on; integer buffers are copied. The average is evaluated and
// checkpointed alongside the trained weights, and model selection takes whichever does better on validation.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace dltrain::train {

class WeightAverage {
 public:
  // Starts as a copy of `net` (same device and dtype).
  WeightAverage(const torch::nn::Sequential& net, double decay);

  // After optimizer step `step` (1-based) of `net`.
  void update(const torch::nn::Sequential& net, int64_t step);

  // The decay used after step `step`.
  double decay_at(int64_t step) const;

  // The averaged model (in eval mode: it is only ever evaluated and saved).
  torch::nn::Sequential& net() { return average_; }

 private:
  torch::nn::Sequential average_;
  double decay_;
};

}  // namespace dltrain::train
