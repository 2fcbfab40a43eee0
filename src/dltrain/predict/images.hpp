// `dltrain predict`'s inputs: image decoding and preparation live in data/images.hpp, shared with the image_folder
// dataset so that predict and training see a file alike; predict's names for them.
#pragma once

#include "dltrain/data/images.hpp"

namespace dltrain::predict {

using data::Input;
using data::Invert;
using data::prepare;
using data::read_input;

}  // namespace dltrain::predict
