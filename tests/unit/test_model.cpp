// Shape inference: the user never types an input size; bad geometry fails with the layer's JSON path.
#include "dltrain/core/error.hpp"
#include "dltrain/model/model.hpp"

#include "catch_compat.hpp"

using namespace dltrain;
using nlohmann::json;

namespace {

config::ModelConfig layers(const std::string& text) {
  return config::parse(json::parse(R"({"model": {"layers": )" + text + "}}"), "m.json").model;
}

}  // namespace

TEST_CASE("classic CNN: 9216 inputs inferred, PyTorch's parameter count", "[model]") {
  const auto m = model::build(layers(R"([{"type": "conv2d", "out_channels": 32, "kernel_size": 3}, {"type": "relu"},
      {"type": "conv2d", "out_channels": 64, "kernel_size": 3}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
      {"type": "dropout", "p": 0.25}, {"type": "flatten"}, {"type": "linear", "out_features": 128}, {"type": "relu"},
      {"type": "dropout", "p": 0.5}, {"type": "linear", "out_features": 10}])"),
                              {1, 28, 28}, 10);
  CHECK(m.parameters == 1199882);  // sum(p.numel() for p in Net().parameters()) in PyTorch's mnist example
  CHECK(m.layers[4].output_shape == std::vector<int64_t>{64, 12, 12});
  CHECK(m.layers[7].name == "linear 9216->128");
  auto net = m.net;
  net->eval();
  CHECK(net->forward(torch::zeros({2, 1, 28, 28})).sizes() == torch::IntArrayRef({2, 10}));
  CHECK(model::summary_table(m).find("1199882") != std::string::npos);
}

TEST_CASE("linear after conv flattens automatically, and the mlp shorthand", "[model]") {
  const auto m = model::build(layers(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 5, "stride": 2, "padding": 1},
      {"type": "avgpool2d", "kernel_size": 2}, {"type": "batchnorm2d"}, {"type": "linear", "out_features": 10}])"),
                              {1, 28, 28}, 10);
  CHECK(m.layers[0].output_shape == std::vector<int64_t>{4, 13, 13});
  CHECK(m.layers[1].output_shape == std::vector<int64_t>{4, 6, 6});
  CHECK(m.layers.back().name == "linear 144->10");
  config::ModelConfig mlp;
  mlp.hidden = {64, 32};
  mlp.dropout = 0.1;
  const auto m2 = model::build(mlp, {1, 28, 28}, 10);
  CHECK(m2.parameters == (784 * 64 + 64) + (64 * 32 + 32) + (32 * 10 + 10));
}

TEST_CASE("geometry errors name the layer", "[model]") {
  auto error_of = [](const std::string& text, std::vector<int64_t> shape = {1, 28, 28}) {
    try {
      model::build(layers(text), shape, 10);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error_of(R"([{"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "out_channels": 4, "kernel_size": 15},
                    {"type": "linear", "out_features": 10}])")
            .find("/model/layers/1: kernel_size 15 is larger than its 14x14 input") == 0);
  CHECK(error_of(R"([{"type": "linear", "out_features": 7}])").find("ends with output shape 7") != std::string::npos);
  CHECK(error_of(R"([{"type": "flatten"}, {"type": "batchnorm2d"}, {"type": "linear", "out_features": 10}])")
            .find("/model/layers/1") == 0);
}
