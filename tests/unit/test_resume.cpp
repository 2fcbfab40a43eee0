// Exact resume: a run stopped at any step and resumed ends with the same weights and the same metrics,
// bit for bit, as the run that was never stopped.
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/loop.hpp"
#include "dltrain/train/signals.hpp"
#include "run_helpers.hpp"

#include "catch_compat.hpp"

using namespace dltrain;
using namespace dltrain::testing;

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

TEST_CASE("resume refuses a finished run and a changed architecture", "[resume]") {
  testing::TempDir dir;
  write_noise_dataset(dir.path / "data");
  config::Config c = small_config(dir, "sgd");
  c.train.epochs = 1;
  const std::filesystem::path run = train::run_training(c, {false, {}, {}}).run_dir;
  train::RunOptions resume{false, train::resume_checkpoint_path(run), {}};
  CHECK_THROWS_AS(train::run_training(c, resume), UsageError);
  c.train.epochs = 2;
  c.model.layers[4].out_features = 17;
  CHECK_THROWS_WITH(train::run_training(c, resume), ContainsText("cannot change model.layers.4.out_features (16 -> 17)"));
}

TEST_CASE("an exception that is not a dltrain error still ends the run with report.json failed and train.log saying why",
          "[resume]") {
  testing::TempDir dir;
  write_noise_dataset(dir.path / "data");
  const config::Config c = small_config(dir, "sgd");
  train::RunOptions options;
  options.show_progress = false;
  options.after_step = [](int64_t step) {
    if (step == 3) throw std::runtime_error("boom at step 3");
  };
  CHECK_THROWS_WITH(train::run_training(c, options), "boom at step 3");
  const std::filesystem::path run = dir.path / "runs" / "r";
  const nlohmann::json report = nlohmann::json::parse(fs::read_file(run / "report.json"));
  CHECK(report["status"] == "failed");
  CHECK(report["error"]["message"] == "boom at step 3");
  CHECK(report["segments"][0]["how"] == "failed");
  CHECK(report["segments"][0]["last_step"] == 3);
  CHECK(fs::read_file(run / "train.log").find("run ended (failed): boom at step 3") != std::string::npos);
}
