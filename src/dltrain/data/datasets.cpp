// The dataset table and loading: each split is read once into one tensor (docs/ARCHITECTURE.md, "The path of a
// batch"; "The dataset table and descriptions").
#include "dltrain/data/datasets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "dltrain/core/error.hpp"
#include "dltrain/data/binary_batches.hpp"
#include "dltrain/data/idx.hpp"
#include "dltrain/data/image_folder.hpp"

namespace dltrain::data {
namespace {

DatasetInfo idx_dataset(std::string name, std::vector<DataFile> files, std::vector<std::string> classes, double mean,
                        double std, std::vector<std::string> mirrors, std::string debian_package = {}) {
  DatasetInfo d;
  d.name = std::move(name);
  d.format = Format::kIdx;
  d.files = std::move(files);
  d.class_names = std::move(classes);
  d.mean = {mean};
  d.std = {std};
  d.mirrors = std::move(mirrors);
  d.image_shape = {1, 28, 28};
  d.train_size = 60000;
  d.test_size = 10000;
  d.debian_package = std::move(debian_package);
  return d;
}

// CIFAR-10, binary version: https://www.cs.toronto.edu/~kriz/cifar.html. SHA-256 as TensorFlow Datasets pins it
// (tensorflow_datasets/url_checksums/cifar10.txt: 170052171 bytes; the page publishes MD5
// c32a1d4ab5d03f1284b67883e8d87530). Mean and std per channel are the usual ones of the 50000 training images.
DatasetInfo cifar10() {
  DatasetInfo d;
  d.name = "cifar10";
  d.format = Format::kBinaryBatches;
  d.files = {{"cifar-10-binary.tar.gz", "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
              "cifar-10-batches-bin"}};
  d.train_members = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
  d.test_members = {"test_batch.bin"};
  d.class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  d.mean = {0.4914, 0.4822, 0.4465};
  d.std = {0.2470, 0.2435, 0.2616};
  d.mirrors = {"https://www.cs.toronto.edu/~kriz/"};
  d.image_shape = {3, 32, 32};
  d.train_size = 50000;
  d.test_size = 10000;
  return d;
}

// Digits: a horizontal flip changes what an image shows (data.augment.hflip is refused unless forced).
DatasetInfo digits(DatasetInfo d) {
  d.flips_change_class = true;
  return d;
}

// data.root's class subfolders; shape from data.image_size, classes from the folders, statistics from the images.
DatasetInfo image_folder() {
  DatasetInfo d;
  d.name = "image_folder";
  d.format = Format::kImageFolder;
  return d;
}

const std::vector<DatasetInfo>& registry() {
  static const std::vector<DatasetInfo> datasets = {
      digits(idx_dataset("mnist",
                  {{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
                   {"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
                   {"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
                   {"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}},
                  {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, 0.1307, 0.3081,
                  {"https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
                   "http://yann.lecun.com/exdb/mnist/"})),
      idx_dataset("fashion-mnist",
                  {{"train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"},
                   {"train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"},
                   {"t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"},
                   {"t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"}},
                  {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
                  0.2860, 0.3530,
                  {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                   "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"},
                  "dataset-fashion-mnist"),
      cifar10(),
      image_folder(),
  };
  return datasets;
}

bool has_all_files(const std::filesystem::path& root, const DatasetInfo& info) {
  for (const auto& file : info.files) {
    if (!std::filesystem::exists(data_file(root, file))) return false;
  }
  return true;
}

void check_pair(const Split& split, const std::string& what, const DatasetInfo& info) {
  if (split.images.size(0) != split.labels.size(0)) {
    throw DataError(what + ": " + std::to_string(split.images.size(0)) + " images but " +
                        std::to_string(split.labels.size(0)) + " labels",
                    "the image and label files come from different datasets or versions; re-fetch both");
  }
  const std::vector<int64_t> shape(split.images.sizes().begin() + 1, split.images.sizes().end());
  if (shape != info.image_shape) {
    throw DataError(what + ": images of shape " + c10::str(c10::IntArrayRef(shape)) + ", but " + info.name + "'s are " +
                        c10::str(c10::IntArrayRef(info.image_shape)) + " (channels, height, width)",
                    "the file is not " + info.name + "'s; re-fetch it with `dltrain data fetch " + info.name + "`");
  }
}

// Images [begin, end) of `split` (views, no copy).
Split rows(const Split& split, int64_t begin, int64_t end) {
  return {split.images.slice(0, begin, end), split.labels.slice(0, begin, end)};
}

std::vector<double> numbers(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_array()) throw DataError(std::string("dataset description: no list '") + key + "'");
  return j[key].get<std::vector<double>>();
}

}  // namespace

const DatasetInfo& dataset_info(const std::string& name) {
  for (const auto& d : registry()) {
    if (d.name == name) return d;
  }
  const std::vector<std::string> names = config::dataset_names();
  const std::string guess = config::did_you_mean(name, names);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("unknown dataset '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                    "known datasets: " + known);
}

std::vector<std::string> downloadable_dataset_names() {
  std::vector<std::string> names;
  for (const auto& d : registry()) {
    if (!d.files.empty()) names.push_back(d.name);
  }
  return names;
}

nlohmann::json to_json(const Description& d) {
  return {{"name", d.name}, {"classes", d.class_names}, {"image_shape", d.image_shape}, {"mean", d.mean}, {"std", d.std}};
}

Description description_from_json(const nlohmann::json& j) {
  Description d;
  try {
    d.name = j.at("name").get<std::string>();
    d.class_names = j.at("classes").get<std::vector<std::string>>();
    d.image_shape = j.at("image_shape").get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw DataError(std::string("dataset description: ") + e.what());
  }
  d.mean = numbers(j, "mean");
  d.std = numbers(j, "std");
  const bool ok = !d.class_names.empty() && d.image_shape.size() == 3 && d.image_shape[0] >= 1 &&
                  static_cast<int64_t>(d.mean.size()) == d.image_shape[0] && d.std.size() == d.mean.size() &&
                  std::all_of(d.std.begin(), d.std.end(), [](double s) { return s > 0; });
  if (!ok) throw DataError("dataset description: inconsistent classes, image_shape, mean or std: " + j.dump());
  return d;
}

Description describe(const DatasetInfo& info) {
  return {info.name, info.class_names, info.image_shape, info.mean, info.std};
}

void pixel_statistics(const torch::Tensor& images, std::vector<double>& mean, std::vector<double>& std) {
  const int64_t channels = images.size(1);
  torch::Tensor sum = torch::zeros({channels}, torch::kInt64), squares = torch::zeros({channels}, torch::kInt64);
  constexpr int64_t kChunk = 4096;  // images per step: int32 squares of a chunk stay small
  for (int64_t begin = 0; begin < images.size(0); begin += kChunk) {
    const torch::Tensor x = images.slice(0, begin, std::min(begin + kChunk, images.size(0))).to(torch::kInt64);
    sum += x.sum({0, 2, 3});
    squares += x.mul(x).sum({0, 2, 3});
  }
  const double n = static_cast<double>(images.numel() / std::max<int64_t>(channels, 1));
  mean.assign(static_cast<size_t>(channels), 0.0);
  std.assign(static_cast<size_t>(channels), 1.0);
  for (int64_t c = 0; c < channels; ++c) {
    const double m = static_cast<double>(sum[c].item<int64_t>()) / n;
    const double var = static_cast<double>(squares[c].item<int64_t>()) / n - m * m;
    mean[static_cast<size_t>(c)] = m / 255.0;
    // A constant channel has no spread: 1 keeps it finite (it then only shifts).
    std[static_cast<size_t>(c)] = var > 0 ? std::sqrt(var) / 255.0 : 1.0;
  }
}

std::filesystem::path data_file(const std::filesystem::path& root, const DataFile& file) {
  const std::filesystem::path published = root / file.name;
  if (std::filesystem::exists(published)) return published;
  if (file.name.size() > 3 && file.name.compare(file.name.size() - 3, 3, ".gz") == 0) {
    const std::filesystem::path raw = root / file.name.substr(0, file.name.size() - 3);
    if (std::filesystem::exists(raw)) return raw;
  }
  if (!file.extracted.empty()) {
    if (std::filesystem::is_directory(root / file.extracted)) return root / file.extracted;
    if (root.filename() == file.extracted && std::filesystem::is_directory(root)) return root;
  }
  return published;
}

std::filesystem::path locate_root(const DatasetInfo& info, const std::string& explicit_root,
                                  const std::filesystem::path& remembered) {
  std::vector<std::filesystem::path> tried = candidate_roots(info, explicit_root);
  if (explicit_root.empty() && !remembered.empty()) tried.push_back(remembered);
  for (const auto& root : tried) {
    if (has_all_files(root, info)) return root;
  }
  std::string places;
  for (const auto& root : tried) places += (places.empty() ? "" : ", ") + root.string();
  std::string missing;
  for (const auto& f : info.files) {
    if (!std::filesystem::exists(data_file(tried.front(), f))) {
      missing += (missing.empty() ? "" : ", ") + f.name + (f.extracted.empty() ? "" : " (or its " + f.extracted + "/)");
    }
  }
  throw DataError("dataset '" + info.name + "' not found; looked in: " + places + " (missing in " +
                      tried.front().string() + ": " + missing + ")",
                  "run `dltrain data fetch " + info.name + "`, set DLTRAIN_DATA_DIR to a folder holding " + info.name +
                      "/, or pass --data-dir DIR" +
                      (info.debian_package.empty() ? "" : ", or `apt-get install " + info.debian_package + "`"));
}

std::vector<std::filesystem::path> candidate_roots(const DatasetInfo& info, const std::string& explicit_root) {
  std::vector<std::filesystem::path> roots;
  if (!explicit_root.empty()) {
    roots.emplace_back(explicit_root);
  } else {
    if (const char* env = std::getenv("DLTRAIN_DATA_DIR"); env != nullptr && *env != '\0') {
      roots.push_back(std::filesystem::path(env) / info.name);
    }
    roots.push_back(std::filesystem::path("data") / info.name);
    roots.push_back(std::filesystem::path("/usr/share/datasets") / info.name);
  }
  return roots;
}

Split load_split(const DatasetInfo& info, const std::filesystem::path& root, const std::string& split) {
  const bool train = split == "train";
  Split s;
  std::string what;
  switch (info.format) {
    case Format::kIdx: {
      const size_t first = train ? 0 : 2;
      s = {read_idx_images(data_file(root, info.files[first])),
           read_idx_labels(data_file(root, info.files[first + 1]), static_cast<int64_t>(info.class_names.size()))};
      what = (root / info.files[first].name).string();
      break;
    }
    case Format::kBinaryBatches: {
      const std::filesystem::path source = data_file(root, info.files.front());
      s = read_binary_batches(source, info.files.front().extracted, train ? info.train_members : info.test_members,
                              info.image_shape, static_cast<int64_t>(info.class_names.size()));
      what = source.string();
      break;
    }
    case Format::kImageFolder:
      throw DataError("image_folder has no fixed files: its splits come from data.root (load_dataset)");
  }
  check_pair(s, what, info);
  return s;
}

int64_t validation_images(double val_split, int64_t train_images) {
  if (val_split >= 1) return static_cast<int64_t>(val_split);
  return static_cast<int64_t>(std::llround(val_split * static_cast<double>(train_images)));
}

Dataset load_dataset(const config::DataConfig& config, const std::filesystem::path& remembered) {
  Dataset d;
  d.info = &dataset_info(config.dataset);
  if (d.info->format == Format::kImageFolder) {
    load_image_folder(config, remembered, d);
  } else {
    d.root = locate_root(*d.info, config.root, remembered);
    d.train = load_split(*d.info, d.root, "train");
    d.test = load_split(*d.info, d.root, "test");
    d.desc = describe(*d.info);
  }
  if (config.limit_train > 0 && config.limit_train < d.train.size()) {
    d.train = rows(d.train, 0, config.limit_train);
  }
  const int64_t n_val = validation_images(config.val_split, d.train.size());
  if (config.val_split > 0 && (n_val < 1 || n_val >= d.train.size())) {
    throw ConfigError("/data/val_split: holding out " + std::to_string(n_val) + " of " +
                          std::to_string(d.train.size()) + " training images leaves an empty split",
                      "choose a val_split that leaves at least one image on each side (e.g. 5000 of 60000)");
  }
  const int64_t n_train = d.train.size() - n_val;
  d.val = rows(d.train, n_train, d.train.size());
  d.train = rows(d.train, 0, n_train);
  if (d.desc.mean.empty()) pixel_statistics(d.train.images, d.desc.mean, d.desc.std);
  return d;
}

Split load_test_split(const config::DataConfig& config, const std::filesystem::path& remembered,
                      const std::vector<std::string>& class_names, std::filesystem::path& root) {
  const DatasetInfo& info = dataset_info(config.dataset);
  if (info.format == Format::kImageFolder && config.test_root.empty()) {
    Dataset d = load_dataset(config, remembered);
    root = d.root;
    return d.test;
  }
  if (info.format == Format::kImageFolder) {
    root = config.test_root;
    return read_labelled_folder(root, class_names, config.image_size);
  }
  root = locate_root(info, config.root, remembered);
  return load_split(info, root, "test");
}

Outline outline(const config::DataConfig& config) {
  const DatasetInfo& info = dataset_info(config.dataset);
  Outline o{describe(info), info.train_size};
  if (info.format == Format::kImageFolder) {
    const FolderListing listing = list_image_folder(config.root);
    o.desc.class_names = listing.classes;
    o.desc.image_shape = config.image_size;
    o.train_images = static_cast<int64_t>(listing.files.size());
    if (config.test_root.empty()) o.train_images -= validation_images(config.test_split, o.train_images);
  }
  return o;
}

}  // namespace dltrain::data

namespace dltrain::config {

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& d : data::registry()) names.push_back(d.name);
  return names;
}

bool flips_change_class(const std::string& dataset) {
  for (const auto& d : data::registry()) {
    if (d.name == dataset) return d.flips_change_class;
  }
  return false;
}

}  // namespace dltrain::config
