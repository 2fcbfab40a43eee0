// A background sampler that watches a training run: process CPU use and RSS, and the training GPU through
// NVML (utilisation, memory, temperature, power, SM clock, throttling). It sleeps between samples; one
// sample costs microseconds (report.json records the measured cost).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/device/nvml.hpp"

namespace dltrain::device {

struct MonitorSample {
  double t_s = 0;          // seconds since the monitor started
  double cpu_percent = 0;  // this process's CPU time over wall time since the previous sample (200 = two cores)
  double rss_mib = 0;
  std::optional<nvml::GpuSample> gpu;
};

struct MonitorOptions {
  double interval_s = 0.5;               // <= 0: no sampling
  std::shared_ptr<nvml::Library> nvml;   // null or not ok(): CPU and RSS only
  std::optional<unsigned> gpu;           // NVML index of the GPU to watch
};

class Monitor {
 public:
  explicit Monitor(MonitorOptions options);  // starts the sampler thread
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  void stop();  // takes a last sample and joins the thread; idempotent
  std::vector<MonitorSample> samples() const;
  std::optional<MonitorSample> latest() const;  // the newest sample, if any
  // report.json's "monitor": settings, measured cost per sample, summary, downsampled series, warnings.
  nlohmann::json report(size_t max_points = 200) const;
  // One line for the console summary, e.g. "CPU 196% mean, RSS 651 MiB max; GPU 0 util 97% mean, ...".
  std::string summary_line() const;

 private:
  void run();
  void take_sample();

  MonitorOptions options_;
  std::string gpu_name_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<MonitorSample> samples_;
  double sample_cost_s_ = 0;
  double start_s_ = 0, last_wall_s_ = 0, last_cpu_s_ = 0;
  std::thread thread_;
};

// Steady-state findings worth a warning: a mostly idle GPU (input- or launch-bound) or clock throttling.
// The first fifth of the samples (start-up, warm-up) is left out.
std::vector<std::string> monitor_warnings(const std::vector<MonitorSample>& samples);

// Current resident set size of this process in MiB (from /proc/self/statm).
double current_rss_mib();

}  // namespace dltrain::device
