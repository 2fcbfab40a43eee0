// The files a run writes as it goes besides checkpoints and report.json: steps.csv, the TensorBoard event file in
// tb/, and report.html; with the time they take (report.json's timings.report_s: their overhead, measured).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/device/monitor.hpp"
#include "dltrain/report/step_log.hpp"
#include "dltrain/report/tfevents.hpp"
#include "dltrain/report/writers.hpp"

namespace dltrain::report {

class RunLogs {
 public:
  // resume_step < 0: a new run. Otherwise the run continues its files after cutting what a killed process wrote
  // past that step. `changed_keys`: the config values that differ from the defaults (marked in report.html).
  RunLogs(const std::filesystem::path& run_dir, const std::string& host, int64_t resume_step,
          std::vector<std::string> changed_keys);

  // One log interval: a steps.csv row, and its scalars (with the monitor's newest sample) in the event file.
  void interval(const StepRow& row, const std::optional<device::MonitorSample>& sample);
  // An epoch's metrics in the event file, at the step that ended it.
  void epoch(const EpochRecord& record);
  // report.html (atomically) from `report` (report.json's content) and the steps so far.
  void render(const nlohmann::json& report);

  double seconds() const { return seconds_; }  // spent writing these files, in this process

 private:
  class Timed;
  std::filesystem::path run_dir_;
  std::vector<std::string> changed_keys_;
  StepLog steps_;
  EventWriter events_;
  double seconds_ = 0.0;
};

}  // namespace dltrain::report
