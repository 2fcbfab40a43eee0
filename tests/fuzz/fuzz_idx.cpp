// libFuzzer target: IDX file bytes (gzip or raw) -> image and label tensors, or a clean DataError.
// read_maybe_gzip only reads paths, so each input goes through one temporary file per process;
// zlib inflates inputs that start with the gzip magic and passes any other bytes through.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "dltrain/core/error.hpp"
#include "fuzz_file.hpp"
#include "dltrain/data/idx.hpp"

namespace {

constexpr int64_t kNumClasses = 10;

const std::filesystem::path& temp_path() {
  static const std::filesystem::path path = dltrain::fuzz::temp_path("idx", ".idx");
  return path;
}

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b';
}

// Each parser either returns a tensor that holds exactly the bytes after the header, or throws DataError.
void parse_both(const std::string& bytes) {
  try {
    const torch::Tensor images = dltrain::data::parse_idx_images(bytes, "fuzz-images");
    if (images.dim() != 4 || static_cast<size_t>(images.numel()) != bytes.size() - 16) std::abort();
  } catch (const dltrain::DataError&) {
  }
  try {
    const torch::Tensor labels = dltrain::data::parse_idx_labels(bytes, "fuzz-labels", kNumClasses);
    if (labels.dim() != 1 || static_cast<size_t>(labels.numel()) != bytes.size() - 8) std::abort();
    if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= kNumClasses) std::abort();
  } catch (const dltrain::DataError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  dltrain::fuzz::write_file(temp_path(), input);
  std::string bytes;
  try {
    bytes = dltrain::data::read_maybe_gzip(temp_path());
  } catch (const dltrain::DataError&) {
    return 0;  // corrupt or truncated gzip
  }
  // A raw file must come back byte for byte: the reader may not mangle data it does not recognise.
  if (!is_gzip(input) && bytes != input) std::abort();
  parse_both(bytes);
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dltrain::fuzz::remove_at_exit(temp_path());
  return 0;
}
