// A checkpoint's model for use outside dltrain. state_dict: a file Python's torch.load reads into a dict of tensors
// named as a Python nn.Sequential of the same layers names them, and a generated model.py that defines that
// Sequential (with the normalisation per channel and the class names the model was trained with), so that `model.load_state_dict(torch.load(f))`
// gives the same logits in Python.
#pragma once

#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "dltrain/data/datasets.hpp"

namespace dltrain::exporter {

// One nn.Sequential element in Python for a module dltrain builds (the one table of layer kinds for export).
// Throws CheckpointError naming the layer when a kind has no Python equivalent here.
std::string python_layer(const std::string& name, const torch::nn::Module& module);

// model.py's text for `net`, trained on `dataset`.
std::string python_model(torch::nn::Sequential& net, const data::Description& dataset, const std::string& source);

// Writes `out` (the state_dict, by torch::pickle_save) and model.py beside it; returns model.py's path.
std::filesystem::path export_state_dict(torch::nn::Sequential& net, const data::Description& dataset,
                                        const std::string& source, const std::filesystem::path& out);

}  // namespace dltrain::exporter
