// The optimizer factory: every configured optimizer is a DeviceOptimizer (device_optim.hpp).
#include "dltrain/train/optim.hpp"

#include <utility>

#include "dltrain/train/device_optim.hpp"

namespace dltrain::train {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerConfig& config,
                                                        std::vector<torch::Tensor> params) {
  return std::make_unique<DeviceOptimizer>(std::move(params), config);
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  if (auto* on_device = dynamic_cast<DeviceOptimizer*>(&optimizer)) {
    on_device->set_lr(lr);
    return;
  }
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace dltrain::train
