// The one place where the tests meet Catch2's version difference: Debian 12 ships Catch2 v2 (one header,
// catch2/catch.hpp), Debian 13 ships v3 (catch2/catch_all.hpp, matchers and Approx under new names).
// Tests include this header and write ContainsText(...) and Approx(...), which mean the same on both.
#pragma once

#include <string>

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define DLTRAIN_CATCH2_V3 1
using Catch::Approx;
inline auto ContainsText(const std::string& text) { return Catch::Matchers::ContainsSubstring(text); }
#else
#include <catch2/catch.hpp>
inline auto ContainsText(const std::string& text) { return Catch::Matchers::Contains(text); }
#endif
