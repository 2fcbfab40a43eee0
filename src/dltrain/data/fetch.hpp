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

// Checks each of the dataset's files under `root` against its published SHA-256 (DLTRAIN_TEST_SHA256, set only by
// tests, replaces it: see fetch.cpp).
std::vector<FileCheck> verify_dataset(const DatasetInfo& info, const std::filesystem::path& root);

struct FetchOptions {
  std::vector<std::string> mirrors;  // base URLs to try in order; empty: the dataset's own mirrors
  long timeout_seconds = 120;        // per file and mirror
  bool progress = true;              // print progress lines while downloading
};

// One mirror that failed for one file.
struct MirrorAttempt {
  std::string mirror;  // the base URL as given
  std::string url;     // the file's URL on it
  std::string reason;  // "HTTP 404", "cannot connect: connection refused", "checksum mismatch"
  std::string detail;  // more for some reasons: "got <sha256> expected <sha256> (28.2 KiB received)"
  bool tried = true;   // false: skipped, the mirror was unreachable for an earlier file (`reason` says why)
};

// What fetch_dataset did with one file.
struct FileFetch {
  std::string name;
  std::filesystem::path path;  // where the file is kept
  std::string status;          // "present" (already there, checksum verified), "downloaded" or "failed"
  std::string url;             // downloaded: where from
  double bytes = 0;            // downloaded: bytes received
  double seconds = 0;          // downloaded: time for the transfer and the checksum
  std::vector<MirrorAttempt> failures;  // each mirror that failed for this file, in order
};

// Downloads every file that is missing or fails its checksum into `root` (created if needed), trying
// each mirror in turn. A file is written to a temporary name, verified, then renamed: a failed or
// corrupt download never leaves a partial file, and a folder it created stays only if a file is kept in
// it. Throws DataError naming each mirror tried with its reason, one line per mirror. When `results` is
// given, it receives one entry per file handled, also when this throws.
void fetch_dataset(const DatasetInfo& info, const std::filesystem::path& root, const FetchOptions& options,
                   std::vector<FileFetch>* results = nullptr);

}  // namespace dltrain::data
