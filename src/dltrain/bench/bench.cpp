// Each combination builds the config's model and optimizer on the device and times the very training steps
// `dltrain train` runs (train::StepRunner on device-resident batches, CUDA graphs as the config says), then an
// eval pass.
#include "dltrain/bench/bench.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <sstream>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/core/torch_compat.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/device/device.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/report/writers.hpp"
#include "dltrain/train/evaluate.hpp"
#include "dltrain/train/device_optim.hpp"
#include "dltrain/train/precision.hpp"
#include "dltrain/train/step.hpp"
#include "dltrain/train/step_runner.hpp"
#include "dltrain/train/step_timer.hpp"

namespace dltrain::bench {
namespace {

using Clock = std::chrono::steady_clock;
using train::Precision;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Random pixels and labels of the dataset's shape, resident on the device: throughput does not depend on
// the values, and the benchmark needs no dataset files.
data::Split synthetic_split(const data::Description& info, int64_t images, const torch::Device& device) {
  std::vector<int64_t> shape = {images};
  shape.insert(shape.end(), info.image_shape.begin(), info.image_shape.end());
  const auto on = torch::TensorOptions().device(device);
  return {torch::randint(0, 256, shape, on.dtype(torch::kUInt8)),
          torch::randint(0, info.num_classes(), {images}, on.dtype(torch::kInt64))};
}

Precision precision_named(const std::string& name) {
  const auto* term = config::precisions().find(name);
  if (term == nullptr) {
    throw ConfigError("unknown precision '" + name + "'", "use one of " + config::precisions().joined());
  }
  return term->value;
}

torch::Dtype matmul_dtype(Precision precision) {
  if (precision == Precision::kBf16) return torch::kBFloat16;
  if (precision == Precision::kFp16) return torch::kHalf;
  if (precision == Precision::kFp64) return torch::kDouble;
  return torch::kFloat;
}

// Matrix-multiply throughput of `device` in `precision`, in TFLOP/s: the best of a few large matmuls.
double measure_tflops(const torch::Device& device, Precision precision) {
  train::set_math_mode(precision);
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const int reps = device.is_cuda() ? 20 : 2;
  const auto on = torch::TensorOptions().device(device).dtype(matmul_dtype(precision));
  const torch::Tensor a = torch::randn({n, n}, on), b = torch::randn({n, n}, on);
  torch::Tensor c = torch::mm(a, b);  // warm-up
  synchronize(device);
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r) c = torch::mm(a, b);
    synchronize(device);
    best = std::max(best, 2.0 * static_cast<double>(n * n * n) * reps / seconds_since(start) / 1e12);
  }
  return best;
}

double peak_memory_mib(const torch::Device& device) {
  if (device.is_cuda()) return compat::cuda_peak_allocated_mib(device.index());
  return device::peak_rss_mib();
}

struct Combination {
  std::string device, precision;
  int64_t batch_size;
};

Row run_one(const Options& o, const Combination& k, const data::Description& info, int64_t train_images,
            std::map<std::string, data::Split>& splits, std::map<std::string, double>& floors) {
  Row r;
  r.device = k.device;
  r.precision = k.precision;
  r.batch_size = k.batch_size;
  const config::Config& c = o.config;
  torch::Device device(torch::kCPU);
  Precision precision = Precision::kFp32;
  train::GraphChoice graphs;
  try {
    device = device::resolve(k.device);
    precision = precision_named(k.precision);
    train::check_precision(precision, device);
    graphs = train::choose_cuda_graphs(c.train.cuda_graphs, device, precision);
  } catch (const Error& e) {
    r.skipped = e.what();
    return r;
  }
  r.device_name = device.is_cuda() ? compat::cuda_device_name(device.index()) : device::cpu_model();
  if (k.batch_size > train_images) {
    r.skipped = "batch larger than the " + std::to_string(train_images) + " training images";
    return r;
  }
  try {
    const std::string floor_key = device.str() + "/" + k.precision;
    if (floors.count(floor_key) == 0) floors[floor_key] = measure_tflops(device, precision);
    r.device_tflops = floors[floor_key];
    if (device.is_cuda()) compat::cuda_reset_peak_memory(device.index());  // after the floor's large matrices

    train::set_math_mode(precision);
    torch::manual_seed(static_cast<uint64_t>(c.run.seed));
    model::Model m = model::build(c.model, info.image_shape, info.num_classes());
    m.net->to(device, train::parameter_dtype(precision));
    const auto optimizer = std::make_unique<train::DeviceOptimizer>(m.net->parameters(), c.train.optimizer);
    if (splits.count(device.str()) == 0) splits[device.str()] = synthetic_split(info, train_images, device);
    const data::Split& split = splits[device.str()];
    const data::Normalizer normalize(info, train::parameter_dtype(precision));
    const train::StepSettings settings{
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c.train.label_smoothing), c.train.grad_clip,
        precision, device};
    const torch::Tensor order = torch::randperm(split.size(), torch::TensorOptions().device(device).dtype(torch::kInt64));
    const int64_t batches = data::train_batches(split.size(), k.batch_size);

    // Warm-up steps first (the timer keeps the very first apart; a CUDA graph is captured during them), then the
    // timed ones.
    r.cuda_graph = graphs.use;
    const data::Augmenter augment(c.data.augment, normalize, info.image_shape, device);
    train::StepRunner steps(m.net, *optimizer, settings, split, k.batch_size, normalize, augment, graphs.use);
    train::StepTimer timer(device);
    const int64_t warmup = graphs.use ? std::max<int64_t>(o.warmup, train::StepRunner::kWarmupSteps + 1) : o.warmup;
    for (int64_t i = 0; i < warmup + o.steps; ++i) {
      timer.start();
      steps.run(order, i % batches);
      timer.stop();
    }
    timer.collect();
    const std::vector<double> all = timer.seconds();
    const std::vector<double> timed(all.end() - std::min<int64_t>(o.steps, static_cast<int64_t>(all.size())), all.end());
    const double mean = std::accumulate(timed.begin(), timed.end(), 0.0) / static_cast<double>(timed.size());
    r.images_per_s = static_cast<double>(k.batch_size) / mean;
    const nlohmann::json step_time = report::step_time_summary(timed);  // as report.json computes it
    r.step_ms_median = step_time["median_ms"];
    r.step_ms_p95 = step_time["p95_ms"];
    r.epoch_s = static_cast<double>(batches) * mean;

    const int64_t n_eval = std::min(o.eval_images, split.size());
    const data::Split eval_split{split.images.slice(0, 0, n_eval), split.labels.slice(0, 0, n_eval)};
    synchronize(device);
    const auto eval_start = Clock::now();
    train::evaluate(m.net, eval_split, c.eval.batch_size, normalize, info.num_classes(),
                    precision);  // reads its result back: the device has finished
    r.eval_images_per_s = static_cast<double>(n_eval) / seconds_since(eval_start);

    r.peak_memory_mib = peak_memory_mib(device);
    r.train_flops_per_image = 3.0 * static_cast<double>(m.flops_per_image);  // forward + backward ~ 3x forward
    r.achieved_tflops = r.train_flops_per_image * r.images_per_s / 1e12;
    r.floor_share = r.device_tflops > 0 ? r.achieved_tflops / r.device_tflops : 0.0;
  } catch (const c10::Error& e) {
    r.skipped = std::string("failed: ") + e.what_without_backtrace();  // e.g. out of memory at a large batch
  }  // A failed CUDA graph capture (DeviceError) stops the bench: the CUDA state after it is not to be trusted.
  return r;
}

std::string row_label(const Row& r) {
  return r.device + " " + r.precision + " batch " + std::to_string(r.batch_size);
}

}  // namespace

Result run(const Options& o) {
  const config::Config& c = o.config;
  const data::Outline outline = data::outline(c.data);
  data::Description info = outline.desc;
  if (info.mean.empty()) {  // computed from the images when training (image_folder): any values time the same
    info.mean.assign(static_cast<size_t>(info.image_shape.at(0)), 0.5);
    info.std.assign(static_cast<size_t>(info.image_shape.at(0)), 0.25);
  }
  const std::vector<std::string> devices = o.devices.empty() ? std::vector<std::string>{c.train.device} : o.devices;
  const std::vector<std::string> precisions =
      o.precisions.empty() ? std::vector<std::string>{config::precisions().name(c.train.precision)} : o.precisions;
  const std::vector<int64_t> batch_sizes = o.batch_sizes.empty() ? std::vector<int64_t>{c.train.batch_size} : o.batch_sizes;
  for (const std::string& p : precisions) precision_named(p);  // a typo fails before any work

  Result result;
  // The images one epoch trains on, as `dltrain train` would: the table's training set, limit, minus the hold-out.
  const int64_t available =
      c.data.limit_train > 0 ? std::min(c.data.limit_train, outline.train_images) : outline.train_images;
  result.train_images = available - data::validation_images(c.data.val_split, available);
  result.model = model::summary_json(model::build(c.model, info.image_shape, info.num_classes()));
  result.note = "synthetic " + info.name + "-shaped data resident on the device; " + std::to_string(o.warmup) +
                " warm-up (at least " + std::to_string(train::StepRunner::kWarmupSteps + 1) +
                " with CUDA graphs) + " + std::to_string(o.steps) + " timed training steps per row (the same step as dltrain "
                "train: batch draw, forward, loss, backward, " + config::optimizers().name(c.train.optimizer.name) + " step); eval of " +
                std::to_string(o.eval_images) + " images in batches of " + std::to_string(c.eval.batch_size) +
                "; epoch = " + std::to_string(result.train_images) + " images; FLOPs of training ~ 3x forward";
  std::map<std::string, data::Split> splits;
  std::map<std::string, double> floors;
  for (const std::string& d : devices) {
    for (const std::string& p : precisions) {
      for (const int64_t b : batch_sizes) {
        Row r = run_one(o, {d, p, b}, info, result.train_images, splits, floors);
        if (r.skipped.empty()) {
          log::info(format("bench: %s: %.0f img/s, %.2f ms/step", row_label(r).c_str(), r.images_per_s, r.step_ms_median));
        } else {
          log::warn("bench: " + row_label(r) + " skipped: " + r.skipped);
        }
        result.rows.push_back(std::move(r));
      }
    }
  }
  const bool any = std::any_of(result.rows.begin(), result.rows.end(), [](const Row& r) { return r.skipped.empty(); });
  if (!any) {
    throw DeviceError("no benchmark combination could run here (" + result.rows.front().skipped + ")",
                      "try --device cpu --precision fp32");
  }
  return result;
}

std::string table(const Result& result) {
  std::ostringstream out;
  out << format("%-7s %-9s %6s %10s %9s %9s %9s %11s %10s %9s %9s %8s %6s\n", "device", "precision", "batch", "img/s",
                "ms/step", "p95 ms", "epoch s", "eval img/s", "peak MiB", "TFLOP/s", "floor", "share", "graph");
  for (const Row& r : result.rows) {
    if (!r.skipped.empty()) {
      out << format("%-7s %-9s %6lld   skipped: ", r.device.c_str(), r.precision.c_str(), static_cast<long long>(r.batch_size))
          << r.skipped << "\n";
      continue;
    }
    out << format("%-7s %-9s %6lld %10.0f %9.2f %9.2f %9.2f %11.0f %10.0f %9.3f %9.2f %7.1f%% %6s\n", r.device.c_str(),
                  r.precision.c_str(), static_cast<long long>(r.batch_size), r.images_per_s, r.step_ms_median,
                  r.step_ms_p95, r.epoch_s, r.eval_images_per_s, r.peak_memory_mib, r.achieved_tflops, r.device_tflops,
                  100.0 * r.floor_share, r.cuda_graph ? "yes" : "no");
  }
  out << "TFLOP/s: training FLOPs per image x img/s; floor: this device's measured large-matmul TFLOP/s in that "
         "precision; share: the first over the second; graph: the step replayed from a CUDA graph.\n"
      << result.note << "\n";
  return out.str();
}

nlohmann::json to_json(const Result& result) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& r : result.rows) {
    nlohmann::json j = {{"device", r.device}, {"precision", r.precision}, {"batch_size", r.batch_size}};
    if (!r.skipped.empty()) {
      j["skipped"] = r.skipped;
    } else {
      j.update({{"device_name", r.device_name},
                {"images_per_s", r.images_per_s},
                {"step_ms_median", r.step_ms_median},
                {"step_ms_p95", r.step_ms_p95},
                {"epoch_s", r.epoch_s},
                {"eval_images_per_s", r.eval_images_per_s},
                {"peak_memory_mib", r.peak_memory_mib},
                {"train_flops_per_image", r.train_flops_per_image},
                {"achieved_tflops", r.achieved_tflops},
                {"device_matmul_tflops", r.device_tflops},
                {"floor_share", r.floor_share},
                {"cuda_graph", r.cuda_graph}});
    }
    rows.push_back(j);
  }
  return {{"model", result.model},  {"train_images_per_epoch", result.train_images}, {"note", result.note},
          {"rows", rows},           {"environment", device::environment(torch::Device(torch::kCPU))}};
}

}  // namespace dltrain::bench
