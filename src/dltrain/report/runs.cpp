// Run directories read back from their files (see runs.hpp).
#include "dltrain/report/runs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/report/progress.hpp"

namespace dltrain::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string percent(double fraction) { return std::isfinite(fraction) ? format("%.2f%%", 100.0 * fraction) : "-"; }
std::string fixed(double v, const char* fmt) { return std::isfinite(v) ? format(fmt, v) : "-"; }

// Row values of the comparison, by column.
struct Row {
  std::string name, status, dataset, device, precision, started;
  double parameters = kNaN, accuracy = kNaN, seconds = kNaN, images_per_second = kNaN;
  int64_t epochs = 0, epochs_planned = 0;
};

Row row_of(const RunFiles& run) {
  const nlohmann::json& r = run.report;
  Row row;
  row.name = run.dir.filename().string();
  row.status = r.value("status", "unknown");
  row.dataset = r.value("/dataset/name"_json_pointer, std::string("?"));
  row.device = r.value("/environment/device"_json_pointer, std::string("?"));
  row.precision = r.value("/config/train/precision"_json_pointer, std::string("?"));
  row.started = r.value("started_utc", std::string());
  row.parameters = number_at(r.value("model", nlohmann::json()), "parameters");
  row.accuracy = headline_accuracy(r);
  row.seconds = number_at(r.value("timings", nlohmann::json()), "total_s");
  const nlohmann::json epochs = r.value("epochs", nlohmann::json::array());
  row.epochs = static_cast<int64_t>(epochs.size());
  row.epochs_planned = r.value("/config/train/epochs"_json_pointer, int64_t{0});
  if (!epochs.empty()) row.images_per_second = number_at(epochs.back(), "images_per_second");
  return row;
}

// The config as a comparison shows it: flattened, with the model as one value (its layers, as the run's model
// summary names them), so that two architectures differ in one column rather than in every layer's keys.
nlohmann::json comparable_config(const RunFiles& run) {
  nlohmann::json flat = config_without_model(run.report);
  std::string layers;
  for (const nlohmann::json& layer : run.report.value("/model/layers"_json_pointer, nlohmann::json::array())) {
    layers += (layers.empty() ? "" : " · ") + layer.value("layer", std::string("?"));
  }
  flat["/model"] = layers;
  return flat;
}

std::string dotted(const std::string& pointer) {  // "/train/epochs" -> "train.epochs"
  std::string key = pointer.substr(1);
  std::replace(key.begin(), key.end(), '/', '.');
  return key;
}

}  // namespace

std::string text_of(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

nlohmann::json config_without_model(const nlohmann::json& report) {
  nlohmann::json flat = report.value("config", nlohmann::json::object()).flatten();
  for (auto it = flat.begin(); it != flat.end();) it = it.key().rfind("/model/", 0) == 0 ? flat.erase(it) : std::next(it);
  return flat;
}

double number_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kNaN;
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : kNaN;
}

RunFiles read_run(const std::filesystem::path& path) {
  RunFiles run;
  run.dir = std::filesystem::is_directory(path) ? path : path.parent_path();
  if (run.dir.filename().empty() && run.dir.has_parent_path()) run.dir = run.dir.parent_path();  // "runs/a/"
  if (run.dir.empty()) run.dir = ".";
  const std::filesystem::path report = run.dir / "report.json";
  if (!std::filesystem::exists(report)) {
    throw UsageError(path.string() + ": not a run directory (no report.json)",
                     "pass a folder that `dltrain train` created, e.g. runs/mnist_cnn; `dltrain runs` lists them");
  }
  try {
    run.report = nlohmann::json::parse(fs::read_file(report));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(report.string() + ": not valid JSON (" + e.what() + ")",
                    "the file was changed by hand or cut short; the run's other files are intact");
  }
  run.steps = read_steps_csv(run.dir / "steps.csv");
  return run;
}

std::vector<RunFiles> find_runs(const std::filesystem::path& parent) {
  if (!std::filesystem::is_directory(parent)) {
    throw UsageError(parent.string() + ": no such folder", "pass the folder that holds run directories (default runs/)");
  }
  std::vector<RunFiles> runs;
  if (std::filesystem::exists(parent / "report.json")) runs.push_back(read_run(parent));
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(parent)) {
    if (entry.is_directory() && std::filesystem::exists(entry.path() / "report.json")) dirs.push_back(entry.path());
  }
  for (const auto& dir : dirs) {
    try {
      runs.push_back(read_run(dir));
    } catch (const Error&) {
      // a report.json being replaced or edited by hand: not a run to list
    }
  }
  // started_utc has whole seconds; config.json, written when the run starts, breaks ties.
  const auto started = [](const RunFiles& r) {
    std::error_code ec;
    return std::make_pair(r.report.value("started_utc", std::string()),
                          std::filesystem::last_write_time(r.dir / "config.json", ec));
  };
  std::stable_sort(runs.begin(), runs.end(), [&](const RunFiles& a, const RunFiles& b) { return started(a) > started(b); });
  return runs;
}

double headline_accuracy(const nlohmann::json& report) { return number_at(report.value("result", nlohmann::json()), "test_accuracy"); }

std::string headline_text(const nlohmann::json& report) {
  const nlohmann::json result = report.value("result", nlohmann::json());
  if (result.is_object()) {
    const std::string model = result.value("model", "final");
    const std::string chosen = model == "best.pt" ? ", chosen by " + result.value("chosen_by", std::string()) : "";
    return format("%s ± %s test accuracy of %s (epoch %lld%s)", percent(number_at(result, "test_accuracy")).c_str(),
                  percent(number_at(result, "test_accuracy_stderr")).c_str(),
                  model == "best.pt" ? "best.pt" : "the final model",
                  static_cast<long long>(result.value("epoch", int64_t{0})), chosen.c_str());
  }
  const std::string none = report.value("status", "") == "running" ? "no result yet" : "no result";
  const nlohmann::json epochs = report.value("epochs", nlohmann::json::array());
  for (auto it = epochs.rbegin(); it != epochs.rend(); ++it) {
    if (std::isfinite(number_at(*it, "test_accuracy"))) {
      return format("%s; latest test accuracy %s (epoch %lld)", none.c_str(),
                    percent(number_at(*it, "test_accuracy")).c_str(), static_cast<long long>(it->value("epoch", int64_t{0})));
    }
  }
  return none;
}

std::vector<std::string> differing_keys(const std::vector<RunFiles>& runs) {
  std::map<std::string, std::vector<nlohmann::json>> values;
  for (size_t i = 0; i < runs.size(); ++i) {
    const nlohmann::json flat = comparable_config(runs[i]);
    for (auto it = flat.begin(); it != flat.end(); ++it) {
      auto& v = values[it.key()];
      v.resize(runs.size());
      v[i] = it.value();
    }
  }
  std::vector<std::string> keys;
  for (auto& [key, v] : values) {
    v.resize(runs.size());
    if (key == "/run/name" || key == "/data/root" || key == "/run/output_dir") continue;  // where, not what
    if (std::any_of(v.begin(), v.end(), [&](const nlohmann::json& x) { return x != v.front(); })) keys.push_back(key);
  }
  return keys;
}

nlohmann::json comparison_json(const std::vector<RunFiles>& runs) {
  const std::vector<std::string> keys = differing_keys(runs);
  nlohmann::json out = nlohmann::json::array();
  for (const RunFiles& run : runs) {
    const Row r = row_of(run);
    nlohmann::json differing = nlohmann::json::object();
    const nlohmann::json flat = comparable_config(run);
    for (const std::string& key : keys) differing[dotted(key)] = flat.value(key, nlohmann::json());
    const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    out.push_back({{"run_dir", run.dir.string()},       {"status", r.status},
                   {"dataset", r.dataset},              {"parameters", num(r.parameters)},
                   {"epochs", r.epochs},                {"test_accuracy", num(r.accuracy)},
                   {"headline", headline_text(run.report)}, {"seconds", num(r.seconds)},
                   {"images_per_second", num(r.images_per_second)}, {"device", r.device},
                   {"precision", r.precision},          {"started_utc", r.started},
                   {"config", differing}});
  }
  return out;
}

std::string runs_table(const std::vector<RunFiles>& runs) {
  std::string out = format("%-28s %-14s %9s %7s %9s  %s\n", "RUN", "STATUS", "TEST ACC", "EPOCHS", "TIME", "STARTED (UTC)");
  for (const RunFiles& run : runs) {
    const Row r = row_of(run);
    out += format("%-28s %-14s %9s %7s %9s  %s\n", r.name.c_str(), r.status.c_str(), percent(r.accuracy).c_str(),
                  format("%lld/%lld", static_cast<long long>(r.epochs), static_cast<long long>(r.epochs_planned)).c_str(),
                  std::isfinite(r.seconds) ? format_duration(r.seconds).c_str() : "-", r.started.c_str());
  }
  return out;
}

std::string markdown_summary(const RunFiles& run) {
  const nlohmann::json& r = run.report;
  const Row row = row_of(run);
  std::string out = format("## dltrain run `%s`: %s\n\n**%s**  \n%s, %lld parameters; %s %s; %s; %s img/s (last epoch)\n\n",
                           row.name.c_str(), row.status.c_str(), headline_text(r).c_str(), row.dataset.c_str(),
                           static_cast<long long>(std::isfinite(row.parameters) ? row.parameters : 0), row.device.c_str(),
                           row.precision.c_str(), std::isfinite(row.seconds) ? format_duration(row.seconds).c_str() : "-",
                           fixed(row.images_per_second, "%.0f").c_str());
  if (r.contains("error")) out += "**Error:** " + r["error"].value("message", std::string()) + "\n\n";
  out += "| epoch | train loss | train acc | val loss | val acc | test loss | test acc | lr | train s | img/s |\n"
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const nlohmann::json& e : r.value("epochs", nlohmann::json::array())) {
    out += format("| %lld | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                  static_cast<long long>(e.value("epoch", int64_t{0})), fixed(number_at(e, "train_loss"), "%.4f").c_str(),
                  percent(number_at(e, "train_accuracy")).c_str(), fixed(number_at(e, "val_loss"), "%.4f").c_str(),
                  percent(number_at(e, "val_accuracy")).c_str(), fixed(number_at(e, "test_loss"), "%.4f").c_str(),
                  percent(number_at(e, "test_accuracy")).c_str(), fixed(number_at(e, "lr"), "%.3g").c_str(),
                  fixed(number_at(e, "train_seconds"), "%.1f").c_str(), fixed(number_at(e, "images_per_second"), "%.0f").c_str());
  }
  const nlohmann::json t = r.value("timings", nlohmann::json::object());
  const nlohmann::json steps = t.value("step_time", nlohmann::json());
  out += format("\n**Timings:** data load %s s, first step %s s, steps %s ms median / %s ms p95, evaluation %s s, "
                "checkpoints %s s, reports %s s\n",
                fixed(number_at(t, "data_load_s"), "%.2f").c_str(), fixed(number_at(t, "first_step_s"), "%.3f").c_str(),
                fixed(number_at(steps, "median_ms"), "%.2f").c_str(), fixed(number_at(steps, "p95_ms"), "%.2f").c_str(),
                fixed(number_at(t, "eval_s"), "%.2f").c_str(), fixed(number_at(t, "checkpoint_s"), "%.2f").c_str(),
                fixed(number_at(t, "report_s"), "%.2f").c_str());
  const nlohmann::json env = r.value("environment", nlohmann::json::object());
  out += format("\n**Environment:** dltrain %s, LibTorch %s, %s (%s), %lld thread(s), BLAS %s, host %s\n",
                r.value("dltrain_version", std::string("?")).c_str(), env.value("libtorch_version", std::string("?")).c_str(),
                env.value("device_name", env.value("cpu_model", std::string("?"))).c_str(), row.device.c_str(),
                static_cast<long long>(env.value("threads", int64_t{0})), text_of(env.value("blas", nlohmann::json("?"))).c_str(),
                r.value("host", std::string("?")).c_str());
  return out;
}

std::string markdown_comparison(const std::vector<RunFiles>& runs) {
  const std::vector<std::string> keys = differing_keys(runs);
  std::string out = "| run | status | dataset | parameters | epochs | test accuracy | time | img/s | device | precision |";
  for (const std::string& k : keys) out += " " + dotted(k) + " |";
  out += "\n|---|---|---|---:|---:|---:|---:|---:|---|---|";
  for (size_t i = 0; i < keys.size(); ++i) out += "---|";
  out += "\n";
  for (const RunFiles& run : runs) {
    const Row r = row_of(run);
    out += format("| %s | %s | %s | %s | %lld | %s | %s | %s | %s | %s |", r.name.c_str(), r.status.c_str(),
                  r.dataset.c_str(), fixed(r.parameters, "%.0f").c_str(), static_cast<long long>(r.epochs),
                  percent(r.accuracy).c_str(), std::isfinite(r.seconds) ? format_duration(r.seconds).c_str() : "-",
                  fixed(r.images_per_second, "%.0f").c_str(), r.device.c_str(), r.precision.c_str());
    const nlohmann::json flat = comparable_config(run);
    for (const std::string& k : keys) out += " " + text_of(flat.value(k, nlohmann::json())) + " |";
    out += "\n";
  }
  return out;
}

}  // namespace dltrain::report
