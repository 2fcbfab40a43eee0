// Dataset registry and loading; see DESIGN.md "Data path": each file is read once into one tensor.
#include "dltrain/data/datasets.hpp"

#include <cstdlib>

#include "dltrain/core/error.hpp"
#include "dltrain/core/torch_compat.hpp"
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
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"}},
  };
  return datasets;
}

bool has_all_files(const std::filesystem::path& root, const DatasetInfo& info) {
  for (const auto& file : info.files) {
    if (!std::filesystem::exists(data_file(root, file))) return false;
  }
  return true;
}

void check_pair(const Split& split, const std::string& what) {
  if (split.images.size(0) != split.labels.size(0)) {
    throw DataError(what + ": " + std::to_string(split.images.size(0)) + " images but " +
                        std::to_string(split.labels.size(0)) + " labels",
                    "the image and label files come from different datasets or versions; re-fetch both");
  }
}

Split index(const Split& split, const torch::Tensor& idx) {
  return {split.images.index_select(0, idx), split.labels.index_select(0, idx)};
}

}  // namespace

const DatasetInfo& dataset_info(const std::string& name) {
  for (const auto& d : registry()) {
    if (d.name == name) return d;
  }
  std::vector<std::string> names;
  for (const auto& d : registry()) names.push_back(d.name);
  const std::string guess = config::did_you_mean(name, names);
  throw ConfigError("unknown dataset '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                    "known datasets: mnist, fashion-mnist");
}

std::filesystem::path data_file(const std::filesystem::path& root, const DataFile& file) {
  const std::filesystem::path gz = root / file.name;
  if (std::filesystem::exists(gz)) return gz;
  const std::filesystem::path raw = root / file.name.substr(0, file.name.size() - 3);
  return std::filesystem::exists(raw) ? raw : gz;
}

std::filesystem::path locate_root(const DatasetInfo& info, const std::string& explicit_root) {
  const std::vector<std::filesystem::path> tried = candidate_roots(info, explicit_root);
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
                      (info.name == "fashion-mnist" ? ", or `apt-get install dataset-fashion-mnist`" : ""));
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
  check_pair(s, (root / info.files[first].name).string());
  return s;
}

Dataset load_dataset(const config::DataConfig& config, int64_t seed) {
  Dataset d;
  d.info = &dataset_info(config.dataset);
  d.root = locate_root(*d.info, config.root);
  d.train = load_split(*d.info, d.root, "train");
  d.test = load_split(*d.info, d.root, "test");
  if (config.limit_train > 0 && config.limit_train < d.train.size()) {
    d.train = index(d.train, torch::arange(config.limit_train));
  }
  d.val = {torch::empty({0, 1, d.train.images.size(2), d.train.images.size(3)}, torch::kUInt8),
           torch::empty({0}, torch::kInt64)};
  if (config.val_split > 0) {
    const auto n_val = static_cast<int64_t>(static_cast<double>(d.train.size()) * config.val_split);
    if (n_val < 1 || n_val >= d.train.size()) {
      throw ConfigError("/data/val_split: " + std::to_string(config.val_split) + " of " +
                            std::to_string(d.train.size()) + " training images leaves an empty split",
                        "choose a val_split between 0 and 0.9 that leaves at least one image on each side");
    }
    at::Generator gen = compat::cpu_generator(static_cast<uint64_t>(seed));
    const torch::Tensor perm = torch::randperm(d.train.size(), gen);
    d.val = index(d.train, perm.slice(0, 0, n_val));
    d.train = index(d.train, perm.slice(0, n_val));
  }
  return d;
}

}  // namespace dltrain::data
