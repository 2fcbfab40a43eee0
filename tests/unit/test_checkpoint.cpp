// Checkpoints: round-trip rebuilds the same model from the file alone; damaged or foreign files fail clearly.
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/device_optim.hpp"
#include "helpers.hpp"

#include "catch_compat.hpp"

using namespace dltrain;

namespace {

// An MLP with one hidden layer, its optimizer, and the metadata every checkpoint holds.
struct SmallRun {
  config::Config c;
  model::Model m;
  std::unique_ptr<train::DeviceOptimizer> opt;
  train::CheckpointMeta meta;
  explicit SmallRun(int64_t hidden) {
    c.model.hidden = {hidden};
    m = model::build(c.model, {1, 28, 28}, 10);
    opt = std::make_unique<train::DeviceOptimizer>(m.net->parameters(), c.train.optimizer);
    meta.config = config::to_json(c);
    meta.info = {{"dataset", "mnist"}, {"num_classes", 10}, {"input_shape", {1, 28, 28}}};
  }
};

}  // namespace

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
  SmallRun run(8);
  train::save_checkpoint(dir.path / "good.pt", run.meta, *run.m.net, *run.opt);
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
  CHECK_THROWS_WITH(train::load_checkpoint(dir.path / "newer.pt"), ContainsText("is newer than this dltrain reads"));

  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({3}));
  foreign.save_to((dir.path / "foreign.pt").string());
  CHECK_THROWS_WITH(train::load_checkpoint(dir.path / "foreign.pt"), ContainsText("no dltrain magic"));
}

TEST_CASE("resume: generator states come back as CPU byte tensors and restore both generators", "[checkpoint]") {
  // A checkpoint holds the CPU generator's state and, in CUDA runs, the GPU generator's. restore_checkpoint loads
  // every tensor to the CPU (Generator::set_state takes nothing else) and restore_rng sets both generators through
  // one code path; here a second CPU generator stands in for the GPU's (tests/cuda resumes a real CUDA run).
  testing::TempDir dir;
  SmallRun run(8);
  at::Generator cpu = at::detail::createCPUGenerator(3);
  at::Generator accelerator = at::detail::createCPUGenerator(4);
  run.meta.cpu_rng = cpu.get_state();
  run.meta.cuda_rng = accelerator.get_state();
  const torch::Tensor cpu_draw = torch::rand({5}, cpu), accelerator_draw = torch::rand({5}, accelerator);
  train::save_checkpoint(dir.path / "last.pt", run.meta, *run.m.net, *run.opt);

  const train::CheckpointMeta back = train::restore_checkpoint(dir.path / "last.pt", *run.m.net, *run.opt);
  for (const torch::Tensor& state : {back.cpu_rng, back.cuda_rng}) {
    REQUIRE(state.defined());
    CHECK(state.device().is_cpu());
    CHECK(state.scalar_type() == torch::kByte);
  }
  train::restore_rng(back, cpu, accelerator);
  CHECK(torch::equal(torch::rand({5}, cpu), cpu_draw));
  CHECK(torch::equal(torch::rand({5}, accelerator), accelerator_draw));
  // The model stays on its device and keeps its parameters (the optimizer holds references to them).
  CHECK(run.m.net->parameters().front().device().is_cpu());
}
