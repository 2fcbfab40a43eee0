// Data augmentation on the training device (README "Augmentation"): each training batch is transformed as a whole,
// after normalisation, by a few batched tensor operations. Random draws come from the device's default generator,
// whose state checkpoints carry, so an augmented run stopped and resumed ends bit for bit like one never stopped.
#pragma once

#include <torch/torch.h>

#include "dltrain/config/config.hpp"
#include "dltrain/data/batches.hpp"

namespace dltrain::data {

class Augmenter {
 public:
  Augmenter() = default;  // does nothing
  // For batches of images of `image_shape` [C, H, W] on `device`, normalised by `normalize`. What a warp or a shift
  // moves into view is black (a black pixel after normalisation), like the images' background; erased rectangles
  // are 0 (the mean).
  Augmenter(const config::AugmentConfig& settings, const Normalizer& normalize, const std::vector<int64_t>& image_shape,
            const torch::Device& device);

  // Whether the settings ask for anything (else operator() returns the batch as it is).
  bool active() const { return active_; }

  // [B, C, H, W] normalised -> the same shape and dtype, each image transformed with its own random draws: one
  // warp (rotation, zoom, shear, elastic distortion, translation) or, when translation is all that is asked, an exact
  // integer shift; then horizontal flips; then random erasing.
  torch::Tensor operator()(const torch::Tensor& images) const;

 private:
  torch::Tensor warp(const torch::Tensor& images) const;
  torch::Tensor shift(const torch::Tensor& images) const;
  torch::Tensor flip(const torch::Tensor& images) const;
  torch::Tensor erase(const torch::Tensor& images) const;

  config::AugmentConfig s_;
  torch::Tensor black_;  // [1, C, 1, 1]
  torch::Tensor knot_basis_;  // elastic: [16, H * W], each of the 4 x 4 knots' bicubic spread over the image
  torch::Tensor pixels_to_grid_;  // elastic: [2], pixels to grid_sample's normalised (x, y) units
  bool active_ = false;
  bool warps_ = false;  // rotation, zoom, shear or elastic distortion asked: one grid_sample does all of it
};

}  // namespace dltrain::data
