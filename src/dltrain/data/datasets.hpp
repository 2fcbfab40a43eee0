// The dataset registry (mnist, fashion-mnist), where their files are found, and loading them whole.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dltrain/config/config.hpp"

namespace dltrain::data {

struct DataFile {
  std::string name;    // canonical file name, gzip-compressed: train-images-idx3-ubyte.gz
  std::string sha256;  // of the .gz file as published
};

struct DatasetInfo {
  std::string name;
  std::array<DataFile, 4> files;  // train images, train labels, test images, test labels
  std::vector<std::string> class_names;
  double mean;  // of training pixels scaled to [0, 1]; used to normalise
  double std;
  std::vector<std::string> mirrors;  // base URLs, tried in order by `dltrain data fetch`
  std::vector<int64_t> image_shape = {1, 28, 28};  // C, H, W; loading refuses files of another shape
  int64_t train_size = 60000;  // images in the published training file
  int64_t test_size = 10000;
  std::string debian_package{};  // a Debian package that installs it under /usr/share/datasets, if any
};

// The entry for `name`; throws ConfigError listing the known datasets.
const DatasetInfo& dataset_info(const std::string& name);

// Where each of the four files lies under `root`: the .gz name, or the same name without .gz (raw).
std::filesystem::path data_file(const std::filesystem::path& root, const DataFile& file);

// Finds the folder holding `info`'s files: `explicit_root` if given; else $DLTRAIN_DATA_DIR/<name>,
// ./data/<name>, /usr/share/datasets/<name>, then `remembered` (where a run found its data: eval and --resume pass
// it, so that a run trained with DLTRAIN_DATA_DIR set still finds its data without it). Throws DataError listing
// the places tried.
std::filesystem::path locate_root(const DatasetInfo& info, const std::string& explicit_root,
                                  const std::filesystem::path& remembered = {});

// The places locate_root() looks, in its order: `explicit_root` alone if given; else
// $DLTRAIN_DATA_DIR/<name> (when set), ./data/<name>, /usr/share/datasets/<name>.
std::vector<std::filesystem::path> candidate_roots(const DatasetInfo& info, const std::string& explicit_root);

struct Split {
  torch::Tensor images;  // uint8 [N, 1, H, W]
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.size(0); }
};

struct Dataset {
  const DatasetInfo* info = nullptr;
  std::filesystem::path root;
  Split train;
  Split val;  // the last images of the training file (data.val_split); empty (size 0) when it is 0
  Split test;
  int64_t num_classes() const { return static_cast<int64_t>(info->class_names.size()); }
};

// Loads train and test whole, checks that images and labels agree and that the images have the table's shape,
// applies data.limit_train (the first N images) and holds out the last data.val_split images of those for
// validation: the hold-out does not depend on the seed. `remembered`: see locate_root.
Dataset load_dataset(const config::DataConfig& config, const std::filesystem::path& remembered = {});

// The images a data.val_split of `train_images` holds out: a count, or a fraction rounded to the nearest image.
int64_t validation_images(double val_split, int64_t train_images);

// Loads one file pair ("train" or "test") whole, without limit or hold-out.
Split load_split(const DatasetInfo& info, const std::filesystem::path& root, const std::string& split);

}  // namespace dltrain::data
