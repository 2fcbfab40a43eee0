// On CUDA the scaler runs ATen's own kernels (_amp_foreach_non_finite_check_and_unscale_, _amp_update_scale_);
// LibTorch 1.13 has no CPU kernels for them, so on the CPU the same arithmetic runs as tensor ops (the tests
// compare the two on a GPU).
#include "dltrain/train/grad_scaler.hpp"

namespace dltrain::train {

GradScaler::GradScaler(const torch::Device& device, GradScalerOptions options) : options_(options) {
  const auto on_device = torch::TensorOptions().device(device);
  scale_ = torch::full({1}, options_.init_scale, on_device.dtype(torch::kFloat));
  growth_tracker_ = torch::zeros({1}, on_device.dtype(torch::kInt));
  found_inf_ = torch::zeros({1}, on_device.dtype(torch::kFloat));
}

void GradScaler::unscale(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  found_inf_.zero_();
  const torch::Tensor inv_scale = scale_.reciprocal();
  if (scale_.is_cuda()) {
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
    return;
  }
  for (auto& g : grads) {
    found_inf_.copy_(torch::maximum(found_inf_, g.isfinite().logical_not().any().to(torch::kFloat)));
    g.mul_(inv_scale);
  }
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  const bool finite = found_inf_.item<float>() == 0.0F;
  if (finite) optimizer.step();
  update();
  return finite;
}

void GradScaler::update() {
  if (scale_.is_cuda()) {
    at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, options_.growth_factor, options_.backoff_factor,
                           options_.growth_interval);
    return;
  }
  // The same rule as ATen's kernel: back off on inf/NaN; grow after growth_interval good steps unless the grown
  // scale would overflow.
  const torch::Tensor found = found_inf_ > 0;
  const torch::Tensor good_steps = torch::where(found, torch::zeros_like(growth_tracker_), growth_tracker_ + 1);
  const torch::Tensor due = good_steps >= options_.growth_interval;
  const torch::Tensor grown = scale_ * options_.growth_factor;
  scale_.copy_(torch::where(found, scale_ * options_.backoff_factor,
                            torch::where(due.logical_and(grown.isfinite()), grown, scale_)));
  growth_tracker_.copy_(torch::where(due, torch::zeros_like(good_steps), good_steps));
}

torch::Tensor GradScaler::state() const {
  return torch::cat({scale_.to(torch::kDouble), growth_tracker_.to(torch::kDouble)}).cpu();
}

void GradScaler::set_state(const torch::Tensor& state) {
  scale_.copy_(state[0]);
  growth_tracker_.copy_(state[1]);
}

}  // namespace dltrain::train
