// The sweep's summary (sweep.hpp): statistics per combination, sorted rows, the text and Markdown tables, summary.json.
#include <algorithm>
#include <cmath>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/report/progress.hpp"
#include "dltrain/report/runs.hpp"
#include "dltrain/sweep/sweep.hpp"

namespace dltrain::sweep {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string percent(double fraction) { return std::isfinite(fraction) ? format("%.2f%%", 100.0 * fraction) : "-"; }

std::string seconds_text(double s) {
  if (!std::isfinite(s)) return "-";
  if (s < 10) return format("%.2f s", s);
  return s < 60 ? format("%.1f s", s) : report::format_duration(s);
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string seeds_text(const std::vector<int64_t>& seeds) {
  std::vector<std::string> texts;
  for (const int64_t s : seeds) texts.push_back(std::to_string(s));
  return texts.empty() ? "-" : joined(texts, ",");
}

// The value part of each of the combination's overrides.
std::vector<std::string> values_of(const std::vector<std::string>& combination) {
  std::vector<std::string> out;
  for (const std::string& o : combination) out.push_back(o.substr(o.find('=') + 1));
  return out;
}

// The table's header and cells, row by row: rank, the grid's values, seeds, completed/planned runs, mean ± std,
// min, max, epochs, mean training time, run directories.
std::vector<std::vector<std::string>> table_cells(const Plan& plan, const std::vector<Row>& rows) {
  std::vector<std::string> header = {"#"};
  for (const Axis& axis : plan.grid) header.push_back(axis.key);
  for (const char* h : {"seeds", "runs", "test acc mean ± std", "min", "max", "epochs", "train time", "run dirs"}) {
    header.emplace_back(h);
  }
  std::vector<std::vector<std::string>> cells = {header};
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::vector<std::string> line = {std::to_string(i + 1)};
    for (const std::string& v : values_of(plan.combinations.at(r.combination))) line.push_back(v);
    const std::string spread = std::isfinite(r.stats.std) ? " ± " + percent(r.stats.std) : "";
    const std::string epochs = r.epochs_min == r.epochs_max ? std::to_string(r.epochs_min)
                                                            : format("%lld-%lld", static_cast<long long>(r.epochs_min),
                                                                     static_cast<long long>(r.epochs_max));
    for (const std::string& cell :
         {seeds_text(r.seeds), format("%zu/%zu", r.stats.n, r.runs), percent(r.stats.mean) + spread,
          percent(r.stats.min), percent(r.stats.max), r.stats.n == 0 ? std::string("-") : epochs,
          seconds_text(r.mean_train_s), r.run_dirs.empty() ? std::string("-") : joined(r.run_dirs, ", ")}) {
      line.push_back(cell);
    }
    cells.push_back(line);
  }
  return cells;
}

// Characters as a terminal counts them (UTF-8 continuation bytes take no column).
size_t columns(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

}  // namespace

Stats statistics(const std::vector<double>& values) {
  Stats s;
  double sum = 0.0;
  for (const double v : values) {
    if (!std::isfinite(v)) continue;
    s.min = s.n == 0 ? v : std::min(s.min, v);
    s.max = s.n == 0 ? v : std::max(s.max, v);
    sum += v;
    ++s.n;
  }
  if (s.n == 0) return s;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) return s;
  double squares = 0.0;
  for (const double v : values) {
    if (std::isfinite(v)) squares += (v - s.mean) * (v - s.mean);
  }
  s.std = std::sqrt(squares / static_cast<double>(s.n - 1));
  return s;
}

Outcome read_outcome(const Plan& plan, const Run& run) {
  Outcome o;
  if (run.run_dir.empty() || !std::filesystem::exists(plan.dir / run.run_dir / "report.json")) return o;
  try {
    const nlohmann::json report = report::read_run(plan.dir / run.run_dir).report;
    o.accuracy = report::headline_accuracy(report);
    o.train_s = report::number_at(report.value("timings", nlohmann::json()), "train_s");
    o.epochs = static_cast<int64_t>(report.value("epochs", nlohmann::json::array()).size());
  } catch (const Error&) {
    // a report.json cut short or changed by hand: the run has no result to count
  }
  return o;
}

std::vector<Row> summarize(const Plan& plan, const std::vector<Outcome>& outcomes) {
  std::vector<Row> rows(plan.combinations.size());
  std::vector<std::vector<double>> accuracies(rows.size()), times(rows.size());
  for (size_t c = 0; c < rows.size(); ++c) rows[c].combination = c;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const Run& run = plan.runs[i];
    Row& row = rows.at(run.combination);
    ++row.runs;
    if (!run.run_dir.empty()) row.run_dirs.push_back((plan.dir / run.run_dir).string());
    const Outcome& o = outcomes.at(i);
    if (run.status != "completed" || !std::isfinite(o.accuracy)) continue;
    row.epochs_min = row.seeds.empty() ? o.epochs : std::min(row.epochs_min, o.epochs);
    row.epochs_max = std::max(row.epochs_max, o.epochs);
    row.seeds.push_back(run.seed);
    accuracies[run.combination].push_back(o.accuracy);
    times[run.combination].push_back(o.train_s);
  }
  for (size_t c = 0; c < rows.size(); ++c) {
    rows[c].stats = statistics(accuracies[c]);
    rows[c].mean_train_s = statistics(times[c]).mean;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const bool a_has = std::isfinite(a.stats.mean), b_has = std::isfinite(b.stats.mean);
    return a_has != b_has ? a_has : a_has && a.stats.mean > b.stats.mean;
  });
  return rows;
}

std::string table_text(const Plan& plan, const std::vector<Row>& rows) {
  const std::vector<std::vector<std::string>> cells = table_cells(plan, rows);
  std::vector<size_t> width(cells.front().size(), 0);
  for (const auto& line : cells) {
    for (size_t k = 0; k < line.size(); ++k) width[k] = std::max(width[k], columns(line[k]));
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t k = 0; k < line.size(); ++k) {
      const bool last = k + 1 == line.size();
      text += line[k] + (last ? "" : std::string(width[k] - columns(line[k]) + 2, ' '));
    }
    out += text + "\n";
  }
  return out;
}

std::string table_markdown(const Plan& plan, const std::vector<Row>& rows) {
  const std::vector<std::vector<std::string>> cells = table_cells(plan, rows);
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    out += "| " + joined(cells[i], " | ") + " |\n";
    if (i == 0) {
      out += "|";
      for (size_t k = 0; k < cells[i].size(); ++k) out += k + 1 == cells[i].size() || k <= plan.grid.size() ? "---|" : "---:|";
      out += "\n";
    }
  }
  return out;
}

nlohmann::json summary_json(const Plan& plan, const std::vector<Row>& rows, const std::vector<Outcome>& outcomes) {
  nlohmann::json out_rows = nlohmann::json::array(), runs = nlohmann::json::array();
  for (const Row& r : rows) {
    nlohmann::json values = nlohmann::json::object();
    for (const std::string& o : plan.combinations.at(r.combination)) {
      values[o.substr(0, o.find('='))] = o.substr(o.find('=') + 1);
    }
    out_rows.push_back({{"rank", out_rows.size() + 1}, {"values", values}, {"overrides", plan.combinations.at(r.combination)},
                        {"seeds", r.seeds}, {"runs", r.runs}, {"completed", r.stats.n},
                        {"mean", number_or_null(r.stats.mean)}, {"std", number_or_null(r.stats.std)},
                        {"min", number_or_null(r.stats.min)}, {"max", number_or_null(r.stats.max)},
                        {"epochs_min", r.epochs_min}, {"epochs_max", r.epochs_max},
                        {"mean_train_s", number_or_null(r.mean_train_s)}, {"run_dirs", r.run_dirs}});
  }
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const Run& run = plan.runs[i];
    runs.push_back({{"id", run.id}, {"name", run.name}, {"seed", run.seed},
                    {"overrides", plan.combinations.at(run.combination)},
                    {"run_dir", run.run_dir.empty() ? nlohmann::json() : nlohmann::json((plan.dir / run.run_dir).string())},
                    {"status", run.status}, {"exit_code", run.exit_code ? nlohmann::json(*run.exit_code) : nlohmann::json()},
                    {"test_accuracy", number_or_null(outcomes.at(i).accuracy)},
                    {"train_s", number_or_null(outcomes.at(i).train_s)}, {"epochs", outcomes.at(i).epochs}});
  }
  const bool complete = std::all_of(plan.runs.begin(), plan.runs.end(), [](const Run& r) { return r.status == "completed"; });
  return {{"sweep_dir", plan.dir.string()},
          {"kind", plan.kind},
          {"config_path", plan.config_path.string()},
          {"metric", "test accuracy of each run's result (report.json result.test_accuracy); std: sample (n-1), "
                     "null for fewer than two runs"},
          {"grid", plan_json(plan).at("grid")},
          {"seeds", plan.seeds},
          {"complete", complete},
          {"rows", out_rows},
          {"runs", runs}};
}

}  // namespace dltrain::sweep
