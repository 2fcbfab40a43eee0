// IDX reading: zlib inflates gzip files (raw bytes pass through), then strict header and size checks.
#include "dltrain/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"

namespace dltrain::data {
namespace {

constexpr uint32_t kImagesMagic = 2051;
constexpr uint32_t kLabelsMagic = 2049;
constexpr uint32_t kMaxSide = 4096;
// The largest IDX file dltrain reads: far above the MNIST family (47 MB), low enough to hold in memory.
constexpr uint64_t kMaxIdxBytes = uint64_t{2} << 30;
const char* const kRefetchHint = "re-download the dataset with `dltrain data fetch <dataset>` and check it with `dltrain data verify`";

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool is_idx_magic(uint32_t magic) { return magic == kImagesMagic || magic == kLabelsMagic; }

std::string magic_name(uint32_t magic) {
  if (magic == kImagesMagic) return "an IDX image file (magic 2051)";
  if (magic == kLabelsMagic) return "an IDX label file (magic 2049)";
  return "not an IDX file (magic " + std::to_string(magic) + ")";
}

void check_header(const std::string& bytes, const std::string& name, uint32_t want_magic, size_t header_size) {
  if (bytes.size() < header_size) {
    throw DataError(name + ": file too short for an IDX header (" + std::to_string(bytes.size()) + " bytes, need " +
                        std::to_string(header_size) + ")",
                    kRefetchHint);
  }
  const uint32_t magic = big_endian_u32(bytes, 0);
  if (magic != want_magic) {
    throw DataError(name + ": byte 0: expected " + magic_name(want_magic) + ", found " + magic_name(magic),
                    is_idx_magic(magic) ? "the image and label files may be swapped"
                                                                   : kRefetchHint);
  }
}

void check_size(const std::string& bytes, const std::string& name, uint64_t expected) {
  if (bytes.size() == expected) return;
  const std::string what = bytes.size() < expected ? "truncated" : "has trailing bytes";
  throw DataError(name + ": " + what + ": header promises " + std::to_string(expected) + " bytes, file has " +
                      std::to_string(bytes.size()),
                  kRefetchHint);
}

// Copies `count` bytes from `bytes` at `offset` into a fresh uint8 tensor of `shape`.
torch::Tensor to_tensor(const std::string& bytes, size_t offset, at::IntArrayRef shape) {
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + offset, static_cast<size_t>(t.numel()));
  return t;
}

// The size of the whole IDX file whose first bytes are `head`, as its header says, or kMaxIdxBytes when it is
// larger or `head` is too short to tell.
uint64_t implied_idx_size(const std::string& head) {
  uint64_t size = kMaxIdxBytes;
  if (head.size() >= 8 && big_endian_u32(head, 0) == kLabelsMagic) size = 8 + uint64_t{big_endian_u32(head, 4)};
  if (head.size() >= 16 && big_endian_u32(head, 0) == kImagesMagic) {
    size = 16 + uint64_t{big_endian_u32(head, 4)} * big_endian_u32(head, 8) * big_endian_u32(head, 12);
  }
  return std::min(size, kMaxIdxBytes);
}

// Inflates every gzip member of `compressed` (a file may hold several, concatenated). inflate() returns
// Z_STREAM_END only after it has checked a member's CRC-32 and length, so a cut or damaged file never passes,
// whichever zlib is installed (gzread's report of a stream cut short changed in zlib 1.3.2). Inflating stops one
// chunk past the size the IDX header implies (capped at kMaxIdxBytes): a gzip bomb is an error, not an
// out-of-memory kill.
std::string gunzip(const std::string& compressed, const std::filesystem::path& path) {
  if (compressed.size() > std::numeric_limits<uInt>::max()) {
    throw DataError(path.string() + ": compressed file larger than 4 GiB", "IDX datasets are far smaller; check the file");
  }
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw DataError(path.string() + ": cannot initialise zlib");
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  std::vector<char> chunk(1 << 20);
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - z.avail_out);
    if (out.size() >= 4 && !is_idx_magic(big_endian_u32(out, 0))) return out;  // the parser names the magic
    if (const uint64_t implied = implied_idx_size(out); out.size() > implied) {
      throw DataError(path.string() + ": corrupt gzip data or a gzip bomb: it inflates past " +
                          std::to_string(out.size()) + " bytes, more than the " + std::to_string(implied) +
                          " its IDX header implies (dltrain reads at most 2 GiB)",
                      kRefetchHint);
    }
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) return out;
      inflateReset(&z);  // another gzip member follows
    } else if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      throw DataError(path.string() + ": corrupt or truncated gzip file: it ends inside its compressed data (after " +
                          std::to_string(out.size()) + " inflated bytes)",
                      kRefetchHint);
    } else if (rc != Z_OK) {
      throw DataError(path.string() + ": corrupt gzip data after " + std::to_string(out.size()) +
                          " inflated bytes: " + (z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc)),
                      kRefetchHint);
    }
  }
}

}  // namespace

std::string read_maybe_gzip(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw DataError(path.string() + ": file not found", kRefetchHint);
  }
  std::string compressed = fs::read_file(path);
  if (compressed.size() < 2 || static_cast<unsigned char>(compressed[0]) != 0x1f ||
      static_cast<unsigned char>(compressed[1]) != 0x8b) {
    return compressed;  // not gzip: a raw IDX file
  }
  return gunzip(compressed, path);
}

torch::Tensor parse_idx_images(const std::string& bytes, const std::string& name) {
  check_header(bytes, name, kImagesMagic, 16);
  const uint32_t count = big_endian_u32(bytes, 4);
  const uint32_t rows = big_endian_u32(bytes, 8);
  const uint32_t cols = big_endian_u32(bytes, 12);
  if (count == 0 || rows == 0 || cols == 0 || rows > kMaxSide || cols > kMaxSide ||
      uint64_t{count} * rows * cols > kMaxIdxBytes) {
    throw DataError(name + ": byte 4: implausible dimensions " + std::to_string(count) + " x " + std::to_string(rows) +
                        " x " + std::to_string(cols),
                    kRefetchHint);
  }
  check_size(bytes, name, 16 + uint64_t{count} * rows * cols);
  return to_tensor(bytes, 16, {count, 1, rows, cols});
}

torch::Tensor parse_idx_labels(const std::string& bytes, const std::string& name, int64_t num_classes) {
  check_header(bytes, name, kLabelsMagic, 8);
  const uint32_t count = big_endian_u32(bytes, 4);
  if (count == 0) throw DataError(name + ": byte 4: label count is 0", kRefetchHint);
  check_size(bytes, name, 8 + uint64_t{count});
  torch::Tensor labels = to_tensor(bytes, 8, {count});
  const auto* p = labels.data_ptr<uint8_t>();
  for (uint32_t i = 0; i < count; ++i) {
    if (p[i] >= num_classes) {
      throw DataError(name + ": byte " + std::to_string(8 + i) + ": label " + std::to_string(p[i]) + " of item " +
                          std::to_string(i) + " is out of range 0.." + std::to_string(num_classes - 1),
                      kRefetchHint);
    }
  }
  return labels.to(torch::kInt64);
}

torch::Tensor read_idx_images(const std::filesystem::path& path) {
  return parse_idx_images(read_maybe_gzip(path), path.string());
}

torch::Tensor read_idx_labels(const std::filesystem::path& path, int64_t num_classes) {
  return parse_idx_labels(read_maybe_gzip(path), path.string(), num_classes);
}

}  // namespace dltrain::data
