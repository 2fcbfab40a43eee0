// Dynamic loss scaling for fp16 training, as PyTorch's GradScaler: the loss is multiplied by a scale before
// backward so that small fp16 gradients do not flush to zero; the gradients are unscaled before clipping and the
// optimizer step; a step whose gradients hold inf or NaN is skipped and the scale backs off; after
// `growth_interval` good steps in a row the scale grows. LibTorch has no GradScaler class.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace dltrain::train {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(const torch::Device& device, GradScalerOptions options = {});

  torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }
  // Divides the gradients by the scale in place and records whether any of them holds inf or NaN.
  void unscale(const std::vector<torch::Tensor>& params);
  // Steps the optimizer unless unscale() found inf/NaN, then updates the scale; true when it stepped.
  // Reads one flag on the host: fp16 runs sync once per step, as PyTorch's GradScaler does.
  bool step(torch::optim::Optimizer& optimizer);

  double current_scale() const { return scale_.item<double>(); }
  // [scale, good steps in a row], for checkpoints; set_state() takes what state() returned.
  torch::Tensor state() const;
  void set_state(const torch::Tensor& state);

 private:
  void update();

  GradScalerOptions options_;
  torch::Tensor scale_;           // float [1]
  torch::Tensor growth_tracker_;  // int32 [1]: good steps since the last change
  torch::Tensor found_inf_;       // float [1]: 1 when this step's gradients hold inf/NaN
};

}  // namespace dltrain::train
