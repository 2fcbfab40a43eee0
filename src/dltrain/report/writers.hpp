// The files of a run directory that scripts read: metrics.csv and report.json.
#pragma once

#include <cstdint>
#include <limits>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dltrain::report {

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// One row of metrics.csv; NaN where a value does not apply (no validation split).
struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0;
  double test_loss = 0, test_accuracy = 0;
  double lr = 0;
  double train_seconds = 0, eval_seconds = 0;
  double images_per_second = 0;
  int64_t step = 0;  // optimizer steps done at the epoch's end
  // The weights' moving average (train.ema), evaluated beside them; NaN without it.
  double ema_val_loss = kNoValue, ema_val_accuracy = kNoValue;
  double ema_test_loss = kNoValue, ema_test_accuracy = kNoValue;
};

nlohmann::json to_json(const EpochRecord& record);
// The inverse of to_json (null reads back as NaN); used when a run is resumed from its checkpoint.
EpochRecord epoch_record_from_json(const nlohmann::json& j);

// Rewrites metrics.csv atomically with one row per epoch so far. Metrics keep every digit of a float (%.9g): the
// report's charts draw these same numbers.
void write_metrics_csv(const std::filesystem::path& path, const std::vector<EpochRecord>& records);

// Writes `report` (pretty-printed) atomically.
void write_json(const std::filesystem::path& path, const nlohmann::json& report);

// Median and 95th percentile (milliseconds) of per-step times in seconds.
nlohmann::json step_time_summary(std::vector<double> step_seconds);

}  // namespace dltrain::report
