// Images from files for `dltrain predict`: PNG (libpng), PGM/PPM (netpbm's binary and plain formats), IDX image
// files (every image in them) and a PNG on stdin; then brought to a dataset's input the way its images are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dltrain::predict {

// The images of one input: uint8 [N, C, H, W] as decoded (C = 1 or 3), N = 1 except for IDX files.
struct Input {
  std::string name;      // the path as given, or "-" for stdin
  torch::Tensor pixels;  // uint8 [N, C, H, W]
};

// Reads one input: a PNG, PGM/PPM or IDX file by its content (not its name), or "-" for a PNG on stdin.
// Throws DataError naming the input when it cannot be read or decoded.
Input read_input(const std::string& path);

enum class Invert { kAuto, kYes, kNo };

// How an image becomes the model's input, as the dataset's images are: grayscale (ITU-R 601 luma) for a
// 1-channel dataset; padded to a square with its border colour (the aspect ratio is kept), then resized to the
// dataset's size: area averaging when it shrinks, bilinear when it grows; inverted when `invert` says so, or with
// kAuto when its border is light (mean > 127) while the dataset's digits are light on a dark background.
// Returns uint8 [N, C, H, W] of `shape` {C, H, W}, and whether it was inverted (per image).
torch::Tensor prepare(const torch::Tensor& pixels, const std::vector<int64_t>& shape, Invert invert,
                      std::vector<bool>* inverted = nullptr);

}  // namespace dltrain::predict
