// `dltrain bench`: CLI wiring only; the benchmark is in src/dltrain/bench.
#include <fstream>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "dltrain/bench/bench.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/device/device.hpp"

namespace dltrain::app {
namespace {

struct BenchOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<std::string> devices, precisions;
  std::vector<int64_t> batch_sizes;
  int64_t steps = 50, warmup = 5;
  int64_t threads = -1;
  std::string json;
};

int run_bench(const BenchOptions& o) {
  bench::Options options;
  options.config = config::load(o.config, o.overrides);
  if (o.threads >= 0) options.config.train.threads = o.threads;
  device::configure_threads(options.config.train.threads);
  options.devices = o.devices;
  options.precisions = o.precisions;
  options.batch_sizes = o.batch_sizes;
  options.steps = o.steps;
  options.warmup = o.warmup;
  const bench::Result result = bench::run(options);
  std::cout << bench::table(result);
  std::cout.flush();
  if (!o.json.empty()) {
    nlohmann::json j = bench::to_json(result);
    j["config"] = o.config;
    fs::atomic_write(o.json, j.dump(2) + "\n");
  }
  return kExitOk;
}

}  // namespace

Command register_bench(CLI::App& parent) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* app = parent.add_subcommand(
      "bench", "Time training steps and eval of a config's model for each device, precision and batch size");
  app->add_option("-c,--config", o->config, "JSON config file (its model, optimizer and dataset shape)")->required();
  app->add_option("--set", o->overrides, "Override a config value: key.path=value (repeatable)");
  app->add_option("--device", o->devices, "Devices, comma-separated: cpu,cuda,cuda:N (default: the config's)")
      ->delimiter(',');
  app->add_option("--batch-size", o->batch_sizes, "Batch sizes, comma-separated (default: the config's)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app->add_option("--precision", o->precisions,
                  "Precisions, comma-separated, of " + config::precisions().joined() + " (default: the config's)")
      ->delimiter(',')
      ->check(CLI::IsMember(config::precisions().names()));
  app->add_option("--steps", o->steps, "Timed training steps per combination")->capture_default_str()->check(CLI::Range(1, 100000));
  app->add_option("--warmup", o->warmup, "Untimed steps before them")->capture_default_str()->check(CLI::Range(1, 10000));
  app->add_option("--threads", o->threads, "CPU threads; 0 = all available cores (overrides train.threads)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--json", o->json, "Also write the results as JSON to this file");
  app->footer("Data is synthetic (random pixels of the dataset's shape, resident on the device), so no dataset\n"
              "files are needed. Per row: images/s, ms/step (median, p95; CUDA events on a GPU), estimated epoch\n"
              "time, eval images/s, peak memory, and the share of the device's measured matmul throughput.");
  return {app, [o] { return run_bench(*o); }};
}

}  // namespace dltrain::app
