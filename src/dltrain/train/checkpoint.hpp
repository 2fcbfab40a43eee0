// Versioned checkpoints: model, optimizer state, the run's exact position and the resolved config,
// written atomically. `dltrain eval` rebuilds the model from the file alone; `dltrain train --resume`
// continues bit for bit (formats 3 and 4, whose optimizer state is device_optim's; formats 1 and 2 still load for
// eval). Format 4 adds the run's segments and holds out the validation split as the last training images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/config/config.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/report/run_report.hpp"

namespace dltrain::train {

inline constexpr const char* kCheckpointMagic = "dltrain-checkpoint";
inline constexpr int64_t kCheckpointFormat = 4;

struct CheckpointMeta {
  int64_t format = kCheckpointFormat;
  int64_t epoch = 0;  // epochs completed
  int64_t step = 0;   // optimizer steps completed
  double best_metric = 0.0;
  nlohmann::json config;  // the resolved config
  // dataset, num_classes, input_shape, the metrics measured when it was saved, and "data": the description of what
  // the model was trained on (data::to_json; absent in checkpoints written before it was stored)
  nlohmann::json info;

  // What resuming needs. A mid-epoch checkpoint (batch > 0) also holds that epoch's data order and
  // running sums, so the rest of the epoch sees exactly the batches it would have seen.
  int64_t batch = 0;  // batches of epoch + 1 already trained
  torch::Tensor order, loss_sum, correct;
  double epoch_seconds = 0.0;  // training time already spent in that epoch
  int64_t best_epoch = 0;
  int64_t epochs_without_improvement = 0;  // validation passes since best_epoch (early stopping)
  std::string best_weights = "trained";  // report::Selection::weights: "trained", or "ema"
  nlohmann::json segments = nlohmann::json::array();  // report::Segment list up to this checkpoint
  nlohmann::json history = nlohmann::json::array();  // one record per completed epoch, as in report.json
  torch::Tensor cpu_rng, cuda_rng;                   // generator states (cuda_rng in CUDA runs only)
  torch::Tensor loss_scale;                          // fp16 runs: GradScaler::state()
};

// The metadata of a checkpoint of the run `record` describes, after `record.step` steps at the end of epoch
// record.history.size(). A mid-epoch checkpoint adds the epoch's cursor (batch, order, sums) to it; both add the
// generator states (capture_rng) and an fp16 run's loss scale.
CheckpointMeta checkpoint_meta(const report::RunRecord& record);
// The inverse for resuming: history, step count, selection and earlier segments into `record`.
void restore_record(const CheckpointMeta& meta, report::RunRecord& record);

// Writes `path` through a temporary file and a rename: the old file stays intact until the new one is complete.
// `average`: the weights' moving average (train.ema), saved beside the model for resuming.
void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta, torch::nn::Module& net,
                     const torch::optim::Optimizer& optimizer, torch::nn::Module* average = nullptr);

struct LoadedCheckpoint {
  CheckpointMeta meta;
  config::Config config;
  model::Model model;
  data::Description data;  // what the model was trained on: trained_on(meta, config)
};

// What a checkpoint's model was trained on: meta.info["data"]; for a checkpoint written before it was stored, the
// dataset table's entry for the dataset it names (old checkpoints are of table datasets with statistics). Throws
// CheckpointError when neither describes it.
data::Description trained_on(const CheckpointMeta& meta, const config::Config& config);

// Loads weights and optimizer state into an existing model and optimizer (for --resume), which stay on their
// device, and returns the rest. The returned tensors (generator states, data order, running sums) are on the
// CPU, whatever the training device. Throws CheckpointError like load_checkpoint, also when the weights do not
// fit `net`.
// With `average`, the moving average saved beside the weights is loaded into it.
CheckpointMeta restore_checkpoint(const std::filesystem::path& path, torch::nn::Module& net,
                                  torch::optim::Optimizer& optimizer, torch::nn::Module* average = nullptr);

// The random generators' states (CPU, and the device's when it is a GPU) into / out of `meta`.
void capture_rng(CheckpointMeta& meta, const torch::Device& device);
void restore_rng(const CheckpointMeta& meta, const torch::Device& device);
// The same with the generators given: `cpu` gets meta.cpu_rng, `accelerator` (when given) meta.cuda_rng.
void restore_rng(const CheckpointMeta& meta, at::Generator cpu, std::optional<at::Generator> accelerator);

// Reads only the metadata and embedded config (for --resume, before the model exists).
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& path);

// Reads a checkpoint and rebuilds its model (weights loaded, on the CPU). Throws CheckpointError for a
// missing, truncated or foreign file, a newer format, or weights that do not fit the architecture.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace dltrain::train
