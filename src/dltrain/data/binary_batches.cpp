// Binary batch files from an archive (libarchive) or a folder (see binary_batches.hpp).
#include "dltrain/data/binary_batches.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"

namespace dltrain::data {
namespace {

namespace stdfs = std::filesystem;

// The largest member read: CIFAR's batch files hold 30.7 MB; far more is a damaged or foreign archive.
constexpr int64_t kMaxMemberBytes = int64_t{1} << 30;
const char* const kRefetchHint = "re-download it with `dltrain data fetch <dataset>` and check it with `dltrain data verify`";

std::string error_of(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// The entry's bytes, at most kMaxMemberBytes.
std::string read_entry(archive* a, const std::string& where) {
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const la_ssize_t got = archive_read_data(a, buffer, sizeof buffer);
    if (got == 0) return out;
    if (got < 0) throw DataError(where + ": corrupt or truncated archive: " + error_of(a), kRefetchHint);
    out.append(buffer, static_cast<size_t>(got));
    if (static_cast<int64_t>(out.size()) > kMaxMemberBytes) {
      throw DataError(where + ": larger than 1 GiB: not the dataset's batch file", kRefetchHint);
    }
  }
}

std::vector<std::string> read_from_archive(const stdfs::path& source, const std::string& folder,
                                           const std::vector<std::string>& members) {
  std::unique_ptr<archive, decltype(&archive_read_free)> owner(archive_read_new(), &archive_read_free);
  archive* a = owner.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  if (archive_read_open_filename(a, source.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw DataError(source.string() + ": cannot read the archive: " + error_of(a), kRefetchHint);
  }
  std::vector<std::string> out(members.size());
  std::vector<bool> found(members.size(), false);
  size_t left = members.size();
  archive_entry* entry = nullptr;
  int rc = ARCHIVE_OK;
  while (left > 0 && ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN)) {
    std::string name = archive_entry_pathname(entry) != nullptr ? archive_entry_pathname(entry) : "";
    if (name.rfind("./", 0) == 0) name.erase(0, 2);
    const auto it = std::find_if(members.begin(), members.end(), [&](const std::string& m) { return folder + "/" + m == name; });
    if (it == members.end() || found[static_cast<size_t>(it - members.begin())]) continue;  // the next header skips it
    const auto i = static_cast<size_t>(it - members.begin());
    out[i] = read_entry(a, source.string() + ": " + name);
    found[i] = true;
    --left;
  }
  if (rc < ARCHIVE_WARN) throw DataError(source.string() + ": corrupt or truncated archive: " + error_of(a), kRefetchHint);
  for (size_t i = 0; i < members.size(); ++i) {
    if (!found[i]) {
      throw DataError(source.string() + ": the archive holds no " + folder + "/" + members[i],
                      "it is not the dataset's archive; " + std::string(kRefetchHint));
    }
  }
  return out;
}

}  // namespace

Split parse_binary_records(const std::string& bytes, const std::string& name, const std::vector<int64_t>& shape,
                           int64_t num_classes) {
  const int64_t pixels = shape[0] * shape[1] * shape[2];
  const int64_t record = 1 + pixels;
  const auto size = static_cast<int64_t>(bytes.size());
  if (size == 0 || size % record != 0) {
    throw DataError(name + ": " + std::to_string(size) + " bytes is not a whole number of " + std::to_string(record) +
                        "-byte records (1 label byte + " + std::to_string(pixels) + " pixels)",
                    kRefetchHint);
  }
  const int64_t n = size / record;
  torch::Tensor all = torch::empty({n, record}, torch::kUInt8);
  std::memcpy(all.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  torch::Tensor labels = all.select(1, 0).to(torch::kInt64);
  const torch::Tensor bad = labels.ge(num_classes).nonzero();
  if (bad.size(0) > 0) {
    const int64_t i = bad[0][0].item<int64_t>();
    throw DataError(name + ": byte " + std::to_string(i * record) + ": label " + std::to_string(labels[i].item<int64_t>()) +
                        " of record " + std::to_string(i) + " is out of range 0.." + std::to_string(num_classes - 1),
                    kRefetchHint);
  }
  return {all.slice(1, 1).reshape({n, shape[0], shape[1], shape[2]}).contiguous(), labels};
}

std::vector<std::string> read_members(const stdfs::path& source, const std::string& folder,
                                      const std::vector<std::string>& members) {
  std::error_code ec;
  if (!stdfs::is_directory(source, ec)) return read_from_archive(source, folder, members);
  std::vector<std::string> out;
  for (const std::string& m : members) {
    if (!stdfs::is_regular_file(source / m, ec)) {
      throw DataError((source / m).string() + ": file not found", "the extracted folder is incomplete; " +
                                                                      std::string(kRefetchHint));
    }
    out.push_back(fs::read_file(source / m));
  }
  return out;
}

Split read_binary_batches(const stdfs::path& source, const std::string& folder, const std::vector<std::string>& members,
                          const std::vector<int64_t>& shape, int64_t num_classes) {
  const std::vector<std::string> bytes = read_members(source, folder, members);
  std::vector<torch::Tensor> images, labels;
  for (size_t i = 0; i < members.size(); ++i) {
    const Split part = parse_binary_records(bytes[i], (source / members[i]).string(), shape, num_classes);
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  return {torch::cat(images), torch::cat(labels)};
}

}  // namespace dltrain::data
