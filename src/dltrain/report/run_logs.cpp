// steps.csv, TensorBoard events and report.html as a run goes (see run_logs.hpp).
#include "dltrain/report/run_logs.hpp"

#include <cmath>

#include "dltrain/core/fs.hpp"
#include "dltrain/report/html.hpp"

namespace dltrain::report {

// Adds the time of its scope to RunLogs::seconds_.
class RunLogs::Timed {
 public:
  explicit Timed(double& total) : total_(total) {}
  ~Timed() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  Timed(const Timed&) = delete;
  Timed& operator=(const Timed&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

RunLogs::RunLogs(const std::filesystem::path& run_dir, const std::string& host, int64_t resume_step,
                 std::vector<std::string> changed_keys)
    : run_dir_(run_dir),
      changed_keys_(std::move(changed_keys)),
      steps_(run_dir / "steps.csv", resume_step),
      events_(run_dir / "tb", host, resume_step) {}

void RunLogs::interval(const StepRow& row, const std::optional<device::MonitorSample>& sample) {
  const Timed timed(seconds_);
  steps_.append(row);
  Scalars scalars = {{"train/loss", row.loss},
                     {"train/accuracy", row.accuracy},
                     {"train/lr", row.lr},
                     {"train/images_per_second", row.images_per_second}};
  if (sample) {
    scalars.emplace_back("system/cpu_percent", sample->cpu_percent);
    scalars.emplace_back("system/rss_mib", sample->rss_mib);
    if (sample->gpu) {
      const device::nvml::GpuSample& g = *sample->gpu;
      if (g.util_percent) scalars.emplace_back("gpu/util_percent", *g.util_percent);
      if (g.memory_used_mib) scalars.emplace_back("gpu/memory_used_mib", *g.memory_used_mib);
      if (g.power_w) scalars.emplace_back("gpu/power_w", *g.power_w);
      if (g.temperature_c) scalars.emplace_back("gpu/temperature_c", *g.temperature_c);
      if (g.sm_clock_mhz) scalars.emplace_back("gpu/sm_clock_mhz", *g.sm_clock_mhz);
    }
  }
  events_.write(row.step, scalars);
}

void RunLogs::epoch(const EpochRecord& r) {
  const Timed timed(seconds_);
  Scalars scalars = {{"epoch/train_loss", r.train_loss},
                     {"epoch/train_accuracy", r.train_accuracy},
                     {"epoch/images_per_second", r.images_per_second},
                     {"epoch/epoch", static_cast<double>(r.epoch)}};
  for (const auto& [tag, value] : Scalars{{"val/loss", r.val_loss},
                                          {"val/accuracy", r.val_accuracy},
                                          {"test/loss", r.test_loss},
                                          {"test/accuracy", r.test_accuracy}}) {
    if (std::isfinite(value)) scalars.emplace_back(tag, value);  // evaluated this epoch
  }
  events_.write(r.step, scalars);
}

void RunLogs::render(const nlohmann::json& report) {
  const Timed timed(seconds_);
  fs::atomic_write(run_dir_ / "report.html", run_html({run_dir_, report, steps_.rows()}, changed_keys_));
}

}  // namespace dltrain::report
