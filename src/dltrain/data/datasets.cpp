// Dataset registry and loading: each file is read once into one tensor (docs/ARCHITECTURE.md, "The path of a batch").
#include "dltrain/data/datasets.hpp"

#include <cmath>
#include <cstdlib>

#include "dltrain/core/error.hpp"
#include "dltrain/data/idx.hpp"

namespace dltrain::data {
namespace {

const std::vector<DatasetInfo>& registry() {
  static const std::vector<DatasetInfo> datasets = {
      {"mnist",
       {{{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
         {"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
         {"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
         {"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}}},
       {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
       0.1307,
       0.3081,
       {"https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/"}},
      {"fashion-mnist",
       {{{"train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"},
         {"train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"},
         {"t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"},
         {"t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"}}},
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
       0.2860,
       0.3530,
       {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"},
       {1, 28, 28},
       60000,
       10000,
       "dataset-fashion-mnist"},
  };
  // mnist's image shape and sizes are DatasetInfo's defaults: 1x28x28, 60000 for training and 10000 for test.
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

std::filesystem::path data_file(const std::filesystem::path& root, const DataFile& file) {
  const std::filesystem::path gz = root / file.name;
  if (std::filesystem::exists(gz)) return gz;
  const std::filesystem::path raw = root / file.name.substr(0, file.name.size() - 3);
  return std::filesystem::exists(raw) ? raw : gz;
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
    if (!std::filesystem::exists(data_file(tried.front(), f))) missing += (missing.empty() ? "" : ", ") + f.name;
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
  const size_t first = split == "train" ? 0 : 2;
  Split s{read_idx_images(data_file(root, info.files[first])),
          read_idx_labels(data_file(root, info.files[first + 1]), static_cast<int64_t>(info.class_names.size()))};
  check_pair(s, (root / info.files[first].name).string(), info);
  return s;
}

int64_t validation_images(double val_split, int64_t train_images) {
  if (val_split >= 1) return static_cast<int64_t>(val_split);
  return static_cast<int64_t>(std::llround(val_split * static_cast<double>(train_images)));
}

Dataset load_dataset(const config::DataConfig& config, const std::filesystem::path& remembered) {
  Dataset d;
  d.info = &dataset_info(config.dataset);
  d.root = locate_root(*d.info, config.root, remembered);
  d.train = load_split(*d.info, d.root, "train");
  d.test = load_split(*d.info, d.root, "test");
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
  return d;
}

}  // namespace dltrain::data

namespace dltrain::config {

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& d : data::registry()) names.push_back(d.name);
  return names;
}

}  // namespace dltrain::config
