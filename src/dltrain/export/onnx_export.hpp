// ONNX export: the model as an ONNX graph built with Debian's ONNX protobuf classes (libonnx-dev), opset 13, a
// dynamic batch dimension, the normalisation per channel as its first nodes (input: pixels 0..255 as float) and the class
// names in the model's metadata ("classes", a JSON list).
#pragma once

#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "dltrain/data/datasets.hpp"

namespace dltrain::exporter {

// Writes `out`. Throws CheckpointError naming a layer ONNX export cannot express, before writing anything.
void export_onnx(torch::nn::Sequential& net, const data::Description& dataset, const std::string& source,
                 const std::filesystem::path& out);

}  // namespace dltrain::exporter
