// The image_folder dataset: data.root holds one subfolder of images per class (PNG, PGM/PPM; the class names are the
// sorted folder names), every image brought to data.image_size as `dltrain predict` brings its inputs to a model's
// (data/images.hpp), read once into one uint8 tensor like IDX data. README "Datasets" describes the splits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dltrain/config/config.hpp"
#include "dltrain/data/datasets.hpp"

namespace dltrain::data {

struct FolderListing {
  std::filesystem::path root;
  std::vector<std::string> classes;          // the subfolder names, sorted (hidden ones skipped)
  std::vector<std::filesystem::path> files;  // class by class, each class's images sorted by name
  std::vector<int64_t> labels;               // each file's index in `classes`
};

// Lists `root`'s class subfolders and their image files (.png, .pgm, .ppm in any case; other files are skipped with
// a warning). Throws DataError when `root` is not a folder, has no class subfolders, or a class has no images.
FolderListing list_image_folder(const std::filesystem::path& root);

// Reads `files` in order into one uint8 tensor [N, C, H, W] of `shape` {C, H, W}: decoded as predict decodes them
// (transparency composited onto white), brought to `shape` by data::prepare, never inverted. An unreadable or corrupt
// file is a DataError naming it (the first such file in order).
torch::Tensor read_images(const std::vector<std::filesystem::path>& files, const std::vector<int64_t>& shape);

// Every image of `root`, labelled by the place of its folder's name in `class_names`: a folder whose name is not a
// class is a DataError. For a test folder beside the training one, and `eval --image-folder`.
Split read_labelled_folder(const std::filesystem::path& root, const std::vector<std::string>& class_names,
                           const std::vector<int64_t>& shape);

// A permutation of 0..n-1 drawn from `seed`: Fisher-Yates with std::mt19937_64, the same on every platform and
// with every LibTorch.
std::vector<int64_t> seeded_order(int64_t n, uint64_t seed);

// load_dataset's image_folder: sets d.root (data.root, or `remembered` when data.root no longer exists), d.desc's
// name, classes and image shape, d.train (every training image, in the order seeded by data.split_seed) and d.test
// (data.test_root's images, or the last data.test_split images of that order, which d.train then lacks).
void load_image_folder(const config::DataConfig& config, const std::filesystem::path& remembered, Dataset& d);

}  // namespace dltrain::data
