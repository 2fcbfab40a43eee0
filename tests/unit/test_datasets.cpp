// Datasets beyond IDX: the description a model is trained with, per-channel normalisation, CIFAR-10's binary batches
// (from a generated archive and from its extracted folder), and image_folder (every PNG colour type, the seeded split,
// equality with the same pixels read as IDX, corrupt files).
#include <png.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "catch_compat.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/data/binary_batches.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/data/image_folder.hpp"
#include "dltrain/report/png.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "helpers.hpp"

using namespace dltrain;
namespace stdfs = std::filesystem;

namespace {

void write(const stdfs::path& path, const std::string& bytes) {
  stdfs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// One ustar member: a 512-byte header, the data, padding to 512.
std::string tar_member(const std::string& name, const std::string& data) {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), name.size());
  std::snprintf(h.data() + 100, 8, "%07o", 0644U);
  std::snprintf(h.data() + 108, 8, "%07o", 0U);
  std::snprintf(h.data() + 116, 8, "%07o", 0U);
  std::snprintf(h.data() + 124, 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(h.data() + 136, 12, "%011o", 0U);
  h[156] = '0';
  std::memcpy(h.data() + 257, "ustar", 6);
  h[263] = h[264] = '0';
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (const char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  return h + data + std::string((512 - data.size() % 512) % 512, '\0');
}

std::string gzip(const std::string& in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(compressBound(static_cast<uLong>(in.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// `records` CIFAR records: label (first + i) % 10, pixel byte j of record i = (7 i + j) % 256.
std::string cifar_batch(int records, int first) {
  std::string s;
  for (int i = 0; i < records; ++i) {
    s.push_back(static_cast<char>((first + i) % 10));
    for (int j = 0; j < 3072; ++j) s.push_back(static_cast<char>((7 * (first + i) + j) % 256));
  }
  return s;
}

const std::vector<std::string> kCifarMembers = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                                "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

// A cifar-10-binary.tar.gz in the published layout, 3 records per batch (test_batch: 4), optionally without a member.
std::string cifar_archive(const std::string& leave_out = "") {
  std::string tar = tar_member("cifar-10-batches-bin/batches.meta.txt", "airplane\n");
  int first = 0;
  for (const std::string& m : kCifarMembers) {
    const int n = m == "test_batch.bin" ? 4 : 3;
    if (m != leave_out) tar += tar_member("cifar-10-batches-bin/" + m, cifar_batch(n, first));
    first += n;
  }
  return gzip(tar + std::string(1024, '\0'));
}

void write_png(const stdfs::path& path, png_uint_32 format, int width, int height, const std::vector<uint8_t>& pixels,
               const std::vector<uint8_t>& colormap = {}) {
  stdfs::create_directories(path.parent_path());
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = format;
  image.colormap_entries = static_cast<png_uint_32>(colormap.size() / 3);
  REQUIRE(png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0,
                                  colormap.empty() ? nullptr : colormap.data()) != 0);
}

config::DataConfig folder_config(const stdfs::path& root) {
  config::DataConfig c;
  c.dataset = "image_folder";
  c.root = root.string();
  c.image_size = {1, 28, 28};
  c.test_split = 0.2;
  return c;
}

// `n` random 28x28 gray images with labels 0..9, written as <root>/<label>/<index>.png; returns them as IDX reads them.
data::Split write_digit_folder(const stdfs::path& root, int64_t n) {
  torch::manual_seed(7);
  data::Split s{torch::randint(0, 256, {n, 1, 28, 28}, torch::kUInt8), torch::randint(0, 10, {n}, torch::kInt64)};
  char name[16];
  for (int64_t i = 0; i < n; ++i) {
    std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
    write(root / std::to_string(s.labels[i].item<int64_t>()) / name, report::encode_png(s.images[i]));
  }
  return s;
}

}  // namespace

TEST_CASE("datasets: the normaliser of a gray dataset is bit for bit the scalar formula, per channel for colour", "[datasets]") {
  torch::manual_seed(1);
  const torch::Tensor gray = torch::randint(0, 256, {4, 1, 5, 5}, torch::kUInt8);
  const torch::Tensor before = gray.to(torch::kFloat).mul_(1.0 / (255.0 * 0.3081)).sub_(0.1307 / 0.3081);
  CHECK(torch::equal(data::Normalizer(0.1307, 0.3081)(gray), before));
  CHECK(torch::equal(data::Normalizer(data::describe(data::dataset_info("mnist")), torch::kFloat)(gray), before));
  const data::Description cifar = data::describe(data::dataset_info("cifar10"));
  const torch::Tensor rgb = torch::randint(0, 256, {4, 3, 5, 5}, torch::kUInt8);
  const torch::Tensor out = data::Normalizer(cifar, torch::kDouble)(rgb);
  REQUIRE(out.scalar_type() == torch::kDouble);
  for (int64_t c = 0; c < 3; ++c) {
    const double m = cifar.mean[static_cast<size_t>(c)], s = cifar.std[static_cast<size_t>(c)];
    CHECK(torch::allclose(out.select(1, c), (rgb.select(1, c).to(torch::kDouble) / 255.0 - m) / s, 1e-12, 1e-12));
  }
}

TEST_CASE("datasets: pixel statistics per channel, descriptions to JSON and back, old checkpoints fall back to the table", "[datasets]") {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randint(0, 256, {50, 3, 4, 6}, torch::kUInt8);
  std::vector<double> mean, std;
  data::pixel_statistics(x, mean, std);
  const torch::Tensor scaled = x.to(torch::kDouble) / 255.0;
  for (int64_t c = 0; c < 3; ++c) {
    CHECK(mean[static_cast<size_t>(c)] == Approx(scaled.select(1, c).mean().item<double>()).epsilon(1e-12));
    CHECK(std[static_cast<size_t>(c)] == Approx(scaled.select(1, c).std(/*unbiased=*/false).item<double>()).epsilon(1e-9));
  }
  const data::Description d{"image_folder", {"a", "b"}, {3, 4, 6}, mean, std};
  const data::Description back = data::description_from_json(data::to_json(d));
  CHECK((back.name == d.name && back.class_names == d.class_names && back.image_shape == d.image_shape &&
         back.mean == d.mean && back.std == d.std));
  nlohmann::json bad = data::to_json(d);
  bad["mean"] = {0.5};  // one value for three channels
  CHECK_THROWS_AS(data::description_from_json(bad), DataError);

  train::CheckpointMeta meta;
  meta.info = {{"dataset", "fashion-mnist"}};  // written before descriptions were stored
  config::Config c;
  CHECK(train::trained_on(meta, c).mean == std::vector<double>{0.2860});
  CHECK(train::trained_on(meta, c).class_names.at(0) == "T-shirt/top");
  meta.info["data"] = data::to_json(d);
  CHECK(train::trained_on(meta, c).std == std);
}

TEST_CASE("datasets: cifar10 from a generated archive and from its extracted folder, R, G, B planes", "[datasets]") {
  testing::TempDir dir;
  write(dir.path / "archive/cifar-10-binary.tar.gz", cifar_archive());
  config::DataConfig c;
  c.dataset = "cifar10";
  c.root = (dir.path / "archive").string();
  c.val_split = 2;
  const data::Dataset d = data::load_dataset(c);
  REQUIRE(d.train.size() == 13);  // 5 x 3 records, the last 2 held out
  REQUIRE(d.val.size() == 2);
  REQUIRE(d.test.size() == 4);
  CHECK(d.train.images.sizes() == torch::IntArrayRef({13, 3, 32, 32}));
  CHECK(d.desc.mean == std::vector<double>{0.4914, 0.4822, 0.4465});  // the table's, not computed
  CHECK(d.desc.class_names.at(9) == "truck");
  // Record 16 (the test batch's second): label 16 % 10, pixel (channel 2, row 3, column 5) is byte 1 + 2048 + 101.
  CHECK(d.test.labels[1].item<int64_t>() == 6);
  CHECK(d.test.images[1][2][3][5].item<int>() == (7 * 16 + 2048 + 3 * 32 + 5) % 256);
  CHECK(d.val.labels[1].item<int64_t>() == 14 % 10);

  // The same records from the folder the archive unpacks to, given as the root or as its parent.
  int first = 0;
  for (const std::string& m : kCifarMembers) {
    const int n = m == "test_batch.bin" ? 4 : 3;
    write(dir.path / "extracted/cifar-10-batches-bin" / m, cifar_batch(n, first));
    first += n;
  }
  for (const stdfs::path& root : {dir.path / "extracted", dir.path / "extracted/cifar-10-batches-bin"}) {
    c.root = root.string();
    const data::Dataset e = data::load_dataset(c);
    CHECK(torch::equal(e.train.images, d.train.images));
    CHECK(torch::equal(e.test.labels, d.test.labels));
  }
}

TEST_CASE("datasets: a cut, incomplete or foreign cifar10 archive is a DataError naming it", "[datasets]") {
  testing::TempDir dir;
  const std::string archive = cifar_archive();
  config::DataConfig c;
  c.dataset = "cifar10";
  c.root = (dir.path / "cut").string();
  write(dir.path / "cut/cifar-10-binary.tar.gz", archive.substr(0, archive.size() / 2));
  CHECK_THROWS_WITH(data::load_dataset(c), ContainsText("cifar-10-binary.tar.gz"));
  c.root = (dir.path / "lacking").string();
  write(dir.path / "lacking/cifar-10-binary.tar.gz", cifar_archive("test_batch.bin"));
  CHECK_THROWS_WITH(data::load_dataset(c), ContainsText("holds no cifar-10-batches-bin/test_batch.bin"));
  CHECK_THROWS_WITH((data::parse_binary_records(std::string(3074, '\0'), "x.bin", {3, 32, 32}, 10)),
             ContainsText("not a whole number of 3073-byte records"));
  std::string bad_label = cifar_batch(2, 0);
  bad_label[3073] = 10;
  CHECK_THROWS_WITH((data::parse_binary_records(bad_label, "x.bin", {3, 32, 32}, 10)),
             ContainsText("label 10 of record 1"));
}

TEST_CASE("datasets: image_folder decodes every PNG colour type as predict does", "[datasets]") {
  testing::TempDir dir;
  const int w = 4, h = 3;
  std::vector<uint8_t> gray(w * h), ga, rgb, rgba, index(w * h);
  const std::vector<uint8_t> colormap = {255, 0, 0, 0, 128, 255, 10, 20, 30};
  for (int i = 0; i < w * h; ++i) {
    gray[i] = static_cast<uint8_t>(20 * i);
    const uint8_t alpha = i % 2 == 0 ? 255 : 0;  // fully opaque or fully clear: exact after compositing
    ga.insert(ga.end(), {gray[i], alpha});
    rgb.insert(rgb.end(), {static_cast<uint8_t>(i), static_cast<uint8_t>(100 + i), static_cast<uint8_t>(200 + i)});
    rgba.insert(rgba.end(), {static_cast<uint8_t>(i), static_cast<uint8_t>(100 + i), static_cast<uint8_t>(200 + i), alpha});
    index[i] = static_cast<uint8_t>(i % 3);
  }
  write_png(dir.path / "a_gray/0.png", PNG_FORMAT_GRAY, w, h, gray);
  write_png(dir.path / "b_gray_alpha/0.png", PNG_FORMAT_GA, w, h, ga);
  write_png(dir.path / "c_rgb/0.png", PNG_FORMAT_RGB, w, h, rgb);
  write_png(dir.path / "d_rgba/0.png", PNG_FORMAT_RGBA, w, h, rgba);
  write_png(dir.path / "e_palette/0.png", PNG_FORMAT_RGB_COLORMAP, w, h, index, colormap);
  write(dir.path / "e_palette/notes.txt", "not an image: skipped");
  const data::FolderListing listing = data::list_image_folder(dir.path);
  REQUIRE(listing.classes == std::vector<std::string>{"a_gray", "b_gray_alpha", "c_rgb", "d_rgba", "e_palette"});
  REQUIRE(listing.files.size() == 5);
  // Read at their own size (nothing resized) as RGB: compare every pixel with what was written.
  const torch::Tensor x = data::read_images(listing.files, {3, h, w});
  for (int i = 0; i < w * h; ++i) {
    const int64_t y = i / w, xx = i % w;
    const bool clear = i % 2 == 1;
    for (int64_t c = 0; c < 3; ++c) {
      const int want_rgb = clear ? 255 : rgb[static_cast<size_t>(3 * i + c)];
      CHECK(x[0][c][y][xx].item<int>() == gray[i]);
      CHECK(x[1][c][y][xx].item<int>() == (clear ? 255 : gray[i]));
      CHECK(x[2][c][y][xx].item<int>() == rgb[static_cast<size_t>(3 * i + c)]);
      CHECK(x[3][c][y][xx].item<int>() == want_rgb);
      CHECK(x[4][c][y][xx].item<int>() == colormap[static_cast<size_t>(3 * index[i] + c)]);
    }
  }
  // As gray: RGB becomes ITU-R 601 luma, as `dltrain predict` converts it (82.5 here, rounded in float arithmetic).
  const torch::Tensor luma = data::read_images({listing.files[2]}, {1, h, w});
  CHECK(std::abs(luma[0][0][0][1].item<int>() - (0.299 * 1 + 0.587 * 101 + 0.114 * 201)) <= 0.5);
}

TEST_CASE("datasets: image_folder reads PNGs into exactly the tensor IDX holds for the same pixels", "[datasets]") {
  testing::TempDir dir;
  const data::Split idx = write_digit_folder(dir.path / "digits", 40);
  std::vector<int64_t> order;  // the folder's order: class by class, each class in file (index) order
  for (int64_t k = 0; k < 10; ++k) {
    for (int64_t i = 0; i < idx.size(); ++i) {
      if (idx.labels[i].item<int64_t>() == k) order.push_back(i);
    }
  }
  std::vector<std::string> classes;
  for (int k = 0; k < 10; ++k) classes.push_back(std::to_string(k));
  const data::Split png = data::read_labelled_folder(dir.path / "digits", classes, {1, 28, 28});
  const torch::Tensor by_folder = torch::tensor(order, torch::kInt64);
  CHECK(torch::equal(png.images, idx.images.index_select(0, by_folder)));
  CHECK(torch::equal(png.labels, idx.labels.index_select(0, by_folder)));
}

TEST_CASE("datasets: image_folder splits in a seeded order, computes its statistics from the training split", "[datasets]") {
  testing::TempDir dir;
  const data::Split all = write_digit_folder(dir.path / "digits", 40);
  config::DataConfig c = folder_config(dir.path / "digits");
  c.val_split = 5;
  c.split_seed = 3;
  const data::Dataset d = data::load_dataset(c);
  CHECK(d.test.size() == 8);  // 0.2 of 40
  CHECK(d.val.size() == 5);
  CHECK(d.train.size() == 27);
  CHECK(d.desc.name == "image_folder");
  CHECK(d.desc.image_shape == std::vector<int64_t>{1, 28, 28});
  std::vector<double> mean, std;
  data::pixel_statistics(d.train.images, mean, std);
  CHECK((d.desc.mean == mean && d.desc.std == std));
  // Every image once over the three splits.
  const torch::Tensor seen = torch::cat({d.train.images, d.val.images, d.test.images}).view({40, -1}).sum(1);
  CHECK(torch::equal(std::get<0>(seen.sort()), std::get<0>(all.images.view({40, -1}).sum(1).sort())));
  // The same seed gives the same split; another seed another one. The order is std::mt19937_64's, fixed.
  CHECK(torch::equal(data::load_dataset(c).test.images, d.test.images));
  c.split_seed = 4;
  CHECK_FALSE(torch::equal(data::load_dataset(c).test.images, d.test.images));
  CHECK(data::seeded_order(6, 0) == std::vector<int64_t>{3, 4, 5, 1, 2, 0});
}

TEST_CASE("datasets: image_folder's test_root maps class folders by name, refuses strangers and corrupt files", "[datasets]") {
  testing::TempDir dir;
  write_digit_folder(dir.path / "train", 40);
  write_digit_folder(dir.path / "test", 40);
  stdfs::remove_all(dir.path / "test/0");  // a test folder may lack a class: its labels still follow the names
  config::DataConfig c = folder_config(dir.path / "train");
  c.test_split = 0;
  c.test_root = (dir.path / "test").string();
  const data::Dataset d = data::load_dataset(c);
  CHECK(d.train.size() == 40);
  CHECK(d.test.labels.min().item<int64_t>() >= 1);
  CHECK(d.test.size() == 40 - d.train.labels.eq(0).sum().item<int64_t>());  // the same 40 images, less class 0
  stdfs::create_directories(dir.path / "test/cat");
  write_png(dir.path / "test/cat/0.png", PNG_FORMAT_GRAY, 2, 2, {0, 0, 0, 0});
  CHECK_THROWS_WITH(data::load_dataset(c), ContainsText("'cat' is not one of the model's classes"));
  stdfs::remove_all(dir.path / "test/cat");
  write(dir.path / "train/3/99999.png", "\x89PNG\r\n\x1a\n not really");
  CHECK_THROWS_WITH(data::load_dataset(c), ContainsText("99999.png"));
  CHECK_THROWS_AS(data::load_dataset(c), DataError);
  CHECK_THROWS_WITH(data::list_image_folder(dir.path / "nowhere"), ContainsText("no such folder"));
}

TEST_CASE("datasets: image_folder's config keys are checked together", "[datasets]") {
  const auto problems = [](const nlohmann::json& data) {
    try {
      config::parse({{"data", data}}, "t.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string missing = problems({{"dataset", "image_folder"}});
  CHECK_THAT(missing, ContainsText("/data/root"));
  CHECK_THAT(missing, ContainsText("/data/image_size"));
  CHECK_THAT(missing, ContainsText("/data/test_split"));
  CHECK_THAT(problems({{"dataset", "image_folder"}, {"root", "x"}, {"image_size", {2, 28, 28}}, {"test_split", 0.2}}),
             ContainsText("channels 1 or 3"));
  CHECK_THAT(problems({{"dataset", "image_folder"}, {"root", "x"}, {"image_size", {1, 28, 28}}, {"test_split", 0.2},
                       {"test_root", "y"}}),
             ContainsText("exactly one of"));
  CHECK(problems({{"dataset", "image_folder"}, {"root", "x"}, {"image_size", {3, 32, 32}}, {"test_root", "y"}}).empty());
  CHECK_THAT(problems({{"dataset", "mnist"}, {"test_split", 0.2}}), ContainsText("/data/test_split: only data.dataset image_folder"));
}
