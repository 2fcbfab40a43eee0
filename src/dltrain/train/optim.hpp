// Building the configured optimizer, and setting its learning rate between steps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dltrain/config/config.hpp"

namespace dltrain::train {

// Builds the optimizer named in `config` (a DeviceOptimizer); throws ConfigError listing the known names.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerConfig& config,
                                                        std::vector<torch::Tensor> params);

// Sets the learning rate of every parameter group (schedules call this before each step).
void set_lr(torch::optim::Optimizer& optimizer, double lr);

}  // namespace dltrain::train
