// Each subcommand registers its options on the app and returns how to run it once parsing is done.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace dltrain::app {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code
};

// `command_line`: the whole command line, recorded in report.json.
// `argv`: the whole command line, which `--nproc N` passes on to the workers it starts (without --nproc).
Command register_train(CLI::App& parent, std::string command_line, std::vector<std::string> argv);
Command register_eval(CLI::App& parent);
Command register_config(CLI::App& parent);
Command register_data(CLI::App& parent);
Command register_doctor(CLI::App& parent);
Command register_bench(CLI::App& parent);
Command register_report(CLI::App& parent);
Command register_runs(CLI::App& parent);
Command register_predict(CLI::App& parent);
Command register_export(CLI::App& parent);
// `command_line`: recorded in sweep.json.
Command register_sweep(CLI::App& parent, std::string command_line);

// --fail-under: kExitBelowBound, with a line naming `what`, when `accuracy` < `bound`; kExitOk otherwise (bound < 0:
// no gate).
int fail_under_gate(double accuracy, double bound, const std::string& what);
// The run's Markdown summary into `file` (unless empty) and appended to $GITHUB_STEP_SUMMARY when that is set.
void write_summary(const std::filesystem::path& run_dir, const std::string& file);

}  // namespace dltrain::app
