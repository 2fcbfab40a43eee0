// The update rules. Each follows PyTorch's documented algorithm (and LibTorch's implementation, which the tests
// compare against); the changes are that the learning rate and anything derived from the step count are 0-dim
// device tensors (compat::foreach_add_scaled_ instead of a host `alpha`), and that all parameters are updated
// together with _foreach_ ops.
#include "dltrain/train/device_optim.hpp"

#include <utility>

#include "dltrain/core/error.hpp"
#include "dltrain/core/torch_compat.hpp"

namespace dltrain::train {

using torch::Tensor;

// Computed once per step in the parameters' dtype, shared by every parameter.
struct detail::StepTensors {
  Tensor neg_lr;          // -lr
  Tensor neg_step;        // adam, adamw: -lr / (1 - beta1^t)
  Tensor inv_bias2_sqrt;  // adam, adamw: 1 / sqrt(1 - beta2^t)
  Tensor decay;           // adamw: 1 - lr * weight_decay
  Tensor neg_clr;         // adagrad: -lr / (1 + (t - 1) * lr_decay)
};

// The parameters that have a gradient this step, their gradients, and their state: state[k][i] is buffer k of
// params[i]. Each rule updates all of them with _foreach_ ops: a handful of multi-tensor kernels on a GPU (plain
// per-tensor loops on the CPU), where a per-parameter loop would launch a handful per parameter.
struct detail::ParamLists {
  std::vector<Tensor> params, grads;
  std::vector<std::vector<Tensor>> state;
};

namespace {

using detail::ParamLists;
using detail::StepTensors;

// grads + weight_decay * params (L2 regularisation folded into the gradient), or the gradients as they are.
std::vector<Tensor> with_weight_decay(const config::OptimizerConfig& c, const ParamLists& l) {
  return c.weight_decay != 0 ? at::_foreach_add(l.grads, l.params, c.weight_decay) : l.grads;
}

void sgd(const config::OptimizerConfig& c, const StepTensors& t, ParamLists& l) {
  std::vector<Tensor> g = with_weight_decay(c, l);
  if (c.momentum != 0) {
    std::vector<Tensor>& buffer = l.state[0];  // starts at zero, so the first step stores g as LibTorch's does
    at::_foreach_mul_(buffer, c.momentum);
    at::_foreach_add_(buffer, g);
    g = c.nesterov ? at::_foreach_add(g, buffer, c.momentum) : buffer;
  }
  compat::foreach_add_scaled_(l.params, g, t.neg_lr);
}

void adam(const config::OptimizerConfig& c, const StepTensors& t, ParamLists& l) {
  const bool decoupled = c.name == config::Optimizer::kAdamW;
  if (decoupled && c.weight_decay != 0) compat::foreach_mul_(l.params, t.decay);
  const std::vector<Tensor> g = decoupled ? l.grads : with_weight_decay(c, l);
  std::vector<Tensor>& exp_avg = l.state[0];
  std::vector<Tensor>& exp_avg_sq = l.state[1];
  const double beta1 = c.betas[0], beta2 = c.betas[1];
  at::_foreach_mul_(exp_avg, beta1);
  at::_foreach_add_(exp_avg, g, 1 - beta1);
  at::_foreach_mul_(exp_avg_sq, beta2);
  at::_foreach_addcmul_(exp_avg_sq, g, g, 1 - beta2);
  if (c.amsgrad) {
    for (size_t i = 0; i < exp_avg_sq.size(); ++i) torch::max_out(l.state[2][i], l.state[2][i], exp_avg_sq[i]);
  }
  std::vector<Tensor> denom = at::_foreach_sqrt(c.amsgrad ? l.state[2] : exp_avg_sq);
  compat::foreach_mul_(denom, t.inv_bias2_sqrt);
  at::_foreach_add_(denom, c.eps);
  compat::foreach_add_scaled_(l.params, at::_foreach_div(exp_avg, denom), t.neg_step);
}

void rmsprop(const config::OptimizerConfig& c, const StepTensors& t, ParamLists& l) {
  const std::vector<Tensor> g = with_weight_decay(c, l);
  std::vector<Tensor>& square_avg = l.state[0];
  at::_foreach_mul_(square_avg, c.alpha);
  at::_foreach_addcmul_(square_avg, g, g, 1 - c.alpha);
  std::vector<Tensor> avg = at::_foreach_sqrt(square_avg);
  at::_foreach_add_(avg, c.eps);
  if (c.momentum > 0) {
    std::vector<Tensor>& buffer = l.state[1];
    at::_foreach_mul_(buffer, c.momentum);
    at::_foreach_addcdiv_(buffer, g, avg);
    compat::foreach_add_scaled_(l.params, buffer, t.neg_lr);
  } else {
    compat::foreach_add_scaled_(l.params, at::_foreach_div(g, avg), t.neg_lr);
  }
}

void adagrad(const config::OptimizerConfig& c, const StepTensors& t, ParamLists& l) {
  const std::vector<Tensor> g = with_weight_decay(c, l);
  std::vector<Tensor>& sum = l.state[0];
  at::_foreach_addcmul_(sum, g, g, 1.0);
  std::vector<Tensor> rms = at::_foreach_sqrt(sum);
  at::_foreach_add_(rms, c.eps);
  compat::foreach_add_scaled_(l.params, at::_foreach_div(g, rms), t.neg_clr);
}

void adadelta(const config::OptimizerConfig& c, const StepTensors& t, ParamLists& l) {
  const std::vector<Tensor> g = with_weight_decay(c, l);
  std::vector<Tensor>& square_avg = l.state[0];  // running mean of squared gradients
  std::vector<Tensor>& acc_delta = l.state[1];   // running mean of squared updates
  at::_foreach_mul_(square_avg, c.rho);
  at::_foreach_addcmul_(square_avg, g, g, 1 - c.rho);
  const std::vector<Tensor> rms = at::_foreach_sqrt(at::_foreach_add(square_avg, c.eps));
  std::vector<Tensor> delta = at::_foreach_sqrt(at::_foreach_add(acc_delta, c.eps));
  at::_foreach_div_(delta, rms);
  at::_foreach_mul_(delta, g);
  at::_foreach_mul_(acc_delta, c.rho);
  at::_foreach_addcmul_(acc_delta, delta, delta, 1 - c.rho);
  compat::foreach_add_scaled_(l.params, delta, t.neg_lr);
}

struct Algorithm {
  detail::UpdateRule rule;
  std::vector<std::string> state;  // the buffers every parameter needs
};

Algorithm algorithm(const config::OptimizerConfig& c) {
  using config::Optimizer;
  switch (c.name) {
    case Optimizer::kSgd:
      return {sgd, c.momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}};
    case Optimizer::kAdam:
    case Optimizer::kAdamW:
      return {adam, c.amsgrad ? std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
                              : std::vector<std::string>{"exp_avg", "exp_avg_sq"}};
    case Optimizer::kRmsProp:
      return {rmsprop, c.momentum > 0 ? std::vector<std::string>{"square_avg", "momentum_buffer"}
                                      : std::vector<std::string>{"square_avg"}};
    case Optimizer::kAdagrad:
      return {adagrad, {"sum"}};
    case Optimizer::kAdadelta:
      return {adadelta, {"square_avg", "acc_delta"}};
  }
  throw std::logic_error("optimizer without an update rule");  // unreachable: the switch covers the enum
}

}  // namespace

DeviceOptimizer::DeviceOptimizer(std::vector<torch::Tensor> params, const config::OptimizerConfig& config)
    : Optimizer({torch::optim::OptimizerParamGroup(params)}, std::make_unique<DeviceOptimizerOptions>(config.lr)),
      config_(config),
      params_(std::move(params)),
      lr_value_(config.lr) {
  const Algorithm a = algorithm(config_);
  rule_ = a.rule;
  state_names_ = a.state;
  // In double, as LibTorch computes lr and bias corrections: a float step count would stop at 2^24 steps.
  const torch::TensorOptions on_device =
      (params_.empty() ? torch::TensorOptions() : params_[0].options()).dtype(torch::kDouble);
  lr_ = torch::full({}, config_.lr, on_device);
  step_ = torch::zeros({}, on_device);
  for (const auto& p : params_) {
    std::vector<Tensor> buffers;
    for (size_t k = 0; k < state_names_.size(); ++k) buffers.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    state_.push_back(std::move(buffers));
  }
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
  step_.add_(1);
  StepTensors t;
  t.neg_lr = lr_.neg();
  if (rule_ == adam) {
    t.neg_step = t.neg_lr / (1 - torch::pow(config_.betas[0], step_));
    t.inv_bias2_sqrt = (1 - torch::pow(config_.betas[1], step_)).rsqrt_();
    if (config_.name == config::Optimizer::kAdamW) t.decay = 1 + t.neg_lr * config_.weight_decay;
  } else if (rule_ == adagrad) {
    t.neg_clr = t.neg_lr / (1 + (step_ - 1) * config_.lr_decay);
  }
  // Computed in double like LibTorch's host doubles, applied in the parameters' dtype (what _foreach_ ops take).
  const auto dtype = params_.empty() ? torch::kFloat : params_[0].scalar_type();
  for (Tensor* scalar : {&t.neg_lr, &t.neg_step, &t.inv_bias2_sqrt, &t.decay, &t.neg_clr}) {
    if (scalar->defined()) *scalar = scalar->to(dtype);
  }
  ParamLists l;
  l.state.resize(state_names_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    l.params.push_back(params_[i]);
    l.grads.push_back(params_[i].grad());
    for (size_t k = 0; k < state_names_.size(); ++k) l.state[k].push_back(state_[i][k]);
  }
  if (!l.params.empty()) rule_(config_, t, l);
  return loss;
}

namespace {
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}
}  // namespace

void DeviceOptimizer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("name", c10::IValue(std::string(config::optimizers().name(config_.name))));
  archive.write("state_names", c10::IValue(joined(state_names_)));
  archive.write("step", step_);
  for (size_t i = 0; i < state_.size(); ++i) {
    for (size_t k = 0; k < state_names_.size(); ++k) {
      archive.write(std::to_string(i) + "." + state_names_[k], state_[i][k]);
    }
  }
}

// Copies into the existing buffers, so their device, dtype and addresses stay as they are.
void DeviceOptimizer::load(torch::serialize::InputArchive& archive) {
  c10::IValue name;
  archive.read("name", name);
  const std::string ours = config::optimizers().name(config_.name);
  if (!name.isString() || name.toStringRef() != ours) {
    throw CheckpointError("the optimizer state was written by '" + (name.isString() ? name.toStringRef() : "?") +
                              "', this run uses '" + ours + "'",
                          "resume with the optimizer the run was started with (train.optimizer.name)");
  }
  c10::IValue saved_names;
  archive.read("state_names", saved_names);
  if (!saved_names.isString() || saved_names.toStringRef() != joined(state_names_)) {
    throw CheckpointError("the saved " + ours + " state holds [" +
                              (saved_names.isString() ? saved_names.toStringRef() : "?") + "], this config needs [" +
                              joined(state_names_) + "]",
                          "resume with the momentum and amsgrad settings the run was started with");
  }
  const auto read_into = [&](const std::string& key, Tensor& target) {
    Tensor saved;  // a fresh one per key: InputArchive::read re-points a defined tensor
    archive.read(key, saved);
    target.copy_(saved);
  };
  read_into("step", step_);
  for (size_t i = 0; i < state_.size(); ++i) {
    for (size_t k = 0; k < state_names_.size(); ++k) read_into(std::to_string(i) + "." + state_names_[k], state_[i][k]);
  }
}

}  // namespace dltrain::train
