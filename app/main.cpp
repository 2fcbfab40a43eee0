// dltrain entry point: build the CLI, parse, dispatch to one subcommand, map typed errors to exit codes.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "commands/commands.hpp"
#include "dltrain/config/config.hpp"
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
  const std::string& prefix = dltrain::log::console_prefix();  // "[rank N] " in a data-parallel worker
  std::cerr << prefix << "error: " << (kind.empty() ? "" : kind + ": ") << message << "\n";
  if (!hint.empty()) std::cerr << prefix << "hint: " << hint << "\n";
  return code;
}

// "dltrain data fetch": `app` and its parents (the top one is named after argv[0], so not by name).
std::string command_path(const CLI::App* app) {
  std::string path;
  for (; app->get_parent() != nullptr; app = app->get_parent()) path = " " + app->get_name() + path;
  return "dltrain" + path;
}

std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
  return app.get_subcommands(std::function<bool(const CLI::App*)>{});
}

// Each subcommand's help points at the top-level table instead of repeating it.
void add_exit_code_note(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>{})) {
    const std::string own = sub->get_footer();
    sub->footer((own.empty() ? "" : own + "\n") + "Exit codes: see `dltrain --help`.");
    add_exit_code_note(*sub);
  }
}

// `dltrain trian`: CLI11 only says that a subcommand is required. Follows the words of the command line
// down the subcommands; the first word that names none gets a did-you-mean. Empty when there is none.
std::string unknown_command(const CLI::App& app, int argc, char** argv, std::string& hint) {
  const CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;  // the command groups take flags only
    const std::vector<const CLI::App*> subs = subcommands_of(*current);
    if (subs.empty()) return {};
    std::vector<std::string> names;
    for (const CLI::App* sub : subs) {
      if (sub->get_name() == word) current = sub;
      names.push_back(sub->get_name());
    }
    if (current->get_name() == word) continue;
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    hint = "`" + command_path(current) + "` takes one of: " + list;
    const std::string guess = dltrain::config::did_you_mean(word, names);
    return "unknown command '" + word + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)");
  }
  return {};
}

// What a numeric option accepts, from CLI11's type name ("INT:POSITIVE", "FLOAT:FLOAT in [0 - 3600]");
// empty for options that are not numbers.
std::string expected_number(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  const std::string base = type.substr(0, type.find(':'));
  std::string expected = base == "INT" ? "an integer" : base == "UINT" ? "an integer >= 0" : "a number";
  if (base != "INT" && base != "UINT" && base != "FLOAT") return {};
  if (type.find(":POSITIVE") != std::string::npos) expected += " > 0";
  if (type.find(":NONNEGATIVE") != std::string::npos) expected += " >= 0";
  const auto open = type.find(" in [");
  const auto dash = type.find(" - ", open);
  const auto close = type.find(']', open);
  if (open != std::string::npos && dash != std::string::npos && close != std::string::npos) {
    expected += " from " + type.substr(open + 5, dash - open - 5) + " to " + type.substr(dash + 3, close - dash - 3);
  }
  return expected;
}

// The values of `option` as typed: "64,abc" for a comma-separated list.
std::string typed_value(const CLI::Option& option) {
  std::string value;
  const std::string separator(1, option.get_delimiter() == '\0' ? ' ' : option.get_delimiter());
  for (const auto& r : option.results()) value += (value.empty() ? "" : separator) + r;
  return value;
}

// A number too large for the option's type: an integer beyond 64 bits, a float beyond double.
bool out_of_range(const CLI::Option& option, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) return false;
  if (option.get_type_name().rfind("FLOAT", 0) != 0) (void)std::strtoll(text.c_str(), &end, 0);
  return errno == ERANGE || std::isinf(value);
}

// "--batch-size 64,abc: must be an integer > 0", or empty when `option` is not a number.
std::string bad_number(const CLI::Option& option) {
  const std::string expected = expected_number(option);
  if (expected.empty()) return {};
  const auto& values = option.results();
  const bool too_large =
      std::any_of(values.begin(), values.end(), [&](const std::string& v) { return out_of_range(option, v); });
  return option.get_name() + " " + typed_value(option) + ": " + (too_large ? "out of range; " : "") +
         (option.get_delimiter() == '\0' ? "must be " : "each value must be ") + expected;
}

// The given option of `app` or its subcommands whose name is the longest found in `message`.
const CLI::Option* option_named_in(const CLI::App& app, const std::string& message, const CLI::App*& owner) {
  const CLI::Option* best = nullptr;
  for (const CLI::Option* option : app.get_options()) {
    const std::string name = option->get_name();
    if (option->count() > 0 && !name.empty() && message.find(name) != std::string::npos &&
        (best == nullptr || name.size() > best->get_name().size())) {
      best = option, owner = &app;
    }
  }
  for (const CLI::App* sub : subcommands_of(app)) {
    const CLI::App* sub_owner = nullptr;
    const CLI::Option* found = option_named_in(*sub, message, sub_owner);
    if (found != nullptr && (best == nullptr || found->get_name().size() > best->get_name().size())) {
      best = found, owner = sub_owner;
    }
  }
  return best;
}

// CLI11 quotes a validator's bounds in full (PositiveNumber's upper bound is 309 digits): a bad number
// becomes one line naming the option and the value as typed. Empty for other parse errors.
std::string bad_number_message(const CLI::App& app, const CLI::ParseError& e, std::string& hint) {
  if (dynamic_cast<const CLI::ConversionError*>(&e) == nullptr &&
      dynamic_cast<const CLI::ValidationError*>(&e) == nullptr) {
    return {};
  }
  const CLI::App* owner = nullptr;
  const CLI::Option* option = option_named_in(app, e.what(), owner);
  if (option == nullptr) return {};
  hint = "see `" + command_path(owner) + " --help`";
  return bad_number(*option);
}

// CLI11 2.1 reads an integer beyond 64 bits as the largest one (strtoll saturates) and a float beyond
// double as infinity: such a value is refused here. Returns the message for the first one found.
std::string out_of_range_number(const CLI::App& app, std::string& hint) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() == 0 || expected_number(*option).empty()) continue;
    for (const auto& text : option->results()) {
      if (out_of_range(*option, text)) {
        hint = "see `" + command_path(&app) + " --help`";
        return bad_number(*option);
      }
    }
  }
  for (const CLI::App* sub : subcommands_of(app)) {
    if (sub->parsed()) {
      if (std::string message = out_of_range_number(*sub, hint); !message.empty()) return message;
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  dltrain::device::tune_allocator();
  // Past a file-size limit, make writes fail (and be reported) instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);

  CLI::App app{"dltrain: train and evaluate neural networks on MNIST-family data with LibTorch"};
  app.set_version_flag("--version", std::string("dltrain ") + DLTRAIN_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  bool verbose = false;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "Show debug messages");
  app.add_flag("-q,--quiet", quiet, "Show warnings and errors only");

  const std::vector<dltrain::app::Command> commands = {
      dltrain::app::register_train(app, command_line(argc, argv), std::vector<std::string>(argv, argv + argc)),
      dltrain::app::register_eval(app),
      dltrain::app::register_predict(app),
      dltrain::app::register_export(app),
      dltrain::app::register_config(app),
      dltrain::app::register_data(app),
      dltrain::app::register_doctor(app),
      dltrain::app::register_bench(app),
      dltrain::app::register_report(app),
      dltrain::app::register_runs(app),
      dltrain::app::register_sweep(app, command_line(argc, argv)),
  };
  // Set once the subcommands exist: CLI11 copies a parent's footer into every subcommand it creates.
  app.footer("\n" + dltrain::exit_code_help() + "\nRun `dltrain <command> --help` for a command's options.");
  add_exit_code_note(app);

  std::string hint;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      if (std::string message = unknown_command(app, argc, argv, hint); !message.empty()) {
        return report("", message, hint, dltrain::kExitUsage);
      }
      if (std::string message = bad_number_message(app, e, hint); !message.empty()) {
        return report("", message, hint, dltrain::kExitUsage);
      }
    }
    const int code = app.exit(e);
    return code == 0 ? dltrain::kExitOk : dltrain::kExitUsage;
  }
  if (std::string message = out_of_range_number(app, hint); !message.empty()) {
    return report("", message, hint, dltrain::kExitUsage);
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
