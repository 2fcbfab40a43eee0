// `dltrain report` (a run's report.html re-rendered, or several runs compared), `dltrain runs` (the runs in a
// folder), and the --fail-under gate and Markdown summary that train and eval share.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/config/defaults.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/report/html.hpp"
#include "dltrain/report/runs.hpp"

namespace dltrain::app {
namespace {

struct ReportOptions {
  std::vector<std::string> runs;
  std::string html;
  bool markdown = false;
  bool json = false;
};

// The values a user changed, from the run's resolved config (none if this dltrain cannot read it).
std::vector<std::string> changed_keys(const report::RunFiles& run) {
  try {
    return config::changed_from_defaults(config::parse(run.report.at("config"), (run.dir / "report.json").string()));
  } catch (const std::exception&) {
    return {};
  }
}

int run_report(const ReportOptions& o) {
  std::vector<report::RunFiles> runs;
  for (const std::string& path : o.runs) runs.push_back(report::read_run(path));
  if (o.json) std::cout << report::comparison_json(runs).dump(2) << std::endl;
  if (o.markdown) {
    std::cout << (runs.size() == 1 ? report::markdown_summary(runs.front()) : report::markdown_comparison(runs));
  }
  if ((o.json || o.markdown) && o.html.empty()) return kExitOk;
  const std::filesystem::path out = !o.html.empty() ? std::filesystem::path(o.html)
                                    : runs.size() == 1 ? runs.front().dir / "report.html"
                                                       : std::filesystem::path("comparison.html");
  fs::atomic_write(out, runs.size() == 1 ? report::run_html(runs.front(), changed_keys(runs.front()))
                                         : report::comparison_html(runs));
  std::cout << out.string() << std::endl;
  return kExitOk;
}

int run_runs(const std::string& folder, bool json) {
  const std::vector<report::RunFiles> runs = report::find_runs(folder);
  if (json) {
    std::cout << report::comparison_json(runs).dump(2) << std::endl;
  } else if (runs.empty()) {
    log::info("no runs in " + folder + " (a run is a folder with a report.json)");
  } else {
    std::cout << report::runs_table(runs);
  }
  return kExitOk;
}

}  // namespace

int fail_under_gate(double accuracy, double bound, const std::string& what) {
  if (bound < 0 || accuracy >= bound) return kExitOk;
  log::error(format("%s %.4f is below --fail-under %.4f", what.c_str(), accuracy, bound));
  return kExitBelowBound;
}

void write_summary(const std::filesystem::path& run_dir, const std::string& file) {
  const char* github = std::getenv("GITHUB_STEP_SUMMARY");
  if (file.empty() && (github == nullptr || *github == '\0')) return;
  const std::string summary = report::markdown_summary(report::read_run(run_dir));
  if (!file.empty()) fs::atomic_write(file, summary);
  if (github != nullptr && *github != '\0') {
    std::ofstream out(github, std::ios::app);
    out << summary << "\n";
    if (!out) log::warn(std::string("could not append the summary to $GITHUB_STEP_SUMMARY (") + github + ")");
  }
}

Command register_report(CLI::App& parent) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* app = parent.add_subcommand(
      "report", "Re-render a run's report.html, or compare several runs in one page (table and learning curves)");
  app->add_option("runs", o->runs, "Run directories (one: its report; several: a comparison)")->required();
  app->add_option("--html", o->html,
                  "Write the page here (default: RUN/report.html for one run, comparison.html for several)");
  app->add_flag("--markdown", o->markdown, "Print a Markdown summary (one run) or comparison table (several)");
  app->add_flag("--json", o->json, "Print the comparison's rows as JSON");
  app->footer("With --markdown or --json, no page is written unless --html is given.");
  return {app, [o] { return run_report(*o); }};
}

Command register_runs(CLI::App& parent) {
  auto folder = std::make_shared<std::string>("runs");
  auto json = std::make_shared<bool>(false);
  CLI::App* app = parent.add_subcommand("runs", "List the runs in a folder, newest first: status, headline, epochs, time");
  app->add_option("dir", *folder, "Folder holding run directories")->capture_default_str();
  app->add_flag("--json", *json, "Print one JSON array (the columns of `dltrain report --json`)");
  return {app, [folder, json] { return run_runs(*folder, *json); }};
}

}  // namespace dltrain::app
