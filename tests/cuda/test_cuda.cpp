// On a GPU: CUDA graph replays against eager steps for every optimizer and schedule, CPU against CUDA, reduced
// precisions against fp32, the fp16 scaler on ATen's kernels against its CPU arithmetic, and an exact resume.
#include "dltrain/config/config.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/train/grad_scaler.hpp"
#include "dltrain/train/device_optim.hpp"
#include "dltrain/train/schedule.hpp"
#include "dltrain/train/step_runner.hpp"
#include "run_helpers.hpp"

#include "catch_compat.hpp"

#include <limits>

using namespace dltrain;
using train::Precision;

namespace {

constexpr int64_t kImages = 512, kBatch = 32;

config::Config tiny_config(const std::string& optimizer, const std::string& scheduler) {
  nlohmann::json doc = {
      {"model", {{"type", "layers"},
                 {"layers", {{{"type", "conv2d"}, {"out_channels", 8}, {"kernel_size", 3}},
                             {{"type", "relu"}},
                             {{"type", "maxpool2d"}, {"kernel_size", 2}},
                             {{"type", "flatten"}},
                             {{"type", "linear"}, {"out_features", 32}},
                             {{"type", "batchnorm1d"}},
                             {{"type", "relu"}},
                             {{"type", "linear"}, {"out_features", 10}}}}}},
      {"train", {{"optimizer", {{"name", optimizer}, {"lr", optimizer == "adadelta" ? 1.0 : 0.01}}},
                 {"scheduler", {{"name", scheduler}}},
                 {"grad_clip", 1.0}}}};
  if (scheduler == "cosine") doc["train"]["scheduler"]["warmup_epochs"] = 0.5;
  return config::parse(doc, "test");
}

struct Outcome {
  std::vector<double> losses;
  std::vector<torch::Tensor> weights;  // on the CPU, in double
};

// `steps` training steps of the tiny model on fixed random data, with the config's schedule applied every step.
Outcome train_steps(const config::Config& c, const torch::Device& device, Precision precision, bool graphs, int steps) {
  torch::manual_seed(9);
  const data::Split split{torch::randint(0, 256, {kImages, 1, 28, 28}, torch::kUInt8).to(device),
                          torch::randint(0, 10, {kImages}, torch::kInt64).to(device)};
  torch::manual_seed(5);
  model::Model m = model::build(c.model, {1, 28, 28}, 10);
  m.net->to(device, train::parameter_dtype(precision));
  train::DeviceOptimizer optimizer(m.net->parameters(), c.train.optimizer);
  train::set_math_mode(precision);
  const train::StepSettings settings{torch::nn::functional::CrossEntropyFuncOptions(), c.train.grad_clip, precision,
                                     device};
  train::StepRunner runner(m.net, optimizer, settings, split, kBatch, {0.1307, 0.3081, train::parameter_dtype(precision)},
                           data::Augmenter{}, graphs);
  const train::ScheduleShape shape{c.train.optimizer.lr, kImages / kBatch, 2};
  const torch::Tensor order = torch::arange(kImages, torch::TensorOptions().device(device).dtype(torch::kInt64));
  Outcome out;
  for (int i = 0; i < steps; ++i) {
    optimizer.set_lr(train::lr_at(c.train.scheduler, shape, i));
    out.losses.push_back(runner.run(order, i % (kImages / kBatch)).loss.item<double>());
  }
  for (const auto& p : m.net->parameters()) out.weights.push_back(p.detach().to(torch::kCPU, torch::kDouble));
  return out;
}

double max_weight_difference(const Outcome& a, const Outcome& b) {
  double worst = 0;
  for (size_t i = 0; i < a.weights.size(); ++i) {
    worst = std::max(worst, (a.weights[i] - b.weights[i]).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST_CASE("a CUDA graph replays the same training as eager steps, for every optimizer and schedule", "[cuda]") {
  const torch::Device gpu(torch::kCUDA, 0);
  for (const std::string& optimizer : config::optimizers().names()) {
    for (const std::string scheduler : {"constant", "onecycle", "cosine", "exponential"}) {
      DYNAMIC_SECTION(optimizer << " + " << scheduler) {
        const config::Config c = tiny_config(optimizer, scheduler);
        const Outcome eager = train_steps(c, gpu, Precision::kFp32, false, 24);
        const Outcome graph = train_steps(c, gpu, Precision::kFp32, true, 24);
        // Adam's bias correction or a schedule frozen at capture time would move the weights far more than this.
        CHECK(max_weight_difference(eager, graph) < 1e-5);
        CHECK(graph.losses.back() == Approx(eager.losses.back()).epsilon(1e-4));
      }
    }
  }
}

TEST_CASE("CPU and CUDA agree over the first steps", "[cuda]") {
  const config::Config c = tiny_config("adam", "onecycle");
  const Outcome cpu = train_steps(c, torch::kCPU, Precision::kFp32, false, 10);
  const Outcome fp32 = train_steps(c, torch::Device(torch::kCUDA, 0), Precision::kFp32, true, 10);
  const Outcome tf32 = train_steps(c, torch::Device(torch::kCUDA, 0), Precision::kTf32, true, 10);
  for (size_t i = 0; i < cpu.losses.size(); ++i) {
    CHECK(fp32.losses[i] == Approx(cpu.losses[i]).epsilon(1e-3));
    CHECK(tf32.losses[i] == Approx(cpu.losses[i]).epsilon(2e-2));
  }
}

TEST_CASE("bf16 and fp16 training stay close to fp32", "[cuda]") {
  const config::Config c = tiny_config("adam", "constant");
  const torch::Device gpu(torch::kCUDA, 0);
  const Outcome fp32 = train_steps(c, gpu, Precision::kFp32, true, 16);
  const Outcome bf16 = train_steps(c, gpu, Precision::kBf16, true, 16);
  const Outcome fp16 = train_steps(c, gpu, Precision::kFp16, false, 16);
  for (size_t i = 0; i < fp32.losses.size(); ++i) {
    CHECK(bf16.losses[i] == Approx(fp32.losses[i]).epsilon(5e-2));
    CHECK(fp16.losses[i] == Approx(fp32.losses[i]).epsilon(2e-2));
  }
}

TEST_CASE("the fp16 scaler on ATen's CUDA kernels skips overflowing steps as its CPU arithmetic does", "[cuda]") {
  for (const torch::Device device : {torch::Device(torch::kCPU), torch::Device(torch::kCUDA, 0)}) {
    torch::Tensor p = torch::ones({3}, torch::TensorOptions().device(device).requires_grad(true));
    torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
    train::GradScaler scaler(device, {8.0, 2.0, 0.5, 2});
    const auto step_with = [&](float g) {
      p.mutable_grad() = torch::full({3}, g, p.options().requires_grad(false));
      scaler.unscale({p});
      return scaler.step(sgd);
    };
    CHECK(step_with(8.0F));
    CHECK(step_with(8.0F));
    CHECK(scaler.current_scale() == 16.0);
    CHECK_FALSE(step_with(std::numeric_limits<float>::infinity()));
    CHECK(scaler.current_scale() == 8.0);
    CHECK(p[0].item<float>() == Approx(1.0 - 2 * 0.1 * 1.0));  // two unscaled steps of gradient 1
  }
}

TEST_CASE("a CUDA run stopped and resumed equals the uninterrupted run, bit for bit", "[cuda][resume]") {
  // The checkpoints hold the CPU and CUDA generator states (dropout draws from the CUDA one), the data order and
  // the running sums; all come back through the CPU and are moved to the device. Graphs off and deterministic
  // algorithms, so that the uninterrupted run repeats itself bit for bit.
  testing::TempDir dir;
  testing::write_noise_dataset(dir.path / "data");
  config::Config c = testing::small_config(dir, "adam");
  c.train.device = "cuda";
  c.train.cuda_graphs = config::CudaGraphs::kOff;
  c.train.deterministic = true;
  const testing::Outcome straight = testing::outcome_of(train::run_training(c, {false, {}, {}}).run_dir);
  c.run.name = "stopped";
  testing::require_identical(straight, testing::outcome_of(testing::run_with_stops(c, {5, 22, 50})));
}
