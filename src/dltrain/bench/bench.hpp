// `dltrain bench`: timed training steps and an eval pass of a config's model for every combination of
// device, precision and batch size, with the device's measured matrix throughput as the compute floor.
// The answer to "which device, precision and batch size should I use?".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/config/config.hpp"

namespace dltrain::bench {

struct Options {
  config::Config config;                // model, optimizer, loss settings, threads; its dataset gives the shapes
  std::vector<std::string> devices;     // "cpu", "cuda", "cuda:1"; empty: the config's device
  std::vector<int64_t> batch_sizes;     // empty: the config's
  std::vector<std::string> precisions;  // empty: the config's
  int64_t steps = 50;                   // timed training steps per combination
  int64_t warmup = 5;                   // untimed steps first
  int64_t eval_images = 2000;           // images in the timed eval pass
};

struct Row {
  std::string device, device_name, precision;
  int64_t batch_size = 0;
  std::string skipped;  // why the combination did not run; empty when it ran
  double images_per_s = 0, step_ms_median = 0, step_ms_p95 = 0, epoch_s = 0;
  double eval_images_per_s = 0;
  double peak_memory_mib = 0;  // CUDA: peak allocated on the device; CPU: the process's peak RSS so far
  double train_flops_per_image = 0;
  double achieved_tflops = 0, device_tflops = 0;  // device_tflops: a large matmul in this precision
  double floor_share = 0;                         // achieved / device
  bool cuda_graph = false;                        // the steps were replayed from a captured CUDA graph
};

struct Result {
  std::vector<Row> rows;
  nlohmann::json model;        // the layer summary
  int64_t train_images = 0;    // per epoch, for the epoch estimate
  std::string note;            // what the numbers are based on
};

// Runs every combination; one that cannot run here (no CUDA, tf32 on a CPU) becomes a skipped row.
// Throws DeviceError when no combination could run.
Result run(const Options& options);

std::string table(const Result& result);
nlohmann::json to_json(const Result& result);

}  // namespace dltrain::bench
