// PNG encoding through libpng's simplified write API (png_image_write_to_memory), base64 through OpenSSL.
#include "dltrain/report/png.hpp"

#include <openssl/evp.h>
#include <png.h>

#include <vector>

#include "dltrain/core/error.hpp"

namespace dltrain::report {

std::string encode_png(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3) && image.scalar_type() == torch::kUInt8,
              "encode_png: expected uint8 [1 or 3, H, W]");
  const torch::Tensor hwc = image.permute({1, 2, 0}).contiguous().cpu();
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.size(2));
  png.height = static_cast<png_uint_32>(image.size(1));
  png.format = image.size(0) == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (png_image_write_to_memory(&png, nullptr, &size, 0, hwc.data_ptr<uint8_t>(), 0, nullptr) == 0) {
    throw IoError(std::string("PNG encoding failed: ") + png.message);
  }
  std::string out(size, '\0');
  if (png_image_write_to_memory(&png, out.data(), &size, 0, hwc.data_ptr<uint8_t>(), 0, nullptr) == 0) {
    throw IoError(std::string("PNG encoding failed: ") + png.message);
  }
  out.resize(size);
  return out;
}

std::string base64(const std::string& bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  return {reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n)};
}

}  // namespace dltrain::report
