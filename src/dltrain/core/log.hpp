// Logging facade: plain functions over spdlog, so that headers including Torch never include spdlog/fmt.
#pragma once

#include <string>

namespace dltrain::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Console logging to stderr; `verbose` enables debug, `quiet` shows warnings and errors only.
void init(bool verbose, bool quiet);
// A data-parallel worker other than rank 0: the console shows its warnings and errors only, each line starting with
// `prefix` ("[rank 1] "), so that they can be told apart from rank 0's.
void set_worker_console(const std::string& prefix);
// That prefix ("" in a single process or on rank 0), for the lines main() prints itself.
const std::string& console_prefix();
// Also append every message (debug included) to `path`, e.g. a run's train.log, flushed line by line.
// Empty path stops it.
void set_file(const std::string& path);

void write(Level level, const std::string& message);
inline void debug(const std::string& m) { write(Level::kDebug, m); }
inline void info(const std::string& m) { write(Level::kInfo, m); }
inline void warn(const std::string& m) { write(Level::kWarn, m); }
inline void error(const std::string& m) { write(Level::kError, m); }

// Write a line to the log file only: the progress bar's periodic lines on a terminal, and the error that ends a
// run (main() prints that one on the console).
void to_file(const std::string& message, Level level = Level::kInfo);
// Whether the console shows info lines (false after init(..., quiet=true)).
bool console_shows_info();
// Flush console and file sinks.
void flush();

}  // namespace dltrain::log
