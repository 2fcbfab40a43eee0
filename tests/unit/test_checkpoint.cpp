// Checkpoints: round-trip rebuilds the same model from the file alone; damaged or foreign files fail clearly.
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/device_optim.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

using namespace dltrain;

TEST_CASE("checkpoint round-trip and damaged files", "[checkpoint]") {
  testing::TempDir dir;
  config::Config c;
  c.model.hidden = {16};
  torch::manual_seed(5);
  model::Model m = model::build(c.model, {1, 28, 28}, 10);
  auto opt = std::make_unique<train::DeviceOptimizer>(m.net->parameters(), c.train.optimizer);
  train::CheckpointMeta meta;
  meta.epoch = 3;
  meta.step = 42;
  meta.best_metric = 0.9;
  meta.config = config::to_json(c);
  meta.info = {{"dataset", "mnist"}, {"num_classes", 10}, {"input_shape", {1, 28, 28}}};
  const auto path = dir.path / "last.pt";
  train::save_checkpoint(path, meta, *m.net, *opt);

  const train::LoadedCheckpoint loaded = train::load_checkpoint(path);
  CHECK(loaded.meta.epoch == 3);
  CHECK(loaded.meta.step == 42);
  CHECK(loaded.meta.best_metric == 0.9);
  CHECK(config::to_json(loaded.config) == meta.config);
  const auto a = m.net->parameters();
  const auto b = loaded.model.net->parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));

  const std::string bytes = fs::read_file(path);
  fs::atomic_write(dir.path / "cut.pt", bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_AS(train::load_checkpoint(dir.path / "cut.pt"), CheckpointError);
  fs::atomic_write(dir.path / "text.pt", "not a checkpoint");
  CHECK_THROWS_AS(train::load_checkpoint(dir.path / "text.pt"), CheckpointError);
  CHECK_THROWS_AS(train::load_checkpoint(dir.path / "absent.pt"), CheckpointError);

  // A checkpoint whose config describes another architecture than its weights.
  c.model.hidden = {32};
  meta.config = config::to_json(c);
  train::save_checkpoint(dir.path / "other.pt", meta, *m.net, *opt);
  CHECK_THROWS_AS(train::load_checkpoint(dir.path / "other.pt"), CheckpointError);
}

TEST_CASE("checkpoints cut anywhere, of a newer format, or without magic fail with CheckpointError", "[checkpoint]") {
  testing::TempDir dir;
  config::Config c;
  c.model.hidden = {8};
  model::Model m = model::build(c.model, {1, 28, 28}, 10);
  auto opt = std::make_unique<train::DeviceOptimizer>(m.net->parameters(), c.train.optimizer);
  train::CheckpointMeta meta;
  meta.config = config::to_json(c);
  meta.info = {{"dataset", "mnist"}, {"num_classes", 10}, {"input_shape", {1, 28, 28}}};
  train::save_checkpoint(dir.path / "good.pt", meta, *m.net, *opt);
  const std::string bytes = fs::read_file(dir.path / "good.pt");
  for (const double fraction : {0.0, 0.01, 0.25, 0.5, 0.75, 0.99}) {
    CAPTURE(fraction);
    const auto cut = static_cast<size_t>(fraction * static_cast<double>(bytes.size()));
    fs::atomic_write(dir.path / "cut.pt", bytes.substr(0, std::max<size_t>(cut, 1) - 1));
    CHECK_THROWS_AS(train::load_checkpoint(dir.path / "cut.pt"), CheckpointError);
  }

  torch::serialize::OutputArchive newer;
  newer.write("magic", c10::IValue(std::string(train::kCheckpointMagic)));
  newer.write("format_version", c10::IValue(train::kCheckpointFormat + 1));
  newer.write("dltrain_version", c10::IValue(std::string("9.9.9")));
  newer.save_to((dir.path / "newer.pt").string());
  CHECK_THROWS_WITH(train::load_checkpoint(dir.path / "newer.pt"), Catch::Contains("is newer than this dltrain reads"));

  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({3}));
  foreign.save_to((dir.path / "foreign.pt").string());
  CHECK_THROWS_WITH(train::load_checkpoint(dir.path / "foreign.pt"), Catch::Contains("no dltrain magic"));
}
