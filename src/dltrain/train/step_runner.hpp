// Runs the training steps of a run: eagerly, or with train.cuda_graphs by capturing the whole step (batch draw,
// forward, loss, backward, clip, optimizer step) in one CUDA graph and replaying it, so that a step costs one graph
// launch instead of hundreds of kernel launches. The optimizers keep lr and step count on the device
// (device_optim.hpp), which is what makes a replayed step identical to an eager one.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "dltrain/data/augment.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/train/grad_scaler.hpp"
#include "dltrain/train/step.hpp"

namespace dltrain::train {

struct GraphChoice {
  bool use = false;
  std::string reason;  // why graphs are off (for the log), or empty
};

// Decides train.cuda_graphs for a run on `device` in `precision`. kOn where a graph cannot work throws ConfigError
// with the reason; kAuto turns graphs on wherever they work.
GraphChoice choose_cuda_graphs(config::CudaGraphs setting, const torch::Device& device, Precision precision);

class StepRunner {
 public:
  // Eager steps before the capture: they allocate the gradients and let cuDNN and cuBLAS pick their algorithms.
  static constexpr int kWarmupSteps = 3;

  // `batch_size` is the global batch; in a data-parallel run of `workers` workers, this one (`rank`) trains on the
  // rank-th of `workers` equal, disjoint slices of each global batch. Each batch is normalised, then augmented.
  StepRunner(torch::nn::Sequential net, torch::optim::Optimizer& optimizer, const StepSettings& settings,
             const data::Split& train, int64_t batch_size, const data::Normalizer& normalize,
             const data::Augmenter& augment, bool cuda_graphs, int rank = 0, int workers = 1);
  ~StepRunner();
  StepRunner(const StepRunner&) = delete;
  StepRunner& operator=(const StepRunner&) = delete;

  // Trains on the b-th batch of the epoch whose order is `order`. The outputs stay valid until the next call.
  StepOutput run(const torch::Tensor& order, int64_t b);

  // The loss scaler of an fp16 run, else null (its state goes into checkpoints).
  GradScaler* scaler() { return scaler_ ? &*scaler_ : nullptr; }

 private:
  // The training batch at `indices` (positions in the split), normalised and augmented.
  data::Batch batch(const torch::Tensor& indices) const;

  torch::nn::Sequential net_;
  torch::optim::Optimizer& optimizer_;
  StepSettings settings_;
  const data::Split& train_;
  int64_t batch_size_;  // global
  int64_t local_batch_;  // this worker's slice of it
  int64_t slice_offset_;  // where the slice starts in the global batch
  data::Normalizer normalize_;
  data::Augmenter augment_;
  std::optional<GradScaler> scaler_;
  struct Graph;  // CUDA builds only
  std::unique_ptr<Graph> graph_;
};

}  // namespace dltrain::train
