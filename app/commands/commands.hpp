// Each subcommand registers its options on the app and returns how to run it once parsing is done.
#pragma once

#include <functional>

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

}  // namespace dltrain::app
