// The device-side record of the first non-finite training loss.
#include "dltrain/train/finite_watch.hpp"

namespace dltrain::train {

FiniteWatch::FiniteWatch(const torch::Device& device, int64_t steps_done)
    : step_(torch::full({}, steps_done, torch::TensorOptions().device(device).dtype(torch::kInt64))),
      first_bad_(torch::zeros({}, torch::TensorOptions().device(device).dtype(torch::kInt64))) {}

void FiniteWatch::observe(const torch::Tensor& loss) {
  torch::NoGradGuard no_grad;
  step_.add_(1);
  const torch::Tensor first = loss.detach().isfinite().logical_not().logical_and(first_bad_.eq(0));
  first_bad_.copy_(torch::where(first, step_, first_bad_));
}

int64_t FiniteWatch::first_bad_step() const { return first_bad_.item<int64_t>(); }

}  // namespace dltrain::train
