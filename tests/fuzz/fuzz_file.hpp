// Shared by the fuzz targets: the readers under test take paths, so each input goes through one
// temporary file per fuzzing process.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace dltrain::fuzz {

// <tmp>/dltrain_fuzz_<name>_<pid><suffix>, the same path for the whole process.
inline std::filesystem::path temp_path(const std::string& name, const std::string& suffix) {
  return std::filesystem::temp_directory_path() / ("dltrain_fuzz_" + name + "_" + std::to_string(getpid()) + suffix);
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) std::abort();  // a harness problem, not a finding in dltrain
}

// Removes `path` (the one temporary file) when the fuzzer exits.
inline void remove_at_exit(const std::filesystem::path& path) {
  static std::filesystem::path to_remove;
  to_remove = path;
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove(to_remove, ignored);
  });
}

}  // namespace dltrain::fuzz
