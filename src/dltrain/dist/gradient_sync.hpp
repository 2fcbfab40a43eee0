// Gradient averaging for data-parallel training, as DistributedDataParallel does it: the gradients go into a few
// flat buckets (about 4 MiB each) in the order backward produces them (the last layer's first), each bucket is
// all-reduced as soon as its last gradient is in (train.distributed.overlap, on by default: while backward goes on
// to the earlier layers), and after backward the averages are copied back, so that the optimizer step that follows
// is the same on every worker. The last bucket carries two more numbers, summed in the same all-reduce: how many
// workers were asked to stop (a signal) and how many saw a loss that was not finite. Every worker thus learns both
// at the same step, with no collective of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "dltrain/dist/group.hpp"

namespace dltrain::dist {

class GradientSync {
 public:
  // `overlap`: start each bucket's all-reduce from a gradient hook during backward; else all after backward.
  GradientSync(Group& group, std::vector<torch::Tensor> params, bool overlap = true,
               int64_t bucket_bytes = int64_t{4} << 20);
  ~GradientSync();  // removes the hooks
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before a step: its number (1-based, over the whole run) and whether this worker was asked to stop.
  void begin_step(int64_t step, bool stop) {
    step_ = step;
    stop_ = stop;
  }
  // Before backward: this worker's `loss` feeds the finite vote.
  void before_backward(const torch::Tensor& loss);
  // After backward: the gradients become their mean over the workers.
  void average();

  // The votes of the last average(): whether any worker was asked to stop, and a 0-dim tensor that is NaN when any
  // worker's loss was not finite (else 0), for the FiniteWatch.
  bool stop_voted() const { return stop_votes_ > 0; }
  const torch::Tensor& any_loss_not_finite() const { return not_finite_; }

  // Seconds this worker waited for the all-reduce (and packed and unpacked) outside backward since the start.
  double seconds() const { return seconds_; }
  int64_t calls() const { return calls_; }
  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

  // Tests: this worker's gradients and loss vote become NaN at `step` (DLTRAIN_INJECT_NAN_AT_STEP).
  void inject_nan_at(int64_t step) { inject_step_ = step; }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_, in the order their gradients arrive
    int64_t numel = 0;           // their elements (flat holds them, then 2 votes in the last bucket)
    torch::Tensor flat;
    size_t waiting = 0;  // gradients still to come this step
    std::shared_ptr<Group::Pending> pending;
  };
  torch::Tensor slot(size_t param);  // the param's place in its bucket, flat
  torch::Tensor votes();             // the last bucket's two vote numbers
  void on_gradient(size_t param, const torch::Tensor& grad);
  void launch_ready();
  void launch(Bucket& bucket);
  bool injecting() const { return inject_step_ > 0 && step_ == inject_step_; }

  Group& group_;
  std::vector<torch::Tensor> params_;
  bool overlap_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // param -> bucket
  std::vector<int64_t> offset_of_;  // param -> where it starts in its bucket's `flat`
  std::vector<bool> arrived_;      // param -> its gradient came this step
  std::vector<unsigned> hooks_;    // param -> its hook (overlap)
  size_t next_launch_ = 0;         // buckets start in index order on every worker
  int64_t step_ = 0;
  bool stop_ = false;
  int64_t stop_votes_ = 0;
  torch::Tensor not_finite_;
  double seconds_ = 0.0;
  int64_t calls_ = 0;
  int64_t inject_step_ = 0;
};

}  // namespace dltrain::dist
