// dltrain's optimizers (sgd, adam, adamw, rmsprop, adagrad, adadelta) with every value that changes from step to
// step in a tensor on the parameters' device: the learning rate, the step count and what derives from it (Adam's
// bias corrections, Adagrad's decayed rate). A step reads nothing from the host and never waits for the device, so
// it replays correctly from a captured CUDA graph. LibTorch's optimizers keep the step count and bias corrections
// in host doubles, which a graph freezes at their values during capture.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "dltrain/config/config.hpp"

namespace dltrain::train {

namespace detail {
struct StepTensors;  // device_optim.cpp
struct ParamLists;
using UpdateRule = void (*)(const config::OptimizerConfig& c, const StepTensors& t, ParamLists& l);
}  // namespace detail

// The base class needs options for its parameter groups; the learning rate there mirrors the device tensor.
struct DeviceOptimizerOptions : public torch::optim::OptimizerCloneableOptions<DeviceOptimizerOptions> {
  explicit DeviceOptimizerOptions(double lr = 1e-3) : lr_(lr) {}
  TORCH_ARG(double, lr) = 1e-3;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

class DeviceOptimizer : public torch::optim::Optimizer {
 public:
  // `config.name` picks the update rule; throws ConfigError for an unknown name. All state is allocated here, so
  // nothing is allocated by the first step (a CUDA graph may capture it).
  DeviceOptimizer(std::vector<torch::Tensor> params, const config::OptimizerConfig& config);

  // Writes the learning rate into the device tensor the next steps read. Call between steps, never inside a
  // graph capture (the value would be frozen into the graph).
  void set_lr(double lr);

  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;


 private:
  config::OptimizerConfig config_;
  detail::UpdateRule rule_;
  std::vector<std::string> state_names_;  // the buffers the rule keeps per parameter, in the order it uses them
  std::vector<torch::Tensor> params_;
  std::vector<std::vector<torch::Tensor>> state_;  // state_[i][k]: buffer state_names_[k] of params_[i]
  torch::Tensor lr_;    // 0-dim double, on the parameters' device
  torch::Tensor step_;  // 0-dim double, counts the steps taken
  double lr_value_;
};

}  // namespace dltrain::train
