// Batched augmentation on the training device (augment.hpp). Every random draw is one tensor of B values, so a batch
// costs the same few operations whatever its size, and no value goes through the host.
#include "dltrain/data/augment.hpp"

#include <cmath>

namespace dltrain::data {
namespace {

namespace F = torch::nn::functional;

constexpr double kRadiansPerDegree = M_PI / 180.0;
constexpr int64_t kKnots = 4;  // elastic distortion: a kKnots x kKnots grid of random displacements
// Random erasing's rectangles: aspect ratio (height / width) drawn log-uniformly from this range, as torchvision does.
constexpr double kEraseMinRatio = 0.3, kEraseMaxRatio = 1.0 / 0.3;

// B values uniform in [lo, hi).
torch::Tensor uniform(int64_t b, double lo, double hi, const torch::TensorOptions& options) {
  return torch::rand({b}, options).mul_(hi - lo).add_(lo);
}

// [B] row offsets + arange(n): for each image, the n consecutive indices starting at its offset.
torch::Tensor windows(const torch::Tensor& offsets, int64_t n) {
  return offsets.unsqueeze(1) + torch::arange(n, offsets.options());
}

}  // namespace

Augmenter::Augmenter(const config::AugmentConfig& settings, const Normalizer& normalize,
                     const std::vector<int64_t>& image_shape, const torch::Device& device)
    : s_(settings),
      black_(normalize(
          torch::zeros({1, image_shape.at(0), 1, 1}, torch::TensorOptions().dtype(torch::kUInt8).device(device)))) {
  warps_ = s_.rotate > 0 || s_.scale > 0 || s_.shear > 0 || s_.elastic > 0;
  active_ = warps_ || s_.translate > 0 || s_.hflip > 0 || s_.erase > 0;
  if (s_.elastic > 0) {  // upsampling each knot alone once: per batch, one small matmul instead of an interpolation
    const torch::Tensor one_hot = torch::eye(kKnots * kKnots, black_.options()).view({-1, 1, kKnots, kKnots});
    knot_basis_ = F::interpolate(one_hot, F::InterpolateFuncOptions()
                                              .size(std::vector<int64_t>{image_shape.at(1), image_shape.at(2)})
                                              .mode(torch::kBicubic)
                                              .align_corners(true))
                      .view({kKnots * kKnots, -1});
    // Made here, not per batch: a host-to-device copy in the step would also break a CUDA graph capture.
    pixels_to_grid_ = torch::tensor({2.0 / static_cast<double>(image_shape.at(2)),
                                     2.0 / static_cast<double>(image_shape.at(1))},
                                    black_.options());
  }
}

torch::Tensor Augmenter::operator()(const torch::Tensor& images) const {
  if (!active_) return images;
  torch::Tensor x = images;
  if (warps_) {
    x = warp(x);
  } else if (s_.translate > 0) {
    x = shift(x);
  }
  if (s_.hflip > 0) x = flip(x);
  if (s_.erase > 0) x = erase(x);
  return x;
}

// One affine map per image, from output pixels to the source pixels they sample (about the image's centre):
// (1 / zoom) * rotation(angle) * shear(k), then a translation of up to `translate` pixels each way. In grid_sample's
// normalised coordinates (x / (W / 2), y / (H / 2)) the off-diagonal terms are scaled by the aspect ratio.
// Elastic distortion adds a smooth random displacement field to the sampling grid: 4 x 4 knots with a standard
// deviation of `elastic` pixels, upsampled bicubically to the image.
torch::Tensor Augmenter::warp(const torch::Tensor& x) const {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const torch::TensorOptions o = x.options();
  const torch::Tensor angle = uniform(b, -s_.rotate, s_.rotate, o).mul_(kRadiansPerDegree);
  const torch::Tensor zoom = uniform(b, 1.0 - s_.scale, 1.0 + s_.scale, o);
  const torch::Tensor k = uniform(b, -s_.shear, s_.shear, o).mul_(kRadiansPerDegree).tan_();
  const double t = static_cast<double>(s_.translate);
  const torch::Tensor tx = uniform(b, -t, t, o).div_(w / 2.0), ty = uniform(b, -t, t, o).div_(h / 2.0);
  const torch::Tensor c = angle.cos().div_(zoom), s = angle.sin().div_(zoom);
  const double aspect = static_cast<double>(h) / static_cast<double>(w);
  const torch::Tensor theta = torch::stack({c, (c * k - s) * aspect, tx, s / aspect, s * k + c, ty}, 1).view({b, 2, 3});
  torch::Tensor grid = F::affine_grid(theta, x.sizes(), /*align_corners=*/false);
  if (s_.elastic > 0) {  // knots [B, 2, 16] -> a displacement field [B, H, W, 2] in pixels -> normalised
    const torch::Tensor knots = torch::randn({b, 2, kKnots * kKnots}, o).mul_(s_.elastic);
    const torch::Tensor field = torch::matmul(knots, knot_basis_).transpose(1, 2).reshape({b, h, w, 2});
    grid.add_(field * pixels_to_grid_);
  }
  const torch::Tensor moved = F::grid_sample(x - black_, grid, F::GridSampleFuncOptions()
                                                                   .mode(torch::kBilinear)
                                                                   .padding_mode(torch::kZeros)
                                                                   .align_corners(false));
  return moved + black_;
}

// Translation only: each image moved by a whole number of pixels in [-t, t] each way, exactly (no interpolation),
// by two gathers from the batch padded with t black pixels.
torch::Tensor Augmenter::shift(const torch::Tensor& x) const {
  const int64_t b = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3), t = s_.translate;
  const torch::Tensor padded = F::pad(x - black_, F::PadFuncOptions({t, t, t, t}));
  const auto offsets = [&] { return torch::randint(0, 2 * t + 1, {b}, x.options().dtype(torch::kLong)); };
  const torch::Tensor rows = windows(offsets(), h).view({b, 1, h, 1}).expand({b, ch, h, w + 2 * t});
  const torch::Tensor cols = windows(offsets(), w).view({b, 1, 1, w}).expand({b, ch, h, w});
  return padded.gather(2, rows).gather(3, cols) + black_;
}

torch::Tensor Augmenter::flip(const torch::Tensor& x) const {
  const torch::Tensor flipped = torch::rand({x.size(0)}, x.options()).lt(s_.hflip).view({-1, 1, 1, 1});
  return torch::where(flipped, x.flip({3}), x);
}

// Random erasing: with probability `erase`, one rectangle of each image, its area a fraction of the image drawn from
// erase_area and its aspect ratio from [0.3, 3.3], is set to 0 (the mean after normalisation).
torch::Tensor Augmenter::erase(const torch::Tensor& x) const {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const torch::TensorOptions o = x.options();
  const torch::Tensor apply = torch::rand({b}, o).lt(s_.erase);
  const torch::Tensor area = uniform(b, s_.erase_area[0], s_.erase_area[1], o).mul_(static_cast<double>(h * w));
  const torch::Tensor ratio = uniform(b, std::log(kEraseMinRatio), std::log(kEraseMaxRatio), o).exp_();
  const torch::Tensor eh = (area * ratio).sqrt_().round_().clamp_(1, h), ew = (area / ratio).sqrt_().round_().clamp_(1, w);
  const torch::Tensor y0 = torch::rand({b}, o).mul_(h - eh + 1).floor_(), x0 = torch::rand({b}, o).mul_(w - ew + 1).floor_();
  const torch::Tensor ys = torch::arange(h, o).view({1, h, 1}), xs = torch::arange(w, o).view({1, 1, w});
  const auto per_image = [b](const torch::Tensor& v) { return v.view({b, 1, 1}); };
  const torch::Tensor inside = ys.ge(per_image(y0)) & ys.lt(per_image(y0 + eh)) & xs.ge(per_image(x0)) &
                               xs.lt(per_image(x0 + ew)) & per_image(apply);
  return x.masked_fill(inside.unsqueeze(1), 0.0);
}

}  // namespace dltrain::data
