// Image decoding and preparation (see images.hpp).
#include "dltrain/data/images.hpp"

#include <png.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>

#include "dltrain/core/error.hpp"
#include "dltrain/data/idx.hpp"

namespace dltrain::data {
namespace {

const char* const kFormatsHint = "dltrain reads PNG, PGM/PPM (P2, P3, P5, P6) and IDX image files (predict: also a PNG on stdin, -)";

torch::Tensor decode_png(const std::string& bytes, const std::string& name) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) == 0) {
    throw DataError(name + ": not a readable PNG (" + png.message + ")", kFormatsHint);
  }
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;  // transparency is composited onto white
  const png_color white{255, 255, 255};
  torch::Tensor hwc = torch::empty({png.height, png.width, color ? 3 : 1}, torch::kUInt8);
  if (png_image_finish_read(&png, &white, hwc.data_ptr<uint8_t>(), 0, nullptr) == 0) {
    png_image_free(&png);
    throw DataError(name + ": PNG decoding failed (" + png.message + ")", "the file is damaged or cut short");
  }
  return hwc.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

// Netpbm's graymap and pixmap formats (P2/P5 gray, P3/P6 RGB; maxval up to 65535), scaled to 0..255.
// Hand-written: Debian's libnetpbm reports errors by exiting the process.
torch::Tensor decode_pnm(const std::string& bytes, const std::string& name) {
  size_t pos = 2;
  const auto next_number = [&]() -> int64_t {
    while (pos < bytes.size() && (std::isspace(static_cast<unsigned char>(bytes[pos])) || bytes[pos] == '#')) {
      if (bytes[pos] == '#') {
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      } else {
        ++pos;
      }
    }
    int64_t v = 0;
    const size_t start = pos;
    while (pos < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[pos])) && v < (int64_t{1} << 32)) {
      v = v * 10 + (bytes[pos++] - '0');
    }
    if (pos == start) throw DataError(name + ": damaged PGM/PPM header or data", kFormatsHint);
    return v;
  };
  const char kind = bytes[1];
  const int64_t channels = kind == '3' || kind == '6' ? 3 : 1;
  const int64_t width = next_number(), height = next_number(), maxval = next_number();
  if (width <= 0 || height <= 0 || width * height > (int64_t{1} << 26) || maxval <= 0 || maxval > 65535) {
    throw DataError(name + ": PGM/PPM with an invalid size or maxval", kFormatsHint);
  }
  const int64_t count = width * height * channels;
  torch::Tensor values = torch::empty({count}, torch::kInt32);
  auto* v = values.data_ptr<int32_t>();
  if (kind == '5' || kind == '6') {
    ++pos;  // the single whitespace after maxval
    const int64_t bytes_per = maxval > 255 ? 2 : 1;
    if (static_cast<int64_t>(bytes.size() - pos) < count * bytes_per) {
      throw DataError(name + ": PGM/PPM data cut short", "the file is damaged or cut short");
    }
    for (int64_t i = 0; i < count; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos + i * bytes_per);
      v[i] = bytes_per == 2 ? (p[0] << 8 | p[1]) : p[0];
    }
  } else {
    for (int64_t i = 0; i < count; ++i) v[i] = static_cast<int32_t>(std::min(next_number(), maxval));
  }
  const torch::Tensor scaled = (values.to(torch::kFloat) * (255.0 / static_cast<double>(maxval))).round().to(torch::kUInt8);
  return scaled.reshape({1, height, width, channels}).permute({0, 3, 1, 2}).contiguous();
}

}  // namespace

bool is_image_file_name(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".png" || ext == ".pgm" || ext == ".ppm";
}

Input read_input(const std::string& path) {
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path + ": cannot open", "check the path");
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string name = path == "-" ? "stdin" : path;
  if (bytes.size() >= 8 && bytes.compare(0, 4, "\x89PNG") == 0) return {path, decode_png(bytes, name)};
  if (bytes.size() >= 3 && bytes[0] == 'P' && std::string("2356").find(bytes[1]) != std::string::npos) {
    return {path, decode_pnm(bytes, name)};
  }
  if (path != "-") {
    const std::string raw = read_maybe_gzip(path);  // IDX, gzipped or not
    if (raw.size() >= 4 && raw[0] == 0 && raw[1] == 0 && raw[2] == 8 && raw[3] == 3) {
      return {path, parse_idx_images(raw, path)};
    }
  }
  throw DataError(name + ": not a PNG, PGM/PPM or IDX image file", kFormatsHint);
}

torch::Tensor prepare(const torch::Tensor& pixels, const std::vector<int64_t>& shape, Invert invert,
                      std::vector<bool>* inverted) {
  torch::Tensor x = pixels.to(torch::kFloat);
  if (shape[0] == 1 && x.size(1) == 3) {
    x = (x.select(1, 0) * 0.299 + x.select(1, 1) * 0.587 + x.select(1, 2) * 0.114).unsqueeze(1);
  } else if (shape[0] == 3 && x.size(1) == 1) {
    x = x.expand({-1, 3, -1, -1});
  }
  // Border colour per image: the mean of the outermost rows and columns.
  const torch::Tensor border = torch::cat({x.select(2, 0), x.select(2, -1), x.select(3, 0), x.select(3, -1)}, 2)
                                   .mean({1, 2}, /*keepdim=*/false);
  // Pad with the border colour to the target's aspect ratio (a square for the square datasets), keeping the image's.
  const int64_t h = x.size(2), w = x.size(3);
  const bool taller = h * shape[2] > w * shape[1];
  const int64_t ph = taller ? h : std::max(h, (w * shape[1] + shape[2] / 2) / shape[2]);
  const int64_t pw = taller ? std::max(w, (h * shape[2] + shape[1] / 2) / shape[1]) : w;
  if (ph != h || pw != w) {
    torch::Tensor padded = border.view({-1, 1, 1, 1}).expand({x.size(0), x.size(1), ph, pw}).clone();
    padded.narrow(2, (ph - h) / 2, h).narrow(3, (pw - w) / 2, w).copy_(x);
    x = padded;
  }
  if (ph != shape[1] || pw != shape[2]) {
    namespace F = torch::nn::functional;
    const bool shrink = ph >= shape[1] && pw >= shape[2];
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{shape[1], shape[2]});
    x = shrink ? F::interpolate(x, options.mode(torch::kArea)) : F::interpolate(x, options.mode(torch::kBilinear).align_corners(false));
  }
  const torch::Tensor flip = invert == Invert::kYes   ? torch::ones({x.size(0)}, torch::kBool)
                             : invert == Invert::kNo ? torch::zeros({x.size(0)}, torch::kBool)
                                                     : border.gt(127.0);
  x = torch::where(flip.view({-1, 1, 1, 1}), 255.0 - x, x);
  if (inverted != nullptr) {
    inverted->clear();
    const torch::Tensor flags = flip.contiguous();
    inverted->assign(flags.data_ptr<bool>(), flags.data_ptr<bool>() + flags.numel());
  }
  return x.round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace dltrain::data
