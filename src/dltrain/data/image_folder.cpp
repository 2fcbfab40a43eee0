// The image_folder dataset (see image_folder.hpp).
#include "dltrain/data/image_folder.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <random>

#include "dltrain/core/error.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/data/images.hpp"

namespace dltrain::data {
namespace {

namespace stdfs = std::filesystem;

const char* const kFolderHint =
    "data.root (and data.test_root) must hold one subfolder per class with that class's images (PNG, PGM or PPM)";

bool hidden(const stdfs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// The entries of `folder`, sorted by name, that `keep` accepts.
template <class Keep>
std::vector<stdfs::path> sorted_entries(const stdfs::path& folder, Keep keep) {
  std::vector<stdfs::path> out;
  std::error_code ec;
  for (stdfs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (!hidden(it->path()) && keep(*it)) out.push_back(it->path());
  }
  if (ec) throw DataError(folder.string() + ": cannot list: " + ec.message(), kFolderHint);
  std::sort(out.begin(), out.end(), [](const stdfs::path& a, const stdfs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return out;
}

}  // namespace

FolderListing list_image_folder(const stdfs::path& root) {
  std::error_code ec;
  if (!stdfs::is_directory(root, ec)) throw DataError(root.string() + ": no such folder", kFolderHint);
  FolderListing listing;
  listing.root = root;
  int64_t skipped = 0;
  std::string skipped_example;
  for (const stdfs::path& folder : sorted_entries(root, [](const stdfs::directory_entry& e) { return e.is_directory(); })) {
    const auto label = static_cast<int64_t>(listing.classes.size());
    listing.classes.push_back(folder.filename().string());
    const std::vector<stdfs::path> files = sorted_entries(folder, [](const stdfs::directory_entry& e) { return !e.is_directory(); });
    int64_t images = 0;
    for (const stdfs::path& file : files) {
      if (!is_image_file_name(file)) {
        if (skipped++ == 0) skipped_example = file.string();
        continue;
      }
      listing.files.push_back(file);
      listing.labels.push_back(label);
      ++images;
    }
    if (images == 0) throw DataError(folder.string() + ": class folder without images", kFolderHint);
  }
  if (listing.classes.empty()) throw DataError(root.string() + ": no class subfolders", kFolderHint);
  if (skipped > 0) {
    log::warn(root.string() + ": skipped " + std::to_string(skipped) + " file(s) that are not .png, .pgm or .ppm, e.g. " +
              skipped_example);
  }
  return listing;
}

torch::Tensor read_images(const std::vector<stdfs::path>& files, const std::vector<int64_t>& shape) {
  const auto n = static_cast<int64_t>(files.size());
  torch::Tensor out = torch::empty({n, shape[0], shape[1], shape[2]}, torch::kUInt8);
  std::vector<std::string> errors(files.size()), hints(files.size());
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const std::string name = files[static_cast<size_t>(i)].string();
      try {
        const torch::Tensor pixels = read_input(name).pixels;
        if (pixels.size(0) != 1) throw DataError(name + ": holds " + std::to_string(pixels.size(0)) + " images, not one");
        out[i].copy_(prepare(pixels, shape, Invert::kNo)[0]);
      } catch (const Error& e) {
        errors[static_cast<size_t>(i)] = e.what();
        hints[static_cast<size_t>(i)] = e.hint();
      } catch (const c10::Error& e) {  // e.g. LibTorch refusing to resize a degenerate image
        errors[static_cast<size_t>(i)] = name + ": cannot be brought to the image size: " + e.what_without_backtrace();
      }
    }
  });
  for (size_t i = 0; i < errors.size(); ++i) {
    if (!errors[i].empty()) throw DataError(errors[i], hints[i].empty() ? "replace or remove the file" : hints[i]);
  }
  return out;
}

Split read_labelled_folder(const stdfs::path& root, const std::vector<std::string>& class_names,
                           const std::vector<int64_t>& shape) {
  const FolderListing listing = list_image_folder(root);
  std::vector<int64_t> label_of;  // listing's class index -> its index in class_names
  for (const std::string& name : listing.classes) {
    const auto it = std::find(class_names.begin(), class_names.end(), name);
    if (it == class_names.end()) {
      std::string known;
      for (const auto& c : class_names) known += (known.empty() ? "" : ", ") + c;
      throw DataError((root / name).string() + ": '" + name + "' is not one of the model's classes",
                      "the class folders must be named as the classes the model was trained on: " + known);
    }
    label_of.push_back(it - class_names.begin());
  }
  std::vector<int64_t> labels;
  for (const int64_t l : listing.labels) labels.push_back(label_of[static_cast<size_t>(l)]);
  return {read_images(listing.files, shape), torch::tensor(labels, torch::kInt64)};
}

std::vector<int64_t> seeded_order(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

void load_image_folder(const config::DataConfig& config, const stdfs::path& remembered, Dataset& d) {
  std::error_code ec;
  d.root = config.root;
  if (!stdfs::is_directory(d.root, ec) && !remembered.empty() && stdfs::is_directory(remembered, ec)) d.root = remembered;
  const FolderListing listing = list_image_folder(d.root);
  d.desc.name = d.info->name;
  d.desc.class_names = listing.classes;
  d.desc.image_shape = config.image_size;
  const torch::Tensor order = torch::tensor(seeded_order(static_cast<int64_t>(listing.files.size()),
                                                         static_cast<uint64_t>(config.split_seed)),
                                            torch::kInt64);
  const Split all{read_images(listing.files, config.image_size).index_select(0, order),
                  torch::tensor(listing.labels, torch::kInt64).index_select(0, order)};
  if (!config.test_root.empty()) {
    d.train = all;
    d.test = read_labelled_folder(config.test_root, listing.classes, config.image_size);
    return;
  }
  const int64_t n_test = validation_images(config.test_split, all.size());
  if (n_test < 1 || n_test >= all.size()) {
    throw ConfigError("/data/test_split: holding out " + std::to_string(n_test) + " of the " +
                          std::to_string(all.size()) + " images in " + d.root.string() + " leaves an empty split",
                      "choose a test_split that leaves at least one image on each side (e.g. 0.2)");
  }
  const int64_t n_train = all.size() - n_test;
  d.train = {all.images.slice(0, 0, n_train), all.labels.slice(0, 0, n_train)};
  d.test = {all.images.slice(0, n_train), all.labels.slice(0, n_train)};
}

}  // namespace dltrain::data
