// Optimizer factories; Adadelta is ours (adadelta.hpp), the rest are LibTorch's.
#include "dltrain/train/optim.hpp"

#include <functional>
#include <utility>

#include "dltrain/core/error.hpp"
#include "dltrain/train/adadelta.hpp"

namespace dltrain::train {
namespace {

namespace optim = torch::optim;
using Params = std::vector<torch::Tensor>;
using Factory = std::function<std::unique_ptr<optim::Optimizer>(const config::OptimizerConfig&, Params)>;

std::unique_ptr<optim::Optimizer> make_sgd(const config::OptimizerConfig& c, Params p) {
  return std::make_unique<optim::SGD>(
      std::move(p), optim::SGDOptions(c.lr).momentum(c.momentum).nesterov(c.nesterov).weight_decay(c.weight_decay));
}
std::unique_ptr<optim::Optimizer> make_adam(const config::OptimizerConfig& c, Params p) {
  return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions(c.lr)
                                                         .betas({c.betas[0], c.betas[1]})
                                                         .eps(c.eps)
                                                         .weight_decay(c.weight_decay)
                                                         .amsgrad(c.amsgrad));
}
std::unique_ptr<optim::Optimizer> make_adamw(const config::OptimizerConfig& c, Params p) {
  return std::make_unique<optim::AdamW>(std::move(p), optim::AdamWOptions(c.lr)
                                                          .betas({c.betas[0], c.betas[1]})
                                                          .eps(c.eps)
                                                          .weight_decay(c.weight_decay)
                                                          .amsgrad(c.amsgrad));
}
std::unique_ptr<optim::Optimizer> make_rmsprop(const config::OptimizerConfig& c, Params p) {
  return std::make_unique<optim::RMSprop>(
      std::move(p),
      optim::RMSpropOptions(c.lr).alpha(c.alpha).eps(c.eps).momentum(c.momentum).weight_decay(c.weight_decay));
}
std::unique_ptr<optim::Optimizer> make_adagrad(const config::OptimizerConfig& c, Params p) {
  return std::make_unique<optim::Adagrad>(
      std::move(p), optim::AdagradOptions(c.lr).lr_decay(c.lr_decay).eps(c.eps).weight_decay(c.weight_decay));
}
std::unique_ptr<optim::Optimizer> make_adadelta(const config::OptimizerConfig& c, Params p) {
  return std::make_unique<Adadelta>(std::move(p),
                                    AdadeltaOptions(c.lr).rho(c.rho).eps(c.eps).weight_decay(c.weight_decay));
}

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"sgd", make_sgd},         {"adam", make_adam},       {"adamw", make_adamw},
      {"rmsprop", make_rmsprop}, {"adagrad", make_adagrad}, {"adadelta", make_adadelta},
  };
  return table;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerConfig& config, Params params) {
  for (const auto& [name, factory] : registry()) {
    if (name == config.name) return factory(config, std::move(params));
  }
  const auto names = optimizer_names();
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("/train/optimizer/name: unknown optimizer '" + config.name + "'", "known optimizers: " + known);
}

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace dltrain::train
