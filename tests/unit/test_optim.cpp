// Optimizers: first steps against hand-computed updates; Adadelta against its formula; state round-trip.
#include "dltrain/config/config.hpp"
#include "dltrain/train/adadelta.hpp"
#include "dltrain/train/optim.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace dltrain;

namespace {

// One scalar parameter p = 1 with gradient 0.5 at every step; returns p after each of `steps` steps.
std::vector<double> run(const std::string& json_text, int steps) {
  const auto c = config::from_json(nlohmann::json::parse(R"({"train": {"optimizer": )" + json_text + "}}"), "o");
  torch::Tensor p = torch::ones({1}, torch::kDouble).requires_grad_(true);
  auto opt = train::make_optimizer(c.train.optimizer, {p});
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    p.mutable_grad() = torch::full({1}, 0.5, torch::kDouble);
    opt->step();
    out.push_back(p.item<double>());
  }
  return out;
}

}  // namespace

TEST_CASE("registry implements every configured optimizer", "[optim]") {
  CHECK(train::optimizer_names() == config::kOptimizers);
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

TEST_CASE("adadelta state survives save and load", "[optim]") {
  torch::Tensor p = torch::ones({3}, torch::kDouble).requires_grad_(true);
  train::Adadelta a({p}, train::AdadeltaOptions(1.0));
  p.mutable_grad() = torch::full({3}, 0.5, torch::kDouble);
  a.step();
  torch::serialize::OutputArchive out;
  a.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);

  torch::Tensor q = p.detach().clone().requires_grad_(true);
  train::Adadelta b({q}, train::AdadeltaOptions(1.0));
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes.str());
  in.load_from(stream);
  b.load(in);
  p.mutable_grad() = torch::full({3}, 0.25, torch::kDouble);
  q.mutable_grad() = torch::full({3}, 0.25, torch::kDouble);
  a.step();
  b.step();
  CHECK(torch::equal(p, q));
}
