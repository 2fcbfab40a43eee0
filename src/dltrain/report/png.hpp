// PNG encoding with libpng, and base64 for data: URLs, so the report's pictures live inside report.html.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace dltrain::report {

// An image as PNG bytes: uint8 [C, H, W] with C = 1 (grayscale) or 3 (RGB).
std::string encode_png(const torch::Tensor& image);

std::string base64(const std::string& bytes);

}  // namespace dltrain::report
