// predict's image preparation: resizing, padding to a square, polarity, channels; and the exporter's layer table.
#include "catch_compat.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/export/export.hpp"
#include "dltrain/predict/images.hpp"

using namespace dltrain;

namespace {
torch::Tensor digit() {  // a light 8x6 bar on a dark 28x28 background, as MNIST's polarity
  torch::Tensor x = torch::full({1, 1, 28, 28}, 10, torch::kUInt8);
  x.slice(2, 10, 18).slice(3, 11, 17).fill_(240);
  return x;
}
}  // namespace

TEST_CASE("predict: an image twice the size shrinks back to the same pixels, a dark-on-light one is inverted", "[predict]") {
  const torch::Tensor x = digit();
  const torch::Tensor twice = x.repeat_interleave(2, 2).repeat_interleave(2, 3);  // 56x56, nearest
  std::vector<bool> inverted;
  CHECK(torch::equal(predict::prepare(twice, {1, 28, 28}, predict::Invert::kAuto, &inverted), x));
  CHECK(inverted == std::vector<bool>{false});
  CHECK(torch::equal(predict::prepare(255 - twice, {1, 28, 28}, predict::Invert::kAuto, &inverted), x));
  CHECK(inverted == std::vector<bool>{true});
  CHECK(torch::equal(predict::prepare(x, {1, 28, 28}, predict::Invert::kYes), 255 - x));
  CHECK(torch::equal(predict::prepare(255 - x, {1, 28, 28}, predict::Invert::kNo), 255 - x));
}

TEST_CASE("predict: RGB becomes luma, a non-square image is padded with its border colour", "[predict]") {
  const torch::Tensor rgb = digit().expand({1, 3, 28, 28}).contiguous();
  CHECK(torch::equal(predict::prepare(rgb, {1, 28, 28}, predict::Invert::kNo), digit()));
  // 28 wide, 14 high: padded to 28x28 with the dark border, the bar keeps its shape in the middle rows.
  const torch::Tensor wide = digit().slice(2, 7, 21).contiguous();
  const torch::Tensor out = predict::prepare(wide, {1, 28, 28}, predict::Invert::kAuto);
  CHECK(out.sizes() == torch::IntArrayRef({1, 1, 28, 28}));
  CHECK(out[0][0][0][0].item<int>() == 10);                    // padding: the border colour
  CHECK(torch::equal(out.slice(2, 7, 21), wide));               // the image itself, unchanged, centred
}

TEST_CASE("export: each layer kind's Python line, and a refusal naming the layer", "[predict]") {
  namespace nn = torch::nn;
  CHECK(exporter::python_layer("0", *nn::Conv2d(nn::Conv2dOptions(1, 8, 3).stride(2).padding(1))) ==
        "nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=True)");
  CHECK(exporter::python_layer("1", *nn::MaxPool2d(nn::MaxPool2dOptions(2))) == "nn.MaxPool2d(2, stride=2, padding=0)");
  CHECK(exporter::python_layer("2", *nn::Linear(nn::LinearOptions(4, 2).bias(false))) == "nn.Linear(4, 2, bias=False)");
  CHECK(exporter::python_layer("3", *nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.05))) ==
        "nn.LeakyReLU(negative_slope=0.05)");
  CHECK_THROWS_AS(exporter::python_layer("4", *nn::Softmax(nn::SoftmaxOptions(1))), CheckpointError);
}
