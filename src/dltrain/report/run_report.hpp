// report.json: what a run did, assembled from plain records the run keeps up to date. The training loop never
// builds JSON itself; it fills a RunRecord and calls run_report_json().
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/report/writers.hpp"

namespace dltrain::report {

// One process's share of a run: a run resumed twice has three segments.
struct Segment {
  std::string started_utc;  // ISO 8601, e.g. 2026-11-30T01:02:03Z
  std::string ended_utc;    // an earlier segment: when it wrote the checkpoint this one resumed from
  std::string how = "running";  // running, completed, early_stopped, interrupted, diverged, failed, killed
  int64_t first_step = 0;   // optimizer steps done when it started
  int64_t last_step = 0;    // and when it ended
  double seconds = 0.0;     // wall time, up to ended_utc
};
nlohmann::json to_json(const Segment& segment);
Segment segment_from_json(const nlohmann::json& j);
std::vector<Segment> segments_from_json(const nlohmann::json& list);
nlohmann::json to_json(const std::vector<Segment>& segments);

// Model selection: which epoch's model best.pt holds. `monitor` is empty when the run has no validation split:
// then nothing is selected and the run's result is its final model.
struct Selection {
  std::string monitor;  // "val_accuracy" or ""
  int64_t epoch = 0;    // the selected epoch (0: none yet)
  double value = -std::numeric_limits<double>::infinity();
  int64_t evals_without_improvement = 0;  // validation passes since the last improvement (early stopping)
  std::string weights = "trained";  // which weights of that epoch best.pt holds: "trained", or "ema" (train.ema)
};

struct Timings {
  double data_load_s = 0.0, first_step_s = -1.0, train_s = 0.0, eval_s = 0.0, checkpoint_s = 0.0;
  double report_s = 0.0;  // writing steps.csv, tb/ and report.html (this process)
  std::vector<double> step_seconds;  // steady-state steps of this segment
};

// Everything report.json says, kept by the run as it goes.
struct RunRecord {
  std::filesystem::path run_dir;
  std::string command_line, host;
  nlohmann::json environment, config, dataset, model;
  std::string config_sha256;  // of the resolved config, compact JSON
  std::vector<EpochRecord> history;
  int64_t step = 0;  // optimizer steps done
  Selection selection;
  nlohmann::json final_test;     // the final model on the test split (eval_json)
  nlohmann::json selected_test;  // best.pt's model on the test split; null without selection
  nlohmann::json tta_test;       // eval.tta: the result's model on the test split with shifted views; else null
  nlohmann::json mistakes;       // the latest test evaluation's most confident mistakes (report.html)
  std::vector<Segment> segments;  // earlier segments, then this one (last)
  Timings timings;
  nlohmann::json monitor;  // the hardware monitor's report
  double peak_rss_mib = 0.0;
  // A data-parallel run's workers (dist::Group::describe) and its all-reduce time; null for a single process.
  nlohmann::json distributed;
};

// report.json for `record` with `status` (running, completed, early_stopped, interrupted, diverged, failed);
// `error` (message and hint) when the run ended on one.
nlohmann::json run_report_json(const RunRecord& record, const std::string& status,
                               const nlohmann::json& error = nullptr);

// The current time in UTC, ISO 8601 with seconds: 2026-11-30T01:02:03Z.
std::string utc_now();
// Lowercase hex SHA-256 of `text`.
std::string sha256_hex(const std::string& text);

}  // namespace dltrain::report
