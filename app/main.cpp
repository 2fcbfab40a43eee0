// dltrain entry point: build the CLI, parse, dispatch to one subcommand, map typed errors to exit codes.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <vector>

#include "commands/commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/device/device.hpp"

namespace {

// argv as one line a shell would read back: arguments with spaces or quotes are single-quoted.
std::string command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg.find_first_of(" \t'\"\\$`*?[]{}();&|<>") != std::string::npos) {
      std::string quoted = "'";
      for (const char ch : arg) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      arg = quoted + "'";
    }
    line += (i == 0 ? "" : " ") + arg;
  }
  return line;
}

int report(const std::string& kind, const std::string& message, const std::string& hint, int code) {
  dltrain::log::flush();
  std::cerr << "error: " << (kind.empty() ? "" : kind + ": ") << message << "\n";
  if (!hint.empty()) std::cerr << "hint: " << hint << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  dltrain::device::tune_allocator();
  // Past a file-size limit, make writes fail (and be reported) instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);

  CLI::App app{"dltrain: train and evaluate neural networks on MNIST-family data with LibTorch"};
  app.footer("\n" + dltrain::exit_code_help() + "\nRun `dltrain <command> --help` for a command's options.");
  app.set_version_flag("--version", std::string("dltrain ") + DLTRAIN_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  bool verbose = false;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "Show debug messages");
  app.add_flag("-q,--quiet", quiet, "Show warnings and errors only");

  const std::vector<dltrain::app::Command> commands = {
      dltrain::app::register_train(app, command_line(argc, argv)),
      dltrain::app::register_eval(app),
      dltrain::app::register_config(app),
      dltrain::app::register_data(app),
      dltrain::app::register_doctor(app),
      dltrain::app::register_bench(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? dltrain::kExitOk : dltrain::kExitUsage;
  }
  dltrain::log::init(verbose, quiet);

  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
    return dltrain::kExitUsage;
  } catch (const dltrain::Error& e) {
    return report("", e.what(), e.hint(), e.exit_code());
  } catch (const c10::Error& e) {
    if (dltrain::device::is_out_of_memory(e)) {
      return report("", std::string("out of memory: ") + e.what_without_backtrace(), dltrain::device::kOutOfMemoryHint,
                    dltrain::kExitDevice);
    }
    return report("internal", e.what_without_backtrace(), "this is a bug in dltrain; please report it with the command line",
                  dltrain::kExitInternal);
  } catch (const std::exception& e) {
    return report("internal", e.what(), "this is a bug in dltrain; please report it with the command line",
                  dltrain::kExitInternal);
  }
}
