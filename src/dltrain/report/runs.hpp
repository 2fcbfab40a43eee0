// Run directories read back from their files (report.json, steps.csv): what `dltrain report`, `dltrain runs`, the
// Markdown summary and the --fail-under gate read. Nothing here needs the dataset or LibTorch.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/report/step_log.hpp"

namespace dltrain::report {

struct RunFiles {
  std::filesystem::path dir;
  nlohmann::json report;       // report.json
  std::vector<StepRow> steps;  // steps.csv (none for a run older than it)
};

// A run directory, or a file in it (report.json, report.html...). UsageError when it has no readable report.json.
RunFiles read_run(const std::filesystem::path& path);
// The runs in `parent`'s subfolders (and `parent` itself if it is one), newest first.
std::vector<RunFiles> find_runs(const std::filesystem::path& parent);

// j[key] as a number; NaN when j is not an object, or the key is missing or not a number (null).
double number_at(const nlohmann::json& j, const char* key);

// A run's resolved config, flattened ("/train/epochs"), without the model's keys (shown as its layer table instead).
nlohmann::json config_without_model(const nlohmann::json& report);

// A config value as a table shows it: strings without quotes, null as "-".
std::string text_of(const nlohmann::json& value);

// The run's headline: the test accuracy of its result model (best.pt or the final model); NaN while it has none.
double headline_accuracy(const nlohmann::json& report);
// "99.06% ± 0.09% test accuracy of best.pt (epoch 6, chosen by val_accuracy)", or what the run has so far.
std::string headline_text(const nlohmann::json& report);

// Config keys ("train.optimizer.lr") whose values differ between the runs.
std::vector<std::string> differing_keys(const std::vector<RunFiles>& runs);

// One object per run: the comparison table's columns and the differing config keys.
nlohmann::json comparison_json(const std::vector<RunFiles>& runs);
// `dltrain runs`: one line per run.
std::string runs_table(const std::vector<RunFiles>& runs);
// A Markdown summary: the headline, the per-epoch table, timings and the environment in a few lines.
std::string markdown_summary(const RunFiles& run);
// A Markdown comparison table of several runs.
std::string markdown_comparison(const std::vector<RunFiles>& runs);

}  // namespace dltrain::report
