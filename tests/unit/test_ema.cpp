// train.ema's WeightAverage: a deep copy of a model with every layer type, updated by the stated formula (parameters
// and BatchNorm's running statistics averaged, its batch counter copied), with the warm-up decay, and left alone
// by changes to the model between updates.
#include <nlohmann/json.hpp>

#include "catch_compat.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/train/ema.hpp"

using namespace dltrain;

namespace {

torch::nn::Sequential every_layer_type() {
  const nlohmann::json layers = nlohmann::json::parse(R"([
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "batchnorm2d"}, {"type": "gelu"},
    {"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "tanh"},
    {"type": "avgpool2d", "kernel_size": 2}, {"type": "dropout", "p": 0.1}, {"type": "flatten"},
    {"type": "linear", "out_features": 8}, {"type": "batchnorm1d"}, {"type": "leaky_relu"}, {"type": "sigmoid"},
    {"type": "relu"}, {"type": "linear", "out_features": 10}])");
  const config::Config c = config::parse({{"model", {{"layers", layers}}}}, "x");
  return model::build(c.model, {1, 28, 28}, 10).net;
}

std::vector<torch::Tensor> state(const torch::nn::Sequential& net) {
  std::vector<torch::Tensor> t;
  for (const auto& p : net->parameters()) t.push_back(p.detach().clone());
  for (const auto& b : net->buffers()) t.push_back(b.clone());
  return t;
}

}  // namespace

TEST_CASE("ema: the warm-up decay, then the configured one") {
  const train::WeightAverage a(every_layer_type(), 0.999);
  CHECK(a.decay_at(1) == Approx(2.0 / 11.0));
  CHECK(a.decay_at(90) == Approx(91.0 / 100.0));
  CHECK(a.decay_at(100000) == 0.999);
}

TEST_CASE("ema: a copy of the model, averaged by the formula, independent of it") {
  torch::manual_seed(1);
  torch::nn::Sequential net = every_layer_type();
  train::WeightAverage a(net, 0.9);
  const std::vector<torch::Tensor> start = state(net);
  REQUIRE(state(a.net()).size() == start.size());
  for (size_t i = 0; i < start.size(); ++i) CHECK(torch::equal(state(a.net())[i], start[i]));
  CHECK_FALSE(a.net()->is_training());

  // One training-mode forward changes BatchNorm's statistics and counter; the weights change by hand.
  net->train();
  net->forward(torch::randn({4, 1, 28, 28}));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.add_(torch::randn_like(p));
  }
  const std::vector<torch::Tensor> trained = state(net);
  a.update(net, 5);
  const double d = a.decay_at(5);
  const std::vector<torch::Tensor> averaged = state(a.net());
  int integer_buffers = 0;
  for (size_t i = 0; i < start.size(); ++i) {
    if (start[i].is_floating_point()) {
      CHECK(torch::allclose(averaged[i], d * start[i] + (1 - d) * trained[i], 1e-6, 1e-6));
    } else {
      CHECK(torch::equal(averaged[i], trained[i]));  // num_batches_tracked
      ++integer_buffers;
    }
  }
  CHECK(integer_buffers == 2);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.zero_();
  }
  CHECK(torch::equal(state(a.net())[0], averaged[0]));  // a copy, not a view of the model
}
