// The optimizer registry: config name -> torch::optim optimizer, as an explicit table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dltrain/config/config.hpp"

namespace dltrain::train {

// Builds the optimizer named in `config`; throws ConfigError listing the known names.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerConfig& config,
                                                        std::vector<torch::Tensor> params);

// The names the registry implements (tests check them against config::kOptimizers).
std::vector<std::string> optimizer_names();

// Sets the learning rate of every parameter group (schedules call this before each step).
void set_lr(torch::optim::Optimizer& optimizer, double lr);

}  // namespace dltrain::train
