// `dltrain data fetch|verify`: download a dataset from its mirrors with libcurl and check SHA-256 sums.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dltrain/data/datasets.hpp"

namespace dltrain::data {

// Lower-case hex SHA-256 of a file's bytes; throws DataError if it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

struct FileCheck {
  std::string name;
  std::filesystem::path path;
  bool present = false;
  bool ok = false;
  std::string expected;
  std::string actual;  // empty when the file is absent
};

// Checks each of the dataset's four files under `root` against its published SHA-256.
std::vector<FileCheck> verify_dataset(const DatasetInfo& info, const std::filesystem::path& root);

struct FetchOptions {
  std::vector<std::string> mirrors;  // base URLs to try in order; empty: the dataset's own mirrors
  long timeout_seconds = 120;        // per file and mirror
  bool progress = true;              // print progress lines while downloading
};

// Downloads every file that is missing or fails its checksum into `root` (created if needed), trying
// each mirror in turn. A file is written to a temporary name, verified, then renamed: a failed or
// corrupt download never leaves a partial file. Throws DataError naming every mirror tried.
void fetch_dataset(const DatasetInfo& info, const std::filesystem::path& root, const FetchOptions& options);

}  // namespace dltrain::data
