// Exact resume: a run stopped at any step and resumed ends with the same weights and the same metrics,
// bit for bit, as the run that was never stopped.
#include <fstream>
#include <random>

#include "dltrain/core/error.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/loop.hpp"
#include "dltrain/train/signals.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

using namespace dltrain;

namespace {

// Random pixels and labels: nothing to learn, so losses stay large and every bit of them is compared.
void write_noise_dataset(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(11);
  const auto write = [&](const std::string& name, uint32_t n, bool images) {
    std::string bytes = images ? testing::idx_images(n, 28, 28) : testing::idx_labels(std::vector<uint8_t>(n));
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

config::Config small_config(const testing::TempDir& dir, const std::string& optimizer) {
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
  return config::from_json(doc, "test");
}

// Weights of a run's last.pt, and its per-epoch metrics without the timings.
struct Outcome {
  std::vector<torch::Tensor> weights;
  std::vector<std::vector<double>> metrics;
};

Outcome outcome_of(const std::filesystem::path& run_dir) {
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

void require_identical(const Outcome& a, const Outcome& b) {
  REQUIRE(a.weights.size() == b.weights.size());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    CAPTURE(i);
    CHECK(torch::equal(a.weights[i], b.weights[i]));
  }
  CHECK(a.metrics == b.metrics);
}

// Runs `c`, stopping (as SIGINT would) after each step listed in `stops` and resuming, until it completes.
std::filesystem::path run_with_stops(const config::Config& c, std::vector<int64_t> stops) {
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

}  // namespace

TEST_CASE("a run stopped and resumed equals the uninterrupted run, bit for bit", "[resume]") {
  testing::TempDir dir;
  write_noise_dataset(dir.path / "data");
  for (const std::string optimizer : {"adam", "adadelta", "sgd"}) {
    DYNAMIC_SECTION(optimizer) {
      config::Config c = small_config(dir, optimizer);
      const Outcome straight = outcome_of(train::run_training(c, {false, {}, {}}).run_dir);
      REQUIRE(straight.metrics.size() == 3);

      // 22 steps per epoch: mid-epoch, then right after an epoch's last step, then mid-epoch again.
      c.run.name = "stopped";
      const std::filesystem::path stopped = run_with_stops(c, {5, 22, 50});
      require_identical(straight, outcome_of(stopped));
      std::filesystem::remove_all(dir.path / "runs");
    }
  }
}

TEST_CASE("step checkpoints: resuming from a mid-epoch last.pt written by checkpoint_every", "[resume]") {
  testing::TempDir dir;
  write_noise_dataset(dir.path / "data");
  config::Config c = small_config(dir, "adam");
  const Outcome straight = outcome_of(train::run_training(c, {false, {}, {}}).run_dir);

  // Keep the mid-epoch last.pt of step 30 (checkpoints every 10 steps), then resume from that copy.
  c.run.name = "steps";
  c.train.checkpoint_every = "10 steps";
  train::RunOptions options;
  options.show_progress = false;
  const std::filesystem::path copy = dir.path / "step30.pt";
  options.after_step = [&](int64_t step) {
    if (step == 30) std::filesystem::copy_file(dir.path / "runs/steps/checkpoints/last.pt", copy);
  };
  train::run_training(c, options);
  train::LoadedCheckpoint at30 = train::load_checkpoint(copy);
  CHECK(at30.meta.step == 30);
  CHECK(at30.meta.batch == 8);  // 30 = 22 + 8
  std::filesystem::copy_file(copy, dir.path / "runs/steps/checkpoints/last.pt",
                             std::filesystem::copy_options::overwrite_existing);
  train::RunOptions resume;
  resume.show_progress = false;
  resume.resume_from = dir.path / "runs/steps/checkpoints/last.pt";
  train::run_training(c, resume);
  require_identical(straight, outcome_of(dir.path / "runs/steps"));
}

TEST_CASE("resume refuses a finished run and a checkpoint of another architecture", "[resume]") {
  testing::TempDir dir;
  write_noise_dataset(dir.path / "data");
  config::Config c = small_config(dir, "sgd");
  c.train.epochs = 1;
  const std::filesystem::path run = train::run_training(c, {false, {}, {}}).run_dir;
  train::RunOptions resume{false, train::resume_checkpoint_path(run), {}};
  CHECK_THROWS_AS(train::run_training(c, resume), UsageError);
  c.train.epochs = 2;
  c.model.layers[4].out_features = 17;
  CHECK_THROWS_AS(train::run_training(c, resume), CheckpointError);
}
