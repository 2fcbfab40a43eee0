// Binary batch files as CIFAR-10's binary version has them: records of 1 label byte and C*H*W pixel bytes (one
// row-major plane per channel: all of R, then G, then B), read from the published archive with libarchive, without
// unpacking it, or from the folder it unpacks to.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dltrain/data/datasets.hpp"

namespace dltrain::data {

// Parses `bytes` (one batch file; `name` labels errors) into images uint8 [N, C, H, W] of `shape` and labels int64
// [N]. Throws DataError for a size that is not a whole number of records, or a label >= num_classes.
Split parse_binary_records(const std::string& bytes, const std::string& name, const std::vector<int64_t>& shape,
                           int64_t num_classes);

// The files `members` of `folder`, from `source`: an archive (any libarchive reads: .tar.gz, .tar, ...), where they
// are `folder`/member, or an extracted folder holding them. Returns their bytes in the order of `members`. Throws
// DataError naming the archive and the member for an unreadable, truncated or corrupt archive or a missing member.
std::vector<std::string> read_members(const std::filesystem::path& source, const std::string& folder,
                                      const std::vector<std::string>& members);

// read_members, then parse_binary_records for each, concatenated in order: one split.
Split read_binary_batches(const std::filesystem::path& source, const std::string& folder,
                          const std::vector<std::string>& members, const std::vector<int64_t>& shape,
                          int64_t num_classes);

}  // namespace dltrain::data
