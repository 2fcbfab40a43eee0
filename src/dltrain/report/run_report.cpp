// report.json from a RunRecord (see run_report.hpp).
#include "dltrain/report/run_report.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <ctime>

#include "dltrain/core/format.hpp"

namespace dltrain::report {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double total_seconds(const std::vector<Segment>& segments) {
  double total = 0.0;
  for (const auto& s : segments) total += s.seconds;
  return total;
}

nlohmann::json selection_json(const RunRecord& r) {
  if (r.selection.monitor.empty()) return nullptr;
  const bool chosen = r.selection.epoch > 0;
  return {{"monitor", r.selection.monitor},
          {"epoch", r.selection.epoch},
          {"value", chosen ? number_or_null(r.selection.value) : nlohmann::json(nullptr)},
          {"weights", r.selection.weights},
          {"test_accuracy", r.selected_test.is_object() ? r.selected_test["accuracy"] : nlohmann::json(nullptr)},
          {"checkpoint", (r.run_dir / "checkpoints" / "best.pt").string()}};
}

// The run's headline: best.pt's model when the run selects one (validation split), else the final model.
nlohmann::json result_json(const RunRecord& r) {
  const bool selected = !r.selection.monitor.empty();
  const nlohmann::json& test = selected ? r.selected_test : r.final_test;
  if (!test.is_object()) return nullptr;
  return {{"model", selected ? "best.pt" : "final"},
          {"epoch", selected ? r.selection.epoch : static_cast<int64_t>(r.history.size())},
          {"chosen_by", selected ? r.selection.monitor : "none: no validation split, the final model is the result"},
          {"weights", selected ? r.selection.weights : "trained"},
          {"test_accuracy", test["accuracy"]},
          {"test_accuracy_stderr", test["accuracy_stderr"]},
          {"test_loss", test["loss"]}};
}

}  // namespace

nlohmann::json to_json(const Segment& s) {
  return {{"started_utc", s.started_utc}, {"ended_utc", s.ended_utc}, {"how", s.how},
          {"first_step", s.first_step},   {"last_step", s.last_step}, {"seconds", s.seconds}};
}

Segment segment_from_json(const nlohmann::json& j) {
  Segment s;
  s.started_utc = j.at("started_utc").get<std::string>();
  s.ended_utc = j.at("ended_utc").get<std::string>();
  s.how = j.at("how").get<std::string>();
  s.first_step = j.at("first_step").get<int64_t>();
  s.last_step = j.at("last_step").get<int64_t>();
  s.seconds = j.at("seconds").get<double>();
  return s;
}

std::vector<Segment> segments_from_json(const nlohmann::json& list) {
  std::vector<Segment> out;
  if (list.is_array()) {
    for (const auto& j : list) out.push_back(segment_from_json(j));
  }
  return out;
}

nlohmann::json to_json(const std::vector<Segment>& segments) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : segments) list.push_back(to_json(s));
  return list;
}

nlohmann::json run_report_json(const RunRecord& r, const std::string& status, const nlohmann::json& error) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : r.history) epochs.push_back(to_json(e));
  const Timings& t = r.timings;
  nlohmann::json report = {
      {"status", status},
      {"run_dir", r.run_dir.string()},
      {"started_utc", r.segments.empty() ? "" : r.segments.front().started_utc},
      {"ended_utc", status == "running" ? nlohmann::json(nullptr) : nlohmann::json(utc_now())},
      {"command_line", r.command_line},
      {"host", r.host},
      {"dltrain_version", DLTRAIN_VERSION},
      {"config_sha256", r.config_sha256},
      {"segments", to_json(r.segments)},
      {"environment", r.environment},
      {"distributed", r.distributed},
      {"config", r.config},
      {"dataset", r.dataset},
      {"model", r.model},
      {"epochs", epochs},
      {"steps", r.step},
      {"result", result_json(r)},
      {"best", selection_json(r)},
      {"final_test", r.final_test},
      {"selected_test", r.selected_test},
      {"tta_test", r.tta_test},
      {"mistakes", r.mistakes},
      {"timings",
       {{"data_load_s", t.data_load_s}, {"first_step_s", t.first_step_s}, {"train_s", t.train_s},
        {"eval_s", t.eval_s}, {"checkpoint_s", t.checkpoint_s}, {"report_s", t.report_s},
        {"total_s", total_seconds(r.segments)},
        {"step_time", step_time_summary(t.step_seconds)}}},
      {"monitor", r.monitor},
      {"peak_rss_mib", r.peak_rss_mib}};
  if (!error.is_null()) report["error"] = error;
  return report;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return format("%04d-%02d-%02dT%02d:%02d:%02dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec);
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += format("%02x", digest[i]);
  return hex;
}

}  // namespace dltrain::report
