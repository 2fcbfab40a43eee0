// Whole training runs for the resume tests (unit and CUDA): a noise dataset, a small config, a run stopped and
// resumed at chosen steps, and the comparison of two runs' final weights and metrics.
#pragma once

#include <fstream>
#include <random>

#include "catch_compat.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/loop.hpp"
#include "dltrain/train/signals.hpp"
#include "helpers.hpp"

namespace dltrain::testing {

// Random pixels and labels: nothing to learn, so losses stay large and every bit of them is compared.
inline void write_noise_dataset(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(11);
  const auto write = [&](const std::string& name, uint32_t n, bool images) {
    std::string bytes = images ? idx_images(n, 28, 28) : idx_labels(std::vector<uint8_t>(n));
    for (size_t i = images ? 16 : 8; i < bytes.size(); ++i) {
      bytes[i] = static_cast<char>(images ? rng() % 256 : rng() % 10);
    }
    std::ofstream(dir / name, std::ios::binary) << bytes;  // raw IDX under the .gz name: zlib reads both
  };
  write("train-images-idx3-ubyte.gz", 400, true);
  write("train-labels-idx1-ubyte.gz", 400, false);
  write("t10k-images-idx3-ubyte.gz", 100, true);
  write("t10k-labels-idx1-ubyte.gz", 100, false);
}

inline config::Config small_config(const TempDir& dir, const std::string& optimizer) {
  nlohmann::json doc = {
      {"run", {{"name", "r"}, {"seed", 7}, {"output_dir", (dir.path / "runs").string()}}},
      {"data", {{"root", (dir.path / "data").string()}, {"val_split", 0.1}}},
      {"model", {{"type", "layers"},
                 {"layers", {{{"type", "conv2d"}, {"out_channels", 4}, {"kernel_size", 3}},
                             {{"type", "relu"}},
                             {{"type", "maxpool2d"}, {"kernel_size", 2}},
                             {{"type", "dropout"}, {"p", 0.3}},
                             {{"type", "linear"}, {"out_features", 16}},
                             {{"type", "batchnorm1d"}},
                             {{"type", "relu"}},
                             {{"type", "linear"}, {"out_features", 10}}}}}},
      {"train", {{"epochs", 3},
                 {"batch_size", 16},
                 {"optimizer", {{"name", optimizer}, {"lr", optimizer == "adadelta" ? 1.0 : 0.01}}},
                 {"scheduler", {{"name", "onecycle"}}},
                 {"threads", 1},
                 {"log_interval", 1000}}}};
  return config::parse(doc, "test");
}

// Weights of a run's last.pt, and its per-epoch metrics without the timings.
struct Outcome {
  std::vector<torch::Tensor> weights;
  std::vector<std::vector<double>> metrics;
};

inline Outcome outcome_of(const std::filesystem::path& run_dir) {
  Outcome out;
  train::LoadedCheckpoint last = train::load_checkpoint(run_dir / "checkpoints" / "last.pt");
  for (const auto& t : last.model.net->named_parameters()) out.weights.push_back(t.value().clone());
  for (const auto& t : last.model.net->named_buffers()) out.weights.push_back(t.value().clone());
  for (const auto& e : last.meta.history) {
    out.metrics.push_back({e["train_loss"].get<double>(), e["train_accuracy"].get<double>(), e["val_loss"].get<double>(),
                           e["val_accuracy"].get<double>(), e["test_loss"].get<double>(), e["lr"].get<double>()});
  }
  return out;
}

inline void require_identical(const Outcome& a, const Outcome& b) {
  REQUIRE(a.weights.size() == b.weights.size());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    CAPTURE(i);
    CHECK(torch::equal(a.weights[i], b.weights[i]));
  }
  CHECK(a.metrics == b.metrics);
}

// Runs `c`, stopping (as SIGINT would) after each step listed in `stops` and resuming, until it completes.
inline std::filesystem::path run_with_stops(const config::Config& c, std::vector<int64_t> stops) {
  train::RunOptions options;
  options.show_progress = false;
  std::filesystem::path run_dir;
  for (;;) {
    const int64_t stop_after = stops.empty() ? -1 : stops.front();
    options.after_step = [stop_after](int64_t step) {
      if (step == stop_after) train::request_stop();
    };
    try {
      return train::run_training(c, options).run_dir;
    } catch (const Interrupted&) {
      REQUIRE(!stops.empty());
      stops.erase(stops.begin());
      run_dir = std::filesystem::path(c.run.output_dir) / c.run.name;
      options.resume_from = train::resume_checkpoint_path(run_dir);
    }
  }
}


}  // namespace dltrain::testing
