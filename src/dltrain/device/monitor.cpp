// The sampler thread and what report.json says about its samples.
#include "dltrain/device/monitor.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "dltrain/core/format.hpp"

namespace dltrain::device {
namespace {

using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// Mean, min and max of the values present.
struct Stat {
  double sum = 0, min = INFINITY, max = -INFINITY;
  size_t n = 0;
  void add(double v) {
    sum += v;
    min = std::min(min, v);
    max = std::max(max, v);
    ++n;
  }
  double mean() const { return n > 0 ? sum / static_cast<double>(n) : NAN; }
  nlohmann::json json() const {
    if (n == 0) return nullptr;
    return {{"mean", mean()}, {"min", min}, {"max", max}};
  }
};

template <typename T>
void add(Stat& stat, const std::optional<T>& v) {
  if (v) stat.add(static_cast<double>(*v));
}

size_t steady_start(size_t n) { return n >= 3 ? std::max<size_t>(1, n / 5) : 0; }

struct Summary {
  Stat cpu, rss, util, memory, temperature, power, clock;
  size_t gpu_samples = 0, throttled = 0;
  uint64_t reasons = 0;
};

Summary summarize(const std::vector<MonitorSample>& samples, size_t from) {
  Summary s;
  for (size_t i = from; i < samples.size(); ++i) {
    const MonitorSample& m = samples[i];
    s.cpu.add(m.cpu_percent);
    s.rss.add(m.rss_mib);
    if (!m.gpu) continue;
    ++s.gpu_samples;
    add(s.util, m.gpu->util_percent);
    add(s.memory, m.gpu->memory_used_mib);
    add(s.temperature, m.gpu->temperature_c);
    add(s.power, m.gpu->power_w);
    add(s.clock, m.gpu->sm_clock_mhz);
    const uint64_t slow = m.gpu->throttle_reasons.value_or(0) & nvml::kSlowdownReasons;
    if (slow != 0) ++s.throttled;
    s.reasons |= slow;
  }
  return s;
}

}  // namespace

double current_rss_mib() {
  std::ifstream in("/proc/self/statm");
  long long pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

Monitor::Monitor(MonitorOptions options) : options_(std::move(options)) {
  if (options_.nvml && options_.nvml->ok() && options_.gpu) gpu_name_ = options_.nvml->info(*options_.gpu).name;
  if (options_.interval_s <= 0) return;
  start_s_ = last_wall_s_ = now_s();
  last_cpu_s_ = process_cpu_s();
  thread_ = std::thread([this] { run(); });
}

Monitor::~Monitor() { stop(); }

void Monitor::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Monitor::run() {
  const auto interval = std::chrono::duration<double>(options_.interval_s);
  auto next = Clock::now() + std::chrono::duration_cast<Clock::duration>(interval);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    take_sample();
    lock.lock();
    next += std::chrono::duration_cast<Clock::duration>(interval);
  }
  lock.unlock();
  take_sample();  // the end of the run
}

void Monitor::take_sample() {
  const double begin = now_s();
  MonitorSample m;
  const double cpu = process_cpu_s();
  m.cpu_percent = begin > last_wall_s_ ? 100.0 * (cpu - last_cpu_s_) / (begin - last_wall_s_) : 0.0;
  m.rss_mib = current_rss_mib();
  if (options_.nvml && options_.nvml->ok() && options_.gpu) m.gpu = options_.nvml->sample(*options_.gpu);
  const double end = now_s();
  const std::lock_guard<std::mutex> lock(mutex_);
  m.t_s = begin - start_s_;
  last_wall_s_ = begin;
  last_cpu_s_ = cpu;
  sample_cost_s_ += end - begin;
  samples_.push_back(m);
}

std::vector<MonitorSample> Monitor::samples() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return samples_;
}

std::optional<MonitorSample> Monitor::latest() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (samples_.empty()) return std::nullopt;
  return samples_.back();
}

std::vector<std::string> monitor_warnings(const std::vector<MonitorSample>& samples) {
  std::vector<std::string> warnings;
  const Summary s = summarize(samples, steady_start(samples.size()));
  if (s.util.n > 0 && s.util.mean() < 50.0) {
    warnings.push_back(format("the GPU was mostly idle: %.0f%% mean utilisation in steady state; the run is input- or "
                              "launch-bound (try a larger train.batch_size)",
                              s.util.mean()));
  }
  if (s.gpu_samples > 0 && static_cast<double>(s.throttled) > 0.2 * static_cast<double>(s.gpu_samples)) {
    warnings.push_back(format("the GPU throttled its clocks in %.0f%% of the samples (%s): check cooling and power limits",
                              100.0 * static_cast<double>(s.throttled) / static_cast<double>(s.gpu_samples),
                              nvml::describe_throttle(s.reasons).c_str()));
  }
  return warnings;
}

nlohmann::json Monitor::report(size_t max_points) const {
  const std::vector<MonitorSample> all = samples();
  nlohmann::json j = {{"interval_s", options_.interval_s}, {"samples", all.size()}};
  if (options_.interval_s <= 0) {
    j["enabled"] = false;
    return j;
  }
  j["enabled"] = true;
  double cost_s = 0;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    cost_s = sample_cost_s_;
  }
  const double cost_us = all.empty() ? 0.0 : 1e6 * cost_s / static_cast<double>(all.size());
  j["sample_cost_us"] = cost_us;
  // The sampler's share of one core: time per sample over the interval.
  j["overhead_percent_of_one_core"] = 100.0 * cost_us * 1e-6 / options_.interval_s;

  const Summary s = summarize(all, steady_start(all.size()));
  nlohmann::json summary = {{"steady_state_from_s", all.empty() ? 0.0 : all[steady_start(all.size())].t_s},
                            {"cpu_percent", s.cpu.json()},
                            {"rss_mib", s.rss.json()}};
  if (options_.gpu) {
    summary["gpu"] = {{"nvml_index", *options_.gpu},
                      {"name", gpu_name_},
                      {"util_percent", s.util.json()},
                      {"memory_used_mib", s.memory.json()},
                      {"temperature_c", s.temperature.json()},
                      {"power_w", s.power.json()},
                      {"sm_clock_mhz", s.clock.json()},
                      {"throttled_fraction", s.gpu_samples > 0 ? static_cast<double>(s.throttled) / static_cast<double>(s.gpu_samples) : 0.0},
                      {"throttle_reasons", nvml::describe_throttle(s.reasons)}};
  }
  j["summary"] = summary;

  // Every k-th sample, so long runs keep report.json small.
  const size_t stride = std::max<size_t>(1, (all.size() + max_points - 1) / std::max<size_t>(1, max_points));
  nlohmann::json series = {{"t_s", nlohmann::json::array()}, {"cpu_percent", nlohmann::json::array()},
                           {"rss_mib", nlohmann::json::array()}};
  const auto push = [&](const char* key, const auto& v) {
    series[key].push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
  };
  for (size_t i = 0; i < all.size(); i += stride) {
    const MonitorSample& m = all[i];
    series["t_s"].push_back(std::round(m.t_s * 1000.0) / 1000.0);
    series["cpu_percent"].push_back(std::round(m.cpu_percent * 10.0) / 10.0);
    series["rss_mib"].push_back(std::round(m.rss_mib * 10.0) / 10.0);
    if (!options_.gpu) continue;
    const nvml::GpuSample g = m.gpu.value_or(nvml::GpuSample{});
    push("gpu_util_percent", g.util_percent);
    push("gpu_memory_used_mib", g.memory_used_mib);
    push("gpu_temperature_c", g.temperature_c);
    push("gpu_power_w", g.power_w);
    push("gpu_sm_clock_mhz", g.sm_clock_mhz);
    push("gpu_throttle_reasons", g.throttle_reasons);
  }
  j["series_stride"] = stride;
  j["series"] = series;
  j["warnings"] = monitor_warnings(all);
  return j;
}

std::string Monitor::summary_line() const {
  const std::vector<MonitorSample> all = samples();
  if (all.empty()) return "";
  const Summary s = summarize(all, steady_start(all.size()));
  std::string text = format("monitor: %zu samples every %.2g s; CPU %.0f%% mean, %.0f%% max; RSS %.0f MiB max", all.size(),
                            options_.interval_s, s.cpu.mean(), s.cpu.max, s.rss.max);
  if (!options_.gpu || s.gpu_samples == 0) return text;
  // Only what NVML reported: a GPU may not support every query.
  const auto part = [&](const Stat& stat, const char* fmt, double value) {
    if (stat.n == 0) return;
    text += format(fmt, value);
  };
  text += "; GPU " + std::to_string(*options_.gpu);
  part(s.util, " util %.0f%% mean", s.util.mean());
  part(s.util, ", %.0f%% max", s.util.max);
  part(s.memory, "; memory %.0f MiB max", s.memory.max);
  part(s.power, "; %.0f W mean", s.power.mean());
  part(s.temperature, "; %.0f C max", s.temperature.max);
  part(s.clock, "; SM %.0f MHz mean", s.clock.mean());
  return text;
}

}  // namespace dltrain::device
