// spdlog behind the facade in log.hpp: one console sink on stderr and an optional file sink.
#include "dltrain/core/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace dltrain::log {
namespace {

std::shared_ptr<spdlog::sinks::stderr_color_sink_mt>& console() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return sink;
}
std::shared_ptr<spdlog::sinks::basic_file_sink_mt>& file_sink() {
  static std::shared_ptr<spdlog::sinks::basic_file_sink_mt> sink;
  return sink;
}
std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = std::make_shared<spdlog::logger>("dltrain", console());
    l->set_level(spdlog::level::debug);
    // Every line reaches the disk as it is logged: a run killed at any moment (kill -9, a closed terminal)
    // leaves a train.log that tells its story up to the last line.
    l->flush_on(spdlog::level::debug);
    console()->set_level(spdlog::level::info);
    console()->set_pattern("%^[%L]%$ %v");
    return l;
  }();
  return instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void init(bool verbose, bool quiet) {
  auto level = verbose ? spdlog::level::debug : quiet ? spdlog::level::warn : spdlog::level::info;
  logger();
  console()->set_level(level);
}

namespace {
std::string& prefix_storage() {
  static std::string prefix;
  return prefix;
}
}  // namespace

void set_worker_console(const std::string& prefix) {
  prefix_storage() = prefix;
  logger();
  console()->set_pattern("%^[%L]%$ " + prefix + "%v");
  console()->set_level(spdlog::level::warn);
}

const std::string& console_prefix() { return prefix_storage(); }

void set_file(const std::string& path) {
  auto& sinks = logger()->sinks();
  if (file_sink()) {
    sinks.erase(std::remove(sinks.begin(), sinks.end(), file_sink()), sinks.end());
    file_sink()->flush();
    file_sink().reset();
  }
  if (path.empty()) return;
  file_sink() = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  file_sink()->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  file_sink()->set_level(spdlog::level::debug);
  sinks.push_back(file_sink());
}

void write(Level level, const std::string& message) { logger()->log(to_spdlog(level), message); }

void to_file(const std::string& message, Level level) {
  if (file_sink()) {
    spdlog::details::log_msg msg("dltrain", to_spdlog(level), message);
    file_sink()->log(msg);
    file_sink()->flush();
  }
}

bool console_shows_info() { return console()->should_log(spdlog::level::info); }

void flush() { logger()->flush(); }

}  // namespace dltrain::log
