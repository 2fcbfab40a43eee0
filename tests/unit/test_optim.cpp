// Optimizers: first steps against hand-computed updates, Adadelta against its formula, every other rule against
// LibTorch's own optimizer over several steps with a changing learning rate, and the state round trip.
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/train/device_optim.hpp"

#include "catch_compat.hpp"

#include <cmath>
#include <functional>
#include <sstream>

using namespace dltrain;

namespace {

config::OptimizerConfig optimizer_config(const std::string& json_text) {
  return config::parse(nlohmann::json::parse(R"({"train": {"optimizer": )" + json_text + "}}"), "o").train.optimizer;
}

// One scalar parameter p = 1 with gradient 0.5 at every step; returns p after each of `steps` steps.
std::vector<double> run(const std::string& json_text, int steps) {
  torch::Tensor p = torch::ones({1}, torch::kDouble).requires_grad_(true);
  train::DeviceOptimizer opt({p}, optimizer_config(json_text));
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    p.mutable_grad() = torch::full({1}, 0.5, torch::kDouble);
    opt.step();
    out.push_back(p.item<double>());
  }
  return out;
}

std::vector<torch::Tensor> random_params(torch::Dtype dtype) {
  torch::manual_seed(7);
  return {torch::randn({5, 3}, dtype).requires_grad_(true), torch::randn({4}, dtype).requires_grad_(true)};
}

// Runs ours and a LibTorch optimizer side by side on the same parameters and gradients, with the learning rate
// changed before every step as a schedule does; returns the largest difference of the parameters at the end.
double max_difference(const std::string& json_text,
                      const std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>)>& theirs_for,
                      torch::Dtype dtype) {
  auto ours_params = random_params(dtype);
  auto theirs_params = random_params(dtype);
  const config::OptimizerConfig c = optimizer_config(json_text);
  train::DeviceOptimizer ours(ours_params, c);
  const auto theirs = theirs_for(theirs_params);
  for (int step = 0; step < 6; ++step) {
    const double lr = c.lr * (1.0 - 0.1 * step);
    ours.set_lr(lr);
    for (auto& group : theirs->param_groups()) group.options().set_lr(lr);
    for (size_t i = 0; i < ours_params.size(); ++i) {
      const torch::Tensor g = torch::randn_like(ours_params[i]);
      ours_params[i].mutable_grad() = g.clone();
      theirs_params[i].mutable_grad() = g.clone();
    }
    ours.step();
    theirs->step();
  }
  double worst = 0;
  for (size_t i = 0; i < ours_params.size(); ++i) {
    worst = std::max(worst, (ours_params[i] - theirs_params[i]).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST_CASE("every optimizer in the table is implemented, an unknown name is a config error", "[optim]") {
  for (const auto& name : config::optimizers().names()) {
    CHECK_NOTHROW(train::DeviceOptimizer({torch::zeros({2}, torch::requires_grad())}, optimizer_config(R"({"name": ")" + name + R"("})")));
  }
  CHECK_THROWS_AS(optimizer_config(R"({"name": "lamb"})"), ConfigError);
}

TEST_CASE("sgd with momentum and nesterov", "[optim]") {
  const auto p = run(R"({"name": "sgd", "lr": 0.1, "momentum": 0.9})", 2);
  CHECK(p[0] == Approx(1 - 0.1 * 0.5));                // buf = g
  CHECK(p[1] == Approx(p[0] - 0.1 * (0.9 * 0.5 + 0.5)));  // buf = 0.9 buf + g
  const auto n = run(R"({"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true})", 1);
  CHECK(n[0] == Approx(1 - 0.1 * (0.5 + 0.9 * 0.5)));
  const auto wd = run(R"({"name": "sgd", "lr": 0.1, "weight_decay": 0.1})", 1);
  CHECK(wd[0] == Approx(1 - 0.1 * (0.5 + 0.1)));
}

TEST_CASE("adam, adamw, rmsprop, adagrad first steps", "[optim]") {
  // Adam's bias-corrected first step moves by lr * g / (|g| + eps).
  CHECK(run(R"({"name": "adam", "lr": 0.01})", 1)[0] == Approx(1 - 0.01 * 0.5 / (0.5 + 1e-8)));
  // AdamW decays the weight first: p * (1 - lr * wd).
  CHECK(run(R"({"name": "adamw", "lr": 0.01, "weight_decay": 0.1})", 1)[0] ==
        Approx(1 * (1 - 0.01 * 0.1) - 0.01 * 0.5 / (0.5 + 1e-8)));
  // RMSprop: v = (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps).
  CHECK(run(R"({"name": "rmsprop", "lr": 0.01, "alpha": 0.99})", 1)[0] ==
        Approx(1 - 0.01 * 0.5 / (std::sqrt(0.01 * 0.25) + 1e-8)));
  // Adagrad: sum = g^2; p -= lr g / (sqrt(sum) + eps).
  const auto a = run(R"({"name": "adagrad", "lr": 0.1})", 2);
  CHECK(a[0] == Approx(1 - 0.1));
  CHECK(a[1] == Approx(a[0] - 0.1 * 0.5 / std::sqrt(0.5)));
}

TEST_CASE("adadelta follows its update formula", "[optim]") {
  const double rho = 0.9, eps = 1e-6, lr = 1.0, g = 0.5;
  const auto p = run(R"({"name": "adadelta", "lr": 1.0, "rho": 0.9})", 3);
  double sq = 0, acc = 0, expect = 1;
  for (int i = 0; i < 3; ++i) {
    sq = rho * sq + (1 - rho) * g * g;
    const double delta = std::sqrt(acc + eps) / std::sqrt(sq + eps) * g;
    acc = rho * acc + (1 - rho) * delta * delta;
    expect -= lr * delta;
    CHECK(p[static_cast<size_t>(i)] == Approx(expect).epsilon(1e-12));
  }
}

TEST_CASE("the device-tensor rules match LibTorch's optimizers step for step", "[optim]") {
  namespace o = torch::optim;
  using Params = std::vector<torch::Tensor>;
  // In double the two differ only by rounding; in float by a few ulps of the update.
  const double tol = 1e-12;
  CHECK(max_difference(R"({"name": "sgd", "lr": 0.1})",
                       [](Params p) { return std::make_unique<o::SGD>(p, o::SGDOptions(0.1)); }, torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 0.01})",
                       [](Params p) {
                         return std::make_unique<o::SGD>(p, o::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
                       },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "adam", "lr": 0.01, "betas": [0.7, 0.9], "weight_decay": 0.01})",
                       [](Params p) {
                         return std::make_unique<o::Adam>(p, o::AdamOptions(0.01).betas({0.7, 0.9}).weight_decay(0.01));
                       },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "adam", "lr": 0.01, "amsgrad": true})",
                       [](Params p) { return std::make_unique<o::Adam>(p, o::AdamOptions(0.01).amsgrad(true)); },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "adamw", "lr": 0.01, "weight_decay": 0.05, "amsgrad": true})",
                       [](Params p) {
                         return std::make_unique<o::AdamW>(p, o::AdamWOptions(0.01).weight_decay(0.05).amsgrad(true));
                       },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "adamw", "lr": 0.01, "weight_decay": 0.05})",
                       [](Params p) { return std::make_unique<o::AdamW>(p, o::AdamWOptions(0.01).weight_decay(0.05)); },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "weight_decay": 0.01})",
                       [](Params p) {
                         return std::make_unique<o::RMSprop>(p, o::RMSpropOptions(0.01).momentum(0.5).weight_decay(0.01));
                       },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "rmsprop", "lr": 0.01})",
                       [](Params p) { return std::make_unique<o::RMSprop>(p, o::RMSpropOptions(0.01)); }, torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01})",
                       [](Params p) {
                         return std::make_unique<o::Adagrad>(p, o::AdagradOptions(0.1).lr_decay(0.01).weight_decay(0.01).eps(1e-10));
                       },
                       torch::kDouble) < tol);
  CHECK(max_difference(R"({"name": "adam", "lr": 0.01})",
                       [](Params p) { return std::make_unique<o::Adam>(p, o::AdamOptions(0.01)); }, torch::kFloat) < 1e-5);
}

TEST_CASE("optimizer state survives save and load, and a mismatched state is refused", "[optim]") {
  for (const auto& name : config::optimizers().names()) {
    DYNAMIC_SECTION(name) {
      const std::string momentum = name == "sgd" || name == "rmsprop" ? R"(, "momentum": 0.9)" : "";
      const config::OptimizerConfig c = optimizer_config(R"({"name": ")" + name + "\"" + momentum + "}");
      torch::Tensor p = torch::ones({3}, torch::kDouble).requires_grad_(true);
      train::DeviceOptimizer a({p}, c);
      p.mutable_grad() = torch::full({3}, 0.5, torch::kDouble);
      a.step();
      torch::serialize::OutputArchive out;
      a.save(out);
      std::ostringstream bytes;
      out.save_to(bytes);

      torch::Tensor q = p.detach().clone().requires_grad_(true);
      train::DeviceOptimizer b({q}, c);
      torch::serialize::InputArchive in;
      std::istringstream stream(bytes.str());
      in.load_from(stream);
      b.load(in);
      p.mutable_grad() = torch::full({3}, 0.25, torch::kDouble);
      q.mutable_grad() = torch::full({3}, 0.25, torch::kDouble);
      a.step();
      b.step();
      CHECK(torch::equal(p, q));

      if (!momentum.empty()) {  // a resume that turns momentum off would drop the saved buffers: refused
        config::OptimizerConfig without = c;
        without.momentum = 0;
        train::DeviceOptimizer plain({q}, without);
        torch::serialize::InputArchive archive;
        std::istringstream bytes_again(bytes.str());
        archive.load_from(bytes_again);
        CHECK_THROWS_WITH(plain.load(archive), ContainsText("momentum_buffer"));
      }
      config::OptimizerConfig other = c;
      other.name = other.name == config::Optimizer::kSgd ? config::Optimizer::kAdam : config::Optimizer::kSgd;
      train::DeviceOptimizer wrong({q}, other);
      torch::serialize::InputArchive again;
      std::istringstream stream2(bytes.str());
      again.load_from(stream2);
      CHECK_THROWS_AS(wrong.load(again), CheckpointError);
    }
  }
}
