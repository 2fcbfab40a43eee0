// printf-style formatting into a std::string of whatever length the text needs (never cut). The compiler checks
// the arguments against the format. (fmt stays inside dltrain_log: LibTorch 2.x ships its own copy.)
#pragma once

#include <string>

namespace dltrain {

std::string format(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dltrain
