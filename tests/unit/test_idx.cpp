// IDX reader: good files (raw and gzip), truncated, wrong magic, mismatched counts, bad labels, corrupt gzip.
#include <zlib.h>

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/data/idx.hpp"
#include "helpers.hpp"

#include "catch_compat.hpp"

using namespace dltrain;
using dltrain::testing::idx_images;
using dltrain::testing::idx_labels;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

void write_gz(const std::filesystem::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

}  // namespace

TEST_CASE("good image and label bytes", "[idx]") {
  const auto images = data::parse_idx_images(idx_images(3, 4, 5, 9), "img");
  CHECK(images.sizes() == torch::IntArrayRef({3, 1, 4, 5}));
  CHECK(images.dtype() == torch::kUInt8);
  CHECK(images.sum().item<int64_t>() == 3 * 4 * 5 * 9);
  const auto labels = data::parse_idx_labels(idx_labels({0, 9, 3}), "lbl", 10);
  CHECK(labels.dtype() == torch::kInt64);
  CHECK(labels[1].item<int64_t>() == 9);
}

TEST_CASE("bad IDX bytes fail with the file name and what is wrong", "[idx]") {
  std::string truncated = idx_images(3, 4, 5);
  truncated.resize(truncated.size() - 1);
  CHECK(error_of([&] { data::parse_idx_images(truncated, "a.idx"); }).find("a.idx: truncated") == 0);
  CHECK(error_of([&] { data::parse_idx_images(idx_images(3, 4, 5) + "x", "a.idx"); }).find("trailing bytes") !=
        std::string::npos);
  CHECK(error_of([&] { data::parse_idx_images(idx_labels(std::vector<uint8_t>(20, 1)), "a.idx"); }).find("found an IDX label file") !=
        std::string::npos);
  CHECK(error_of([&] { data::parse_idx_images("\x12\x34\x56\x78 and more bytes", "a.idx"); }).find("not an IDX file") !=
        std::string::npos);
  CHECK(error_of([&] { data::parse_idx_images("ab", "a.idx"); }).find("too short") != std::string::npos);
  CHECK(error_of([&] { data::parse_idx_images(idx_images(0, 4, 5), "a.idx"); }).find("implausible dimensions") !=
        std::string::npos);
  CHECK(error_of([&] { data::parse_idx_labels(idx_labels({1, 12, 3}), "l.idx", 10); })
            .find("l.idx: byte 9: label 12 of item 1 is out of range 0..9") == 0);
}

TEST_CASE("gzip and raw files read the same, corrupt gzip is reported", "[idx]") {
  dltrain::testing::TempDir dir;
  const std::string bytes = idx_images(2, 3, 3, 5);
  write_gz(dir.path / "x.gz", bytes);
  fs::atomic_write(dir.path / "x.raw", bytes);
  CHECK(data::read_maybe_gzip(dir.path / "x.gz") == bytes);
  CHECK(data::read_maybe_gzip(dir.path / "x.raw") == bytes);
  CHECK(data::read_idx_images(dir.path / "x.gz").sizes() == torch::IntArrayRef({2, 1, 3, 3}));

  std::string gz = fs::read_file(dir.path / "x.gz");
  fs::atomic_write(dir.path / "cut.gz", gz.substr(0, gz.size() - 12));
  CHECK(error_of([&] { data::read_maybe_gzip(dir.path / "cut.gz"); }).find("cut.gz") != std::string::npos);
  gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x5a);
  gz[gz.size() / 2 + 1] = static_cast<char>(gz[gz.size() / 2 + 1] ^ 0x33);
  fs::atomic_write(dir.path / "bad.gz", gz);
  CHECK_THROWS_AS(data::read_idx_images(dir.path / "bad.gz"), DataError);
  CHECK(error_of([&] { data::read_maybe_gzip(dir.path / "absent.gz"); }).find("file not found") != std::string::npos);
}

TEST_CASE("a gzip member is never inflated far past the size its IDX header implies", "[idx]") {
  dltrain::testing::TempDir dir;
  // A header for 2 images of 3x3 (34 bytes), followed by 32 MiB of zeros that compress to a few KiB.
  const std::string bomb = idx_images(2, 3, 3) + std::string(32u << 20, '\0');
  write_gz(dir.path / "bomb.gz", bomb);
  REQUIRE(std::filesystem::file_size(dir.path / "bomb.gz") < 100000);
  const std::string message = error_of([&] { data::read_idx_images(dir.path / "bomb.gz"); });
  CHECK(message.find("bomb.gz: corrupt gzip data or a gzip bomb: it inflates past") != std::string::npos);
  CHECK(message.find("more than the 34 its IDX header implies") != std::string::npos);
  // Stopped after the first 1 MiB chunk, not at 32 MiB.
  CHECK(message.find("past 1048576 bytes") != std::string::npos);
  // A header that claims more than 2 GiB is refused before anything that large is read.
  CHECK(error_of([&] { data::parse_idx_images(idx_images(1, 4, 5).replace(4, 4, std::string("\xff\xff\xff\xff", 4)), "h.idx"); })
            .find("implausible dimensions") != std::string::npos);
}
