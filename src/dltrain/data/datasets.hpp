// The dataset table (mnist, fashion-mnist, cifar10, image_folder), where a dataset's files are found, loading them
// whole, and the description of what a model was trained on (classes, image shape, normalisation statistics).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/config/config.hpp"

namespace dltrain::data {

// How a dataset's files are laid out.
enum class Format {
  kIdx,            // four IDX files, gzip or raw: train images, train labels, test images, test labels
  kBinaryBatches,  // CIFAR's binary version: records of 1 label byte + C*H*W pixel bytes (one plane per channel) in
                   // batch files, read from the archive (libarchive) or from its extracted folder
  kImageFolder,    // data.root: one subfolder of images per class (data/image_folder.hpp); nothing to download
};

struct DataFile {
  std::string name;    // as published: train-images-idx3-ubyte.gz, cifar-10-binary.tar.gz
  std::string sha256;  // of that file as published
  std::string extracted{};  // an archive: the folder it unpacks to (cifar-10-batches-bin), which may stand in for it
};

// One row of the table.
struct DatasetInfo {
  std::string name;
  Format format = Format::kIdx;
  std::vector<DataFile> files;  // what `data fetch` downloads and verifies: kIdx: the four files in the order above;
                                // kBinaryBatches: the archive; kImageFolder: none
  std::vector<std::string> train_members, test_members;  // kBinaryBatches: each split's batch files, in order
  std::vector<std::string> class_names;  // kImageFolder: none here (the sorted folder names)
  // Per channel, of the training pixels scaled to [0, 1]; used to normalise. Empty: computed from the training split
  // (after the validation hold-out) when the data is loaded, and stored in checkpoints.
  std::vector<double> mean, std;
  std::vector<std::string> mirrors;  // base URLs, tried in order by `dltrain data fetch`
  std::vector<int64_t> image_shape;  // C, H, W; loading refuses files of another shape. kImageFolder: data.image_size
  int64_t train_size = 0;  // images in the published training files
  int64_t test_size = 0;
  std::string debian_package{};  // a Debian package that installs it under /usr/share/datasets, if any
  bool flips_change_class = false;  // digits: data.augment.hflip is refused unless forced
};

// The entry for `name`; throws ConfigError listing the known datasets.
const DatasetInfo& dataset_info(const std::string& name);

// The datasets that have files to download and verify (`data fetch|verify`, `doctor --dataset`).
std::vector<std::string> downloadable_dataset_names();

// What a model was trained on, independent of the table: eval, predict, export and a resumed run read it from the
// checkpoint (train/checkpoint.hpp), so that a model trained on a folder of images, or with statistics computed from
// its data, is used as it was trained.
struct Description {
  std::string name;                      // the dataset
  std::vector<std::string> class_names;  // in label order
  std::vector<int64_t> image_shape;      // C, H, W
  std::vector<double> mean, std;         // per channel (one value each for gray images), of pixels scaled to [0, 1]
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

// {"name", "classes", "image_shape", "mean", "std"}.
nlohmann::json to_json(const Description& d);
// The inverse; throws DataError naming what is missing or inconsistent.
Description description_from_json(const nlohmann::json& j);
// A table row's description (mean and std empty when the table has none).
Description describe(const DatasetInfo& info);

// Per-channel mean and standard deviation (population) of uint8 `images` [N, C, H, W] scaled to [0, 1]; exact
// integer sums, so the result does not depend on the thread count.
void pixel_statistics(const torch::Tensor& images, std::vector<double>& mean, std::vector<double>& std);

// Where a file of `info` lies under `root`: the published name; else the same name without .gz (raw IDX, a plain
// tar); else, for an archive, its extracted folder under `root` (or `root` itself when it is that folder); else the
// published name (absent).
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
  torch::Tensor images;  // uint8 [N, C, H, W]
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.size(0); }
};

struct Dataset {
  const DatasetInfo* info = nullptr;  // its row in the table
  Description desc;                   // classes, image shape and the normalisation statistics of this data
  std::filesystem::path root;
  Split train;
  Split val;  // the last images of the training file (data.val_split); empty (size 0) when it is 0
  Split test;
  int64_t num_classes() const { return desc.num_classes(); }
};

// Loads train and test whole, checks that images and labels agree and that the images have the table's shape,
// applies data.limit_train (the first N images) and holds out the last data.val_split images of those for
// validation: the hold-out does not depend on the run's seed (an image_folder's images are put in a seeded order
// first, see image_folder.hpp). Statistics the table lacks are computed from the training split that remains.
// `remembered`: see locate_root.
Dataset load_dataset(const config::DataConfig& config, const std::filesystem::path& remembered = {});

// The test split of `config`'s data alone (eval --split test), and in `root` where it was found. For an
// image_folder without data.test_root the whole folder is read, as load_dataset splits it; data.test_root's class
// folders are labelled by their place in `class_names` (the model's classes).
Split load_test_split(const config::DataConfig& config, const std::filesystem::path& remembered,
                      const std::vector<std::string>& class_names, std::filesystem::path& root);

// The images a data.val_split of `train_images` holds out: a count, or a fraction rounded to the nearest image.
int64_t validation_images(double val_split, int64_t train_images);

// Loads one split ("train" or "test") of a table dataset whole, without limit or hold-out.
Split load_split(const DatasetInfo& info, const std::filesystem::path& root, const std::string& split);

// What `config`'s data will be, without reading any image: the description (for an image_folder: data.image_size
// and the class folders under data.root; mean and std as the table has them) and how many images its training
// split will hold before data.limit_train and the hold-out. `dltrain config validate` and `bench` use it.
struct Outline {
  Description desc;
  int64_t train_images = 0;
};
Outline outline(const config::DataConfig& config);

}  // namespace dltrain::data
