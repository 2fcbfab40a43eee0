// Adadelta (Zeiler 2012) as a torch::optim optimizer: LibTorch ships none. Same update as PyTorch's.
#pragma once

#include <torch/torch.h>

namespace dltrain::train {

struct AdadeltaOptions : public torch::optim::OptimizerCloneableOptions<AdadeltaOptions> {
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}
  TORCH_ARG(double, lr) = 1.0;
  TORCH_ARG(double, rho) = 0.9;
  TORCH_ARG(double, eps) = 1e-6;
  TORCH_ARG(double, weight_decay) = 0.0;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct AdadeltaParamState : public torch::optim::OptimizerCloneableParamState<AdadeltaParamState> {
  TORCH_ARG(torch::Tensor, square_avg);  // running mean of squared gradients
  TORCH_ARG(torch::Tensor, acc_delta);   // running mean of squared updates
  TORCH_ARG(int64_t, step) = 0;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

class Adadelta : public torch::optim::Optimizer {
 public:
  explicit Adadelta(std::vector<torch::Tensor> params, AdadeltaOptions defaults = {})
      : Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                  std::make_unique<AdadeltaOptions>(defaults)) {}

  // For each parameter with gradient g (plus weight_decay * p):
  //   square_avg = rho * square_avg + (1 - rho) * g^2
  //   delta      = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
  //   acc_delta  = rho * acc_delta + (1 - rho) * delta^2
  //   p         -= lr * delta
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace dltrain::train
