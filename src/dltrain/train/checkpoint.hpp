// Versioned checkpoints: model, optimizer state, position and the resolved config, written atomically.
// `dltrain eval` rebuilds the model from the file alone.
#pragma once

#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/config/config.hpp"
#include "dltrain/model/model.hpp"

namespace dltrain::train {

inline constexpr const char* kCheckpointMagic = "dltrain-checkpoint";
inline constexpr int64_t kCheckpointFormat = 1;

struct CheckpointMeta {
  int64_t epoch = 0;  // epochs completed
  int64_t step = 0;   // optimizer steps completed
  double best_metric = 0.0;
  nlohmann::json config;  // the resolved config
  // dataset, num_classes, input_shape, and the metrics measured when it was saved
  nlohmann::json info;
};

// Writes `path` through a temporary file and a rename: the old file stays intact until the new one is complete.
void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta, torch::nn::Module& net,
                     const torch::optim::Optimizer& optimizer);

struct LoadedCheckpoint {
  CheckpointMeta meta;
  config::Config config;
  model::Model model;
};

// Reads a checkpoint and rebuilds its model (weights loaded, on the CPU). Throws CheckpointError for a
// missing, truncated or foreign file, a newer format, or weights that do not fit the architecture.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace dltrain::train
