// libFuzzer target: config file bytes (+ --set overrides) -> validated Config, as `dltrain train` loads them.
// Input: the config text, then optional NUL-separated --set expressions ("json\0train.epochs=3\0...").
// Clean outcomes are dltrain::Error (a typed, user-facing error); anything else escaping is a finding.
#include <pthread.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "fuzz_file.hpp"

namespace {

constexpr size_t kMaxOverrides = 8;
// Inputs are at most a few KB but config files can be megabytes: a small stack lets recursion that grows
// with nesting depth ([[[[...) overflow at fuzz-sized inputs, as it would at real ones on the main stack.
constexpr size_t kStackBytes = 256 * 1024;

struct Input {
  std::string text;
  std::vector<std::string> overrides;
};

// config::load reads from a path (it formats malformed-JSON errors with line and column), so the
// text goes through one temporary file per process.
const std::filesystem::path& temp_path() {
  static const std::filesystem::path path = dltrain::fuzz::temp_path("config", ".json");
  return path;
}

// parse(to_json(c)) == c is promised in config.hpp; compare through JSON since Config has no ==.
void check_round_trip(const dltrain::config::Config& config) {
  const nlohmann::json first = dltrain::config::to_json(config);
  const nlohmann::json second = dltrain::config::to_json(dltrain::config::parse(first, "round-trip"));
  if (first != second) std::abort();
}

// Loads the config as `dltrain train` does; on a thread with a kStackBytes stack.
void* load_config(void* arg) {
  const auto& input = *static_cast<const Input*>(arg);
  dltrain::fuzz::write_file(temp_path(), input.text);
  try {
    check_round_trip(dltrain::config::load(temp_path(), input.overrides));
  } catch (const dltrain::Error&) {
    // ConfigError (invalid config, malformed JSON) or UsageError (bad --set): the expected outcomes.
  }
  return nullptr;
}

void run_on_small_stack(void* (*fn)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_t thread;
  if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, kStackBytes) != 0 ||
      pthread_create(&thread, &attr, fn, arg) != 0 || pthread_join(thread, nullptr) != 0) {
    std::abort();  // a harness problem, not a finding in dltrain
  }
  pthread_attr_destroy(&attr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const size_t text_end = bytes.find('\0');
  Input input{bytes.substr(0, text_end), {}};
  for (size_t start = text_end; start != std::string::npos && input.overrides.size() < kMaxOverrides;) {
    const size_t end = bytes.find('\0', start + 1);
    input.overrides.push_back(bytes.substr(start + 1, end == std::string::npos ? end : end - start - 1));
    start = end;
  }
  run_on_small_stack(load_config, &input);
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dltrain::fuzz::remove_at_exit(temp_path());
  return 0;
}
