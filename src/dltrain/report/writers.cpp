// metrics.csv and report.json writers; both go through atomic_write so readers never see half a file.
#include "dltrain/report/writers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"

namespace dltrain::report {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// `fmt` is one printf conversion for a double ("%.6f"); a NaN or infinity becomes an empty CSV field.
std::string csv_number(double v, const char* fmt) {
  if (!std::isfinite(v)) return "";
  return format(fmt, v);
}

bool has_ema(const EpochRecord& r) { return std::isfinite(r.ema_val_accuracy) || std::isfinite(r.ema_test_accuracy); }

}  // namespace

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j = {{"epoch", r.epoch},
          {"train_loss", number_or_null(r.train_loss)},
          {"train_accuracy", number_or_null(r.train_accuracy)},
          {"val_loss", number_or_null(r.val_loss)},
          {"val_accuracy", number_or_null(r.val_accuracy)},
          {"test_loss", number_or_null(r.test_loss)},
          {"test_accuracy", number_or_null(r.test_accuracy)},
          {"lr", r.lr},
          {"train_seconds", r.train_seconds},
          {"eval_seconds", r.eval_seconds},
          {"images_per_second", r.images_per_second},
          {"step", r.step}};
  if (has_ema(r)) {  // only runs with train.ema have these
    j.update({{"ema_val_loss", number_or_null(r.ema_val_loss)},
              {"ema_val_accuracy", number_or_null(r.ema_val_accuracy)},
              {"ema_test_loss", number_or_null(r.ema_test_loss)},
              {"ema_test_accuracy", number_or_null(r.ema_test_accuracy)}});
  }
  return j;
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  const auto number = [&j](const char* key) {
    const auto& v = j.at(key);
    return v.is_null() ? kNoValue : v.get<double>();
  };
  const auto optional_number = [&j, &number](const char* key) { return j.contains(key) ? number(key) : kNoValue; };
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.train_loss = number("train_loss");
  r.train_accuracy = number("train_accuracy");
  r.val_loss = number("val_loss");
  r.val_accuracy = number("val_accuracy");
  r.test_loss = number("test_loss");
  r.test_accuracy = number("test_accuracy");
  r.lr = number("lr");
  r.train_seconds = number("train_seconds");
  r.eval_seconds = number("eval_seconds");
  r.images_per_second = number("images_per_second");
  r.step = j.value("step", int64_t{0});  // checkpoints before dltrain 0.x's steps.csv lack it
  r.ema_val_loss = optional_number("ema_val_loss");
  r.ema_val_accuracy = optional_number("ema_val_accuracy");
  r.ema_test_loss = optional_number("ema_test_loss");
  r.ema_test_accuracy = optional_number("ema_test_accuracy");
  return r;
}

void write_metrics_csv(const std::filesystem::path& path, const std::vector<EpochRecord>& records) {
  const bool ema = std::any_of(records.begin(), records.end(), has_ema);
  std::string out =
      "epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,train_seconds,eval_seconds,"
      "images_per_second,step" + std::string(ema ? ",ema_val_loss,ema_val_accuracy,ema_test_loss,ema_test_accuracy" : "") +
      "\n";
  for (const auto& r : records) {
    out += std::to_string(r.epoch);
    for (const double v : {r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.test_loss, r.test_accuracy}) {
      out += "," + csv_number(v, "%.9g");
    }
    out += "," + csv_number(r.lr, "%.9g") + "," + csv_number(r.train_seconds, "%.3f") + "," +
           csv_number(r.eval_seconds, "%.3f") + "," + csv_number(r.images_per_second, "%.9g") + "," +
           std::to_string(r.step);
    if (ema) {
      for (const double v : {r.ema_val_loss, r.ema_val_accuracy, r.ema_test_loss, r.ema_test_accuracy}) {
        out += "," + csv_number(v, "%.9g");
      }
    }
    out += "\n";
  }
  fs::atomic_write(path, out);
}

void write_json(const std::filesystem::path& path, const nlohmann::json& report) {
  fs::atomic_write(path, report.dump(2) + "\n");
}

nlohmann::json step_time_summary(std::vector<double> step_seconds) {
  if (step_seconds.empty()) return nullptr;
  std::sort(step_seconds.begin(), step_seconds.end());
  const auto at = [&](double q) { return 1000.0 * step_seconds[static_cast<size_t>(q * static_cast<double>(step_seconds.size() - 1))]; };
  return {{"steps", step_seconds.size()}, {"median_ms", at(0.5)}, {"p95_ms", at(0.95)}, {"max_ms", 1000.0 * step_seconds.back()}};
}

}  // namespace dltrain::report
