// The update rules. Each follows PyTorch's documented algorithm (and LibTorch's implementation, which the tests
// compare against); the only change is that the learning rate and anything derived from the step count are 0-dim
// device tensors, applied with addcmul_ instead of a host scalar `alpha`.
#include "dltrain/train/device_optim.hpp"

#include <utility>

#include "dltrain/core/error.hpp"

namespace dltrain::train {
namespace {

using torch::Tensor;

// Computed once per step, shared by every parameter.
struct StepTensors {
  Tensor neg_lr;      // -lr
  Tensor neg_step;    // adam, adamw: -lr / (1 - beta1^t)
  Tensor bias2_sqrt;  // adam, adamw: sqrt(1 - beta2^t)
  Tensor decay;       // adamw: 1 - lr * weight_decay
  Tensor neg_clr;     // adagrad: -lr / (1 + (t - 1) * lr_decay)
};

using Rule = void (*)(const config::OptimizerConfig& c, const StepTensors& t, Tensor& p, Tensor g,
                      std::vector<Tensor>& state);

void sgd(const config::OptimizerConfig& c, const StepTensors& t, Tensor& p, Tensor g, std::vector<Tensor>& state) {
  if (c.weight_decay != 0) g = g.add(p, c.weight_decay);
  if (c.momentum != 0) {
    Tensor& buffer = state[0];  // starts at zero, so the first step stores g as LibTorch's does
    buffer.mul_(c.momentum).add_(g);
    g = c.nesterov ? g.add(buffer, c.momentum) : buffer;
  }
  p.addcmul_(g, t.neg_lr);
}

void adam(const config::OptimizerConfig& c, const StepTensors& t, Tensor& p, Tensor g, std::vector<Tensor>& state) {
  if (c.name == "adamw") {
    if (c.weight_decay != 0) p.mul_(t.decay);
  } else if (c.weight_decay != 0) {
    g = g.add(p, c.weight_decay);
  }
  Tensor& exp_avg = state[0];
  Tensor& exp_avg_sq = state[1];
  const double beta1 = c.betas[0], beta2 = c.betas[1];
  exp_avg.mul_(beta1).add_(g, 1 - beta1);
  exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2);
  const Tensor second = c.amsgrad ? torch::max_out(state[2], state[2], exp_avg_sq) : exp_avg_sq;
  p.addcmul_(exp_avg / second.sqrt().div_(t.bias2_sqrt).add_(c.eps), t.neg_step);
}

void rmsprop(const config::OptimizerConfig& c, const StepTensors& t, Tensor& p, Tensor g, std::vector<Tensor>& state) {
  if (c.weight_decay != 0) g = g.add(p, c.weight_decay);
  Tensor& square_avg = state[0];
  square_avg.mul_(c.alpha).addcmul_(g, g, 1 - c.alpha);
  const Tensor avg = square_avg.sqrt().add_(c.eps);
  if (c.momentum > 0) {
    Tensor& buffer = state[1];
    buffer.mul_(c.momentum).addcdiv_(g, avg);
    p.addcmul_(buffer, t.neg_lr);
  } else {
    p.addcmul_(g / avg, t.neg_lr);
  }
}

void adagrad(const config::OptimizerConfig& c, const StepTensors& t, Tensor& p, Tensor g, std::vector<Tensor>& state) {
  if (c.weight_decay != 0) g = g.add(p, c.weight_decay);
  Tensor& sum = state[0];
  sum.addcmul_(g, g, 1.0);
  p.addcmul_(g / sum.sqrt().add_(c.eps), t.neg_clr);
}

void adadelta(const config::OptimizerConfig& c, const StepTensors& t, Tensor& p, Tensor g, std::vector<Tensor>& state) {
  if (c.weight_decay != 0) g = g.add(p, c.weight_decay);
  Tensor& square_avg = state[0];  // running mean of squared gradients
  Tensor& acc_delta = state[1];   // running mean of squared updates
  square_avg.mul_(c.rho).addcmul_(g, g, 1 - c.rho);
  const Tensor std = square_avg.add(c.eps).sqrt_();
  const Tensor delta = acc_delta.add(c.eps).sqrt_().div_(std).mul_(g);
  acc_delta.mul_(c.rho).addcmul_(delta, delta, 1 - c.rho);
  p.addcmul_(delta, t.neg_lr);
}

struct Algorithm {
  Rule rule;
  std::vector<std::string> state;  // the buffers every parameter needs
};

Algorithm algorithm(const config::OptimizerConfig& c) {
  if (c.name == "sgd") return {sgd, c.momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}};
  if (c.name == "adam" || c.name == "adamw") {
    std::vector<std::string> state = {"exp_avg", "exp_avg_sq"};
    if (c.amsgrad) state.emplace_back("max_exp_avg_sq");
    return {adam, state};
  }
  if (c.name == "rmsprop") {
    return {rmsprop, c.momentum > 0 ? std::vector<std::string>{"square_avg", "momentum_buffer"}
                                    : std::vector<std::string>{"square_avg"}};
  }
  if (c.name == "adagrad") return {adagrad, {"sum"}};
  if (c.name == "adadelta") return {adadelta, {"square_avg", "acc_delta"}};
  std::string known;
  for (const auto& name : config::kOptimizers) known += (known.empty() ? "" : ", ") + name;
  throw ConfigError("/train/optimizer/name: unknown optimizer '" + c.name + "'", "known optimizers: " + known);
}

}  // namespace

DeviceOptimizer::DeviceOptimizer(std::vector<torch::Tensor> params, const config::OptimizerConfig& config)
    : Optimizer({torch::optim::OptimizerParamGroup(params)}, std::make_unique<DeviceOptimizerOptions>(config.lr)),
      config_(config),
      params_(std::move(params)),
      lr_value_(config.lr) {
  const auto names = algorithm(config_).state;
  const torch::TensorOptions on_device = params_.empty() ? torch::TensorOptions(torch::kFloat) : params_[0].options();
  lr_ = torch::full({}, config_.lr, on_device);
  step_ = torch::zeros({}, on_device);
  for (const auto& p : params_) {
    std::vector<Tensor> buffers;
    for (size_t k = 0; k < names.size(); ++k) buffers.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    state_.push_back(std::move(buffers));
  }
}

std::vector<std::string> DeviceOptimizer::state_names(const config::OptimizerConfig& config) {
  return algorithm(config).state;
}

void DeviceOptimizer::set_lr(double lr) {
  for (auto& group : param_groups_) group.options().set_lr(lr);
  if (lr == lr_value_) return;  // constant schedules launch nothing
  lr_.fill_(lr);
  lr_value_ = lr;
}

torch::Tensor DeviceOptimizer::step(LossClosure closure) {
  torch::Tensor loss;
  if (closure != nullptr) {
    torch::AutoGradMode enable_grad(true);
    loss = closure();
  }
  torch::NoGradGuard no_grad;
  const Algorithm a = algorithm(config_);
  step_.add_(1);
  StepTensors t;
  t.neg_lr = lr_.neg();
  if (a.rule == adam) {
    t.neg_step = t.neg_lr / (1 - torch::pow(config_.betas[0], step_));
    t.bias2_sqrt = (1 - torch::pow(config_.betas[1], step_)).sqrt_();
    if (config_.name == "adamw") t.decay = 1 + t.neg_lr * config_.weight_decay;
  } else if (a.rule == adagrad) {
    t.neg_clr = t.neg_lr / (1 + (step_ - 1) * config_.lr_decay);
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    a.rule(config_, t, p, p.grad(), state_[i]);
  }
  return loss;
}

void DeviceOptimizer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("name", c10::IValue(config_.name));
  archive.write("step", step_);
  const auto names = algorithm(config_).state;
  for (size_t i = 0; i < state_.size(); ++i) {
    for (size_t k = 0; k < names.size(); ++k) archive.write(std::to_string(i) + "." + names[k], state_[i][k]);
  }
}

// Copies into the existing buffers, so their device, dtype and addresses stay as they are.
void DeviceOptimizer::load(torch::serialize::InputArchive& archive) {
  c10::IValue name;
  archive.read("name", name);
  if (!name.isString() || name.toStringRef() != config_.name) {
    throw CheckpointError("the optimizer state was written by '" + (name.isString() ? name.toStringRef() : "?") +
                              "', this run uses '" + config_.name + "'",
                          "resume with the optimizer the run was started with (train.optimizer.name)");
  }
  Tensor saved;
  archive.read("step", saved);
  step_.copy_(saved);
  const auto names = algorithm(config_).state;
  for (size_t i = 0; i < state_.size(); ++i) {
    for (size_t k = 0; k < names.size(); ++k) {
      archive.read(std::to_string(i) + "." + names[k], saved);
      state_[i][k].copy_(saved);
    }
  }
}

}  // namespace dltrain::train
