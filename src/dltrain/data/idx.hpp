// IDX files (the MNIST format), gzip-compressed or raw, read into whole-dataset tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/torch.h>

namespace dltrain::data {

// Reads a file, inflating it if it is gzip-compressed (raw files pass through unchanged).
// Throws DataError naming the file for a missing, unreadable, truncated or corrupt file.
std::string read_maybe_gzip(const std::filesystem::path& path);

// Parses IDX image bytes (magic 2051) into a uint8 tensor [N, 1, rows, cols].
// `name` labels errors. Checks magic, dimensions and exact size.
torch::Tensor parse_idx_images(const std::string& bytes, const std::string& name);
// Parses IDX label bytes (magic 2049) into an int64 tensor [N]; every label must be < num_classes.
torch::Tensor parse_idx_labels(const std::string& bytes, const std::string& name, int64_t num_classes);

torch::Tensor read_idx_images(const std::filesystem::path& path);
torch::Tensor read_idx_labels(const std::filesystem::path& path, int64_t num_classes);

}  // namespace dltrain::data
