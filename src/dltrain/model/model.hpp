// Builds a torch::nn::Sequential from the model config, inferring every input size from the data shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/config/config.hpp"

namespace dltrain::model {

struct LayerRow {
  std::string name;                   // e.g. "conv2d 32x3x3"
  std::vector<int64_t> output_shape;  // without the batch dimension
  int64_t parameters = 0;
};

struct Model {
  torch::nn::Sequential net;
  std::vector<LayerRow> layers;
  int64_t parameters = 0;
  std::vector<int64_t> input_shape;  // C, H, W
  int64_t flops_per_image = 0;       // forward multiply-adds x 2, for throughput reports
};

// `input_shape` is {C, H, W} of one image. Throws ConfigError naming the JSON path of a layer that
// cannot take its input (a kernel larger than the image, a model ending in the wrong number of classes).
Model build(const config::ModelConfig& config, const std::vector<int64_t>& input_shape, int64_t num_classes);

// The layer table printed before training: layer, output shape, parameters.
std::string summary_table(const Model& model);
nlohmann::json summary_json(const Model& model);

}  // namespace dltrain::model
