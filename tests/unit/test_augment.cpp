// data.augment: the transforms do what they say on batches whose answer is known (exact integer shifts, rotations
// about the centre, flips, rectangles of zeros, black borders), draw the same for the same seed, and the config
// refuses what it should (a flipped digit, a bad erase_area).
#include <nlohmann/json.hpp>

#include "catch_compat.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/data/augment.hpp"

using namespace dltrain;

namespace {

const data::Normalizer kGray(0.1307, 0.3081);
const torch::Device kCpu(torch::kCPU);

data::Augmenter augmenter(const nlohmann::json& settings, const std::vector<int64_t>& shape = {1, 28, 28}) {
  const config::Config c = config::parse({{"data", {{"dataset", "fashion-mnist"}, {"augment", settings}}}}, "x");
  return {c.data.augment, kGray, shape, kCpu};
}

// Normalised random images [B, 1, H, W] with a black (pixel 0) border of `border` pixels.
torch::Tensor images(int64_t b, int64_t h, int64_t w, int64_t border = 0) {
  torch::Tensor pixels = torch::randint(1, 256, {b, 1, h, w}, torch::kUInt8);
  if (border > 0) {
    pixels.narrow(2, 0, border).zero_();
    pixels.narrow(2, h - border, border).zero_();
    pixels.narrow(3, 0, border).zero_();
    pixels.narrow(3, w - border, border).zero_();
  }
  return kGray(pixels);
}

torch::Tensor black() { return kGray(torch::zeros({1, 1, 1, 1}, torch::kUInt8)); }

}  // namespace

TEST_CASE("augment: nothing asked, nothing done") {
  const data::Augmenter a = augmenter(nlohmann::json::object());
  CHECK_FALSE(a.active());
  const torch::Tensor x = images(4, 8, 8);
  CHECK(a(x).is_same(x));
}

TEST_CASE("augment: translation alone is an exact shift of whole pixels, filled with black") {
  torch::manual_seed(3);
  const int64_t t = 2;
  const torch::Tensor x = images(16, 7, 9);
  const torch::Tensor y = augmenter({{"translate", t}}, {1, 7, 9})(x);
  REQUIRE(y.sizes() == x.sizes());
  const torch::Tensor padded = torch::constant_pad_nd(x - black(), {t, t, t, t}) + black();
  int shifted = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    bool found = false;
    for (int64_t dy = 0; dy <= 2 * t && !found; ++dy) {
      for (int64_t dx = 0; dx <= 2 * t && !found; ++dx) {
        found = torch::equal(y[i], padded[i].narrow(1, dy, 7).narrow(2, dx, 9));
        if (found && (dy != t || dx != t)) ++shifted;
      }
    }
    CHECK(found);
  }
  CHECK(shifted >= 8);  // 24 of 25 shifts move the image
}

TEST_CASE("augment: a rotation turns about the centre and brings in black") {
  torch::manual_seed(4);
  const torch::Tensor x = images(32, 9, 9, 3);
  const torch::Tensor y = augmenter({{"rotate", 30}}, {1, 9, 9})(x);
  // The centre pixel samples itself; a black border of 3 pixels around a 3x3 centre stays black at the corners.
  CHECK(torch::allclose(y.select(2, 4).select(2, 4), x.select(2, 4).select(2, 4), 1e-5, 1e-5));
  CHECK(torch::allclose(y.select(2, 0).select(2, 0), black().view({1, 1}).expand({32, 1}), 1e-5, 1e-5));
  CHECK_FALSE(torch::allclose(y, x, 1e-3, 1e-3));
}

TEST_CASE("augment: an all-black batch stays black under every warp, shift and flip") {
  torch::manual_seed(5);
  const torch::Tensor x = black().expand({8, 1, 12, 10}).contiguous();
  const data::Augmenter a = augmenter(
      {{"translate", 3}, {"rotate", 20}, {"scale", 0.2}, {"shear", 15}, {"elastic", 2.0}, {"hflip", 0.5}}, {1, 12, 10});
  CHECK(torch::allclose(a(x), x, 1e-5, 1e-5));
}

TEST_CASE("augment: elastic distortion moves pixels, and the same seed draws the same") {
  const torch::Tensor x = images(8, 16, 16, 2);
  const data::Augmenter a = augmenter({{"elastic", 1.5}}, {1, 16, 16});
  torch::manual_seed(6);
  const torch::Tensor y1 = a(x);
  torch::manual_seed(6);
  const torch::Tensor y2 = a(x);
  torch::manual_seed(7);
  const torch::Tensor y3 = a(x);
  CHECK(torch::equal(y1, y2));
  CHECK_FALSE(torch::equal(y1, y3));
  CHECK_FALSE(torch::allclose(y1, x, 1e-3, 1e-3));
}

TEST_CASE("augment: hflip 1 mirrors every image, RGB too") {
  const torch::Tensor x = torch::randn({4, 3, 5, 6});
  const config::Config c = config::parse({{"data", {{"dataset", "cifar10"}, {"augment", {{"hflip", 1.0}}}}}}, "x");
  const data::Augmenter a(c.data.augment, data::Normalizer({0.4, 0.5, 0.6}, {0.2, 0.2, 0.2}), {3, 5, 6}, kCpu);
  CHECK(torch::equal(a(x), x.flip({3})));
}

TEST_CASE("augment: erase 1 zeroes one rectangle per image, its area in erase_area") {
  torch::manual_seed(8);
  const int64_t h = 20, w = 20;
  const torch::Tensor x = torch::ones({64, 1, h, w});
  const torch::Tensor y = augmenter({{"erase", 1.0}, {"erase_area", {0.05, 0.2}}}, {1, h, w})(x);
  for (int64_t i = 0; i < y.size(0); ++i) {
    const torch::Tensor zero = y[i][0].eq(0);
    const torch::Tensor rows = zero.any(1).nonzero().flatten(), cols = zero.any(0).nonzero().flatten();
    REQUIRE(rows.numel() > 0);
    const int64_t eh = rows.numel(), ew = cols.numel();
    CHECK(rows[-1].item<int64_t>() - rows[0].item<int64_t>() + 1 == eh);  // contiguous
    CHECK(zero.sum().item<int64_t>() == eh * ew);                          // a full rectangle
    CHECK(eh * ew >= 0.05 * h * w * 0.5);
    CHECK(eh * ew <= 0.2 * h * w * 1.5);
  }
}

TEST_CASE("augment: the config refuses a flipped digit unless forced, and checks its ranges") {
  const auto mnist = [](const nlohmann::json& augment) {
    config::parse({{"data", {{"dataset", "mnist"}, {"augment", augment}}}}, "x");
  };
  CHECK_THROWS_AS(mnist({{"hflip", 0.5}}), ConfigError);
  CHECK_NOTHROW(mnist({{"hflip", 0.5}, {"force_hflip", true}}));
  CHECK_NOTHROW(mnist({{"rotate", 10}, {"erase", 0.5}}));
  CHECK_THROWS_AS(mnist({{"erase_area", {0.3, 0.1}}}), ConfigError);
  CHECK_THROWS_AS(mnist({{"scale", 1.5}}), ConfigError);
  CHECK_THROWS_AS(mnist({{"translate", -1}}), ConfigError);
  CHECK_THROWS_AS(mnist({{"rotat", 10}}), ConfigError);
}
