// Images from files: PNG (libpng), PGM/PPM (netpbm's binary and plain formats), IDX image files (every image in them)
// and a PNG on stdin; then brought to a model's input shape. `dltrain predict` reads its inputs with these, and the
// image_folder dataset (data/image_folder.hpp) its files, so that both see an image alike.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dltrain::data {

// The images of one input: uint8 [N, C, H, W] as decoded (C = 1 or 3), N = 1 except for IDX files.
struct Input {
  std::string name;      // the path as given, or "-" for stdin
  torch::Tensor pixels;  // uint8 [N, C, H, W]
};

// Reads one input: a PNG, PGM/PPM or IDX file by its content (not its name), or "-" for a PNG on stdin.
// Throws DataError naming the input when it cannot be read or decoded.
Input read_input(const std::string& path);

// Whether `path`'s name says it is an image read_input reads by name alone: .png, .pgm, .ppm (any case).
bool is_image_file_name(const std::filesystem::path& path);

enum class Invert { kAuto, kYes, kNo };

// How an image becomes a model's input: grayscale (ITU-R 601 luma) for a 1-channel model, RGB kept for a 3-channel
// one (a gray image repeated on the three channels); padded with its border colour to `shape`'s aspect ratio (a
// square for a square shape; the image's own aspect ratio is kept), then resized to `shape`'s size: area averaging when it shrinks, bilinear when it grows; inverted when
// `invert` says so, or with kAuto when its border is light (mean > 127): for models trained on light digits on a
// dark background (predict passes kNo for the others). An image of `shape` already passes through unchanged.
// Returns uint8 [N, C, H, W] of `shape` {C, H, W}, and whether it was inverted (per image).
torch::Tensor prepare(const torch::Tensor& pixels, const std::vector<int64_t>& shape, Invert invert,
                      std::vector<bool>* inverted = nullptr);

}  // namespace dltrain::data
