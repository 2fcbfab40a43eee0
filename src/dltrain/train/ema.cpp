// See ema.hpp.
#include "dltrain/train/ema.hpp"

#include <algorithm>
#include <vector>

namespace dltrain::train {
namespace {

// Parameters, then buffers, in the module's order: the same list for a model and its copy.
std::vector<torch::Tensor> state(const torch::nn::Sequential& net) {
  std::vector<torch::Tensor> tensors = net->parameters();
  for (const torch::Tensor& b : net->buffers()) tensors.push_back(b);
  return tensors;
}

}  // namespace

WeightAverage::WeightAverage(const torch::nn::Sequential& net, double decay)
    : average_(std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone())), decay_(decay) {
  average_->eval();
  for (torch::Tensor& p : average_->parameters()) p.set_requires_grad(false);
}

double WeightAverage::decay_at(int64_t step) const {
  const auto s = static_cast<double>(step);
  return std::min(decay_, (1.0 + s) / (10.0 + s));
}

void WeightAverage::update(const torch::nn::Sequential& net, int64_t step) {
  torch::NoGradGuard no_grad;
  const double keep = decay_at(step);
  const std::vector<torch::Tensor> from = state(net), to = state(average_);
  for (size_t i = 0; i < to.size(); ++i) {
    torch::Tensor t = to[i];
    if (t.is_floating_point()) {
      t.lerp_(from[i], 1.0 - keep);
    } else {
      t.copy_(from[i]);
    }
  }
}

}  // namespace dltrain::train
