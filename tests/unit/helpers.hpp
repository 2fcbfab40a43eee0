// Shared test helpers: a per-test temporary directory and IDX byte builders.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

namespace dltrain::testing {

// A fresh directory removed when the object goes out of scope.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("dltrain-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline void put_u32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols, uint8_t fill = 7) {
  std::string s;
  put_u32(s, 2051);
  put_u32(s, n);
  put_u32(s, rows);
  put_u32(s, cols);
  s.append(static_cast<size_t>(n) * rows * cols, static_cast<char>(fill));
  return s;
}

inline std::string idx_labels(const std::vector<uint8_t>& labels) {
  std::string s;
  put_u32(s, 2049);
  put_u32(s, static_cast<uint32_t>(labels.size()));
  for (uint8_t l : labels) s.push_back(static_cast<char>(l));
  return s;
}

}  // namespace dltrain::testing
